// A ticket's conversation: comments, each one's delivery (message, recipients, warning icons, details popovers).

import { api, smtpSummary, user } from "./api.js?v={{version}}";
import { renderAttachments } from "./attachments.js?v={{version}}";
import { renderComposer } from "./compose.js?v={{version}}";
import { runDiagnostics } from "./diagnostics.js?v={{version}}";
import { $, announce, codeText, h, icon, initials, showError, timeEl } from "./dom.js?v={{version}}";
import { openEvents } from "./events.js?v={{version}}";
import { renderEditForm, renderResetConfirm, resendControls } from "./fix.js?v={{version}}";
import { formatTime, statusText, ticketStatusText, tr } from "./i18n.js?v={{version}}";
import { loadList, markCurrent } from "./list.js?v={{version}}";
import { signedInAgent } from "./signin.js?v={{version}}";
import { FAILED, FAILURE_TAG, RESETTABLE, TOO_LARGE, state } from "./state.js?v={{version}}";

export async function loadComments(ticketId) {
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

export async function openTicket(ticketId, { focus = true } = {}) {
  state.ticketId = ticketId;
  markCurrent();
  if (!ticketId) {
    $("#ticket").hidden = true;
    $("#placeholder").hidden = false;
    $("#placeholder-title").textContent = tr("choose_ticket");
    $("#placeholder p").textContent = tr("choose_ticket_text");
    delete $("#placeholder").dataset.missing;
    $("#conversation").setAttribute("aria-labelledby", "placeholder-title");
    return;
  }
  try {
    const [ticket, comments] = await Promise.all([api(`tickets/${encodeURIComponent(ticketId)}`), loadComments(ticketId)]);
    const [requester, assignee] = await Promise.all([user(ticket.requester_id), user(ticket.assignee_id)]);
    if (state.ticketId !== ticketId) return;
    state.ticket = ticket;
    state.author = signedInAgent(); // comments are the signed-in agent's
    renderTicket(ticket, requester, comments);
    if (focus) {
      $("#ticket-title").focus({ preventScroll: true });
      // On one column (a phone) the list sits above the conversation: bring the chosen ticket into view.
      $("#conversation").scrollIntoView({ block: "start" });
    }
  } catch (error) {
    if (state.ticketId !== ticketId || error.status === 401) return;
    if (error.status === 404) showMissing(ticketId, error.message);
    else showError(error.message);
  }
}

// An unknown id (a stale link) must not leave the previous ticket on screen as if it were this one.
function showMissing(ticketId, message) {
  state.ticket = null;
  $("#ticket").hidden = true;
  const placeholder = $("#placeholder");
  placeholder.hidden = false;
  $("#placeholder-title").textContent = tr("ticket_not_found");
  $("p", placeholder).textContent = message || ticketId;
  placeholder.dataset.missing = ticketId;
  $("#conversation").setAttribute("aria-labelledby", "placeholder-title");
}

export function renderTicket(ticket, requester, comments) {
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
        h("span", {}, tr("status_label", { status: ticketStatusText(ticket.status) })),
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
      ticket.tags.includes(FAILURE_TAG)
        ? h("button", { type: "button", class: "tool-button", id: "mark-handled", onclick: () => markHandled(ticket) }, tr("mark_handled"))
        : null,
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
  delete $("#placeholder").dataset.missing;
  $("#conversation").setAttribute("aria-labelledby", "ticket-title");
}

// "Mark handled": the agent has dealt with the failures; PUT the ticket's tags without the failure tag.
async function markHandled(ticket) {
  const button = $("#mark-handled");
  button.disabled = true;
  try {
    const result = await api(`tickets/${encodeURIComponent(ticket.id)}/tags`, {
      method: "PUT",
      body: { tags: ticket.tags.filter((tag) => tag !== FAILURE_TAG) },
    });
    ticket.tags = result.tags;
    for (const tag of document.querySelectorAll(".ticket-meta .tag")) if (tag.textContent === FAILURE_TAG) tag.remove();
    $("#ticket-title").focus();
    button.remove();
    announce(tr("marked_handled"));
    loadList();
  } catch (error) {
    button.disabled = false;
    if (error.status !== 401) showError(error.message);
  }
}

export function renderComments(comments) {
  return h(
    "ol",
    { class: "comments", id: "comments", "aria-labelledby": "comments-title" },
    comments.map((comment) => renderComment(comment)),
  );
}

export function renderComment(comment) {
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
      renderAttachments(comment),
      comment.delivery ? renderDelivery(comment) : null,
    ),
  );
}

