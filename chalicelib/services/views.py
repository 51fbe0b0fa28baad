"""What agents read: a ticket's conversation with each comment's delivery, its events log, tagged tickets."""

from __future__ import annotations

import base64
import gettext
import re

from chalicelib import validation
from chalicelib.adapters.dynamo import DeskmailTable, PageTokenError
from chalicelib.domain import classification, delivery, search, smtp_codes, typos
from chalicelib.domain.model import FAILURE_TAG, OutcomeEvent, Ticket, User
from chalicelib.errors import InvalidInput, NotFound
from chalicelib.i18n import N_
from chalicelib.services import attachments, failures, workspace
from chalicelib.services.events import (
    EVENT_AUTOMATED_REPLY,
    EVENT_INBOUND_SUSPENDED,
    EVENT_INBOUND_UNKNOWN_SENDER,
    EVENT_NOTIFICATION_HELD,
    EVENT_SUPPRESSION_REMOVED,
)
from chalicelib.services.outbox import EVENT_NOTIFICATION_RECOVERED

PAGE_SIZE = 20
EVENTS_PAGE_SIZE = 100


def user_view(user: User) -> dict:
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "role": user.role,
        "locale": user.locale,
        # A likely typo in the address's domain (gmial.com -> gmail.com), so an edit is never saved silently wrong.
        "email_suggestion": typos.suggest_address(user.email),
        "created_at": user.created_at,
        "updated_at": user.updated_at,
    }


def ticket_view(ticket: Ticket, tags: list[str]) -> dict:
    return {
        "id": ticket.id,
        "subject": ticket.subject,
        "status": ticket.status,
        "requester_id": ticket.requester_id,
        "cc_ids": list(ticket.cc_ids),
        "assignee_id": ticket.assignee_id,
        "tags": tags,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
    }


def failure_view(
    failure: dict | None, tr: gettext.NullTranslations, email: str | None = None, *, has_files: bool = True
) -> dict | None:
    """A stored failure with the reason and remedy worded for the agent's language (and a likely typo fixed).

    `has_files`: whether the comment carried attachments; "resend with links" is only offered when it did (callers
    that do not know the comment keep offering it)."""
    if not failure:
        return None
    suggestion = typos.suggest_address(email) if failure.get("category") == classification.INVALID_ADDRESS else None
    explained = classification.explain(
        classification.FailureClass(
            category=failure.get("category") or classification.UNKNOWN,
            permanent=bool(failure.get("permanent")),
            smtp_status=failure.get("smtp_status"),
            smtp_code=failure.get("smtp_code"),
            reason_detail=failure.get("reason_detail"),
        ),
        tr,
    )
    links_help = has_files and explained["category"] == classification.MESSAGE_TOO_LARGE
    return {
        "category": explained["category"],
        "reason": explained["reason"],
        "smtp_status": failure.get("smtp_status"),
        "smtp_code": failure.get("smtp_code"),
        "code_summary": explained["code_summary"],
        "diagnostic": failure.get("diagnostic"),
        "bounce_type": failure.get("bounce_type"),
        "bounce_subtype": failure.get("bounce_subtype"),
        "permanent": bool(failure.get("permanent")),
        "remedy": explained["remedy"]
        + (" " + tr.gettext("Did you mean {address}?").format(address=suggestion) if suggestion else "")
        + (" " + tr.gettext(RESEND_WITH_LINKS) if links_help else ""),
        "suggestion": suggestion,
        # What the page can do about it in one click: POST .../comments/{comment_id}/resend with `resend` as the
        # body (plus user_ids: the failed recipient). None when the fix is not a resend.
        "action": _resend_with_links(tr) if links_help else None,
        "occurred_at": failure.get("occurred_at"),
    }


RESEND_WITH_LINKS = N_("Or resend it to this recipient with download links instead of attachments.")
ACTION_RESEND_WITH_LINKS = "resend_with_links"


def _resend_with_links(tr: gettext.NullTranslations) -> dict:
    return {
        "id": ACTION_RESEND_WITH_LINKS,
        "label": tr.gettext("Resend with links instead of attachments"),
        "method": "POST",
        "path": "/tickets/{ticket_id}/comments/{comment_id}/resend",
        "resend": {"attachments": "links"},
    }


def _timeline_view(event: OutcomeEvent) -> dict:
    failure = event.failure or {}
    return {
        "kind": event.kind,
        "status": event.status,
        "occurred_at": event.occurred_at,
        "smtp_status": failure.get("smtp_status"),
        "smtp_code": failure.get("smtp_code"),
        "category": failure.get("category"),
    }


