// The sidebar: tickets tagged with a delivery failure (newest failure first), every ticket, or a search's results.

import { api } from "./api.js?v={{version}}";
import { $, h, icon, showError } from "./dom.js?v={{version}}";
import { categoryText, formatTime, ticketStatusText, tr } from "./i18n.js?v={{version}}";
import { FAILURE_TAG, state } from "./state.js?v={{version}}";

// What the sidebar lists: the failure tag's tickets (the default), every ticket, or the tickets a search finds.
function listRequest(more) {
  const q = $("#search-q").value.trim();
  const mode = $("#list-mode").value;
  const params = new URLSearchParams();
  if (q || mode === "all") {
    if (q) params.set("q", q);
    if ($("#search-status").value) params.set("status", $("#search-status").value);
  } else params.set("tag", FAILURE_TAG);
  if (more && state.listNext) params.set("next_page", state.listNext);
  const kind = q ? "search" : mode === "all" ? "all" : "failures";
  return [kind, `tickets?${params}`];
}

// What a failure row needs for triage: why (the latest failure's category), how many people, whose ticket, and when
// to the second (two failures in one minute must not read as simultaneous).
function failureTriage(ticket) {
  const categories = ticket.failure_categories?.length ? ticket.failure_categories : [ticket.failure_category].filter(Boolean);
  const people = typeof ticket.failed_recipients === "number" ? tr("failed_people", { count: ticket.failed_recipients }) : null;
  return h(
    "span",
    { class: "triage" },
    categories.length ? h("span", { class: "category", "data-category": categories[0] }, categories.map(categoryText).join(", ")) : null,
    people ? h("span", { class: "people" }, people) : null,
  );
}

function renderRow(kind, ticket) {
  const meta =
    kind === "failures"
      ? [ticket.requester_name, tr("last_failure", { time: formatTime(ticket.last_failure_at) })].filter(Boolean).join(" · ")
      : [ticket.requester_name, ticketStatusText(ticket.status), formatTime(ticket.created_at)].filter(Boolean).join(" · ");
  return h(
    "li",
    {},
    h(
      "a",
      { href: `#ticket=${encodeURIComponent(ticket.id)}`, "data-ticket": ticket.id },
      h("span", { class: "subject" }, kind === "failures" ? icon("warning") : null, ticket.subject || ticket.id),
      kind === "failures" ? failureTriage(ticket) : null,
      h("span", { class: "meta" }, meta),
    ),
  );
}

export async function loadList(more = false) {
  const list = $("#ticket-list");
  const [kind, path] = listRequest(more);
  const seq = (state.listSeq = (state.listSeq || 0) + 1);
  list.setAttribute("aria-busy", "true");
  try {
    const data = await api(path);
    if (seq !== state.listSeq) return; // a newer search is on its way
    if (!more) list.replaceChildren();
    for (const ticket of data.tickets) list.append(renderRow(kind, ticket));
    state.listNext = data.next_page;
    state.listKind = kind;
    $("#list-more").hidden = !data.next_page;
    const empty = $("#list-empty");
    empty.textContent = tr(kind === "failures" ? "failures_empty" : "search_empty");
    empty.hidden = list.children.length > 0;
    $("#failures-title").textContent = tr(kind === "failures" ? "failures_title" : kind === "all" ? "all_tickets" : "search_results");
    $("#list-hint").hidden = kind !== "failures";
    $("#search-status").hidden = kind === "failures";
    const count = list.children.length;
    $("#list-count").textContent = count ? tr(data.next_page ? "ticket_count_more" : "ticket_count", { count }) : "";
    markCurrent();
  } catch (error) {
    if (seq === state.listSeq && error.status !== 401) showError(error.message);
  } finally {
    if (seq === state.listSeq) list.setAttribute("aria-busy", "false");
  }
}

export function wireSearch() {
  let timer = null;
  const form = $("#ticket-search");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(timer);
    loadList();
  });
  $("#search-q").addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => loadList(), 300); // debounced: one search per pause, not per key
  });
  $("#list-mode").addEventListener("change", () => loadList());
  $("#search-status").addEventListener("change", () => loadList());
}

export function markCurrent() {
  for (const link of document.querySelectorAll("#ticket-list a")) {
    if (link.dataset.ticket === state.ticketId) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}
