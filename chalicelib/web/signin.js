// Sign-in for the agent workspace: email and password through deskmail's own /auth routes (same origin, so the
// strict CSP's connect-src 'self' holds and no CORS is needed), the new-password challenge of a first sign-in,
// refresh before the access token expires, sign-out, and the signed-in agent's name in the top bar.
// Tokens live in sessionStorage (gone with the tab). The `#token=` link of `make run` is a local convenience only.

const TOKEN_KEY = "deskmail.token";
const REFRESH_KEY = "deskmail.refresh";
const REFRESH_MARGIN_MS = 2 * 60 * 1000; // renew this long before expiry
const MIN_REFRESH_DELAY_MS = 5000;

let base = new URL("..", import.meta.url);
let tr = (key) => key;
let agent = null;
let refreshTimer = null;

export function accessToken() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function signedInAgent() {
  return agent;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) node.append(child);
  }
  return node;
}

function takeFragmentToken() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (!fragment.has("token")) return;
  sessionStorage.setItem(TOKEN_KEY, fragment.get("token"));
  fragment.delete("token");
  const rest = fragment.toString();
  history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
}

function expiresAt(token) {
  try {
    const payload = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
    return payload.exp * 1000;
  } catch {
    return 0;
  }
}

async function post(path, body) {
  let response;
  try {
    response = await fetch(new URL(path, base), {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
    });
  } catch {
    return { ok: false, status: 0, data: null };
  }
  return { ok: response.ok, status: response.status, data: await response.json().catch(() => null) };
}

function store(tokens) {
  sessionStorage.setItem(TOKEN_KEY, tokens.access_token);
  if (tokens.refresh_token) sessionStorage.setItem(REFRESH_KEY, tokens.refresh_token);
  scheduleRefresh();
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  const token = accessToken();
  if (!token || !sessionStorage.getItem(REFRESH_KEY)) return;
  const delay = Math.max(MIN_REFRESH_DELAY_MS, expiresAt(token) - Date.now() - REFRESH_MARGIN_MS);
  refreshTimer = setTimeout(refresh, delay);
}

async function refresh() {
  const refreshToken = sessionStorage.getItem(REFRESH_KEY);
  if (!refreshToken) return false;
  const { ok, data } = await post("auth/refresh", { refresh_token: refreshToken });
  if (ok && data?.access_token) {
    store(data);
    return true;
  }
  signInNeeded();
  return false;
}

async function loadAgent() {
  const token = accessToken();
  if (!token) return null;
  try {
    const response = await fetch(new URL("me", base), {
      headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
    });
    agent = response.ok ? await response.json() : null;
  } catch {
    agent = null;
  }
  renderWho();
  return agent;
}

function renderWho() {
  document.querySelector("#who")?.remove();
  if (!agent) return;
  const who = el(
    "div",
    { id: "who", class: "who" },
    el("span", { id: "who-name" }, tr("signed_in_as").replace("{name}", agent.name)),
    el("button", { type: "button", class: "link-button", id: "sign-out", onclick: signOut }, tr("sign_out")),
  );
  document.querySelector(".topbar-tools")?.append(who);
}

/** Signs the page in: a `#token=` link, a stored session (renewed if it expired), or the sign-in screen (null). */
export async function startSignIn(options = {}) {
  if (options.base) base = options.base;
  if (options.tr) tr = options.tr;
  takeFragmentToken();
  const token = accessToken();
  if (token && expiresAt(token) && expiresAt(token) - Date.now() < REFRESH_MARGIN_MS) await refresh();
  if (accessToken() && (await loadAgent())) {
    scheduleRefresh();
    return agent;
  }
  signInNeeded();
  return null;
}

export function signOut() {
  clearTimeout(refreshTimer);
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(REFRESH_KEY);
  agent = null;
  renderWho();
  signInNeeded();
}

/** The sign-in screen instead of the workspace (no token, or the API said 401). */
export function signInNeeded() {
  const box = document.querySelector("#signin");
  if (!box) return;
  for (const id of ["#layout", "#problems", "#views"]) {
    const part = document.querySelector(id);
    if (part) part.hidden = true;
  }
  box.hidden = false;
  box.setAttribute("role", "region");
  box.setAttribute("aria-labelledby", "signin-heading");
  renderPasswordForm(box);
}

function message(text) {
  return el("p", { class: "signin-error", id: "signin-error", role: "alert" }, text);
}

function field(id, label, attrs) {
  return el("p", { class: "field" }, el("label", { for: id }, label), el("input", { id, name: id, required: true, ...attrs }));
}

function renderPasswordForm(box, error = null) {
  const form = el(
    "form",
    { id: "signin-form", novalidate: true, onsubmit: submitPassword },
    field("signin-email", tr("signin_email"), { type: "email", autocomplete: "username" }),
    field("signin-password", tr("signin_password"), { type: "password", autocomplete: "current-password" }),
    error ? message(error) : null,
    el("button", { type: "submit", class: "primary", id: "signin-submit" }, tr("signin_submit")),
  );
  box.replaceChildren(el("h2", { id: "signin-heading" }, tr("signin_title")), el("p", {}, tr("signin_text")), form);
  document.querySelector("#signin-email").focus();
}

function renderNewPasswordForm(box, username, session, error = null) {
  const form = el(
    "form",
    { id: "signin-new-password-form", novalidate: true, onsubmit: (event) => submitNewPassword(event, username, session) },
    field("signin-new-password", tr("signin_new_password"), { type: "password", autocomplete: "new-password" }),
    error ? message(error) : null,
    el("button", { type: "submit", class: "primary", id: "signin-new-password-submit" }, tr("signin_new_password_submit")),
  );
  box.replaceChildren(
    el("h2", { id: "signin-heading" }, tr("signin_title")),
    el("p", {}, tr("signin_new_password_text")),
    form,
  );
  document.querySelector("#signin-new-password").focus();
}

async function finish(data, box, username) {
  if (data?.challenge === "NEW_PASSWORD_REQUIRED") return renderNewPasswordForm(box, username, data.session);
  store(data);
  if (!(await loadAgent())) return renderPasswordForm(box, tr("signin_not_agent"));
  location.reload(); // the workspace starts signed in, exactly as on a normal page load
}

async function submitPassword(event) {
  event.preventDefault();
  const box = document.querySelector("#signin");
  const username = document.querySelector("#signin-email").value.trim();
  const password = document.querySelector("#signin-password").value;
  if (!username || !password) return renderPasswordForm(box, tr("signin_failed"));
  const { ok, status, data } = await post("auth/sign-in", { username, password });
  if (!ok) return renderPasswordForm(box, status === 401 ? tr("signin_failed") : data?.Message || tr("error_network"));
  return finish(data, box, username);
}

async function submitNewPassword(event, username, session) {
  event.preventDefault();
  const box = document.querySelector("#signin");
  const password = document.querySelector("#signin-new-password").value;
  const { ok, status, data } = await post("auth/new-password", { username, session, new_password: password });
  if (status === 401) return renderPasswordForm(box, tr("signin_failed"));
  if (!ok) return renderNewPasswordForm(box, username, session, data?.Message || tr("error_network"));
  return finish(data, box, username);
}
