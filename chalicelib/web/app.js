// deskmail agent workspace: tickets with delivery failures, a ticket's conversation with per-recipient delivery
// (timeline, "why no email?", fix the address, resend, reset deliverability), its events log, a recipient check
// while composing, the delivery-problems inbox and the sending reputation. Plain DOM, no framework.

const SUPPORTED = ["en", "it", "de", "es", "fr"];
const TOKEN_KEY = "deskmail.token";
const LOCALE_KEY = "deskmail.locale";
const FAILURE_TAG = "system_email_notification_failure";
const FAILED = new Set(["bounced", "rejected", "suppressed"]);
const RESETTABLE = new Set(["address_undeliverable", "address_complained"]);
const CHECK_DELAY_MS = 400;
const VERSION = new URL(import.meta.url).searchParams.get("v") || "";
const BASE = new URL("..", import.meta.url); // the page's folder: static/ sits right under it

const ICONS = {
  warning:
    '<svg viewBox="0 0 24 24" width="18" height="18"><path fill="#b42318" d="M12 2.5 1.5 21h21L12 2.5z"/>' +
    '<path fill="#fff" d="M11 9h2v6h-2zm0 8h2v2h-2z"/></svg>',
  caution:
    '<svg viewBox="0 0 24 24" width="18" height="18"><path fill="#b54708" d="M12 2.5 1.5 21h21L12 2.5z"/>' +
    '<path fill="#fff" d="M11 9h2v6h-2zm0 8h2v2h-2z"/></svg>',
  events:
    '<svg viewBox="0 0 24 24" width="18" height="18" fill="none" stroke="currentColor" stroke-width="2" ' +
    'stroke-linecap="round"><circle cx="12" cy="12" r="9"/><path d="M12 7v5l3 2"/></svg>',
  refresh:
    '<svg viewBox="0 0 24 24" width="18" height="18" fill="none" stroke="currentColor" stroke-width="2" ' +
    'stroke-linecap="round"><path d="M20 11a8 8 0 1 0-2.3 5.7"/><path d="M20 4v7h-7"/></svg>',
};

const state = {
  token: null,
  locale: "en",
  strings: {},
  fallback: {},
  listNext: null,
  ticketId: null,
  ticket: null,
  author: null,
  users: new Map(),
  smtp: new Map(),
  refreshTimer: null,
  view: "tickets",
  checkTimer: null,
  checkSeq: 0,
  lastCheck: null,
  inbox: { loaded: false, next: null, category: "", categories: new Set() },
};

const $ = (selector, root = document) => root.querySelector(selector);

// ---- small helpers ------------------------------------------------------------------------------------------------

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

function icon(name) {
  const template = document.createElement("template");
  template.innerHTML = ICONS[name];
  const svg = template.content.firstElementChild;
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  return svg;
}

function tr(key, vars = {}) {
  const text = state.strings[key] ?? state.fallback[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (match, name) => (name in vars ? String(vars[name]) : match));
}

function formatTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(state.locale, { dateStyle: "medium", timeStyle: "short" }).format(date);
}

function percent(value) {
  return new Intl.NumberFormat(state.locale, { style: "percent", maximumFractionDigits: 2 }).format(value || 0);
}

function categoryText(category) {
  if (!category) return "—";
  const key = `category_${category}`;
  return key in state.strings || key in state.fallback ? tr(key) : category;
}

function timeEl(iso) {
  return h("time", { datetime: iso }, formatTime(iso));
}

function initials(name) {
  return (name || "?")
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((part) => part[0].toUpperCase())
    .join("");
}

function announce(text) {
  const status = $("#status");
  status.textContent = "";
  setTimeout(() => (status.textContent = text), 50);
}

function showError(text) {
  const box = $("#error");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => (box.hidden = true), 8000);
}

// ---- sign-in token and language -----------------------------------------------------------------------------------

// The local stack's outbox page (make run passes its URL): only a loopback http URL, never a script URL.
const OUTBOX_KEY = "deskmail.outbox";
const LOCAL_OUTBOX = /^http:\/\/(127\.0\.0\.1|localhost):\d{1,5}\/?$/;

function takeToken() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.has("outbox")) {
    if (LOCAL_OUTBOX.test(fragment.get("outbox"))) sessionStorage.setItem(OUTBOX_KEY, fragment.get("outbox"));
    fragment.delete("outbox");
    const rest = fragment.toString();
    history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
  }
  if (fragment.has("token")) {
    sessionStorage.setItem(TOKEN_KEY, fragment.get("token"));
    fragment.delete("token");
    const rest = fragment.toString();
    history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

function browserLocale() {
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const primary = tag.toLowerCase().split("-")[0];
    if (SUPPORTED.includes(primary)) return primary;
  }
  return "en";
}

function acceptLanguage() {
  const tags = [...(navigator.languages || [navigator.language || "en"])];
  if (!tags.includes(state.locale)) tags.unshift(state.locale);
  return tags.map((tag, i) => (i === 0 ? tag : `${tag};q=${Math.max(0.1, 1 - i * 0.1).toFixed(1)}`)).join(",");
}

async function loadStrings(locale) {
  const get = async (name) => {
    const response = await fetch(new URL(`static/i18n/${name}.json?v=${VERSION}`, BASE));
    return response.ok ? response.json() : {};
  };
  state.fallback = Object.keys(state.fallback).length ? state.fallback : await get("en");
  state.strings = locale === "en" ? state.fallback : await get(locale);
  document.documentElement.lang = locale;
  document.title = tr("page_title");
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = tr(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", tr(el.dataset.i18nLabel));
}

// ---- the API ------------------------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, message, code) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(path, { method = "GET", body } = {}) {
  const url = new URL(path, BASE);
  url.searchParams.set("locale", state.locale);
  const headers = { Accept: "application/json", "Accept-Language": acceptLanguage() };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new ApiError(0, tr("error_network"));
  }
  if (response.status === 401) {
    showSignIn();
    throw new ApiError(401, tr("signin_text"));
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data?.Message || response.statusText, data?.Code);
  return data;
}

