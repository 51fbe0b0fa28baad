// The API client: sign-in token, locale on every call, errors as ApiError, cached users and SMTP code summaries.

import { $ } from "./dom.js?v={{version}}";
import { acceptLanguage, tr } from "./i18n.js?v={{version}}";
import { accessToken, signInNeeded as showSignInScreen } from "./signin.js?v={{version}}";
import { BASE, state } from "./state.js?v={{version}}";

// ---- sign-in: signin.js holds the tokens (the sign-in screen, refresh, sign-out, the local `#token=` link) ----------

export function getToken() {
  return accessToken();
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
  const token = accessToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new ApiError(0, tr("error_network"));
  }
  if (response.status === 401) {
    showSignInScreen();
    throw new ApiError(401, tr("signin_text"));
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data?.Message || response.statusText, data?.Code);
  return data;
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
