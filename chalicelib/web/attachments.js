// Attachments: the composer's file picker, the upload (a presigned POST straight to S3: the API never carries the
// bytes), and each comment's files with a download button.

import { api } from "./api.js?v={{version}}";
import { $, announce, h, showError } from "./dom.js?v={{version}}";
import { tr } from "./i18n.js?v={{version}}";
import { MAX_ATTACHMENTS, MAX_ATTACHMENT_BYTES, MAX_ATTACHMENT_TOTAL_BYTES, state } from "./state.js?v={{version}}";

// "1.2 MB" in the agent's locale; binary multiples, as the limits are (25 MB = 25 × 1024 × 1024 bytes).
export function humanSize(bytes) {
  const units = ["byte", "kilobyte", "megabyte", "gigabyte"];
  let value = Number(bytes) || 0;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return new Intl.NumberFormat(state.locale, {
    style: "unit",
    unit: units[unit],
    unitDisplay: unit === 0 ? "long" : "short",
    maximumFractionDigits: unit === 0 || value >= 100 ? 0 : 1,
  }).format(value);
}

// ---- the picker ---------------------------------------------------------------------------------------------------

// The files chosen for the comment being written (File objects), in the order they were picked.
const chosen = [];

export function chosenFiles() {
  return [...chosen];
}

export function clearChosen() {
  chosen.length = 0;
  renderChosen();
}

export function renderPicker() {
  chosen.length = 0;
  const input = h("input", {
    type: "file",
    id: "composer-files",
    class: "file-input",
    multiple: true,
    "aria-describedby": "composer-files-hint composer-files-error",
  });
  input.addEventListener("change", () => {
    addFiles([...input.files]);
    input.value = ""; // the same file may be picked again after removing it
  });
  return h(
    "div",
    { class: "attach", id: "composer-attach" },
    // A real <input type=file> under a visible label: keyboard, screen readers and drag-and-drop work as usual.
    h("label", { for: "composer-files", class: "attach-label" }, tr("attach_files")),
    input,
    h("span", { class: "hint", id: "composer-files-hint" }, tr("attach_limits", { count: MAX_ATTACHMENTS, size: humanSize(MAX_ATTACHMENT_BYTES) })),
    h("p", { class: "field-error", id: "composer-files-error", role: "alert", hidden: true }),
    h("ul", { class: "chosen-files", id: "composer-file-list", "aria-label": tr("attachments"), hidden: true }),
  );
}

function addFiles(files) {
  const problems = [];
  for (const file of files) {
    if (chosen.length >= MAX_ATTACHMENTS) {
      problems.push(tr("attach_too_many", { count: MAX_ATTACHMENTS }));
      break;
    }
    const total = chosen.reduce((sum, other) => sum + other.size, 0);
    if (file.size === 0) problems.push(tr("attach_empty", { name: file.name }));
    else if (file.size > MAX_ATTACHMENT_BYTES) problems.push(tr("attach_too_large", { name: file.name, size: humanSize(MAX_ATTACHMENT_BYTES) }));
    else if (total + file.size > MAX_ATTACHMENT_TOTAL_BYTES) problems.push(tr("attach_total_too_large", { name: file.name, size: humanSize(MAX_ATTACHMENT_TOTAL_BYTES) }));
    else chosen.push(file);
  }
  const error = $("#composer-files-error");
  error.textContent = problems.join(" ");
  error.hidden = !problems.length;
  renderChosen();
  if (!problems.length && files.length) announce(chosenSummary());
}

function chosenSummary() {
  const total = chosen.reduce((sum, file) => sum + file.size, 0);
  return tr("attach_chosen", { count: chosen.length, size: humanSize(total) });
}