function showSignIn() {
  $("#signin").hidden = false;
  $("#layout").hidden = true;
}

async function user(id) {
  if (!id) return null;
  if (!state.users.has(id)) state.users.set(id, api(`users/${encodeURIComponent(id)}`).catch(() => null));
  return state.users.get(id);
}

async function smtpSummary(code) {
  const key = `${state.locale}:${code}`;
  if (!state.smtp.has(key)) {
    state.smtp.set(key, api(`smtp-codes/${encodeURIComponent(code)}`).then((d) => d?.summary || null, () => null));
  }
  return state.smtp.get(key);
}

// ---- tickets with delivery failures -------------------------------------------------------------------------------

async function loadList(more = false) {
  const list = $("#ticket-list");
  const params = new URLSearchParams({ tag: FAILURE_TAG });
  if (more && state.listNext) params.set("next_page", state.listNext);
  list.setAttribute("aria-busy", "true");
  try {
    const data = await api(`tickets?${params}`);
    if (!more) list.replaceChildren();
    for (const ticket of data.tickets) {
      list.append(
        h(
          "li",
          {},
          h(
            "a",
            { href: `#ticket=${encodeURIComponent(ticket.id)}`, "data-ticket": ticket.id },
            h("span", { class: "subject" }, icon("warning"), ticket.subject || ticket.id),
            h("span", { class: "meta" }, tr("last_failure", { time: formatTime(ticket.last_failure_at) })),
          ),
        ),
      );
    }
    state.listNext = data.next_page;
    $("#list-more").hidden = !data.next_page;
    $("#list-empty").hidden = list.children.length > 0;
    markCurrent();
  } catch (error) {
    if (error.status !== 401) showError(error.message);
  } finally {
    list.setAttribute("aria-busy", "false");
  }
}

