// UI strings per language (static/i18n/*.json), the browser's language, dates and numbers in the agent's locale.

import { BASE, SUPPORTED, VERSION, state } from "./state.js?v={{version}}";

// A number in vars.count picks the plural form the language's rules name (`key_one`, `key_few`, …) where the
// strings have one; the plain key is the "other" form. Numbers are formatted for the locale.
export function tr(key, vars = {}) {
  const lookup = (name) => state.strings[name] ?? state.fallback[name];
  let text = null;
  if (typeof vars.count === "number") {
    const form = `${key}_${new Intl.PluralRules(state.locale).select(vars.count)}`;
    text = state.strings[form] ?? (state.strings[key] === undefined ? state.fallback[form] : undefined);
  }
  text = text ?? lookup(key) ?? key;
  const shown = { ...vars };
  if (typeof vars.count === "number") shown.count = new Intl.NumberFormat(state.locale).format(vars.count);
  return text.replace(/\{(\w+)\}/g, (match, name) => (name in shown ? String(shown[name]) : match));
}

// Seconds included: failures a few seconds apart must not read as simultaneous.
export function formatTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(state.locale, { dateStyle: "medium", timeStyle: "medium" }).format(date);
}

// ISO times inside a server's sentence (diagnostics details) in the agent's own format.
const ISO_TIME = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})\b/g;
export function localizeTimes(text) {
  return String(text).replace(ISO_TIME, (iso) => formatTime(iso));
}

// The name of a trigger in the agent's language (the built-in ones are translated; others keep their title).
export function triggerName(trigger) {
  const key = `trigger_${trigger.id}`;
  return key in state.fallback ? tr(key) : trigger.title || trigger.id;
}

export function ticketStatusText(status) {
  const key = `ticket_status_${status}`;
  return key in state.fallback ? tr(key) : status;
}

export function percent(value) {
  return new Intl.NumberFormat(state.locale, { style: "percent", maximumFractionDigits: 2 }).format(value || 0);
}

export function categoryText(category) {
  if (!category) return "—";
  const key = `category_${category}`;
  return key in state.strings || key in state.fallback ? tr(key) : category;
}

export function browserLocale() {
  for (const tag of navigator.languages || [navigator.language || "en"]) {
    const primary = tag.toLowerCase().split("-")[0];
    if (SUPPORTED.includes(primary)) return primary;
  }
  return "en";
}

export function acceptLanguage() {
  const tags = [...(navigator.languages || [navigator.language || "en"])];
  if (!tags.includes(state.locale)) tags.unshift(state.locale);
  return tags.map((tag, i) => (i === 0 ? tag : `${tag};q=${Math.max(0.1, 1 - i * 0.1).toFixed(1)}`)).join(",");
}

export async function loadStrings(locale) {
  const get = async (name) => {
    const response = await fetch(new URL(`static/i18n/${name}.json?v=${VERSION}`, BASE));
    return response.ok ? response.json() : {};
  };
  state.fallback = Object.keys(state.fallback).length ? state.fallback : await get("en");
  state.strings = locale === "en" ? state.fallback : await get(locale);
  document.documentElement.lang = locale;
  document.title = tr("page_title");
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = tr(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", tr(el.dataset.i18nLabel));
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = tr(el.dataset.i18nPlaceholder);
}

export function statusText(status) {
  return tr(`status_${status}`);
}
