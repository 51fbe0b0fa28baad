// The delivery-problems inbox: open failures across tickets, filter by category, mark resolved.

import { api } from "./api.js?v={{version}}";
import { $, announce, codeText, h, showError, timeEl } from "./dom.js?v={{version}}";
import { categoryText, tr } from "./i18n.js?v={{version}}";
import { state } from "./state.js?v={{version}}";

export async function loadProblems(more = false) {
  const rows = $("#problems-rows");
  const table = $("#problems-table");
  const params = new URLSearchParams({ status: $("#problems-status").value || "open" });
  if (state.inbox.category) params.set("category", state.inbox.category);
  const since = $("#problems-since").value; // a day in the agent's calendar: from its local midnight
  if (since) params.set("since", new Date(`${since}T00:00:00`).toISOString());
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

export function renderProblem(row) {
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
    // data-label names the column where a narrow screen shows each row as a card (the header row is hidden there).
    h("td", { "data-label": tr("recipient") }, row.name || "—"),
    h("td", { class: "email", "data-label": tr("address") }, row.email || "—"),
    h(
      "td",
      { class: "reason", "data-label": tr("reason") },
      row.reason || categoryText(row.category),
      row.remedy ? h("span", { class: "remedy hint" }, row.remedy) : null,
    ),
    h("td", { "data-label": tr("code") }, code ? h("code", {}, code) : "—"),
    h("td", { class: "when", "data-label": tr("when") }, timeEl(row.occurred_at)),
  );
}

export function renderCategories() {
  const select = $("#problems-category");
  const present = [...state.inbox.categories].sort((a, b) => categoryText(a).localeCompare(categoryText(b), state.locale));
  select.replaceChildren(
    h("option", { value: "" }, tr("all_categories")),
    ...present.map((category) => h("option", { value: category }, categoryText(category))),
  );
  select.value = state.inbox.category;
}

export function updateSelection() {
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

export async function resolveSelected() {
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