function markCurrent() {
  for (const link of document.querySelectorAll("#ticket-list a")) {
    if (link.dataset.ticket === state.ticketId) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

// ---- a ticket's conversation --------------------------------------------------------------------------------------

async function loadComments(ticketId) {
  const comments = [];
  let page = null;
  for (let i = 0; i < 25; i += 1) {
    const params = page ? `?next_page=${encodeURIComponent(page)}` : "";
    const data = await api(`tickets/${encodeURIComponent(ticketId)}/comments${params}`);
    comments.push(...data.comments);
    page = data.next_page;
    if (!page) break;
  }
  return comments;
}

async function openTicket(ticketId, { focus = true } = {}) {
  state.ticketId = ticketId;
  markCurrent();
  if (!ticketId) {
    $("#ticket").hidden = true;
    $("#placeholder").hidden = false;
    $("#conversation").setAttribute("aria-labelledby", "placeholder-title");
    return;
  }
  try {
    const [ticket, comments] = await Promise.all([api(`tickets/${encodeURIComponent(ticketId)}`), loadComments(ticketId)]);
    const [requester, assignee] = await Promise.all([user(ticket.requester_id), user(ticket.assignee_id)]);
    if (state.ticketId !== ticketId) return;
    state.ticket = ticket;
    state.author = assignee && assignee.role === "agent" ? assignee : null;
    renderTicket(ticket, requester, comments);
    if (focus) $("#ticket-title").focus();
  } catch (error) {
    if (error.status !== 401) showError(error.message);
  }
}

function renderTicket(ticket, requester, comments) {
  const head = h(
    "div",
    { class: "ticket-head" },
    h(
      "div",
      {},
      h("h2", { id: "ticket-title", tabindex: "-1" }, ticket.subject),
      h(
        "p",
        { class: "ticket-meta" },
        h("span", {}, `#${ticket.id}`),
        h("span", {}, tr("status_label", { status: ticket.status })),
        requester ? h("span", {}, tr("requester_label", { name: requester.name })) : null,
        ticket.tags.map((tag) => h("span", { class: "tag" }, tag)),
      ),
    ),
    h(
      "div",
      { class: "head-tools" },
      h(
        "button",
        { type: "button", class: "tool-button", id: "refresh-ticket", onclick: () => refreshConversation(true) },
        icon("refresh"),
        h("span", {}, tr("refresh")),
      ),
      h(
        "button",
        { type: "button", class: "tool-button", id: "open-events", "aria-haspopup": "dialog", onclick: openEvents },
        icon("events"),
        h("span", {}, tr("events_button")),
      ),
    ),
  );
  const section = $("#ticket");
  section.replaceChildren(
    head,
    h("h3", { class: "visually-hidden", id: "comments-title" }, tr("conversation")),
    renderComments(comments),
    renderComposer(),
  );
  section.hidden = false;
  $("#placeholder").hidden = true;
  $("#conversation").setAttribute("aria-labelledby", "ticket-title");
}

function renderComments(comments) {
  return h(
    "ol",
    { class: "comments", id: "comments", "aria-labelledby": "comments-title" },
    comments.map((comment) => renderComment(comment)),
  );
}

function renderComment(comment) {
  const headingId = `comment-${comment.id}-author`;
  return h(
    "li",
    { class: `comment ${comment.public ? "public" : "private"}`, id: `comment-${comment.id}`, "data-comment": comment.id },
    h(
      "article",
      { "aria-labelledby": headingId },
      h(
        "div",
        { class: "comment-head" },
        h("span", { class: "avatar", "aria-hidden": "true" }, initials(comment.author_name)),
        h("h4", { id: headingId, class: "author" }, comment.author_name || comment.author_id),
        timeEl(comment.created_at),
        h(
          "span",
          { class: `badge ${comment.public ? "public" : "private"}` },
          comment.public ? tr("public_reply") : tr("internal_note"),
        ),
      ),
      h("div", { class: "comment-body" }, comment.body),
      comment.delivery ? renderDelivery(comment) : null,
    ),
  );
}

function renderDelivery(comment) {
  const { delivery } = comment;
  const failedCount = delivery.recipients.filter((r) => FAILED.has(r.status)).length;
  let message = delivery.message;
  if (!message && failedCount) message = tr(failedCount === delivery.recipients.length ? "delivery_failed" : "delivery_failed_some");
  return h(
    "section",
    { class: "delivery", "aria-label": tr("email_delivery"), "data-scope": delivery.scope },
    message ? h("p", { class: "delivery-message", "data-scope": delivery.scope }, icon("warning"), h("span", {}, message)) : null,
    h("p", { class: "recipients-label" }, tr("notified")),
    h(
      "ul",
      { class: "recipients" },
      // Recipients who need the agent come first (failed, then not sent): the first warning icon is the first stop.
      delivery.recipients
        .map((recipient, index) => [recipient, index])
        .sort(([a], [b]) => attention(a) - attention(b))
        .map(([recipient, index]) => renderRecipient(comment, recipient, index)),
    ),
  );
}

function attention(recipient) {
  if (FAILED.has(recipient.status)) return 0;
  return recipient.status === "not_sent" ? 1 : 2;
}

function statusText(status) {
  return tr(`status_${status}`);
}

function renderRecipient(comment, recipient, index) {
  const failed = FAILED.has(recipient.status);
  const notSent = recipient.status === "not_sent";
  const label = recipient.name || recipient.email || recipient.user_id;
  const item = h(
    "li",
    { class: "recipient", "data-status": recipient.status, "data-user": recipient.user_id, "data-email": recipient.email || "" },
  );
  const name = h("span", { class: "name" }, label);
  const email = h("span", { class: "email" }, recipient.email ? `<${recipient.email}>` : "");
  const badge = h("span", { class: `badge ${failed ? "failed" : recipient.status}` }, statusText(recipient.status));
  const popoverId = `popover-${comment.id}-${index}`;
  const popover = renderPopover(comment, recipient, popoverId);
  const common = { type: "button", "aria-expanded": "false", "aria-controls": popoverId, "data-details": "" };
  if (failed || notSent) {
    // An icon beside the name: red for a failure, amber for a notification deskmail did not send.
    const button = h(
      "button",
      {
        ...common,
        class: failed ? "warn-button" : "warn-button caution-button",
        "aria-label": tr(failed ? "failure_details_for" : "not_sent_details_for", { name: label }),
        "data-auto-open": "",
      },
      icon(failed ? "warning" : "caution"),
    );
    item.append(button, name, email, badge, popover);
    wireDisclosure(item, button, popover, recipient);
    return item;
  }
  // Every other recipient: a small link opens the same details, and asks the API why no email arrived.
  const link = h(
    "button",
    { ...common, class: "link-button why-link", "aria-label": tr("why_no_email_for", { name: label }) },
    tr("why_no_email"),
  );
  item.append(h("span", { class: "icon-slot", "aria-hidden": "true" }), name, email, badge, link, popover);
  if (recipient.failure?.reason && recipient.status !== "delivered") item.append(h("span", { class: "hint note" }, recipient.failure.reason));
  wireDisclosure(item, link, popover, recipient);
  link.addEventListener("click", () => {
    if (link.getAttribute("aria-expanded") === "true") runDiagnostics(recipient, popover);
  });
  return item;
}

function codeText(failure) {
  const parts = [failure.smtp_status, failure.smtp_code].filter(Boolean);
  if (!parts.length) return null;
  return parts.length === 2 ? `${parts[0]} (${parts[1]})` : parts[0];
}

function renderTimeline(recipient) {
  const entries = recipient.timeline || [];
  if (!entries.length) return h("span", { class: "hint" }, tr("timeline_empty"));
  return h(
    "ol",
    { class: "timeline" },
    entries.map((entry) => {
      const code = codeText(entry);
      const key = `kind_${entry.kind}`;
      return h(
        "li",
        { "data-kind": entry.kind },
        h("span", { class: "kind" }, key in state.fallback ? tr(key) : entry.kind),
        timeEl(entry.occurred_at),
        code ? h("code", {}, code) : null,
      );
    }),
  );
}

function renderPopover(comment, recipient, popoverId) {
  const failure = recipient.failure || {};
  const failed = FAILED.has(recipient.status);
  const notSent = recipient.status === "not_sent";
  const label = recipient.name || recipient.email || recipient.user_id;
  const code = codeText(failure);
  const summary = h("span", { class: "smtp-summary hint" });
  const rows = [
    [tr("recipient"), `${recipient.name || ""} <${recipient.email || "—"}>`],
    failed ? null : [tr("status"), statusText(recipient.status)],
    failed || recipient.failure ? [tr("reason"), failure.reason || statusText(recipient.status)] : null,
    code ? [tr("code"), [h("code", {}, code), " ", summary]] : null,
    failure.remedy ? [tr("remedy"), failure.remedy] : null,
    failure.diagnostic ? [tr("diagnostic"), h("code", {}, failure.diagnostic)] : null,
    [tr("timeline"), renderTimeline(recipient)],
  ].filter(Boolean);
  const titleId = `${popoverId}-title`;
  const title = failed ? "delivery_failed_to" : notSent ? "not_sent_to" : "email_to";
  const canEdit = failed || notSent;
  const canReset = RESETTABLE.has(failure.category) && Boolean(recipient.email);
  const popover = h(
    "div",
    { class: `popover ${failed ? "tone-failed" : notSent ? "tone-caution" : "tone-neutral"}`, id: popoverId, role: "group", "aria-labelledby": titleId, hidden: true },
    h("h5", { id: titleId }, tr(title, { name: label })),
    h("dl", {}, rows.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)])),
    h(
      "div",
      { class: "actions" },
      canEdit ? h("button", { type: "button", class: "secondary edit-address", "aria-expanded": "false" }, tr("edit_address")) : null,
      h("button", { type: "button", class: "secondary why-button", onclick: () => runDiagnostics(recipient, popover) }, tr("why_no_email")),
      canReset ? h("button", { type: "button", class: "secondary reset-button", "aria-expanded": "false" }, tr("reset_deliverability")) : null,
    ),
    canReset ? renderResetConfirm(comment, recipient, popoverId) : null,
    canEdit ? renderEditForm(comment, recipient, popoverId) : null,
    h("section", { class: "diagnostics", id: `${popoverId}-diagnostics`, "aria-labelledby": `${popoverId}-diagnostics-title`, hidden: true }),
  );
  return popover;
}