export function renderDelivery(comment) {
  const { delivery } = comment;
  // One row per person: an attempt a resend replaced is shown on the person's row as history, never as a second row.
  const earlier = new Map();
  delivery.recipients.forEach((recipient, index) => {
    if (!recipient.superseded_by) return;
    if (!earlier.has(recipient.user_id)) earlier.set(recipient.user_id, []);
    earlier.get(recipient.user_id).push([recipient, index]);
  });
  const people = delivery.recipients.map((recipient, index) => [recipient, index]).filter(([recipient]) => !recipient.superseded_by);
  const failedCount = people.filter(([r]) => FAILED.has(r.status)).length;
  let message = delivery.message;
  if (!message && failedCount) message = tr(failedCount === people.length ? "delivery_failed" : "delivery_failed_some");
  const caution = delivery.scope === "not_sent";
  return h(
    "section",
    { class: "delivery", "aria-label": tr("email_delivery"), "data-scope": delivery.scope },
    message
      ? h("p", { class: "delivery-message", "data-scope": delivery.scope }, icon(caution ? "caution" : "warning"), h("span", {}, message))
      : null,
    h("p", { class: "recipients-label" }, tr("notified")),
    h(
      "ul",
      { class: "recipients" },
      // Recipients who need the agent come first (failed, then not sent): the first warning icon is the first stop.
      people
        .sort(([a], [b]) => attention(a) - attention(b))
        .map(([recipient, index]) => renderRecipient(comment, recipient, index, earlier.get(recipient.user_id) || [])),
    ),
  );
}

// An out-of-office answer is delivered mail, but the customer will not read it soon: say so on the person.
function autoReplyNote(recipient) {
  const reply = (recipient.timeline || []).filter((entry) => entry.kind === "auto_reply").pop();
  return reply ? [h("p", { class: "auto-reply" }, tr("auto_reply_note", { time: formatTime(reply.occurred_at) }))] : [];
}

// "Bounced at the old address carl@gmial.com, resent, delivered": what happened before the resend, on one line.
function renderHistory(recipient, earlier) {
  return earlier.map(([old]) =>
    h(
      "p",
      { class: "history", "data-resolved": FAILED.has(old.status) && !FAILED.has(recipient.status) ? "true" : "false" },
      tr(old.email && old.email !== recipient.email ? "resend_history_moved" : "resend_history", {
        status: statusText(old.status),
        email: old.email || "—",
        outcome: statusText(recipient.status).toLocaleLowerCase(state.locale),
      }),
    ),
  );
}

export function attention(recipient) {
  if (FAILED.has(recipient.status)) return 0;
  return recipient.status === "not_sent" ? 1 : 2;
}


export function renderRecipient(comment, recipient, index, earlier = []) {
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
      },
      icon(failed ? "warning" : "caution"),
    );
    item.append(button, name, email, badge, ...renderHistory(recipient, earlier), ...autoReplyNote(recipient), popover);
    wireDisclosure(item, button, popover, recipient);
    return item;
  }
  // Every other recipient: a small link opens the same details, and asks the API why no email arrived.
  // A delivered email needs no "why no email?": its details (the timeline) sit behind a quieter "Details".
  const delivered = recipient.status === "delivered";
  const link = h(
    "button",
    { ...common, class: "link-button why-link" },
    tr(delivered ? "details" : "why_no_email"),
    h("span", { class: "visually-hidden" }, ` (${label})`), // the visible text starts the accessible name (WCAG 2.5.3)
  );
  item.append(h("span", { class: "icon-slot", "aria-hidden": "true" }), name, email, badge, link, ...renderHistory(recipient, earlier), ...autoReplyNote(recipient), popover);
  if (recipient.failure?.reason && recipient.status !== "delivered") item.append(h("span", { class: "hint note" }, recipient.failure.reason));
  wireDisclosure(item, link, popover, recipient);
  link.addEventListener("click", () => {
    if (!delivered && link.getAttribute("aria-expanded") === "true") runDiagnostics(recipient, popover);
  });
  return item;
}

