// deskmail agent workspace, the entry module: tabs, hash routing (#ticket=…, #view=problems), language, start-up.
// Each view lives in its own module (native ES modules, no build step; every import carries ?v={{version}}, which
// the server fills in, so one release never mixes cached modules of another). Plain DOM, no framework.

import { closeAllPopovers, openTicket } from "./conversation.js?v={{version}}";
import { $, announce } from "./dom.js?v={{version}}";
import { browserLocale, loadStrings, tr } from "./i18n.js?v={{version}}";
import { loadProblems, resolveSelected, updateSelection } from "./inbox.js?v={{version}}";
import { loadList, wireSearch } from "./list.js?v={{version}}";
import { loadReputation, wireReputation } from "./reputation.js?v={{version}}";
import { startSignIn } from "./signin.js?v={{version}}";
import { BASE, LOCALE_KEY, SUPPORTED, state } from "./state.js?v={{version}}";

// ---- views: the failures view and the delivery-problems inbox as two tabs -----------------------------------------

function showView(view) {
  state.view = view;
  const problems = view === "problems";
  for (const [tab, selected] of [[$("#tab-tickets"), !problems], [$("#tab-problems"), problems]]) {
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
  }
  $("#layout").hidden = problems;
  $("#problems").hidden = !problems;
  if (problems && !state.inbox.loaded) {
    state.inbox.loaded = true; // claimed now: the tab click and the hashchange after it must not load it twice
    loadProblems();
  }
}

function selectTab(tab) {
  if (tab.id === "tab-problems") {
    showView("problems"); // at once: hashchange comes a task later, and the tab must not look unselected meanwhile
    location.hash = "view=problems";
  }
  else location.hash = state.ticketId ? `ticket=${encodeURIComponent(state.ticketId)}` : "view=tickets";
}

function wireTabs() {
  const tabs = [$("#tab-tickets"), $("#tab-problems")];
  for (const tab of tabs) tab.addEventListener("click", () => selectTab(tab));
  $("#views").addEventListener("keydown", (event) => {
    const index = tabs.indexOf(document.activeElement);
    if (index < 0) return;
    const next = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: tabs.length - 1 }[event.key];
    if (next === undefined) return;
    event.preventDefault();
    const tab = tabs[(next + tabs.length) % tabs.length];
    tab.focus();
    selectTab(tab);
  });
}

// ---- start --------------------------------------------------------------------------------------------------------

function route() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (params.get("view") === "problems") {
    showView("problems");
    return Promise.resolve();
  }
  const fromInbox = state.view === "problems";
  showView("tickets");
  const ticket = params.get("ticket");
  if (ticket !== state.ticketId) return openTicket(ticket);
  if (fromInbox && ticket) $("#ticket-title")?.focus();
  return Promise.resolve();
}

async function changeLanguage(locale) {
  state.locale = locale;
  localStorage.setItem(LOCALE_KEY, locale);
  state.smtp.clear();
  await loadStrings(locale);
  await Promise.all([loadList(), loadReputation(), state.inbox.loaded ? loadProblems() : null]);
  if (state.ticketId) await openTicket(state.ticketId, { focus: false });
  announce(tr("language_changed"));
}

// The local stack's outbox page (make run passes its URL in the fragment): only a loopback http URL is linked.
const OUTBOX_KEY = "deskmail.outbox";
const LOCAL_OUTBOX = /^http:\/\/(127\.0\.0\.1|localhost):\d{1,5}\/?$/;

function showOutboxLink() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (fragment.has("outbox")) {
    if (LOCAL_OUTBOX.test(fragment.get("outbox"))) sessionStorage.setItem(OUTBOX_KEY, fragment.get("outbox"));
    fragment.delete("outbox");
    const rest = fragment.toString();
    history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
  }
  const outbox = sessionStorage.getItem(OUTBOX_KEY);
  const link = $("#outbox-link");
  if (!outbox || !LOCAL_OUTBOX.test(outbox) || !link) return;
  link.href = outbox;
  link.hidden = false;
}

async function start() {
  showOutboxLink();
  const stored = localStorage.getItem(LOCALE_KEY);
  state.locale = SUPPORTED.includes(stored) ? stored : browserLocale();
  await loadStrings(state.locale);
  if (!(await startSignIn({ base: BASE, tr }))) return; // the sign-in screen is showing
  const select = $("#language");
  select.value = state.locale;
  select.addEventListener("change", () => changeLanguage(select.value));
  $("#refresh-list").addEventListener("click", () => loadList());
  $("#list-more").addEventListener("click", () => loadList(true));
  wireTabs();
  wireSearch();
  wireReputation();
  $("#problems-refresh").addEventListener("click", () => {
    if (!state.inbox.category) state.inbox.categories.clear();
    loadProblems();
  });
  $("#problems-more").addEventListener("click", () => loadProblems(true));
  $("#problems-resolve").addEventListener("click", resolveSelected);
  for (const id of ["#problems-status", "#problems-since"]) $(id).addEventListener("change", () => loadProblems());
  $("#problems-category").addEventListener("change", (event) => {
    state.inbox.category = event.target.value;
    loadProblems();
  });
  $("#problems-all").addEventListener("change", (event) => {
    for (const box of document.querySelectorAll("#problems-rows .row-select")) box.checked = event.target.checked;
    updateSelection();
  });
  $("#events-close").addEventListener("click", () => $("#events").close());
  $("#events").addEventListener("click", (event) => {
    if (event.target === event.currentTarget) event.currentTarget.close(); // a click on the backdrop
  });
  $("#events").addEventListener("close", () => $("#open-events")?.focus());
  document.addEventListener("click", (event) => {
    if (!event.target.closest(".recipient")) closeAllPopovers();
  });
  window.addEventListener("hashchange", route);
  document.body.dataset.ready = "false";
  await Promise.all([loadList(), loadReputation(), route()]);
  document.body.dataset.ready = "true";
}

start();
