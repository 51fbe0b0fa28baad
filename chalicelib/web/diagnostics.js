// "Why no email?": the API's ordered checks for one recipient, shown in the recipient's details. What is wrong comes
// first; the checks that passed fold away; times are the agent's; remedies are buttons, not API routes; the DNS
// steps for the sending domain are folded as an administrator's task, and shown to administrators only.

import { api } from "./api.js?v={{version}}";
import { $, announce, h } from "./dom.js?v={{version}}";
import { localizeTimes, tr } from "./i18n.js?v={{version}}";
import { signedInAgent } from "./signin.js?v={{version}}";
import { state } from "./state.js?v={{version}}";

const isAdmin = () => signedInAgent()?.role === "admin";

const ORDER = { problem: 0, unknown: 1, ok: 2 };
// "(PATCH /users/<id>)" in a remedy: a route is for API clients; the page offers a button instead.
const ROUTE = /\s*\((?:GET|POST|PUT|PATCH|DELETE) \/[^)]*\)/g;
// SES's identity states as the API quotes them (DKIM status is NOT_STARTED): worded for people.
const SES_STATES = /\b(NOT_STARTED|PENDING|SUCCESS|FAILED|TEMPORARY_FAILURE)\b/g;

function readable(text) {
  return localizeTimes(text)
    .replace(ROUTE, "")
    .replace(SES_STATES, (state_) => tr(`ses_state_${state_.toLowerCase()}`));
}

function checkName(check) {
  return `check_${check.check}` in state.fallback ? tr(`check_${check.check}`) : check.check;
}

function actions(check, recipient, popover) {
  if (check.status === "ok") return null;
  const buttons = [];
  const edit = $(".edit-address", popover);
  if (check.check === "email_address" && edit) {
    buttons.push(h("button", { type: "button", class: "secondary", onclick: () => edit.click() }, edit.textContent));
  }
  if (check.check === "suppression" && recipient.email) {
    const error = h("p", { class: "field-error", role: "alert", hidden: true });
    const remove = h("button", { type: "button", class: "secondary remove-suppression" }, tr("remove_suppression"));
    remove.addEventListener("click", async () => {
      remove.disabled = true;
      error.hidden = true;
      try {
        await api(`suppressions/${encodeURIComponent(recipient.email)}`, { method: "DELETE" });
        announce(tr("suppression_removed", { email: recipient.email }));
        await runDiagnostics(recipient, popover);
      } catch (failure) {
        remove.disabled = false;
        if (failure.status !== 401) {
          error.textContent = failure.message;
          error.hidden = false;
        }
      }
    });
    buttons.push(remove, error);
  }
  return buttons.length ? h("div", { class: "actions" }, buttons) : null;
}

// A check's status badge and name: its first line, whoever reads it.
function checkHead(check) {
  return h(
    "div",
    { class: "check-head" },
    h("span", { class: `badge check-${check.status}` }, tr(`check_status_${check.status}`)),
    h("span", { class: "check-name" }, checkName(check)),
  );
}

function renderCheck(check, recipient, popover) {
  const fix = check.fix ? readable(check.fix) : "";
  const fixLine = fix ? h("p", { class: "check-fix" }, h("span", { class: "fix-label" }, tr("remedy")), " ", fix) : null;
  if (check.check === "sending_domain" && !isAdmin()) {
    // The DNS records (DKIM, SPF, DMARC, MAIL FROM) are an administrator's to read and fix: an agent sees the verdict.
    return h(
      "li",
      { class: "check", "data-check": check.check, "data-status": check.status },
      checkHead(check),
      check.status === "ok" ? null : h("p", { class: "check-detail" }, tr("sending_domain_ask_admin")),
    );
  }
  const adminOnly = check.check === "sending_domain" && check.status !== "ok" && fix;
  return h(
    "li",
    { class: "check", "data-check": check.check, "data-status": check.status },
    checkHead(check),
    check.detail ? h("p", { class: "check-detail" }, readable(check.detail)) : null,
    adminOnly ? h("details", { class: "admin-steps" }, h("summary", {}, tr("admin_steps")), fixLine) : check.status === "ok" ? null : fixLine,
    actions(check, recipient, popover),
  );
}

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
    const sorted = data.checks.map((check, i) => [check, i]).sort(([a, i], [b, j]) => (ORDER[a.status] ?? 1) - (ORDER[b.status] ?? 1) || i - j);
    const open = sorted.filter(([c]) => c.status !== "ok").map(([c]) => c);
    const fine = sorted.filter(([c]) => c.status === "ok").map(([c]) => c);
    box.replaceChildren(
      heading,
      open.length ? h("ol", { class: "checks" }, open.map((check) => renderCheck(check, recipient, popover))) : h("p", { class: "hint" }, tr("checks_all_ok")),
      fine.length
        ? h(
            "details",
            { class: "checks-ok" },
            h("summary", {}, tr("checks_passed", { count: fine.length })),
            h("ol", { class: "checks" }, fine.map((check) => renderCheck(check, recipient, popover))),
          )
        : null,
    );
    announce(tr("diagnostics_ready", { name: label }));
  } catch (error) {
    if (error.status !== 401) box.replaceChildren(heading, h("p", { class: "field-error", role: "alert" }, error.message));
  } finally {
    box.setAttribute("aria-busy", "false");
  }
}
