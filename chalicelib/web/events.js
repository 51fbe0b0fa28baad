// The ticket's events log in a drawer: each delivery failure with its "Email notification" triggers.

import { api, user } from "./api.js?v={{version}}";
import { $, codeText, h, icon, timeEl } from "./dom.js?v={{version}}";
import { statusText, tr, triggerName } from "./i18n.js?v={{version}}";
import { state } from "./state.js?v={{version}}";

export async function openEvents() {
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

export function person(who) {
  if (!who) return "—";
  return who.email ? `${who.name || ""} <${who.email}>`.trim() : who.name || who.user_id;
}

export function renderEvent(event) {
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
  // Who did it (a comment's author, the ticket's opener): the name, looked up when the event has only the id.
  if (event.author_name || event.author_id) {
    const who = h("span", { class: "event-author" }, event.author_name || event.author_id);
    if (!event.author_name) user(event.author_id).then((found) => found?.name && (who.textContent = found.name));
    rows.unshift([tr("event_by"), who]);
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
          h("ul", { class: "triggers" }, triggers.map((t) => h("li", {}, triggerName(t)))),
        )
      : null,
  );
}