function closeAllPopovers(except) {
  for (const button of document.querySelectorAll('[data-details][aria-expanded="true"]')) {
    if (button !== except) setOpen(button, false);
  }
}

function setOpen(button, open) {
  const popover = document.getElementById(button.getAttribute("aria-controls"));
  button.setAttribute("aria-expanded", String(open));
  popover.hidden = !open;
  if (open) {
    closeAllPopovers(button);
    const summary = $(".smtp-summary", popover);
    if (summary && !summary.dataset.loaded) {
      summary.dataset.loaded = "1";
      const failure = button._failure || {};
      const lookup = failure.smtp_status || failure.smtp_code;
      smtpSummary(lookup).then(async (text) => {
        const found = text || (failure.smtp_code && failure.smtp_status ? await smtpSummary(failure.smtp_code) : null);
        if (found) summary.textContent = `— ${found}`;
      });
    }
  }
}

// Focus moves on pointerdown; closing a popover then would move what is under the pointer before the click lands.
let pointerIsDown = false;
document.addEventListener("pointerdown", () => (pointerIsDown = true), true);
document.addEventListener("pointerup", () => setTimeout(() => (pointerIsDown = false)), true);

function afterPointer(action) {
  if (!pointerIsDown) return action();
  document.addEventListener("pointerup", () => setTimeout(action), { once: true, capture: true });
}

function wireDisclosure(item, button, popover, recipient) {
  button._failure = recipient.failure;
  button.addEventListener("click", () => setOpen(button, button.getAttribute("aria-expanded") !== "true"));
  // Keyboard users get the details as soon as they reach the icon; a mouse click toggles (no :focus-visible then).
  if (button.hasAttribute("data-auto-open")) {
    button.addEventListener("focus", () => {
      if (button.noAutoOpen) button.noAutoOpen = false;
      else if (button.matches(":focus-visible")) setOpen(button, true);
    });
  }
  item.addEventListener("focusout", (event) => {
    if (!item.contains(event.relatedTarget) && event.relatedTarget) {
      afterPointer(() => {
        if (!item.contains(document.activeElement)) setOpen(button, false);
      });
    }
  });
  item.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
      event.stopPropagation();
      setOpen(button, false);
      button.noAutoOpen = document.activeElement !== button; // focus goes back to the icon without opening it again
      button.focus();
    }
  });
  const edit = $(".edit-address", popover);
  const form = $(".edit-form", popover);
  if (edit && form) {
    edit.addEventListener("click", () => {
      form.hidden = false;
      edit.setAttribute("aria-expanded", "true");
      $("input", form).focus();
    });
    edit.setAttribute("aria-controls", form.id);
  }
  const reset = $(".reset-button", popover);
  const confirm = $(".reset-confirm", popover);
  if (reset && confirm) {
    reset.setAttribute("aria-controls", confirm.id);
    reset.addEventListener("click", () => {
      confirm.hidden = false;
      reset.setAttribute("aria-expanded", "true");
      $(".confirm-reset", confirm).focus();
    });
  }
}

// ---- "why no email?": the API's ordered checks for one recipient ---------------------------------------------------

async function runDiagnostics(recipient, popover) {
  const box = $(".diagnostics", popover);
  const titleId = box.getAttribute("aria-labelledby");
  const label = recipient.name || recipient.email || recipient.user_id;
  const heading = h("h6", { id: titleId }, tr("why_no_email_title", { name: label }));
  box.hidden = false;
  box.setAttribute("aria-busy", "true");
  box.replaceChildren(heading, h("p", { class: "hint" }, tr("loading")));
  const params = new URLSearchParams({ user_id: recipient.user_id });
  try {
    const data = await api(`tickets/${encodeURIComponent(state.ticketId)}/diagnostics?${params}`);
    box.replaceChildren(
      heading,
      h(
        "ol",
        { class: "checks" },
        data.checks.map((check) =>
          h(
            "li",
            { class: "check", "data-check": check.check, "data-status": check.status },
            h(
              "div",
              { class: "check-head" },
              h("span", { class: `badge check-${check.status}` }, tr(`check_status_${check.status}`)),
              h("span", { class: "check-name" }, `check_${check.check}` in state.fallback ? tr(`check_${check.check}`) : check.check),
            ),
            check.detail ? h("p", { class: "check-detail" }, check.detail) : null,
            check.fix ? h("p", { class: "check-fix" }, h("span", { class: "fix-label" }, tr("remedy")), " ", check.fix) : null,
          ),
        ),
      ),
    );
    announce(tr("diagnostics_ready", { name: label }));
  } catch (error) {
    if (error.status !== 401) box.replaceChildren(heading, h("p", { class: "field-error", role: "alert" }, error.message));
  } finally {
    box.setAttribute("aria-busy", "false");
  }
}

// ---- fix: edit the address, reset its deliverability, resend the comment -------------------------------------------

function resendControls(comment, recipient) {
  const error = h("p", { class: "field-error resend-error", role: "alert", hidden: true });
  const button = h("button", { type: "button", class: "secondary resend-button" }, tr("resend_comment"));
  button.addEventListener("click", async () => {
    error.hidden = true;
    button.disabled = true;
    try {
      await api(`tickets/${encodeURIComponent(state.ticketId)}/comments/${encodeURIComponent(comment.id)}/resend`, {
        method: "POST",
        body: { user_ids: [recipient.user_id] },
      });
      const address = (await user(recipient.user_id))?.email || recipient.email || "";
      await refreshConversation(false);
      const delivery = $(`#comment-${CSS.escape(comment.id)} .delivery`);
      const done = h("p", { class: "notice resent", role: "status", tabindex: "-1" }, tr("resent_to", { email: address }));
      delivery?.append(done);
      done.focus();
      scheduleFeedbackRefresh();
    } catch (failure) {
      if (failure.status !== 401) {
        error.textContent = failure.message;
        error.hidden = false;
      }
    } finally {
      button.disabled = false;
    }
  });
  return [button, error];
}

