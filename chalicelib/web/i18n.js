// UI strings per language (static/i18n/*.json), the browser's language, dates and numbers in the agent's locale.

import { BASE, SUPPORTED, VERSION, state } from "./state.js?v={{version}}";

export function tr(key, vars = {}) {
  const text = state.strings[key] ?? state.fallback[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (match, name) => (name in vars ? String(vars[name]) : match));
}

export function formatTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(state.locale, { dateStyle: "medium", timeStyle: "short" }).format(date);
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
}

export function statusText(status) {
  return tr(`status_${status}`);
}