export function renderTimeline(recipient) {
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

export function renderPopover(comment, recipient, popoverId) {
  const failure = recipient.failure || {};
  const failed = FAILED.has(recipient.status);
  const notSent = recipient.status === "not_sent";
  const label = recipient.name || recipient.email || recipient.user_id;
  const code = codeText(failure);
  const summary = h("span", { class: "smtp-summary hint" });
  const rows = [
    [tr("recipient"), recipient.email ? `${recipient.name || ""} <${recipient.email}>` : [recipient.name || "", " ", h("em", {}, tr("no_address"))]],
    // For a failure or a notification not sent, the title already says so; the reason follows.
    failed || notSent ? null : [tr("status"), statusText(recipient.status)],
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
  const tooLarge = failed && failure.category === TOO_LARGE;
  const popover = h(
    "div",
    { class: `popover ${failed ? "tone-failed" : notSent ? "tone-caution" : "tone-neutral"}`, id: popoverId, role: "group", "aria-labelledby": titleId, hidden: true },
    h("h5", { id: titleId }, tr(title, { name: label })),
    h("dl", {}, rows.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value)])),
    h(
      "div",
      { class: "actions" },
      canEdit ? h("button", { type: "button", class: "secondary edit-address", "aria-expanded": "false" }, tr(recipient.email ? "edit_address" : "add_address")) : null,
      h("button", { type: "button", class: "secondary why-button", onclick: () => runDiagnostics(recipient, popover) }, tr("why_no_email")),
      canReset ? h("button", { type: "button", class: "secondary reset-button", "aria-expanded": "false" }, tr("reset_deliverability")) : null,
      // Too large for the recipient's server: the fix is the same comment with links instead of attached files.
      tooLarge ? resendControls(comment, recipient, { links: true }) : null,
    ),
    canReset ? renderResetConfirm(comment, recipient, popoverId) : null,
    canEdit ? renderEditForm(comment, recipient, popoverId) : null,
    h("section", { class: "diagnostics", id: `${popoverId}-diagnostics`, "aria-labelledby": `${popoverId}-diagnostics-title`, hidden: true }),
  );
  return popover;
}

export function closeAllPopovers(except) {
  for (const button of document.querySelectorAll('[data-details][aria-expanded="true"]')) {
    if (button !== except) setOpen(button, false);
  }
}

export function setOpen(button, open) {
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

export function afterPointer(action) {
  if (!pointerIsDown) return action();
  document.addEventListener("pointerup", () => setTimeout(action), { once: true, capture: true });
}

export function wireDisclosure(item, button, popover, recipient) {
  button._failure = recipient.failure;
  // A disclosure button: click, Enter and Space toggle it. Focus alone opens nothing, so tabbing down the
  // recipients stops once per person instead of walking through every popover's buttons.
  button.addEventListener("click", () => setOpen(button, button.getAttribute("aria-expanded") !== "true"));
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

// Delivery feedback arrives a few seconds after sending: look again once, unless the agent is busy.
export function scheduleFeedbackRefresh() {
  clearTimeout(state.refreshTimer);
  state.refreshTimer = setTimeout(() => {
    if (!document.querySelector('[data-details][aria-expanded="true"]') && !$("#comments")?.contains(document.activeElement)) {
      refreshConversation(false);
    }
  }, 4000);
}


export async function refreshConversation(announceIt) {
  if (!state.ticketId) return;
  try {
    const comments = await loadComments(state.ticketId);
    $("#comments").replaceWith(renderComments(comments));
    if (announceIt) announce(tr("refreshed"));
  } catch (error) {
    if (error.status !== 401) showError(error.message);
  }
}
