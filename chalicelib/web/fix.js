// Fixing a failed recipient: edit the address, reset its deliverability, resend the comment to them.

import { api, user } from "./api.js?v={{version}}";
import { focusComposer, scheduleCheck } from "./compose.js?v={{version}}";
import { refreshConversation, scheduleFeedbackRefresh } from "./conversation.js?v={{version}}";
import { $, announce, h } from "./dom.js?v={{version}}";
import { tr } from "./i18n.js?v={{version}}";
import { state } from "./state.js?v={{version}}";

// `links`: the comment's files go as download links instead of attachments (a message too large to deliver).
export function resendControls(comment, recipient, { links = false } = {}) {
  const error = h("p", { class: "field-error resend-error", role: "alert", hidden: true });
  const button = h(
    "button",
    { type: "button", class: links ? "primary resend-links-button" : "secondary resend-button" },
    tr(links ? "resend_with_links" : "resend_comment"),
  );
  button.addEventListener("click", async () => {
    error.hidden = true;
    button.disabled = true;
    try {
      await api(`tickets/${encodeURIComponent(state.ticketId)}/comments/${encodeURIComponent(comment.id)}/resend`, {
        method: "POST",
        body: { user_ids: [recipient.user_id], ...(links ? { attachments: "links" } : {}) },
      });
      const address = (await user(recipient.user_id))?.email || recipient.email || "";
      await refreshConversation(false);
      const delivery = $(`#comment-${CSS.escape(comment.id)} .delivery`);
      const done = h("p", { class: "notice resent", role: "status", tabindex: "-1" }, tr(links ? "resent_with_links_to" : "resent_to", { email: address }));
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

export function renderResetConfirm(comment, recipient, popoverId) {
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

export function renderEditForm(comment, recipient, popoverId) {
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
      // The row keeps the address this email went to (it bounced there); the notice names the new one.
      state.users.delete(recipient.user_id);
      const suggestion = updated.email_suggestion;
      const useSuggestion = () => {
        input.value = suggestion;
        form.requestSubmit();
      };
      notice.replaceChildren(
        h("p", {}, tr("address_updated", { email: updated.email })),
        suggestion
          ? h(
              "p",
              { class: "typo-hint" },
              tr("did_you_mean", { email: suggestion }),
              " ",
              h("button", { type: "button", class: "secondary use-suggestion", onclick: useSuggestion }, tr("use_address", { email: suggestion })),
            )
          : null,
        h(
          "div",
          { class: "actions" },
          resendControls(comment, recipient),
          h("button", { type: "button", class: "link-button", onclick: focusComposer }, tr("write_public_comment")),
        ),
      );
      notice.hidden = false;
      announce([tr("address_updated", { email: updated.email }), suggestion ? tr("did_you_mean", { email: suggestion }) : ""].join(" "));
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