function renderResetConfirm(comment, recipient, popoverId) {
  const textId = `${popoverId}-reset-text`;
  const error = h("p", { class: "field-error", role: "alert", hidden: true });
  const notice = h("div", { class: "notice", role: "status", hidden: true });
  const box = h(
    "div",
    { class: "reset-confirm", id: `${popoverId}-reset`, role: "group", "aria-labelledby": textId, hidden: true },
    h("p", { id: textId }, tr("reset_confirm", { email: recipient.email })),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", class: "primary confirm-reset", onclick: confirm }, tr("reset")),
      h("button", { type: "button", class: "secondary", onclick: cancel }, tr("cancel")),
    ),
    error,
  );
  const wrapper = h("div", {}, box, notice);
  wrapper.className = "reset-area";
  function cancel() {
    box.hidden = true;
    const reset = wrapper.closest(".popover").querySelector(".reset-button");
    reset.setAttribute("aria-expanded", "false");
    reset.focus();
  }
  async function confirm() {
    error.hidden = true;
    try {
      await api(`users/${encodeURIComponent(recipient.user_id)}/deliverability/reset`, { method: "POST" });
      state.users.delete(recipient.user_id);
      box.hidden = true;
      const reset = wrapper.closest(".popover").querySelector(".reset-button");
      reset.hidden = true;
      notice.replaceChildren(h("p", {}, tr("reset_done", { email: recipient.email })), h("div", { class: "actions" }, resendControls(comment, recipient)));
      notice.hidden = false;
      $(".resend-button", notice).focus();
      announce(tr("reset_done", { email: recipient.email }));
      scheduleCheck(0);
    } catch (failure) {
      if (failure.status !== 401) {
        error.textContent = failure.message;
        error.hidden = false;
      }
    }
  }
  return wrapper;
}

function renderEditForm(comment, recipient, popoverId) {
  const inputId = `${popoverId}-email`;
  const errorId = `${popoverId}-error`;
  const input = h("input", {
    type: "email",
    id: inputId,
    name: "email",
    value: recipient.email || "",
    autocomplete: "off",
    "aria-describedby": errorId,
  });
  const error = h("p", { class: "field-error", id: errorId, role: "alert", hidden: true });
  const notice = h("div", { class: "notice", role: "status", hidden: true });
  const form = h(
    "form",
    { class: "edit-form", id: `${popoverId}-form`, novalidate: true, hidden: true },
    h("label", { for: inputId }, tr("email_for", { name: recipient.name || "" })),
    input,
    error,
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit", class: "primary" }, tr("save")),
      h(
        "button",
        {
          type: "button",
          class: "secondary",
          onclick: () => {
            form.hidden = true;
            form.closest(".popover").querySelector(".edit-address").setAttribute("aria-expanded", "false");
            form.closest(".popover").querySelector(".edit-address").focus();
          },
        },
        tr("cancel"),
      ),
    ),
    notice,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = input.value.trim();
    error.hidden = true;
    input.removeAttribute("aria-invalid");
    if (!value) return invalid(tr("email_required"));
    try {
      const updated = await api(`users/${encodeURIComponent(recipient.user_id)}`, { method: "PATCH", body: { email: value } });
      state.users.delete(recipient.user_id);
      for (const item of document.querySelectorAll(`.recipient[data-user="${CSS.escape(recipient.user_id)}"]`)) {
        item.dataset.email = updated.email;
        $(".email", item).textContent = `<${updated.email}>`;
      }
      notice.replaceChildren(
        h("p", {}, tr("address_updated", { email: updated.email })),
        h(
          "div",
          { class: "actions" },
          resendControls(comment, recipient),
          h("button", { type: "button", class: "link-button", onclick: focusComposer }, tr("write_public_comment")),
        ),
      );
      notice.hidden = false;
      announce(tr("address_updated", { email: updated.email }));
      scheduleCheck(0);
    } catch (failure) {
      if (failure.status !== 401) invalid(failure.message);
    }
  });
  function invalid(text) {
    error.textContent = text;
    error.hidden = false;
    input.setAttribute("aria-invalid", "true");
    input.focus();
  }
  return form;
}

// ---- composer: add a comment (a public one sends the notification again) ------------------------------------------

function renderComposer() {
  const authorField = state.author
    ? h("p", { class: "hint", id: "composer-author-text" }, tr("replying_as", { name: state.author.name }))
    : h(
        "div",
        { class: "author" },
        h("label", { for: "composer-author" }, tr("author_id")),
        h("input", { type: "text", id: "composer-author", required: true, autocomplete: "off" }),
      );
  const error = h("p", { class: "field-error", id: "composer-error", role: "alert", hidden: true });
  const form = h(
    "form",
    { class: "composer", id: "composer", "aria-labelledby": "composer-title", novalidate: true },
    h("h3", { id: "composer-title" }, tr("add_comment")),
    h("label", { for: "composer-body", class: "visually-hidden" }, tr("comment")),
    h("textarea", { id: "composer-body", name: "body", placeholder: tr("comment_placeholder"), "aria-describedby": "composer-error" }),
    error,
    h("div", { class: "recipient-check", id: "recipient-check", "aria-live": "polite", hidden: true }),
    h(
      "div",
      { class: "row" },
      h(
        "label",
        { class: "check" },
        h("input", { type: "checkbox", id: "composer-public", checked: true }),
        tr("public_reply_hint"),
      ),
      authorField,
      h("button", { type: "submit", class: "primary", id: "composer-send", "aria-describedby": "recipient-check" }, tr("send")),
    ),
  );
  form.addEventListener("submit", submitComment);
  // Warn before sending: who this comment would email, and who not and why (debounced while typing).
  form.addEventListener("input", (event) => {
    if (event.target.id === "composer-body" || event.target.id === "composer-author") scheduleCheck();
  });
  form.addEventListener("change", (event) => {
    if (event.target.id === "composer-public") scheduleCheck(0);
  });
  return form;
}