def _timeline(recipient: delivery.RecipientDelivery) -> list[dict]:
    """The SES events for one recipient in order, starting with the send deskmail itself recorded."""
    entries = [_timeline_view(event) for event in recipient.timeline]
    if recipient.message_id and not any(entry["kind"] == "send" for entry in entries):
        entries.insert(
            0,
            {
                "kind": "send",
                "status": "sent",
                "occurred_at": recipient.sent_at,
                "smtp_status": None,
                "smtp_code": None,
                "category": None,
            },
        )
    return entries


def _attempt_view(recipient: delivery.RecipientDelivery) -> dict:
    return {
        "email": recipient.email,
        "message_id": recipient.message_id,
        "status": recipient.status,
        "sent_at": recipient.sent_at or None,
    }


def page_token_refused() -> InvalidInput:
    """What the agent is told about a next_page token the adapter refused (PageTokenError)."""
    return InvalidInput(N_("{field} is not a token this API issued"), field="next_page")


def conversation(table: DeskmailTable, ticket_id: str, page_token: str | None, tr: gettext.NullTranslations) -> dict:
    if not validation.ID_PATTERN.match(ticket_id):
        raise NotFound(N_("There is no ticket {ticket_id}."), ticket_id=ticket_id)
    try:
        groups, next_page = table.list_conversation_page(ticket_id, page_token, PAGE_SIZE)
    except PageTokenError:
        raise page_token_refused() from None
    if not groups and not page_token:
        workspace.get_ticket(table, ticket_id)  # tells a missing ticket (404) from an empty page
    comments = []
    for comment, notifications in groups:
        recipients: list[delivery.RecipientDelivery] = []
        for notification, events in notifications:
            recipients.extend(delivery.recipient_deliveries(notification, events))
        delivery_view = None
        if recipients:
            summary = delivery.summarize(recipients, tr)
            replaced = delivery.superseded_by(recipients)
            delivery_view = {
                "scope": summary.scope,
                "message": summary.message,
                "people": len(delivery.current_attempts(recipients)),
                "recipients": [
                    {
                        "user_id": recipient.user_id,
                        "name": recipient.name,
                        "email": recipient.email,
                        "message_id": recipient.message_id,
                        "status": recipient.status,
                        "failure": failure_view(
                            recipient.failure, tr, recipient.email, has_files=bool(comment.attachments)
                        ),
                        "timeline": _timeline(recipient),
                        "sent_at": recipient.sent_at or None,
                        # An earlier attempt a resend replaced: what the later email did, so the page can say
                        # "bounced at the old address, resent, delivered" instead of counting the person twice.
                        "superseded_by": _attempt_view(replaced[index]) if index in replaced else None,
                    }
                    for index, recipient in enumerate(recipients)
                ],
            }
        comments.append(
            {
                "id": comment.id,
                "author_id": comment.author_id,
                "author_name": comment.author_name,
                "body": comment.body,
                "original_body": comment.original_body or None,
                "public": comment.public,
                "created_at": comment.created_at,
                "delivery": delivery_view,
                "attachments": [attachments.view(attachment) for attachment in comment.attachments],
            }
        )
    return {"comments": comments, "next_page": next_page}


def _describe(event_type: str, data: dict, tr: gettext.NullTranslations) -> str:
    _ = tr.gettext
    descriptions = {
        workspace.EVENT_TICKET_CREATED: _("Ticket created"),
        workspace.EVENT_COMMENT_ADDED: _("Comment added"),
        workspace.EVENT_NOTIFICATION_SENT: _("Email notification sent"),
        workspace.EVENT_NOTIFICATION_NOT_SENT: _("Email notification not sent"),
        failures.EVENT_DELIVERY_FAILURE: _("Email delivery failure"),
        failures.EVENT_COMPLAINT: _("Spam complaint"),
        failures.EVENT_TAG_ADDED: _("Tag added"),
        failures.EVENT_TAG_REMOVED: _("Tag removed"),
        EVENT_SUPPRESSION_REMOVED: _("Email address removed from the suppression list"),
        EVENT_AUTOMATED_REPLY: _("Automated reply received: no comment added, no notification sent"),
        EVENT_INBOUND_UNKNOWN_SENDER: _("Email from an unknown sender: no comment added"),
        attachments.EVENT_ATTACHMENTS_DROPPED: _("Files of an emailed reply not kept: over the attachment limits"),
        EVENT_INBOUND_SUSPENDED: _("Email held for review: it failed sender authentication (SPF, DKIM, DMARC)"),
        EVENT_NOTIFICATION_HELD: _("Notification held: too many emails to this address from this ticket"),
        EVENT_NOTIFICATION_RECOVERED: _("Email notification finished by the outbox sweep after an interruption"),
    }
    return descriptions.get(event_type, event_type)


