// DOM helpers: h() builds elements (text is always text, never HTML), icons, times, announcements, the error toast.

import { formatTime } from "./i18n.js?v={{version}}";

export const ICONS = {
  warning:
    '<svg viewBox="0 0 24 24" width="18" height="18"><path fill="#b42318" d="M12 2.5 1.5 21h21L12 2.5z"/>' +
    '<path fill="#fff" d="M11 9h2v6h-2zm0 8h2v2h-2z"/></svg>',
  caution:
    '<svg viewBox="0 0 24 24" width="18" height="18"><path fill="#b54708" d="M12 2.5 1.5 21h21L12 2.5z"/>' +
    '<path fill="#fff" d="M11 9h2v6h-2zm0 8h2v2h-2z"/></svg>',
  events:
    '<svg viewBox="0 0 24 24" width="18" height="18" fill="none" stroke="currentColor" stroke-width="2" ' +
    'stroke-linecap="round"><circle cx="12" cy="12" r="9"/><path d="M12 7v5l3 2"/></svg>',
  refresh:
    '<svg viewBox="0 0 24 24" width="18" height="18" fill="none" stroke="currentColor" stroke-width="2" ' +
    'stroke-linecap="round"><path d="M20 11a8 8 0 1 0-2.3 5.7"/><path d="M20 4v7h-7"/></svg>',
};

export const $ = (selector, root = document) => root.querySelector(selector);

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on")) el.addEventListener(name.slice(2), value);
    else el.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function icon(name) {
  const template = document.createElement("template");
  template.innerHTML = ICONS[name];
  const svg = template.content.firstElementChild;
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  return svg;
}

export function timeEl(iso) {
  return h("time", { datetime: iso }, formatTime(iso));
}

export function initials(name) {
  return (name || "?")
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map((part) => part[0].toUpperCase())
    .join("");
}

export function announce(text) {
  const status = $("#status");
  status.textContent = "";
  setTimeout(() => (status.textContent = text), 50);
}

export function showError(text) {
  const box = $("#error");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(showError.timer);
  showError.timer = setTimeout(() => (box.hidden = true), 8000);
}

export function codeText(failure) {
  const parts = [failure.smtp_status, failure.smtp_code].filter(Boolean);
  if (!parts.length) return null;
  return parts.length === 2 ? `${parts[0]} (${parts[1]})` : parts[0];
}