function scheduleCheck(delay = CHECK_DELAY_MS) {
  clearTimeout(state.checkTimer);
  state.checkTimer = setTimeout(runCheck, delay);
}

async function runCheck() {
  const box = $("#recipient-check");
  if (!box) return;
  const seq = (state.checkSeq += 1);
  const ticketId = state.ticketId;
  const author = state.author ? state.author.id : $("#composer-author")?.value.trim();
  if (!$("#composer-body").value.trim() || !author) {
    state.lastCheck = null;
    box.hidden = true;
    box.replaceChildren();
    return;
  }
  const isPublic = $("#composer-public").checked;
  let data;
  try {
    data = await api(`tickets/${encodeURIComponent(ticketId)}/recipient-check`, {
      method: "POST",
      body: { comment: { public: isPublic, author_id: author } },
    });
  } catch (error) {
    if (seq !== state.checkSeq || error.status === 401) return;
    data = { error: error.message };
  }
  if (seq !== state.checkSeq || ticketId !== state.ticketId) return; // a newer check or another ticket
  const key = JSON.stringify([isPublic, data]);
  if (key === state.lastCheck && !box.hidden) return; // same answer: nothing new to announce
  state.lastCheck = key;
  box.replaceChildren(...renderCheck(data));
  box.dataset.state = data.error ? "error" : data.will_not_email.length ? "warning" : data.will_email.length ? "ok" : "none";
  box.hidden = false;
}

function renderCheck(data) {
  if (data.error) return [h("p", { class: "field-error" }, data.error)];
  const who = (row) => [h("span", { class: "name" }, row.name || row.user_id), row.email ? h("span", { class: "email" }, ` <${row.email}>`) : null];
  const parts = [];
  if (data.will_email.length) {
    parts.push(
      h(
        "div",
        { class: "will" },
        h("p", { class: "check-title" }, tr("check_will_email", { count: data.will_email.length })),
        h("ul", { class: "will-email" }, data.will_email.map((row) => h("li", { "data-user": row.user_id }, who(row)))),
      ),
    );
  }
  if (data.will_not_email.length) {
    parts.push(
      h(
        "div",
        { class: "wont" },
        h("p", { class: "check-title" }, icon("caution"), h("span", {}, tr("check_will_not_email", { count: data.will_not_email.length }))),
        h(
          "ul",
          { class: "will-not-email" },
          data.will_not_email.map((row) =>
            h("li", { "data-user": row.user_id }, who(row), h("span", { class: "why" }, `: ${row.reason?.reason || categoryText(row.reason?.category)}`)),
          ),
        ),
      ),
    );
  }
  if (!parts.length) parts.push(h("p", { class: "check-title" }, tr("check_nobody")));
  return parts;
}

function focusComposer() {
  closeAllPopovers();
  if (!$("#composer-public").checked) scheduleCheck(0);
  $("#composer-public").checked = true;
  $("#composer-body").focus();
  $("#composer").scrollIntoView({ block: "center" });
}

async function submitComment(event) {
  event.preventDefault();
  const body = $("#composer-body");
  const error = $("#composer-error");
  const send = $("#composer-send");
  const author = state.author ? state.author.id : $("#composer-author").value.trim();
  error.hidden = true;
  if (!body.value.trim()) return composerError(tr("comment_required"), body);
  if (!author) return composerError(tr("author_required"), $("#composer-author"));
  send.disabled = true;
  try {
    const created = await api(`tickets/${encodeURIComponent(state.ticketId)}/comments`, {
      method: "POST",
      body: { author_id: author, body: body.value, public: $("#composer-public").checked },
    });
    body.value = "";
    scheduleCheck(0);
    announce(tr("comment_added"));
    await refreshConversation(false);
    document.getElementById(`comment-${created.id}`)?.scrollIntoView({ block: "nearest" });
    scheduleFeedbackRefresh();
  } catch (failure) {
    if (failure.status !== 401) composerError(failure.message, body);
  } finally {
    send.disabled = false;
  }
}

// Delivery feedback arrives a few seconds after sending: look again once, unless the agent is busy.
function scheduleFeedbackRefresh() {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(() => {
    if (!document.querySelector('[data-details][aria-expanded="true"]') && !$("#comments")?.contains(document.activeElement)) {
      refreshConversation(false);
    }
  }, 4000);
}

function composerError(text, field) {
  const error = $("#composer-error");
  error.textContent = text;
  error.hidden = false;
  field?.focus();
}

async function refreshConversation(announceIt) {
  if (!state.ticketId) return;
  try {
    const comments = await loadComments(state.ticketId);
    $("#comments").replaceWith(renderComments(comments));
    if (announceIt) announce(tr("refreshed"));
  } catch (error) {
    if (error.status !== 401) showError(error.message);
  }
}

// ---- the events log -----------------------------------------------------------------------------------------------

async function openEvents() {
  const dialog = $("#events");
  const list = $("#events-list");
  list.replaceChildren(h("li", { class: "hint" }, tr("loading")));
  dialog.showModal();
  $("#events-close").focus();
  try {
    // The log comes in pages (an auto-responder storm can hold thousands of events): follow next_page.
    const events = [];
    let next = null;
    do {
      const query = next ? `?next_page=${encodeURIComponent(next)}` : "";
      const data = await api(`tickets/${encodeURIComponent(state.ticketId)}/events${query}`);
      events.push(...data.events);
      next = data.next_page;
    } while (next);
    list.replaceChildren(...events.map(renderEvent));
  } catch (error) {
    list.replaceChildren(h("li", { class: "field-error" }, error.message));
  }
}

