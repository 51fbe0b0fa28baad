"""What the OpenAPI document needs that Chalice's routes do not say: bodies, query parameters, answers.

Kept by hand beside app.py; scripts/export_openapi.py refuses to write a document if a route has no entry here.
"""

from __future__ import annotations

from chalicelib.domain.model import ROLES
from chalicelib.i18n import SUPPORTED_LOCALES
from chalicelib.validation import ID_PATTERN, TAG_PATTERN

AN_ID = {"type": "string", "pattern": ID_PATTERN.pattern, "example": "01jd2x7r9m8v3k4q5w6e7t8y9z"}
A_TAG = {"type": "string", "pattern": TAG_PATTERN.pattern, "example": "system_email_notification_failure"}
A_LOCALE = {"type": "string", "enum": list(SUPPORTED_LOCALES)}

COMMENT = {
    "type": "object",
    "required": ["body", "public"],
    "properties": {
        "author_id": AN_ID,  # optional: the signed-in agent; anyone else's id is a 403
        "body": {"type": "string", "minLength": 1, "maxLength": 65536},
        "public": {"type": "boolean"},
    },
}
# A comment on an existing ticket may take its uploads (POST /tickets/{id}/attachments); checked before any write.
COMMENT_WITH_FILES = {
    **COMMENT,
    "properties": {**COMMENT["properties"], "attachment_ids": {"type": "array", "maxItems": 10, "items": AN_ID}},
}

# Request bodies, by (method, Chalice route).
BODIES: dict[tuple[str, str], dict] = {
    ("POST", "/users"): {
        "type": "object",
        "required": ["name", "role"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 200},
            "email": {"type": "string", "format": "email", "nullable": True},
            "locale": {**A_LOCALE, "nullable": True},
            "role": {"type": "string", "enum": list(ROLES)},
        },
    },
    ("PATCH", "/users/{user_id}"): {
        "type": "object",
        "minProperties": 1,
        "additionalProperties": False,
        "properties": {
            "email": {"type": "string", "format": "email", "nullable": True},
            "name": {"type": "string", "minLength": 1, "maxLength": 200},
            "locale": {**A_LOCALE, "nullable": True},
        },
    },
    ("POST", "/tickets"): {
        "type": "object",
        "required": ["subject", "requester_id", "comment"],
        "properties": {
            "subject": {"type": "string", "minLength": 1, "maxLength": 250},
            "requester_id": AN_ID,
            "cc_ids": {"type": "array", "maxItems": 50, "items": AN_ID},
            "assignee_id": {**AN_ID, "nullable": True},
            "comment": COMMENT,
        },
    },
    ("PUT", "/tickets/{ticket_id}/tags"): {
        "type": "object",
        "required": ["tags"],
        "properties": {"tags": {"type": "array", "maxItems": 50, "items": A_TAG}},
    },
    ("POST", "/tickets/{ticket_id}/comments"): COMMENT_WITH_FILES,
    ("POST", "/tickets/{ticket_id}/attachments"): {
        "type": "object",
        "required": ["name", "size"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 1024, "description": "sanitised for display"},
            "size": {"type": "integer", "minimum": 1, "description": "exact bytes; the upload must match"},
            "content_type": {"type": "string", "maxLength": 255, "description": "a hint; the bytes are sniffed"},
        },
    },
    ("PATCH", "/triggers/{trigger_id}"): {
        "type": "object",
        "required": ["active"],
        "properties": {"active": {"type": "boolean"}},
    },
    ("PUT", "/triggers/{trigger_id}/templates/{locale}"): {
        "type": "object",
        "required": ["subject", "body"],
        "properties": {
            "subject": {"type": "string", "maxLength": 500, "description": "Jinja template, placeholders only"},
            "body": {"type": "string", "maxLength": 20000, "description": "the intro above the comment"},
        },
    },
    ("POST", "/triggers/{trigger_id}/preview"): {
        "type": "object",
        "required": ["ticket_id", "user_id"],
        "properties": {"ticket_id": AN_ID, "user_id": AN_ID},
    },
    ("POST", "/tickets/{ticket_id}/recipient-check"): {
        "type": "object",
        "required": ["comment"],
        "properties": {
            "comment": {
                "type": "object",
                "required": ["author_id", "public"],
                "properties": {"author_id": AN_ID, "public": {"type": "boolean"}},
            }
        },
    },
    ("POST", "/delivery-failures/resolve"): {
        "type": "object",
        "required": ["ids"],
        "properties": {"ids": {"type": "array", "minItems": 1, "maxItems": 100, "items": {"type": "string"}}},
    },
    ("POST", "/tickets/{ticket_id}/comments/{comment_id}/resend"): {
        "type": "object",
        "required": ["user_ids"],
        "properties": {
            "user_ids": {"type": "array", "minItems": 1, "maxItems": 50, "items": AN_ID},
            "attachments": {
                "type": "string",
                "enum": ["auto", "links"],
                "description": "links: every file as an expiring download link (the fix for message_too_large)",
            },
        },
    },
    ("POST", "/users/{user_id}/deliverability/reset"): {"type": "object"},
    ("POST", "/agents"): {
        "type": "object",
        "required": ["name", "email"],
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 200},
            "email": {"type": "string"},
            "role": {"type": "string", "enum": ["agent", "admin"]},
            "locale": A_LOCALE,
        },
    },
    ("PATCH", "/agents/{user_id}"): {
        "type": "object",
        "properties": {"role": {"type": "string", "enum": ["agent", "admin"]}, "disabled": {"type": "boolean"}},
    },
    ("POST", "/auth/sign-in"): {
        "type": "object",
        "required": ["username", "password"],
        "properties": {
            "username": {"type": "string", "minLength": 1, "maxLength": 128},
            "password": {"type": "string", "minLength": 1, "maxLength": 256},
        },
    },
    ("POST", "/auth/new-password"): {
        "type": "object",
        "required": ["username", "session", "new_password"],
        "properties": {
            "username": {"type": "string", "minLength": 1, "maxLength": 128},
            "session": {"type": "string", "minLength": 1, "maxLength": 2048},
            "new_password": {"type": "string", "minLength": 1, "maxLength": 256},
        },
    },
    ("POST", "/auth/refresh"): {
        "type": "object",
        "required": ["refresh_token"],
        "properties": {"refresh_token": {"type": "string", "minLength": 1, "maxLength": 4096}},
    },
    ("POST", "/inbound/suspended/{suspended_id}/recover"): {"type": "object"},
}