def ticket_events(table: DeskmailTable, ticket_id: str, page_token: str | None, tr: gettext.NullTranslations) -> dict:
    """One page of the events log, oldest first: an auto-responder storm cannot grow a response past Lambda's 6 MB."""
    # The ticket first: a 404 for one that does not exist, so a new ticket's first events, put just ahead of its
    # transaction (dynamo.event_item with_ticket), are never shown when that transaction did not land.
    workspace.get_ticket(table, ticket_id)
    try:
        items, next_page = table.list_ticket_events(ticket_id, page_token, EVENTS_PAGE_SIZE)
    except PageTokenError:
        raise page_token_refused() from None
    events = []
    for item in items:
        data = dict(item.get("data") or {})
        view = {
            "id": item["id"],
            "type": item["event_type"],
            "occurred_at": item["occurred_at"],
            "description": _describe(item["event_type"], data, tr),
        }
        if item["event_type"] in (failures.EVENT_DELIVERY_FAILURE, failures.EVENT_COMPLAINT):
            failure = failure_view(data, tr, (data.get("recipient") or {}).get("email")) or {}
            view.update(
                {
                    "comment_id": data.get("comment_id"),
                    "message_id": data.get("message_id"),
                    "recipient": data.get("recipient"),
                    "status": data.get("status"),
                    "category": failure.get("category"),
                    "reason": failure.get("reason"),
                    "smtp_status": data.get("smtp_status"),
                    "smtp_code": data.get("smtp_code"),
                    "diagnostic": data.get("diagnostic"),
                    "remedy": failure.get("remedy"),
                    "triggers": data.get("triggers", []),
                    "email_notification": {"triggers": data.get("triggers", [])},
                }
            )
        elif item["event_type"] in (workspace.EVENT_NOTIFICATION_SENT, workspace.EVENT_NOTIFICATION_NOT_SENT):
            view.update(
                {
                    "comment_id": data.get("comment_id"),
                    "message_id": data.get("message_id"),
                    "trigger": (data.get("triggers") or [{}])[0],
                    "triggers": data.get("triggers", []),
                    "recipients": data.get("recipients", []),
                    "email_notification": {"triggers": data.get("triggers", [])},
                    # an agent's resend names the agent; a trigger's notification has none
                    **{key: data[key] for key in ("agent_id", "agent_name") if key in data},
                }
            )
        else:
            view.update(data)
        events.append(view)
    return {"events": events, "next_page": next_page}


def tagged_tickets(table: DeskmailTable, tag: str | None, page_token: str | None) -> dict:
    if not tag:
        raise InvalidInput(
            N_("'{field}' is required, e.g. {example}."), field="tag", example="?tag=system_email_notification_failure"
        )
    tag = tag.strip().lower()
    if not validation.TAG_PATTERN.match(tag):
        raise InvalidInput(N_("'{field}' is not a valid tag name."), field="tag")
    try:
        items, next_page = table.list_ticket_index(page_token, PAGE_SIZE, tag=tag)
    except PageTokenError:
        raise page_token_refused() from None
    # The requester and status, for triage in the failures list (None for tickets older than the ticket list).
    listed = table.get_ticket_listings([item["ticket_id"] for item in items])
    rows = []
    for item in items:
        row = {
            "id": item["ticket_id"],
            "subject": item.get("subject"),
            "tag": tag,
            "tagged_at": item.get("tagged_at"),
            "last_failure_at": item.get("sort_time"),
            "requester_name": listed.get(item["ticket_id"], {}).get("requester_name"),
            "status": listed.get(item["ticket_id"], {}).get("status"),
        }
        if tag == FAILURE_TAG:
            row.update(_failure_summary(table, item["ticket_id"], item.get("tagged_at") or ""))
        rows.append(row)
    return {"tickets": rows, "next_page": next_page}


