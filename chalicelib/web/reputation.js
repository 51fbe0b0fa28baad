// The sending reputation badge in the header (24-hour sends, bounce and complaint rates).

import { api } from "./api.js?v={{version}}";
import { $, h } from "./dom.js?v={{version}}";
import { percent, tr } from "./i18n.js?v={{version}}";
import { signedInAgent } from "./signin.js?v={{version}}";
import { state } from "./state.js?v={{version}}";

// Only an administrator can act on the account's reputation (SES's review and pause levels): agents do not see it.
export async function loadReputation() {
  if (signedInAgent()?.role !== "admin") {
    $("#reputation").hidden = true;
    return;
  }
  try {
    renderReputation(await api("reputation"));
  } catch (error) {
    $("#reputation").hidden = true; // the rest of the page works without it
  }
}

// The rate beside the level at which SES reviews the account and, where the API gives it, the one it may pause at.
function levels(kind, rate, threshold) {
  const vars = { rate: percent(rate), review: percent(threshold.review) };
  if (typeof threshold.pause !== "number") return tr(`reputation_${kind}`, vars);
  return tr(`reputation_${kind}_levels`, { ...vars, pause: percent(threshold.pause) });
}

export function renderReputation(data) {
  const box = $("#reputation");
  const level = ["ok", "warning", "at-risk"].includes(data.state) ? data.state : "ok";
  const day = data.windows.find((w) => w.window === "24h") || data.windows[0] || { sent: 0, bounce_rate: 0, complaint_rate: 0 };
  const stateText = tr(`reputation_${level.replace("-", "_")}`);
  box.dataset.state = level;
  $("#reputation-badge").replaceChildren(h("span", { class: "dot", "aria-hidden": "true" }), tr("reputation_label", { state: stateText }));
  $("#reputation-tip").replaceChildren(
    h("strong", {}, tr("reputation_window_24h")),
    h("span", {}, tr("reputation_sent", { count: day.sent })),
    h("span", { class: "bounce-rate" }, levels("bounce", day.bounce_rate, data.thresholds.bounce)),
    h("span", { class: "complaint-rate" }, levels("complaint", day.complaint_rate, data.thresholds.complaint)),
  );
  box.hidden = false;
}

export function wireReputation() {
  const box = $("#reputation");
  const badge = $("#reputation-badge");
  // The rates show on hover and on focus; Escape hides them without moving focus (WCAG 1.4.13).
  badge.addEventListener("keydown", (event) => {
    if (event.key === "Escape") box.classList.add("dismissed");
  });
  badge.addEventListener("blur", () => box.classList.remove("dismissed"));
  box.addEventListener("mouseenter", () => box.classList.remove("dismissed"));
  box.addEventListener("mouseleave", () => box.classList.remove("dismissed"));
}