NEXT_PAGE = {
    "name": "next_page",
    "in": "query",
    "required": False,
    "description": "The token a previous page returned as next_page.",
    "schema": {"type": "string"},
}
LOCALE = {
    "name": "locale",
    "in": "query",
    "required": False,
    "description": "The agent's language; wins over Accept-Language.",
    "schema": A_LOCALE,
}
ACCEPT_LANGUAGE = {
    "name": "Accept-Language",
    "in": "header",
    "required": False,
    "description": "q-values honoured; unsupported languages fall back to English.",
    "schema": {"type": "string", "example": "it-IT,it;q=0.9,en;q=0.5"},
}
TAG = {
    "name": "tag",
    "in": "query",
    "required": True,
    "description": "The tag to list tickets by, newest failure first.",
    "schema": A_TAG,
}
LOCALIZED = [LOCALE, ACCEPT_LANGUAGE]


def _query(name: str, description: str, schema: dict, required: bool = False) -> dict:
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


A_TIME = {"type": "string", "format": "date-time", "example": "2026-11-23T08:00:00Z"}
FAILURE_FILTERS = [
    _query("category", "Only failures of this category.", {"type": "string"}),
    _query("since", "Only failures at or after this time.", A_TIME),
    _query("until", "Only failures at or before this time.", A_TIME),
    _query("status", "open, resolved or all (default).", {"type": "string", "enum": ["open", "resolved", "all"]}),
]
USER_ID = _query("user_id", "The user whose notifications to explain.", AN_ID, required=True)

# Query and header parameters, by (method, Chalice route).
PARAMETERS: dict[tuple[str, str], list[dict]] = {
    ("GET", "/tickets"): [TAG, NEXT_PAGE],
    ("GET", "/tickets/{ticket_id}/comments"): [NEXT_PAGE, *LOCALIZED],
    ("GET", "/tickets/{ticket_id}/events"): [NEXT_PAGE, *LOCALIZED],
    ("GET", "/smtp-codes/{code}"): LOCALIZED,
    ("GET", "/delivery-failures"): [*FAILURE_FILTERS, NEXT_PAGE, *LOCALIZED],
    ("POST", "/tickets/{ticket_id}/recipient-check"): LOCALIZED,
    ("GET", "/tickets/{ticket_id}/diagnostics"): [USER_ID, *LOCALIZED],
    ("GET", "/inbound/suspended"): [NEXT_PAGE],
}

IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Retries with the same key and body return the first response (per caller, 24 hours).",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"},
}

# What the page routes answer instead of JSON (the HTML shell; the assets by their extension).
PAGE_CONTENT: dict[tuple[str, str], list[str]] = {
    ("GET", "/"): ["text/html"],
    ("GET", "/static/{name}"): ["text/javascript", "text/css", "image/svg+xml"],
    ("GET", "/static/i18n/{name}"): ["application/json"],
}

# Path parameters that are ids (the others are free text, such as an SMTP code).
ID_PATH_PARAMETERS = {"user_id", "ticket_id", "comment_id", "attachment_id"}