def _failure_summary(table: DeskmailTable, ticket_id: str, since: str) -> dict:
    """Since the failure tag was added: how many people failed (not rows: one person bounced twice is one), and the
    categories, the latest failure's first (one small Query in the ticket's partition)."""
    people: set[str] = set()
    categories: list[str] = []
    for event in table.list_failure_events_since(ticket_id, since):
        data = event.get("data") or {}
        user_id = (data.get("recipient") or {}).get("user_id")
        if user_id:
            people.add(str(user_id))
        complaint = event.get("event_type") == failures.EVENT_COMPLAINT
        category = data.get("category") or (classification.COMPLAINT if complaint else None)
        if category and category not in categories:
            categories.append(category)
    return {
        "failed_recipients": len(people),
        "failure_category": categories[0] if categories else None,
        "failure_categories": categories,
    }


TICKET_STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
LIST_MONTHS = 24  # the unfiltered list walks back month by month this far; search reaches every ticket
_MAX_READS = 6  # Queries per request: a page may hold fewer rows than PAGE_SIZE, never skips one
_LIST_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def _month_before(month: str) -> str:
    year, number = int(month[:4]), int(month[5:7])
    return f"{year - 1}-12" if number == 1 else f"{year}-{number - 1:02d}"


def _found_view(item: dict) -> dict:
    return {
        "id": item["ticket_id"],
        "subject": item.get("subject"),
        "status": item.get("status"),
        "requester_id": item.get("requester_id"),
        "requester_name": item.get("requester_name"),
        "created_at": item.get("created_at"),
    }


def find_tickets(
    table: DeskmailTable, text: str | None, status: str | None, page_token: str | None, today: str
) -> dict:
    """GET /tickets without a tag: every ticket newest first, or those matching `q` (subject, requester, address).

    A search reads its longest word's tickets and keeps those that have every word; the plain list reads one month's
    tickets after another. Each stays one small Query per page
    however many tickets there are. next_page names the partition and the key to go on from.
    """
    if status is not None and status not in TICKET_STATUSES:
        raise InvalidInput(
            N_("'{field}' must be one of {choices}."), field="status", choices=", ".join(TICKET_STATUSES)
        )
    words = search.query_words(text or "")
    if text is not None and text.strip() and not words:
        raise InvalidInput(N_("Search for at least two letters or digits."))
    # What is read: the longest word's tickets, or one month's (walking back); the token names it.
    scope = words[0] if words else today[:7]
    token = None
    if page_token:
        try:
            padded = page_token + "=" * (-len(page_token) % 4)
            scope, _, token = base64.urlsafe_b64decode(padded).decode().partition("|")
        except ValueError:
            raise page_token_refused() from None
        valid = scope == words[0] if words else bool(_LIST_MONTH.fullmatch(scope))
        if not valid:
            raise page_token_refused()
        token = token or None
    oldest = today[:7]
    for _ in range(LIST_MONTHS):
        oldest = _month_before(oldest)
    found: list[dict] = []
    next_page = None
    for _ in range(_MAX_READS):
        try:
            if words:
                items, token = table.list_ticket_index(token, PAGE_SIZE, word=scope)
            else:
                items, token = table.list_ticket_index(token, PAGE_SIZE, month=scope)
        except PageTokenError:
            raise page_token_refused() from None
        for item in items:
            if set(words) <= set(item.get("words") or ()) and (status is None or item.get("status") == status):
                found.append(_found_view(item))
        if token is None and not words and scope > oldest:
            scope = _month_before(scope)  # this month is done: the one before
            next_page = f"{scope}|"
        else:
            next_page = f"{scope}|{token}" if token else None
        if found or next_page is None:
            break
    if next_page:  # one opaque, URL-safe token for what is read and the key in it
        next_page = base64.urlsafe_b64encode(next_page.encode()).decode().rstrip("=")
    return {"tickets": found, "next_page": next_page}


def trigger_view(trigger) -> dict:
    return {
        "id": trigger.id,
        "title": trigger.title,
        "active": trigger.active,
        "event": trigger.event,
        "audience": trigger.audience,
        "public_comments_only": trigger.public_comments_only,
        "skips_author": trigger.skip_author,
        "position": trigger.position,
    }


def describe_code(code: str, tr: gettext.NullTranslations) -> dict:
    """GET /smtp-codes/{code}: 400 for text that is no SMTP code, 404 for a code the catalogue lacks."""
    try:
        return smtp_codes.describe(code, tr)
    except smtp_codes.UnknownCodeError:
        raise NotFound(N_("{code} is not in deskmail's SMTP code reference."), code=code) from None
    except ValueError:
        raise InvalidInput(
            N_("'{code}' is not an SMTP code: use a reply code like {reply} or a status like {status}."),
            code=code,
            reply="550",
            status="5.1.1",
        ) from None
