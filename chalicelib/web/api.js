// The API client: sign-in token, locale on every call, errors as ApiError, cached users and SMTP code summaries.

import { $ } from "./dom.js?v={{version}}";
import { acceptLanguage, tr } from "./i18n.js?v={{version}}";
import { BASE, state } from "./state.js?v={{version}}";

// ---- sign-in: the one place that knows the token --------------------------------------------------------------------
// Where the token comes from: `#token=` in the address (the local convenience link `make run` prints) moves into
// sessionStorage at once. A sign-in screen replaces it with `setToken(...)` and learns of a 401 (or a missing token)
// through `onSignInNeeded(handler)`; everything else calls `api()` and never sees the token.

export const TOKEN_KEY = "deskmail.token";

let token = null;
let signInNeeded = showSignIn;

export function takeToken() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.has("token")) {
    sessionStorage.setItem(TOKEN_KEY, fragment.get("token"));
    fragment.delete("token");
    const rest = fragment.toString();
    history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
  }
  token = sessionStorage.getItem(TOKEN_KEY);
  return token;
}

export function getToken() {
  return token;
}

export function setToken(value) {
  token = value || null;
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export function onSignInNeeded(handler) {
  signInNeeded = handler;
}

// ---- the API ------------------------------------------------------------------------------------------------------

export class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export async function api(path, { method = "GET", body } = {}) {
  const url = new URL(path, BASE);
  url.searchParams.set("locale", state.locale);
  const headers = { Accept: "application/json", "Accept-Language": acceptLanguage() };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new ApiError(0, tr("error_network"));
  }
  if (response.status === 401) {
    signInNeeded();
    throw new ApiError(401, tr("signin_text"));
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data?.Message || response.statusText, data?.Code);
  return data;
}

export function showSignIn() {
  $("#signin").hidden = false;
  $("#layout").hidden = true;
}

export async function user(id) {
  if (!id) return null;
  if (!state.users.has(id)) state.users.set(id, api(`users/${encodeURIComponent(id)}`).catch(() => null));
  return state.users.get(id);
}

export async function smtpSummary(code) {
  const key = `${state.locale}:${code}`;
  if (!state.smtp.has(key)) {
    state.smtp.set(key, api(`smtp-codes/${encodeURIComponent(code)}`).then((d) => d?.summary || null, () => null));
  }
  return state.smtp.get(key);
}