function person(who) {
  if (!who) return "—";
  return who.email ? `${who.name || ""} <${who.email}>`.trim() : who.name || who.user_id;
}

function renderEvent(event) {
  const failure = event.type === "email_delivery_failure" || event.type === "email_complaint";
  const rows = [];
  if (failure) {
    rows.push([tr("recipient"), person(event.recipient)]);
    if (event.reason) rows.push([tr("reason"), event.reason]);
    const code = codeText(event);
    if (code) rows.push([tr("code"), h("code", {}, code)]);
    if (event.diagnostic) rows.push([tr("diagnostic"), h("code", {}, event.diagnostic)]);
    if (event.remedy) rows.push([tr("remedy"), event.remedy]);
  } else if (event.recipients) {
    rows.push([
      tr("recipients"),
      event.recipients.map((r, i) => [i ? ", " : "", person(r), r.status === "not_sent" ? ` (${statusText("not_sent")})` : ""]),
    ]);
  } else if (event.tag) {
    rows.push([tr("tag"), h("span", { class: "tag" }, event.tag)]);
  }
  const triggers = event.email_notification?.triggers || [];
  return h(
    "li",
    { class: `event${failure ? " failure" : ""}`, "data-type": event.type },
    h("div", { class: "event-head" }, h("h3", {}, failure ? [icon("warning"), h("span", {}, event.description)] : event.description), timeEl(event.occurred_at)),
    rows.length ? h("dl", {}, rows.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)])) : null,
    triggers.length
      ? h(
          "section",
          { class: "notification-section" },
          h("h4", {}, tr("email_notification")),
          h("p", { class: "hint" }, tr("triggers")),
          h("ul", { class: "triggers" }, triggers.map((t) => h("li", {}, t.title || t.id))),
        )
      : null,
  );
}

// ---- the delivery-problems inbox: open failures across tickets ----------------------------------------------------

async function loadProblems(more = false) {
  const rows = $("#problems-rows");
  const table = $("#problems-table");
  const params = new URLSearchParams({ status: "open" });
  if (state.inbox.category) params.set("category", state.inbox.category);
  if (more && state.inbox.next) params.set("next_page", state.inbox.next);
  table.setAttribute("aria-busy", "true");
  try {
    const data = await api(`delivery-failures?${params}`);
    if (!more) rows.replaceChildren();
    for (const row of data.failures) {
      rows.append(renderProblem(row));
      if (row.category) state.inbox.categories.add(row.category);
    }
    state.inbox.loaded = true;
    state.inbox.next = data.next_page;
    $("#problems-more").hidden = !data.next_page;
    $("#problems-empty").hidden = rows.children.length > 0;
    renderCategories();
    updateSelection();
  } catch (error) {
    if (!more) state.inbox.loaded = false; // let the next visit try again
    if (error.status !== 401) showError(error.message);
  } finally {
    table.setAttribute("aria-busy", "false");
  }
}

function renderProblem(row) {
  const who = row.name || row.email || row.user_id;
  const code = codeText(row);
  const select = h("input", {
    type: "checkbox",
    class: "row-select",
    "aria-label": tr("select_problem", { name: who, subject: row.subject || row.ticket_id }),
    onchange: updateSelection,
  });
  return h(
    "tr",
    {
      "data-id": row.id,
      "data-ticket": row.ticket_id,
      "data-category": row.category || "",
      onclick: (event) => {
        if (!event.target.closest("input, a, button, label, td.select")) location.hash = `ticket=${encodeURIComponent(row.ticket_id)}`;
      },
    },
    h("td", { class: "select" }, select),
    h("td", { class: "subject" }, h("a", { href: `#ticket=${encodeURIComponent(row.ticket_id)}` }, row.subject || row.ticket_id)),
    h("td", {}, row.name || "—"),
    h("td", { class: "email" }, row.email || "—"),
    h("td", { class: "reason" }, row.reason || categoryText(row.category)),
    h("td", {}, code ? h("code", {}, code) : "—"),
    h("td", { class: "when" }, timeEl(row.occurred_at)),
  );
}

function renderCategories() {
  const select = $("#problems-category");
  const present = [...state.inbox.categories].sort((a, b) => categoryText(a).localeCompare(categoryText(b), state.locale));
  select.replaceChildren(
    h("option", { value: "" }, tr("all_categories")),
    ...present.map((category) => h("option", { value: category }, categoryText(category))),
  );
  select.value = state.inbox.category;
}

function updateSelection() {
  const boxes = [...document.querySelectorAll("#problems-rows .row-select")];
  const count = boxes.filter((box) => box.checked).length;
  const all = $("#problems-all");
  all.checked = count > 0 && count === boxes.length;
  all.indeterminate = count > 0 && count < boxes.length;
  all.disabled = boxes.length === 0;
  $("#problems-resolve").disabled = count === 0;
  $("#problems-selected").textContent = count ? tr("selected_count", { count }) : "";
  for (const box of boxes) box.closest("tr").classList.toggle("selected", box.checked);
}

async function resolveSelected() {
  const button = $("#problems-resolve");
  const chosen = [...document.querySelectorAll("#problems-rows tr")].filter((row) => $(".row-select", row).checked);
  if (!chosen.length) return;
  button.disabled = true;
  try {
    const result = await api("delivery-failures/resolve", { method: "POST", body: { ids: chosen.map((row) => row.dataset.id) } });
    const resolved = new Set(result.resolved);
    for (const row of chosen) if (resolved.has(row.dataset.id)) row.remove();
    $("#problems-empty").hidden = $("#problems-rows").children.length > 0;
    updateSelection();
    $("#problems-main").focus();
    announce(tr("resolved_count", { count: resolved.size }));
  } catch (error) {
    if (error.status !== 401) showError(error.message);
    updateSelection();
  }
}

// ---- views: the failures view and the delivery-problems inbox as two tabs -----------------------------------------

