// The composer: add a comment, with the recipient check (who will and will not get the email) before sending.

import { api } from "./api.js?v={{version}}";
import { chosenFiles, clearChosen, renderPicker, uploadChosen } from "./attachments.js?v={{version}}";
import { closeAllPopovers, refreshConversation, scheduleFeedbackRefresh } from "./conversation.js?v={{version}}";
import { $, announce, h, icon } from "./dom.js?v={{version}}";
import { categoryText, tr } from "./i18n.js?v={{version}}";
import { CHECK_DELAY_MS, state } from "./state.js?v={{version}}";

export function renderComposer() {
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
    renderPicker(),
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

export function scheduleCheck(delay = CHECK_DELAY_MS) {
  clearTimeout(state.checkTimer);
  state.checkTimer = setTimeout(runCheck, delay);
}

export async function runCheck() {
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

export function renderCheck(data) {
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

export function focusComposer() {
  closeAllPopovers();
  if (!$("#composer-public").checked) scheduleCheck(0);
  $("#composer-public").checked = true;
  $("#composer-body").focus();
  $("#composer").scrollIntoView({ block: "center" });
}

export async function submitComment(event) {
  event.preventDefault();
  const body = $("#composer-body");
  const error = $("#composer-error");
  const send = $("#composer-send");
  const author = state.author ? state.author.id : $("#composer-author").value.trim();
  error.hidden = true;
  if (!body.value.trim()) return composerError(tr("comment_required"), body);
  if (!author) return composerError(tr("author_required"), $("#composer-author"));
  const isPublic = $("#composer-public").checked;
  send.disabled = true;
  // A public reply nobody will get by email must not go out silently: ask the API now (not the debounced answer,
  // which may be stale) and let the agent confirm.
  if (isPublic && !state.confirmedNobody) {
    let check = null;
    try {
      check = await api(`tickets/${encodeURIComponent(state.ticketId)}/recipient-check`, {
        method: "POST",
        body: { comment: { public: true, author_id: author } },
      });
    } catch (failure) {
      check = null; // the check is advice: if it fails, sending still works as before
    }
    if (check && check.will_email.length === 0) {
      send.disabled = false;
      return askToSendAnyway(check);
    }
  }
  state.confirmedNobody = false;
  $("#composer-confirm")?.remove();
  const form = $("#composer");
  const files = chosenFiles();
  try {
    let attachmentIds = [];
    if (files.length) {
      // Busy while the files go up: the button says so, and the form is marked busy for assistive technology.
      form.setAttribute("aria-busy", "true");
      send.textContent = tr("uploading", { count: files.length });
      announce(tr("uploading", { count: files.length }));
      attachmentIds = await uploadChosen(state.ticketId);
    }
    const created = await api(`tickets/${encodeURIComponent(state.ticketId)}/comments`, {
      method: "POST",
      body: { author_id: author, body: body.value, public: isPublic, ...(attachmentIds.length ? { attachment_ids: attachmentIds } : {}) },
    });
    body.value = "";
    clearChosen();
    scheduleCheck(0);
    announce(tr("comment_added"));
    await refreshConversation(false);
    document.getElementById(`comment-${created.id}`)?.scrollIntoView({ block: "nearest" });
    scheduleFeedbackRefresh();
  } catch (failure) {
    if (failure.status !== 401) composerError(failure.message, body);
  } finally {
    form.removeAttribute("aria-busy");
    send.textContent = tr("send");
    send.disabled = false;
  }
}

export function askToSendAnyway(check) {
  $("#composer-confirm")?.remove();
  const reasons = check.will_not_email.map((row) => `${row.name || row.user_id}: ${row.reason?.reason || categoryText(row.reason?.category)}`);
  const cancel = () => {
    box.remove();
    $("#composer-body").focus();
  };
  const box = h(
    "div",
    { class: "composer-confirm", id: "composer-confirm", role: "alertdialog", "aria-labelledby": "composer-confirm-title", "aria-describedby": "composer-confirm-text" },
    h("p", { id: "composer-confirm-title", class: "check-title" }, icon("caution"), h("span", {}, tr("confirm_nobody_title"))),
    h("p", { id: "composer-confirm-text" }, reasons.length ? reasons.join("; ") : tr("check_nobody")),
    h(
      "div",
      { class: "actions" },
      h(
        "button",
        {
          type: "button",
          class: "primary",
          id: "composer-send-anyway",
          onclick: () => {
            state.confirmedNobody = true;
            box.remove();
            $("#composer").requestSubmit();
          },
        },
        tr("send_anyway"),
      ),
      h("button", { type: "button", class: "secondary", onclick: cancel }, tr("cancel")),
    ),
  );
  box.addEventListener("keydown", (event) => {
    if (event.key === "Escape") cancel();
  });
  $("#composer .row").before(box);
  $("#composer-send-anyway").focus();
}

function composerError(text, field) {
  const error = $("#composer-error");
  error.textContent = text;
  error.hidden = false;
  field?.focus();
}
