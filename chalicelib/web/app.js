// deskmail agent workspace: tickets with delivery failures, a ticket's conversation with per-recipient delivery,
// its events log, and fix-and-resend (edit an address, add a public comment). Plain DOM, no framework.

const SUPPORTED = ["en", "it", "de", "es", "fr"];
const TOKEN_KEY = "deskmail.token";
const LOCALE_KEY = "deskmail.locale";
const FAILURE_TAG = "system_email_notification_failure";
const FAILED = new Set(["bounced", "rejected", "suppressed"]);
const VERSION = new URL(import.meta.url).searchParams.get("v") || "";
const BASE = new URL("..", import.meta.url); // the page's folder: static/ sits right under it

const ICONS = {
  warning:
    '<svg viewBox="0 0 24 24" width="18" height="18"><path fill="#b42318" d="M12 2.5 1.5 21h21L12 2.5z"/>' +
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

function takeToken() {
  const fragment = new URLSearchParams(location.hash.slice(1));
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
      delivery.recipients.map((recipient, index) => renderRecipient(comment, recipient, index)),
    ),
  );
}

function statusText(status) {
  return tr(`status_${status}`);
}

function renderRecipient(comment, recipient, index) {
  const failed = FAILED.has(recipient.status);
  const item = h(
    "li",
    { class: "recipient", "data-status": recipient.status, "data-user": recipient.user_id, "data-email": recipient.email || "" },
  );
  const name = h("span", { class: "name" }, recipient.name || recipient.email || recipient.user_id);
  const email = h("span", { class: "email" }, recipient.email ? `<${recipient.email}>` : "");
  if (!failed) {
    const note = recipient.failure && recipient.status !== "delivered" ? recipient.failure.reason : null;
    item.append(
      h("span", { class: "icon-slot", "aria-hidden": "true" }),
      name,
      email,
      h("span", { class: `badge ${recipient.status}` }, statusText(recipient.status)),
    );
    if (note) item.append(h("span", { class: "hint note" }, note));
    return item;
  }
  const popoverId = `popover-${comment.id}-${index}`;
  const button = h(
    "button",
    {
      type: "button",
      class: "warn-button",
      "aria-expanded": "false",
      "aria-controls": popoverId,
      "aria-label": tr("failure_details_for", { name: recipient.name || recipient.email }),
    },
    icon("warning"),
  );
  const popover = renderPopover(recipient, popoverId);
  item.append(button, name, email, h("span", { class: "badge failed" }, statusText(recipient.status)), popover);
  wireDisclosure(item, button, popover, recipient);
  return item;
}

function codeText(failure) {
  const parts = [failure.smtp_status, failure.smtp_code].filter(Boolean);
  if (!parts.length) return null;
  return parts.length === 2 ? `${parts[0]} (${parts[1]})` : parts[0];
}

function renderPopover(recipient, popoverId) {
  const failure = recipient.failure || {};
  const code = codeText(failure);
  const summary = h("span", { class: "smtp-summary hint" });
  const rows = [
    [tr("recipient"), `${recipient.name || ""} <${recipient.email || "—"}>`],
    [tr("reason"), failure.reason || statusText(recipient.status)],
    code ? [tr("code"), [h("code", {}, code), " ", summary]] : null,
    failure.remedy ? [tr("remedy"), failure.remedy] : null,
    failure.diagnostic ? [tr("diagnostic"), h("code", {}, failure.diagnostic)] : null,
  ].filter(Boolean);
  const titleId = `${popoverId}-title`;
  return h(
    "div",
    { class: "popover", id: popoverId, role: "group", "aria-labelledby": titleId, hidden: true },
    h("h5", { id: titleId }, tr("delivery_failed_to", { name: recipient.name || recipient.email })),
    h("dl", {}, rows.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)])),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", class: "secondary edit-address", "aria-expanded": "false" }, tr("edit_address")),
    ),
    renderEditForm(recipient, popoverId),
  );
}

function closeAllPopovers(except) {
  for (const button of document.querySelectorAll('.warn-button[aria-expanded="true"]')) {
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

function wireDisclosure(item, button, popover, recipient) {
  button._failure = recipient.failure;
  button.addEventListener("click", () => setOpen(button, button.getAttribute("aria-expanded") !== "true"));
  // Keyboard users get the details as soon as they reach the icon; a mouse click toggles (no :focus-visible then).
  button.addEventListener("focus", () => {
    if (button.noAutoOpen) button.noAutoOpen = false;
    else if (button.matches(":focus-visible")) setOpen(button, true);
  });
  item.addEventListener("focusout", (event) => {
    if (!item.contains(event.relatedTarget) && event.relatedTarget) setOpen(button, false);
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
  edit.addEventListener("click", () => {
    form.hidden = false;
    edit.setAttribute("aria-expanded", "true");
    $("input", form).focus();
  });
  edit.setAttribute("aria-controls", form.id);
}

function renderEditForm(recipient, popoverId) {
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
  const notice = h("p", { class: "notice", role: "status", hidden: true });
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
        tr("address_updated", { email: updated.email }),
        " ",
        h("button", { type: "button", class: "link-button", onclick: focusComposer }, tr("write_public_comment")),
      );
      notice.hidden = false;
      announce(tr("address_updated", { email: updated.email }));
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
      h("button", { type: "submit", class: "primary", id: "composer-send" }, tr("send")),
    ),
  );
  form.addEventListener("submit", submitComment);
  return form;
}

function focusComposer() {
  closeAllPopovers();
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
    announce(tr("comment_added"));
    await refreshConversation(false);
    document.getElementById(`comment-${created.id}`)?.scrollIntoView({ block: "nearest" });
    // Delivery feedback arrives a few seconds after sending: look again once, unless the agent is busy.
    clearTimeout(state.refreshTimer);
    state.refreshTimer = setTimeout(() => {
      if (!document.querySelector('.warn-button[aria-expanded="true"]') && !$("#comments")?.contains(document.activeElement)) {
        refreshConversation(false);
      }
    }, 4000);
  } catch (failure) {
    if (failure.status !== 401) composerError(failure.message, body);
  } finally {
    send.disabled = false;
  }
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
    const data = await api(`tickets/${encodeURIComponent(state.ticketId)}/events`);
    list.replaceChildren(...data.events.map(renderEvent));
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

// ---- start --------------------------------------------------------------------------------------------------------

function route() {
  const ticket = new URLSearchParams(location.hash.slice(1)).get("ticket");
  return ticket !== state.ticketId ? openTicket(ticket) : Promise.resolve();
}

async function changeLanguage(locale) {
  state.locale = locale;
  localStorage.setItem(LOCALE_KEY, locale);
  state.smtp.clear();
  await loadStrings(locale);
  await loadList();
  if (state.ticketId) await openTicket(state.ticketId, { focus: false });
  announce(tr("language_changed"));
}

async function start() {
  state.token = takeToken();
  const stored = localStorage.getItem(LOCALE_KEY);
  state.locale = SUPPORTED.includes(stored) ? stored : browserLocale();
  await loadStrings(state.locale);
  const select = $("#language");
  select.value = state.locale;
  select.addEventListener("change", () => changeLanguage(select.value));
  $("#refresh-list").addEventListener("click", () => loadList());
  $("#list-more").addEventListener("click", () => loadList(true));
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
  await Promise.all([loadList(), route()]);
  document.body.dataset.ready = "true";
}

start();
