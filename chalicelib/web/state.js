// Constants and the page's one mutable state object, shared by every view module.

export const SUPPORTED = ["en", "it", "de", "es", "fr"];
export const LOCALE_KEY = "deskmail.locale";
export const FAILURE_TAG = "system_email_notification_failure";
export const FAILED = new Set(["bounced", "rejected", "suppressed"]);
export const RESETTABLE = new Set(["address_undeliverable", "address_complained"]);
// A message the recipient's server refused as too large (5.3.4, 552): resending with links fixes it.
export const TOO_LARGE = "message_too_large";
export const CHECK_DELAY_MS = 400;
// The API's limits per comment (issue 18), checked here first so the agent hears before any upload starts.
// (chalicelib/config.py: attachment_max_count, attachment_max_bytes, attachment_max_total_bytes)
export const MAX_ATTACHMENTS = 10;
export const MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024;
export const MAX_ATTACHMENT_TOTAL_BYTES = 40 * 1024 * 1024;
export const VERSION = new URL(import.meta.url).searchParams.get("v") || "";
export const BASE = new URL("..", import.meta.url); // the page's folder: static/ sits right under it

export const state = {
  locale: "en",
  strings: {},
  fallback: {},
  listNext: null,
  ticketId: null,
  ticket: null,
  author: null,
  users: new Map(),
  smtp: new Map(),
  refreshTimer: null,
  view: "tickets",
  checkTimer: null,
  checkSeq: 0,
  lastCheck: null,
  confirmedNobody: false, // the agent chose "Send anyway" for a public reply nobody will get by email
  inbox: { loaded: false, next: null, category: "", categories: new Set() },
};