# What each operation answers; export_openapi.py adds 401 (all but the open routes), 415 (all) and, on the routes
# that honour Idempotency-Key, 400, 409 and 422.
SUMMARIES: dict[tuple[str, str], tuple[str, tuple[int, ...]]] = {
    ("GET", "/health"): ("The service is up", (200,)),
    ("POST", "/users"): ("Create a user (an end-user may have no address; an agent: admins only)", (201, 400, 403)),
    ("GET", "/users/{user_id}"): ("Read a user", (200, 404)),
    ("PATCH", "/users/{user_id}"): ("Fix a user's profile (addresses are validated)", (200, 400, 404)),
    ("POST", "/tickets"): ("Open a ticket: fires 'Notify requester of received request'", (201, 400, 403)),
    ("GET", "/tickets"): ("Tickets with a tag, newest failure first", (200, 400)),
    ("GET", "/tickets/{ticket_id}"): ("A ticket with its tags", (200, 404)),
    ("PUT", "/tickets/{ticket_id}/tags"): ("Set a ticket's tags", (200, 400, 404)),
    ("POST", "/tickets/{ticket_id}/comments"): (
        "Add a comment as the signed-in agent: fires the comment triggers; attachment_ids: its uploaded files",
        (201, 400, 403, 404, 409, 413),
    ),
    ("POST", "/tickets/{ticket_id}/attachments"): (
        "Declare a file: a presigned S3 POST (upload.url, upload.fields) for exactly its bytes",
        (201, 400, 404, 409, 413),
    ),
    ("GET", "/tickets/{ticket_id}/attachments/{attachment_id}"): (
        "A short-lived presigned download URL (always a download, never rendered)",
        (200, 404, 409),
    ),
    ("GET", "/files/{token}"): (
        "An emailed download link: 302 to a short-lived presigned URL; unknown 404, expired 410",
        (302, 404, 410),
    ),
    ("GET", "/tickets/{ticket_id}/comments"): ("The conversation, each comment with its delivery", (200, 400, 404)),
    ("GET", "/tickets/{ticket_id}/events"): (
        "One page of the ticket's events log (100 events), oldest first; next_page for the rest",
        (200, 400, 404),
    ),
    ("GET", "/triggers"): ("The notification triggers", (200,)),
    ("PATCH", "/triggers/{trigger_id}"): ("Turn a trigger on or off", (200, 400, 404)),
    ("GET", "/triggers/{trigger_id}/templates"): ("A trigger's email templates per locale", (200, 404)),
    ("PUT", "/triggers/{trigger_id}/templates/{locale}"): (
        "Save a trigger's subject and body template for a locale (validated)",
        (200, 400, 404),
    ),
    ("POST", "/triggers/{trigger_id}/preview"): (
        "Render a trigger's email for a ticket and recipient, without sending",
        (200, 400, 404),
    ),
    ("GET", "/smtp-codes/{code}"): ("What an SMTP reply code or enhanced status means", (200, 400, 404)),
    ("POST", "/users/{user_id}/deliverability/reset"): (
        "An agent lets a failed address be emailed again",
        (200, 400, 404),
    ),
    ("POST", "/tickets/{ticket_id}/recipient-check"): (
        "Who a comment would email, and who not and why",
        (200, 400, 404),
    ),
    ("GET", "/delivery-failures"): ("The delivery-problems inbox: failed recipients across tickets", (200, 400)),
    ("POST", "/delivery-failures/resolve"): ("Close inbox rows in bulk", (200, 400, 404)),
    ("GET", "/reputation"): ("Bounce and complaint rates beside SES's review and pause levels", (200,)),
    ("GET", "/tickets/{ticket_id}/diagnostics"): (
        "Why a user did or did not get the ticket's notifications",
        (200, 400, 404),
    ),
    ("GET", "/suppressions/{email}"): ("Is the address on the SES account-level suppression list?", (200, 400)),
    ("DELETE", "/suppressions/{email}"): ("Take the address off the suppression list", (200, 400, 404)),
    ("POST", "/tickets/{ticket_id}/comments/{comment_id}/resend"): ("Send a comment again", (201, 400, 404, 409)),
    ("GET", "/inbound/suspended"): ("Inbound email held for review (failed sender authentication)", (200, 400)),
    ("POST", "/inbound/suspended/{suspended_id}/recover"): (
        "Make held email the sender's comment",
        (200, 400, 404, 409),
    ),
    ("DELETE", "/inbound/suspended/{suspended_id}"): ("Delete held email", (200, 404)),
    ("GET", "/"): ("The agent workspace page (HTML)", (200,)),
    ("GET", "/static/{name}"): ("The page's assets", (200, 404)),
    ("GET", "/static/i18n/{name}"): ("The page's own strings", (200, 404)),
    ("GET", "/me"): ("The signed-in agent: id, name, role", (200,)),
    ("POST", "/agents"): (
        "Invite an agent: the Cognito user (invitation email, group) and the deskmail user",
        (201, 400, 403, 409),
    ),
    ("GET", "/agents/{user_id}"): ("An agent with role and disabled flag", (200, 403, 404)),
    ("PATCH", "/agents/{user_id}"): ("Change an agent's role, disable or enable", (200, 400, 403, 404)),
    # 400: a value Cognito could not use (empty, too long, controls, spaces in a username) or a new password its
    # policy refuses; 401: wrong, unknown, expired; 503 only when Cognito itself fails (throttling, outage).
    ("POST", "/auth/sign-in"): (
        "Sign in with email and password: tokens or a new-password challenge",
        (200, 400, 401, 503),
    ),
    ("POST", "/auth/new-password"): ("Answer the first sign-in's new-password challenge", (200, 400, 401, 503)),
    ("POST", "/auth/refresh"): ("New access token from a refresh token", (200, 400, 401, 503)),
}
