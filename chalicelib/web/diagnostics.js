// "Why no email?": the API's ordered checks for one recipient, shown in the recipient's details.

import { api } from "./api.js?v={{version}}";
import { $, announce, h } from "./dom.js?v={{version}}";
import { tr } from "./i18n.js?v={{version}}";
import { state } from "./state.js?v={{version}}";

export async function runDiagnostics(recipient, popover) {
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