function renderChosen() {
  const list = $("#composer-file-list");
  if (!list) return;
  list.replaceChildren(
    ...chosen.map((file, index) =>
      h(
        "li",
        { class: "chosen-file", "data-name": file.name },
        h("span", { class: "file-name" }, file.name),
        h("span", { class: "file-size" }, humanSize(file.size)),
        h("progress", { class: "file-progress", max: "100", value: "0", hidden: true, "aria-label": tr("attach_progress", { name: file.name }) }),
        h(
          "button",
          {
            type: "button",
            class: "link-button remove-file",
            "aria-label": tr("attach_remove", { name: file.name }),
            onclick: () => {
              chosen.splice(index, 1);
              renderChosen();
              announce(tr("attach_removed", { name: file.name }));
              ($(".remove-file", list) || $("#composer-files")).focus();
            },
          },
          tr("remove"),
        ),
      ),
    ),
  );
  list.hidden = !chosen.length;
}

// ---- the upload ---------------------------------------------------------------------------------------------------

// Each chosen file: ask the API for an upload (it checks name, size, count and the caller's right to the ticket),
// then POST the bytes to S3 with the presigned fields, `file` last as S3 requires. Returns the attachment ids.
export async function uploadChosen(ticketId) {
  const ids = [];
  const rows = [...document.querySelectorAll("#composer-file-list .chosen-file")];
  for (const [index, file] of chosen.entries()) {
    const progress = rows[index] ? $(".file-progress", rows[index]) : null;
    const created = await api(`tickets/${encodeURIComponent(ticketId)}/attachments`, {
      method: "POST",
      body: { name: file.name, size: file.size, content_type: file.type || "application/octet-stream" },
    });
    if (progress) progress.hidden = false;
    try {
      await postToStorage(created.upload, file, progress);
    } catch (failure) {
      throw new Error(tr("attach_upload_failed", { name: file.name }));
    }
    if (progress) progress.value = 100;
    ids.push(created.id);
  }
  return ids;
}

// XMLHttpRequest, not fetch: only it reports upload progress. The request carries no token (the signature is in the
// fields), and the CSP's connect-src allows the bucket's origin alone.
function postToStorage(upload, file, progress) {
  const form = new FormData();
  for (const [name, value] of Object.entries(upload.fields || {})) form.append(name, value);
  form.append("file", file);
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", upload.url);
    request.upload.addEventListener("progress", (event) => {
      if (progress && event.lengthComputable) progress.value = Math.round((event.loaded / event.total) * 100);
    });
    request.addEventListener("load", () => (request.status >= 200 && request.status < 300 ? resolve() : reject(new Error(String(request.status)))));
    request.addEventListener("error", () => reject(new Error("network")));
    request.send(form);
  });
}

// ---- a comment's files --------------------------------------------------------------------------------------------

export function renderAttachments(comment) {
  const files = comment.attachments || [];
  if (!files.length) return null;
  const titleId = `comment-${comment.id}-files`;
  return h(
    "section",
    { class: "attachments", "aria-labelledby": titleId },
    h("p", { class: "attachments-title", id: titleId }, tr("attachments_count", { count: files.length })),
    h(
      "ul",
      { class: "attachment-list" },
      files.map((file) =>
        h(
          "li",
          { class: "attachment", "data-attachment": file.id },
          h("span", { class: "file-name" }, file.name),
          h("span", { class: "file-size" }, humanSize(file.size)),
          h(
            "button",
            { type: "button", class: "secondary download-button", onclick: (event) => download(file, event.currentTarget) },
            tr("download"),
            h("span", { class: "visually-hidden" }, ` ${file.name}`), // the visible text starts the accessible name
          ),
        ),
      ),
    ),
  );
}

// A fresh, short-lived link each time (the API checks the agent may read the ticket); S3 serves the file with
// Content-Disposition: attachment, so navigating to it downloads and leaves the page where it is.
async function download(file, button) {
  button.disabled = true;
  try {
    const link = await api(`tickets/${encodeURIComponent(state.ticketId)}/attachments/${encodeURIComponent(file.id)}`);
    window.location.assign(link.url);
  } catch (failure) {
    if (failure.status !== 401) showError(failure.message);
  } finally {
    button.disabled = false;
  }
}