function showView(view) {
  state.view = view;
  const problems = view === "problems";
  for (const [tab, selected] of [[$("#tab-tickets"), !problems], [$("#tab-problems"), problems]]) {
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
  }
  $("#layout").hidden = problems;
  $("#problems").hidden = !problems;
  if (problems && !state.inbox.loaded) {
    state.inbox.loaded = true; // claimed now: the tab click and the hashchange after it must not load it twice
    loadProblems();
  }
}

function selectTab(tab) {
  if (tab.id === "tab-problems") {
    showView("problems"); // at once: hashchange comes a task later, and the tab must not look unselected meanwhile
    location.hash = "view=problems";
  }
  else location.hash = state.ticketId ? `ticket=${encodeURIComponent(state.ticketId)}` : "view=tickets";
}

function wireTabs() {
  const tabs = [$("#tab-tickets"), $("#tab-problems")];
  for (const tab of tabs) tab.addEventListener("click", () => selectTab(tab));
  $("#views").addEventListener("keydown", (event) => {
    const index = tabs.indexOf(document.activeElement);
    if (index < 0) return;
    const next = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    const tab = tabs[(next + tabs.length) % tabs.length];
    tab.focus();
    selectTab(tab);
  });
}

// ---- the sending reputation: a badge in the header ----------------------------------------------------------------

async function loadReputation() {
  try {
    renderReputation(await api("reputation"));
  } catch (error) {
    $("#reputation").hidden = true; // the rest of the page works without it
  }
}

function renderReputation(data) {
  const box = $("#reputation");
  const level = ["ok", "warning", "at-risk"].includes(data.state) ? data.state : "ok";
  const day = data.windows.find((w) => w.window === "24h") || data.windows[0] || { sent: 0, bounce_rate: 0, complaint_rate: 0 };
  const stateText = tr(`reputation_${level.replace("-", "_")}`);
  box.dataset.state = level;
  $("#reputation-badge").replaceChildren(h("span", { class: "dot", "aria-hidden": "true" }), tr("reputation_label", { state: stateText }));
  $("#reputation-tip").replaceChildren(
    h("strong", {}, tr("reputation_window_24h")),
    h("span", {}, tr("reputation_sent", { count: day.sent })),
    h("span", { class: "bounce-rate" }, tr("reputation_bounce", { rate: percent(day.bounce_rate), review: percent(data.thresholds.bounce.review) })),
    h(
      "span",
      { class: "complaint-rate" },
      tr("reputation_complaint", { rate: percent(day.complaint_rate), review: percent(data.thresholds.complaint.review) }),
    ),
  );
  box.hidden = false;
}

function wireReputation() {
  const box = $("#reputation");
  const badge = $("#reputation-badge");
  // The rates show on hover and on focus; Escape hides them without moving focus (WCAG 1.4.13).
  badge.addEventListener("keydown", (event) => {
    if (event.key === "Escape") box.classList.add("dismissed");
  });
  badge.addEventListener("blur", () => box.classList.remove("dismissed"));
  box.addEventListener("mouseenter", () => box.classList.remove("dismissed"));
  box.addEventListener("mouseleave", () => box.classList.remove("dismissed"));
}

// ---- start --------------------------------------------------------------------------------------------------------

function route() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (params.get("view") === "problems") {
    showView("problems");
    return Promise.resolve();
  }
  const fromInbox = state.view === "problems";
  showView("tickets");
  const ticket = params.get("ticket");
  if (ticket !== state.ticketId) return openTicket(ticket);
  if (fromInbox && ticket) $("#ticket-title")?.focus();
  return Promise.resolve();
}

async function changeLanguage(locale) {
  state.locale = locale;
  localStorage.setItem(LOCALE_KEY, locale);
  state.smtp.clear();
  await loadStrings(locale);
  await Promise.all([loadList(), loadReputation(), state.inbox.loaded ? loadProblems() : null]);
  if (state.ticketId) await openTicket(state.ticketId, { focus: false });
  announce(tr("language_changed"));
}

function showOutboxLink() {
  const outbox = sessionStorage.getItem(OUTBOX_KEY);
  const link = $("#outbox-link");
  if (!outbox || !LOCAL_OUTBOX.test(outbox) || !link) return;
  link.href = outbox;
  link.hidden = false;
}

async function start() {
  state.token = takeToken();
  showOutboxLink();
  const stored = localStorage.getItem(LOCALE_KEY);
  state.locale = SUPPORTED.includes(stored) ? stored : browserLocale();
  await loadStrings(state.locale);
  const select = $("#language");
  select.value = state.locale;
  select.addEventListener("change", () => changeLanguage(select.value));
  $("#refresh-list").addEventListener("click", () => loadList());
  $("#list-more").addEventListener("click", () => loadList(true));
  wireTabs();
  wireReputation();
  $("#problems-refresh").addEventListener("click", () => {
    if (!state.inbox.category) state.inbox.categories.clear();
    loadProblems();
  });
  $("#problems-more").addEventListener("click", () => loadProblems(true));
  $("#problems-resolve").addEventListener("click", resolveSelected);
  $("#problems-category").addEventListener("change", (event) => {
    state.inbox.category = event.target.value;
    loadProblems();
  });
  $("#problems-all").addEventListener("change", (event) => {
    for (const box of document.querySelectorAll("#problems-rows .row-select")) box.checked = event.target.checked;
    updateSelection();
  });
  $("#events-close").addEventListener("click", () => $("#events").close());
  $("#events").addEventListener("click", (event) => {
    if (event.target === event.currentTarget) event.currentTarget.close(); // a click on the backdrop
  });
  $("#events").addEventListener("close", () => $("#open-events")?.focus());
  document.addEventListener("click", (event) => {
    if (!event.target.closest(".recipient")) closeAllPopovers();
  });
  window.addEventListener("hashchange", route);
  document.body.dataset.ready = "false";
  await Promise.all([loadList(), loadReputation(), route()]);
  document.body.dataset.ready = "true";
}

start();
