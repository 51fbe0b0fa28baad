// The sidebar: tickets tagged with a delivery failure, newest failure first.

import { api } from "./api.js?v={{version}}";
import { $, h, icon, showError } from "./dom.js?v={{version}}";
import { formatTime, tr } from "./i18n.js?v={{version}}";
import { FAILURE_TAG, state } from "./state.js?v={{version}}";

export async function loadList(more = false) {
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
    const count = list.children.length;
    $("#list-count").textContent = count ? tr(data.next_page ? "ticket_count_more" : "ticket_count", { count }) : "";
    markCurrent();
  } catch (error) {
    if (error.status !== 401) showError(error.message);
  } finally {
    list.setAttribute("aria-busy", "false");
  }
}

export function markCurrent() {
  for (const link of document.querySelectorAll("#ticket-list a")) {
    if (link.dataset.ticket === state.ticketId) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}
