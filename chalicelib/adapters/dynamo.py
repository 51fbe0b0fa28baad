"""The one DynamoDB adapter: every access pattern deskmail has, each a GetItem, BatchGetItem, Query or write."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import random
import time
import zlib
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain import outbox
from chalicelib.domain.model import (
    FAILURE_TAG,
    Attachment,
    Comment,
    Notification,
    OutcomeEvent,
    Recipient,
    SentMessage,
    Ticket,
    User,
)
from chalicelib.errors import InvalidInput
from chalicelib.i18n import N_
from chalicelib.naming import TABLE_INDEXES, TABLE_KEY
from chalicelib.observability import logger

if TYPE_CHECKING:  # imported where used: the feedback function's cold start needs no email package
    from chalicelib.domain.messages import Mailbox, OutgoingEmail
    from chalicelib.domain.threads import RecipientThread

# Key layout (PK / SK):
#   USER#{id}        PROFILE                              user (GSI1: EMAIL#{address} / USER#{id})
#   TICKET#{id}      TICKET                               ticket
#   TICKET#{id}      TAG#{tag}                            a tag on the ticket (GSI1: TAG#{tag}#{yyyy} / {time}#{id})
#   TICKET#{id}      C#{comment}                          comment
#   TICKET#{id}      C#{comment}#N#{notification}         notification (one SES message) and its recipients
#   TICKET#{id}      C#{comment}#N#{notification}#E#{id}  one SES outcome for one recipient
#   TICKET#{id}      EV#{time}#{id}                       ticket event (the events log)
#   MSG#{ses id}     MSG                                  SES message id -> notification (feedback correlation)
#   TRIGGERS         TRIGGER#{id}                         an agent's active/inactive choice for a trigger
#   RAW#{day}        {sqs message id}[#part#{n}]          unreadable feedback kept whole for inspection (TTL)
#   ADDR#{address}   F#{time}#{id}                        a fact SES proved about an address (bounce, complaint, reset)
#   ADDR#{address}   FACTS                                the address has facts (one BatchGetItem checks recipients)
#   TICKET#{id}      DLV#{user}                           when a notification of this ticket last reached the user
#   USER#{id}        TICKET#{ticket}                      the user takes part in the ticket (their tickets)
#   INBOUND#{ses id} INBOUND                              an inbound email claimed (in progress, until) or done (TTL)
#   INBOUND#{ses id} SUSPENDED                            an inbound email held for review (GSI2, TTL)
#   IDENTITY#{sub}   IDENTITY                             a signed-in agent: deskmail user, role, disabled
#   USER#{id}        IDENTITY                             the same link from the user's side (its `sub`)
#   FEEDBACK#OTHER#{day} COUNT#{shard}                    feedback about other senders' mail, counted (ADD, TTL)
#   REP#{day}#{shard} COUNTS                              sent / hard bounces / complaints per hour (ADD, TTL)
#   FIND#{word}#{shard} {created}#{id}                     ticket search: a ticket found by this word
#   TICKET#{id}      LIST                                 ticket list (GSI1: TICKETS#{yyyy-mm}#{shard} / {created}#{id})
#   TICKET#{id}      OUTBOX#{notification}                a notification recorded before SES is called (outbox)
#   TICKET#{id}      MAIL#{notification}                  the outbox entry's email, compressed (TTL 7 days)
#   IDEM#{hash}      IDEM                                 an Idempotency-Key of one caller and its first response (TTL)
#   TICKET#{id}      MID#{user}                           the user's chain of notification Message-IDs (threading)
#                                                         and their latest sends (the loop brake's count)
#   REF#{reference}  TICKET#{id}                          subject reference ("[Ticket 4TDV9V]") -> ticket
#   TRIGGER#{id}     TEMPLATE#{locale}                    an admin's subject and body template for a trigger
#   TICKET#{id}      ATT#{attachment}                     a file: declared at upload (pending, TTL), then attached
#   LINK#{sha256}    LINK                                 an emailed download link (hash of its token; TTL)
# GSI2 (overloaded):
#   FAILURES#{yyyy-mm}       {time}#{ticket}#{event}     the delivery-problems inbox (failure events), by month
#   SUSPENDED                {received}#{ses id}          inbound email held for review, newest first
# GSI3 (keys only):
#   OUTBOX#{shard}           {recorded at}#{notification} outbox entries not done yet (the sweeper's queue)


RAW_RETENTION_SECONDS = 30 * 24 * 3600


class PageTokenError(ValueError):
    """A next_page token that this API did not issue."""


class WriteError(RuntimeError):
    """Items DynamoDB did not take after retries; the caller retries the whole unit (the writes are idempotent)."""


class WriteConflict(WriteError):
    """A conditional write in a transaction found another state (an attachment already on a comment)."""


# DynamoDB refuses an item above 400 KB (attribute names and values, UTF-8) with a ValidationException: checked here
# first, so text too long to store is the caller's 400 and nothing of the unit is written, never a 500 half-way.
# 400,000 bytes: the documented "400 KB" read as the smaller number (moto refuses above 405,000).
MAX_ITEM_BYTES = 400_000


class ItemTooLarge(InvalidInput):
    """An item DynamoDB would refuse for its size (a comment and its rendered email are one outbox item)."""

    def __init__(self, size: int):
        super().__init__(
            N_("This is too large to store ({size} KB of at most {limit} KB, the email's HTML included): shorten it."),
            size=-(-size // 1000),
            limit=MAX_ITEM_BYTES // 1000,
        )


def _attribute_size(value: dict) -> int:
    """DynamoDB's size of one marshalled value (as its developer guide counts it, rounded up)."""
    (kind, content), *_ = value.items()
    if kind == "S":
        return len(content.encode("utf-8", "surrogatepass"))
    if kind == "N":
        return len(content) // 2 + 2
    if kind == "B":
        return len(content)
    if kind in ("SS", "NS", "BS"):
        return sum(_attribute_size({kind[0]: member}) for member in content)
    if kind == "L":
        return 3 + sum(1 + _attribute_size(member) for member in content)
    if kind == "M":
        return 3 + sum(
            1 + len(name.encode("utf-8", "surrogatepass")) + _attribute_size(v) for name, v in content.items()
        )
    return 1  # BOOL, NULL


def item_size(item: dict) -> int:
    return sum(len(name.encode("utf-8", "surrogatepass")) + _attribute_size(value) for name, value in item.items())


def _check_sizes(items: list[dict]) -> None:
    largest = max((item_size(item) for item in items), default=0)
    if largest > MAX_ITEM_BYTES:
        raise ItemTooLarge(largest)


class ReadError(RuntimeError):
    """Keys DynamoDB left unprocessed after retries: an answer without them would read as "not there"."""


def _marshal(value: Any) -> dict:
    # The hot path of every write: exact-type checks first (strings are most attributes), then the general chain.
    kind = type(value)
    if kind is str:
        return {"S": value}
    if kind is dict:
        return {"M": _marshal_map(value)}
    if value is None:
        return {"NULL": True}
    if kind is bool:
        return {"BOOL": value}
    if kind is list:
        return {"L": [_marshal(item) for item in value]}
    if kind is int:
        return {"N": repr(value)}
    return _marshal_other(value)


def _marshal_map(value: dict) -> dict:
    # Most values of a map are strings or None: handled inline in one comprehension, a function call and a loop step
    # saved for each (a third of a write's CPU). Equal to boto3's TypeSerializer (tests/unit/test_marshalling.py).
    return {
        key: {"S": item} if type(item) is str else {"NULL": True} if item is None else _marshal(item)
        for key, item in value.items()
    }


def _marshal_other(value: Any) -> dict:
    if isinstance(value, bytes):
        return {"B": value}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (int, float)):
        return {"N": repr(value)}
    if isinstance(value, (list, tuple)):
        return {"L": [_marshal(item) for item in value]}
    if isinstance(value, dict):
        return {"M": {key: _marshal(item) for key, item in value.items()}}
    raise TypeError(f"cannot store {type(value).__name__}")


def _unmarshal(value: dict) -> Any:
    if len(value) != 1:
        raise ValueError(f"a DynamoDB value has one type, not {len(value)}")
    if "S" in value:
        return value["S"]
    if "M" in value:
        return _unmarshal_map(value["M"])
    ((kind, data),) = value.items()
    if kind == "N":
        return int(data) if data.lstrip("-").isdigit() else float(data)
    if kind == "BOOL":
        return data
    if kind == "NULL":
        return None
    if kind == "L":
        return [_unmarshal(item) for item in data]
    if kind == "SS":
        return sorted(data)
    if kind == "B":
        return bytes(data)
    raise TypeError(f"unexpected DynamoDB type {kind}")


def _unmarshal_map(value: dict) -> dict:
    # Strings and nulls (most of an item) read inline; the rest through _unmarshal.
    return {
        key: item["S"]
        if "S" in item and len(item) == 1
        else None
        if "NULL" in item and len(item) == 1
        else _unmarshal(item)
        for key, item in value.items()
    }


def to_item(attributes: dict) -> dict:
    """Attributes to a DynamoDB item; None attributes are left out (an absent attribute), but for `email`."""
    return {
        key: {"S": value} if type(value) is str else _marshal(value)
        for key, value in attributes.items()
        if value is not None or key == "email"
    }


def from_item(item: dict) -> dict:
    return _unmarshal_map(item)


# A message-id lookup (MSG#{id}) is written once, when SES takes the message, and its feedback (Send, Delivery, a
# bounce; from event publishing and from the identity) mostly reaches one warm container in several batches.
# Unmarshalling it and building its typed notification cost ≈ 8 µs a message (≈ 52k instructions of unmarshalling,
# a third of the floor, at a batch of 10); comparing the wire item with the one it was read from last time costs a
# fraction, and only an equal one is reused, so what is returned is always what this read gives. The values are
# immutable (frozen dataclasses, named tuples) but for the address map, which callers only read. Bounded (the
# oldest entry goes first): ≈ 5 KB an entry (the wire copy and the typed values), ≈ 5 MB at the limit.
SENT_MESSAGES_LIMIT = 1024
_sent_messages: dict[str, tuple[dict, SentMessage]] = {}


def sent_message_from_lookup(attributes: dict) -> SentMessage:
    notification = notification_from_lookup(attributes)
    by_email = {r.email.lower(): r for r in notification.recipients if r.email}
    return SentMessage(notification, by_email, attributes.get("subject") or "")


def _sent_message(item: dict) -> SentMessage:
    """The message a MSG# lookup item describes, reused while the item read equals the one it was built from."""
    pk = item["PK"]["S"]
    known = _sent_messages.get(pk)
    if known is not None and known[0] == item:
        return known[1]
    sent = sent_message_from_lookup(from_item(item))
    if known is None and len(_sent_messages) >= SENT_MESSAGES_LIMIT:
        del _sent_messages[next(iter(_sent_messages))]
    # A copy of the wire item, not the response's own dicts: nothing the client hands out later can change it.
    _sent_messages[pk] = (_wire_copy(item), sent)
    return sent


def _wire_copy(value: Any) -> Any:
    if type(value) is dict:
        return {key: _wire_copy(item) for key, item in value.items()}
    if type(value) is list:
        return [_wire_copy(item) for item in value]
    if type(value) is set:
        return set(value)
    return value  # str, bool, bytes, None: immutable


def encode_token(key: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(from_item(key), separators=(",", ":")).encode()).decode().rstrip("=")


def decode_token(token: str, expected_pk: str, sk_prefix: str, index: str | None = None) -> dict:
    """A token back to an ExclusiveStartKey, refusing anything that does not point into the expected partition.

    The key must have exactly the attributes DynamoDB expects for the table or the index queried (PK, SK, and the
    index's own pair): a start key with others is a ValidationException (a 500) there, not an empty page.
    """
    partition, sort = TABLE_INDEXES[index] if index else TABLE_KEY
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        key = json.loads(raw)
    except (ValueError, TypeError):
        raise PageTokenError("next_page is not a token this API issued") from None
    if (
        not isinstance(key, dict)
        or set(key) != {*TABLE_KEY, partition, sort}
        or not all(isinstance(value, str) for value in key.values())
        or key[partition] != expected_pk
        or not key[sort].startswith(sk_prefix)
    ):
        raise PageTokenError("next_page is not a token this API issued")
    return to_item(key)


# ---- item shapes -------------------------------------------------------------------------------------------------


def user_item(user: User) -> dict:
    attributes = {
        "PK": f"USER#{user.id}",
        "SK": "PROFILE",
        "type": "user",
        "id": user.id,
        "name": user.name,
        "role": user.role,
        "email": user.email,
        "locale": user.locale,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
    }
    if user.email:
        attributes["GSI1PK"] = f"EMAIL#{user.email.lower()}"
        attributes["GSI1SK"] = f"USER#{user.id}"
    return attributes


def _user(attributes: dict) -> User:
    return User(
        id=attributes["id"],
        name=attributes["name"],
        role=attributes["role"],
        email=attributes.get("email"),
        locale=attributes.get("locale"),
        created_at=attributes.get("created_at", ""),
        updated_at=attributes.get("updated_at", ""),
    )


def ticket_item(ticket: Ticket) -> dict:
    return {
        "PK": f"TICKET#{ticket.id}",
        "SK": "TICKET",
        "type": "ticket",
        "id": ticket.id,
        "subject": ticket.subject,
        "requester_id": ticket.requester_id,
        "cc_ids": list(ticket.cc_ids),
        "assignee_id": ticket.assignee_id,
        "status": ticket.status,
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
    }


def _ticket(attributes: dict) -> Ticket:
    return Ticket(
        id=attributes["id"],
        subject=attributes["subject"],
        requester_id=attributes["requester_id"],
        cc_ids=tuple(attributes.get("cc_ids") or ()),
        assignee_id=attributes.get("assignee_id"),
        status=attributes.get("status", "new"),
        created_at=attributes.get("created_at", ""),
        updated_at=attributes.get("updated_at", ""),
    )


def _tag_key(ticket_id: str, tag: str) -> tuple[str, str]:
    """(PK, SK) of a tag on a ticket: the item tag_item and cleared_tag_item write, and the readers get."""
    return f"TICKET#{ticket_id}", f"TAG#{tag}"


def tag_item(
    ticket_id: str, subject: str, tag: str, sort_time: str, tagged_at: str, added_by: str | None = None
) -> dict:
    # added_by: the failure that added the tag, so a retry of that failure can rewrite its "tag added" event.
    pk, sk = _tag_key(ticket_id, tag)
    return {
        "PK": pk,
        "SK": sk,
        "type": "tag",
        "tag": tag,
        "ticket_id": ticket_id,
        "subject": subject,
        "tagged_at": tagged_at,
        "sort_time": sort_time,
        "active": True,
        "GSI1PK": f"TAG#{tag}#{sort_time[:4]}",  # one index partition per tag and year
        "GSI1SK": f"{sort_time}#{ticket_id}",
        "added_by": added_by,
    }


def cleared_tag_item(ticket_id: str, tag: str, cleared_at: str) -> dict:
    # Kept (outside the index) so a late replay of an old failure does not bring back a tag an agent removed.
    pk, sk = _tag_key(ticket_id, tag)
    return {
        "PK": pk,
        "SK": sk,
        "type": "tag",
        "tag": tag,
        "ticket_id": ticket_id,
        "active": False,
        "cleared_at": cleared_at,
    }


def comment_item(comment: Comment) -> dict:
    return {
        "PK": f"TICKET#{comment.ticket_id}",
        "SK": f"C#{comment.id}",
        "type": "comment",
        "id": comment.id,
        "ticket_id": comment.ticket_id,
        "author_id": comment.author_id,
        "author_name": comment.author_name,
        "body": comment.body,
        "public": comment.public,
        "created_at": comment.created_at,
        "trigger_evaluations": list(comment.trigger_evaluations),
        "original_body": comment.original_body or None,
        "attachments": [attachment_record(attachment) for attachment in comment.attachments] or None,
    }


def attachment_record(attachment: Attachment) -> dict:
    return {
        "id": attachment.id,
        "name": attachment.name,
        "size": attachment.size,
        "content_type": attachment.content_type,
        "key": attachment.key,
    }


def attachment_from_record(record: dict) -> Attachment:
    return Attachment(
        id=record["id"],
        name=record.get("name", ""),
        size=int(record.get("size", 0)),
        content_type=record.get("content_type") or "application/octet-stream",
        key=record["key"],
    )


def attachment_item(
    ticket_id: str,
    attachment: Attachment,
    created_at: str,
    state: str,
    expires_at: int | None = None,
    comment_id: str | None = None,
    declared_type: str | None = None,
) -> dict:
    """TICKET#{ticket} / ATT#{id}: `pending` (declared, maybe uploaded; TTL) or `attached` to `comment_id`."""
    return {
        "PK": f"TICKET#{ticket_id}",
        "SK": f"ATT#{attachment.id}",
        "type": "attachment",
        "ticket_id": ticket_id,
        **attachment_record(attachment),
        "declared_type": declared_type,
        "state": state,
        "comment_id": comment_id,
        "created_at": created_at,
        "expires_at": expires_at,
    }


def attach_update(ticket_id: str, attachment: Attachment, comment_id: str) -> dict:
    """A raw Update for write_together: a pending upload becomes the comment's (once: the condition)."""
    return {
        "Key": {"PK": {"S": f"TICKET#{ticket_id}"}, "SK": {"S": f"ATT#{attachment.id}"}},
        "UpdateExpression": "SET #state = :attached, comment_id = :comment, content_type = :type REMOVE expires_at",
        "ConditionExpression": "#state = :pending",
        "ExpressionAttributeNames": {"#state": "state"},
        "ExpressionAttributeValues": {
            ":attached": {"S": "attached"},
            ":pending": {"S": "pending"},
            ":comment": {"S": comment_id},
            ":type": {"S": attachment.content_type},
        },
    }


def download_link_item(
    token_hash: str,
    ticket_id: str,
    comment_id: str,
    notification_id: str,
    attachment: Attachment,
    recipients: list[dict],
    created_at: str,
    expires_at: int,
) -> dict:
    """LINK#{sha256 of the token}: one attachment for the recipients of one notification, until expires_at."""
    return {
        "PK": f"LINK#{token_hash}",
        "SK": "LINK",
        "type": "download_link",
        "ticket_id": ticket_id,
        "comment_id": comment_id,
        "notification_id": notification_id,
        "attachment": attachment_record(attachment),
        "recipients": recipients,
        "created_at": created_at,
        "expires_at": expires_at,
    }


def _comment(attributes: dict) -> Comment:
    return Comment(
        id=attributes["id"],
        ticket_id=attributes["ticket_id"],
        author_id=attributes["author_id"],
        author_name=attributes.get("author_name", ""),
        body=attributes.get("body", ""),
        public=bool(attributes.get("public")),
        created_at=attributes.get("created_at", ""),
        trigger_evaluations=tuple(attributes.get("trigger_evaluations") or ()),
        original_body=attributes.get("original_body") or "",
        attachments=tuple(attachment_from_record(record) for record in attributes.get("attachments") or ()),
    )


def _recipient_record(recipient: Recipient) -> dict:
    return {
        "user_id": recipient.user_id,
        "name": recipient.name,
        "email": recipient.email,
        "header": recipient.header,
        "status": recipient.status,
        "failure": recipient.failure,
        "locale": recipient.locale,
    }


MESSAGE_LOOKUP_RETENTION_SECONDS = 180 * 24 * 3600
DELIVERED_MARKER_RETENTION_SECONDS = 120 * 24 * 3600  # the inbox shows 90 days of failures: markers outlive them


def notification_items(notification: Notification, subject: str) -> list[dict]:
    """The notification under its comment, and (when SES took it) the message-id lookup the feedback needs."""
    recipients = [_recipient_record(recipient) for recipient in notification.recipients]
    items: list[dict[str, Any]] = [
        {
            "PK": f"TICKET#{notification.ticket_id}",
            "SK": f"C#{notification.comment_id}#N#{notification.id}",
            "type": "notification",
            "id": notification.id,
            "ticket_id": notification.ticket_id,
            "comment_id": notification.comment_id,
            "trigger_id": notification.trigger_id,
            "trigger_title": notification.trigger_title,
            "message_id": notification.message_id,
            "rfc_message_id": notification.rfc_message_id,
            "message_id_header": notification.message_id_header or None,
            "recipients": recipients,
            "sent_at": notification.sent_at,
        }
    ]
    if notification.message_id:
        items.append(
            {
                "PK": f"MSG#{notification.message_id}",
                "SK": "MSG",
                "type": "message",
                "message_id": notification.message_id,
                "ticket_id": notification.ticket_id,
                "comment_id": notification.comment_id,
                "notification_id": notification.id,
                "trigger_id": notification.trigger_id,
                "trigger_title": notification.trigger_title,
                "subject": subject,
                "recipients": recipients,
                "sent_at": notification.sent_at,
                "ticket_had_failures": notification.ticket_had_failures,
                # Feedback comes within days (a complaint can take weeks); a reply names the ticket by its subject
                # reference too. See docs/retention.md.
                "expires_at": _stamp_epoch(notification.sent_at) + MESSAGE_LOOKUP_RETENTION_SECONDS,
            }
        )
    return items


def notification_from_lookup(attributes: dict) -> Notification:
    return Notification(
        id=attributes.get("notification_id") or attributes["id"],
        ticket_id=attributes["ticket_id"],
        comment_id=attributes["comment_id"],
        trigger_id=attributes["trigger_id"],
        trigger_title=attributes["trigger_title"],
        message_id=attributes.get("message_id"),
        recipients=tuple(
            [  # a list, not a generator, into tuple(): ≈ 0.4 µs less per message and batch
                Recipient(
                    user_id=r["user_id"],
                    name=r["name"],
                    email=r.get("email"),
                    header=r.get("header", "to"),
                    status=r.get("status", "sent"),
                    failure=r.get("failure"),
                    locale=r.get("locale"),
                )
                for r in attributes.get("recipients") or ()
            ]
        ),
        sent_at=attributes.get("sent_at", ""),
        rfc_message_id=attributes.get("rfc_message_id", ""),
        message_id_header=attributes.get("message_id_header") or "",
        ticket_had_failures=attributes.get("ticket_had_failures", True),
    )


def outcome_item(notification: Notification, event: OutcomeEvent) -> dict:
    return {
        "PK": f"TICKET#{notification.ticket_id}",
        "SK": f"C#{notification.comment_id}#N#{notification.id}#E#{event.id}",
        "type": "outcome",
        "id": event.id,
        "email": event.email,
        "kind": event.kind,
        "status": event.status,
        "occurred_at": event.occurred_at,
        "failure": event.failure,
        "details": event.details or None,
    }


def outcome_wire_item(notification: Notification, event: OutcomeEvent) -> dict:
    """to_item(outcome_item(notification, event)), built in DynamoDB's wire form at once: the feedback handler's one
    item per recipient event, written by write_owned_items as it is (≈ 9k instructions less per notification at a
    batch of 10 than a plain item marshalled: no plain dict, no type dispatch per attribute)."""
    ticket_id, comment_id, notification_id = notification.ticket_id, notification.comment_id, notification.id
    event_id, email, kind, status, occurred_at, failure, details = event
    if not (
        type(ticket_id) is str
        and type(comment_id) is str
        and type(notification_id) is str
        and type(event_id) is str
        and type(email) is str
        and type(kind) is str
        and type(status) is str
        and type(occurred_at) is str
        and (failure is None or type(failure) is dict)
        and (details is None or type(details) is dict)
    ):
        return to_item(outcome_item(notification, event))  # not the shapes typed: the general marshalling decides
    item: dict[str, dict] = {
        "PK": {"S": f"TICKET#{ticket_id}"},
        "SK": {"S": f"C#{comment_id}#N#{notification_id}#E#{event_id}"},
        "type": {"S": "outcome"},
        "id": {"S": event_id},
        "email": {"S": email},
        "kind": {"S": kind},
        "status": {"S": status},
        "occurred_at": {"S": occurred_at},
    }
    if failure is not None:
        item["failure"] = {"M": _marshal_map(failure)}
    if details:
        item["details"] = {"M": _marshal_map(details)}
    return item


def _is_wire_item(item: dict) -> bool:
    """An item already in DynamoDB's wire form (outcome_wire_item), not attributes for to_item."""
    return type(item["PK"]) is dict


def item_key(item: dict) -> tuple[str, str]:
    """(PK, SK) of an item to write, in either form write_owned_items takes."""
    return (item["PK"]["S"], item["SK"]["S"]) if _is_wire_item(item) else (item["PK"], item["SK"])


def _outcome(attributes: dict) -> OutcomeEvent:
    return OutcomeEvent(
        id=attributes["id"],
        email=attributes["email"],
        kind=attributes["kind"],
        status=attributes["status"],
        occurred_at=attributes["occurred_at"],
        failure=attributes.get("failure"),
        details=attributes.get("details") or {},
    )


def event_item(
    ticket_id: str, event_id: str, occurred_at: str, event_type: str, data: dict, with_ticket: bool = False
) -> dict:
    """with_ticket: written with the new ticket itself, whose TICKET item makes it true (`committed_with`): it can
    then go just ahead of that transaction at one unit (write_together). The events log is read only once the
    TICKET item is found (views.ticket_events), so one whose ticket never landed is never shown."""
    return {
        "PK": f"TICKET#{ticket_id}",
        "SK": f"EV#{occurred_at}#{event_id}",
        "type": "event",
        "id": event_id,
        "event_type": event_type,
        "occurred_at": occurred_at,
        "data": data,
        "committed_with": "TICKET" if with_ticket else None,
    }


def failure_inbox_keys(ticket_id: str, event_id: str, occurred_at: str) -> dict:
    # One index partition per month (FAILURES#{yyyy-mm}): a month's failures, not all of them, share a key.
    return {"GSI2PK": f"FAILURES#{occurred_at[:7]}", "GSI2SK": f"{occurred_at}#{ticket_id}#{event_id}"}


# The inbox and tag views walk their time buckets newest first, so a call reads a bounded number of partitions
# whatever the volume: the inbox covers the last FAILURE_INBOX_DAYS (at most 4 monthly buckets; older failures stay
# in each ticket's events log), a tag view every year since deskmail's first data (DATA_FIRST_YEAR: one Query a
# year of history, no tag lost). A bucket's write rate is the whole rate of its kind at that moment (bucketing by
# time bounds partition size, not rate): the bench reports it per volume.
FAILURE_INBOX_DAYS = 90
DATA_FIRST_YEAR = 2026


def failure_buckets(until: str | None, since: str | None, now: datetime) -> list[str]:
    """FAILURES#{yyyy-mm} from `until` (at most now) back to `since` (at least FAILURE_INBOX_DAYS ago)."""
    ahead = (now + timedelta(hours=1)).strftime("%Y-%m")  # feedback can be stamped a little after our clock
    newest = min(until[:7], ahead) if until else ahead
    oldest = max(since[:7] if since else "", (now - timedelta(days=FAILURE_INBOX_DAYS)).strftime("%Y-%m"))
    year, month = int(newest[:4]), int(newest[5:7])
    buckets = []
    while f"{year:04d}-{month:02d}" >= oldest:
        buckets.append(f"FAILURES#{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return buckets


def tag_buckets(tag: str, now: datetime) -> list[str]:
    """TAG#{tag}#{yyyy}, this year back to DATA_FIRST_YEAR."""
    newest = (now + timedelta(hours=1)).year
    return [f"TAG#{tag}#{year:04d}" for year in range(newest, DATA_FIRST_YEAR - 1, -1)]


def encode_bucket_token(bucket: str, key: dict | None) -> str:
    payload = {"bucket": bucket, "key": from_item(key) if key else None}
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_bucket_token(token: str, buckets: list[str], index: str) -> tuple[int, dict | None]:
    """(position of the bucket to read next, ExclusiveStartKey in it or None), refusing any other token."""
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, TypeError):
        raise PageTokenError("next_page is not a token this API issued") from None
    if not isinstance(payload, dict) or set(payload) != {"bucket", "key"} or payload["bucket"] not in buckets:
        raise PageTokenError("next_page is not a token this API issued")
    bucket, key = payload["bucket"], payload["key"]
    if key is None:
        return buckets.index(bucket), None
    raw = base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")
    return buckets.index(bucket), decode_token(raw, bucket, "", index=index)


def _encode_cursor(sort_key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"before": sort_key}).encode()).decode().rstrip("=")


def _decode_cursor(token: str) -> str:
    """The sort key a sharded page goes on before; refuses anything this API did not issue."""
    try:
        payload = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, TypeError):
        raise PageTokenError("next_page is not a token this API issued") from None
    before = payload.get("before") if isinstance(payload, dict) and set(payload) == {"before"} else None
    if not isinstance(before, str) or not 0 < len(before) <= 200:
        raise PageTokenError("next_page is not a token this API issued")
    return before


def suspended_inbound_item(ses_message_id: str, received_at: str, attributes: dict, expires_at: int) -> dict:
    return {
        "PK": f"INBOUND#{ses_message_id}",
        "SK": "SUSPENDED",
        "type": "suspended_inbound",
        "ses_message_id": ses_message_id,
        "received_at": received_at,
        "GSI2PK": "SUSPENDED",
        "GSI2SK": f"{received_at}#{ses_message_id}",
        "expires_at": expires_at,
        **attributes,
    }


# Reputation counters: PK REP#{day}#{shard} / SK COUNTS, one number per kind and hour (sent_13, bounce_13, ...),
# added to with UpdateItem ADD. The shard is picked at random so no counter key takes more than 1/SHARDS of the
# writes: 100M notifications/day with a 3x peak hour is 3,472 updates/s at worst (one per notification), 347/s per
# key with 10 shards (under 500). 9 days x 10 shards = 90 keys: both windows are one BatchGetItem (<= 100 keys).
REPUTATION_SHARDS = 10
REPUTATION_RETENTION_SECONDS = 35 * 24 * 3600  # the 7-day window needs 8 days; kept a month for inspection
REPUTATION_KINDS = ("sent", "bounce", "complaint")


def reputation_increments(items: Iterable[dict]) -> dict[tuple[str, str], dict[str, int]]:
    """What written items add to the counters, by (day, hour): sent recipients of notifications SES took, hard
    bounces and complaints from the address facts (the figures SES's own reputation counts)."""
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for item in items:
        kind, amount, at = None, 1, ""
        if item.get("type") == "sent_counts" and item.get("sent_count"):
            kind, amount, at = "sent", int(item["sent_count"]), item.get("sent_at") or ""
        elif item.get("type") == "address_fact" and item.get("reputation") in ("bounce", "complaint"):
            kind, at = item["reputation"], item.get("occurred_at") or ""
        if kind and len(at) >= 13:
            slot = counts.setdefault((at[:10], at[11:13]), {})
            slot[kind] = slot.get(kind, 0) + amount
    return counts


def sent_counts_item(notification: Notification) -> dict:
    """What a sent notification adds to the counters (never stored: reputation_increments reads it)."""
    sent = sum(1 for recipient in notification.recipients if recipient.status == "sent")
    return {
        "type": "sent_counts",
        "sent_count": sent if notification.message_id else 0,
        "sent_at": notification.sent_at,
    }


def address_fact_item(
    email: str, kind: str, occurred_at: str, source_id: str, ticket_id: str | None, failure: dict | None
) -> dict:
    failure = failure or {}
    item = {
        "PK": f"ADDR#{email.lower()}",
        "SK": f"F#{occurred_at}#{source_id}",
        "type": "address_fact",
        "kind": kind,
        "occurred_at": occurred_at,
        "ticket_id": ticket_id,
        "category": failure.get("category"),
        "smtp_status": failure.get("smtp_status"),
        "smtp_code": failure.get("smtp_code"),
    }
    # Hard bounces and complaints are what SES's own reputation figures count: every Permanent bounce, also one
    # that does not prove the address dead (a full mailbox, an unexplained 5xx). Counted when the item is written.
    if kind == "permanent_bounce" or (kind == "transient_bounce" and failure.get("permanent")):
        item["reputation"] = "bounce"
    elif kind == "complaint":
        item["reputation"] = "complaint"
    return item


def address_marker_item(email: str) -> dict:
    """ADDR#{address} / FACTS: the address has facts (written with each), so a send checks all its recipients with one
    BatchGetItem and queries the facts of the few that have any."""
    return {"PK": f"ADDR#{email.lower()}", "SK": "FACTS", "type": "address_marker"}


def _with_address_markers(items: list[dict]) -> list[dict]:
    markers = {item["PK"]: address_marker_item(item["PK"][5:]) for item in items if item.get("type") == "address_fact"}
    return items + list(markers.values())


def delivered_marker_item(ticket_id: str, user_id: str, delivered_at: str) -> dict:
    # One item per ticket and user, overwritten by each delivery, so the inbox reads a page's markers in one
    # BatchGetItem. A put cannot keep a maximum: a replay of an older delivery arriving after a newer one sets the
    # older time back (a failure between the two then shows open until the next delivery: cautious, and rare).
    return {
        "PK": f"TICKET#{ticket_id}",
        "SK": f"DLV#{user_id}",
        "type": "delivered_marker",
        "delivered_at": delivered_at,
        "expires_at": _stamp_epoch(delivered_at) + DELIVERED_MARKER_RETENTION_SECONDS,
    }


def _commit_anchor(item: dict) -> tuple[str, str] | None:
    """The key of the item whose transaction makes this one true, named in `committed_with` by its sort key in the
    ticket's partition: an outbox entry's comment, a new ticket's participation row's first comment, a subject
    reference's and a new ticket's first events' TICKET item. None for any other item."""
    anchor = item.get("committed_with")
    if not anchor:
        return None
    if item.get("type") in ("outbox", "event"):
        return item["PK"], anchor
    if item.get("type") in ("participation", "reference"):
        return f"TICKET#{item['ticket_id']}", anchor
    return None


def participation_item(user_id: str, ticket_id: str, subject: str, at: str, with_comment: str | None = None) -> dict:
    """Who takes part in which ticket, so an address's tickets are one Query away (USER#{id}, TICKET#...); written
    when the user joins (the ticket's people with its first comment, another author with theirs).

    with_comment: the comment whose transaction makes it true (`committed_with`): it then goes just ahead of that
    transaction at one unit (write_together), and counts only once the comment exists (list_user_ticket_ids).
    """
    return {
        "PK": f"USER#{user_id}",
        "SK": f"TICKET#{ticket_id}",
        "type": "participation",
        "user_id": user_id,
        "ticket_id": ticket_id,
        "subject": subject,
        "joined_at": at,
        "committed_with": f"C#{with_comment}" if with_comment else None,
    }


# The search words and the ticket list are written by every new ticket: a common word ("printer", a mail domain) or
# a month's list takes one write per ticket (about 500/s at 100M notifications/day with a 3x peak). Each is split
# over TICKET_INDEX_SHARDS partitions by ticket id, and a page reads them all and merges newest first.
TICKET_INDEX_SHARDS = 4


def _shard_of(entity_id: str, shards: int) -> int:
    return int(hashlib.blake2b(entity_id.encode(), digest_size=4).hexdigest(), 16) % shards


def ticket_index_items(ticket: Ticket, words: list[str], requester_name: str) -> list[dict]:
    """Written with the ticket: its row in its month's list (TICKET#{id} / LIST, GSI1 TICKETS#{yyyy-mm}#{shard}) and
    one search row per word, a base-table item FIND#{word}#{shard} / {created}#{id}.

    Each carries what a result row shows, so a search or a list page is one Query per shard with no read per ticket.
    Search rows are base-table items, not index copies of TICKET# items: a word costs one write, not a table write
    and an index write, and write_together puts them ahead of the ticket's transaction at 1x (see AHEAD_TYPES). A row
    whose transaction then failed names a ticket without a LIST item: searches skip it (one BatchGetItem a page).
    """
    shard = _shard_of(ticket.id, TICKET_INDEX_SHARDS)
    shown = {
        "ticket_id": ticket.id,
        "subject": ticket.subject,
        "status": ticket.status,
        "requester_id": ticket.requester_id,
        "requester_name": requester_name,
        "created_at": ticket.created_at,
        "words": words,
    }
    position = f"{ticket.created_at}#{ticket.id}"
    items = [{"PK": f"FIND#{word}#{shard}", "SK": position, "type": "ticket_search", **shown} for word in words]
    items.append(
        {
            "PK": f"TICKET#{ticket.id}",
            "SK": "LIST",
            "type": "ticket_index",
            "GSI1PK": f"TICKETS#{ticket.created_at[:7]}#{shard}",
            "GSI1SK": position,
            **shown,
        }
    )
    return items


# ---- the outbox: a notification recorded before SES is called (chalicelib/domain/outbox.py has the states) ----

OUTBOX_RETENTION_SECONDS = 30 * 24 * 3600  # a done entry stays this long for inspection, then TTL removes it


def _outbox_key(ticket_id: str, notification_id: str) -> dict:
    return {"PK": {"S": f"TICKET#{ticket_id}"}, "SK": {"S": f"OUTBOX#{notification_id}"}}


def _mailbox_record(entry: Mailbox | str) -> dict:
    from chalicelib.domain.messages import mailbox

    found = mailbox(entry)
    return {"name": found.name, "address": found.address}


# The sweeper's queue: GSI3 OUTBOX#{shard} / {recorded at}#{notification}, an entry's shard picked by its id. GSI3
# projects keys only, so of an entry's three moves (pending, claimed, done) two write its shard: the put (twice: it
# is in a transaction) and the removal. That is about 10,000 index writes/s at 100M notifications/day with a 3x
# peak, so 32 shards keep each near 300/s. The sweep reads the same 32 shards (one small Query each, every 5
# minutes) however many notifications there are, then the due entries themselves.
OUTBOX_SHARDS = 32
# The email itself is needed until it is sent or given up (the sweep runs every 5 minutes): kept a week, by TTL.
OUTBOX_EMAIL_RETENTION_SECONDS = 7 * 24 * 3600


# A preset dictionary for the outbox emails' zlib stream: every notification repeats the same HTML shell, inline
# styles, JSON field names and phrases in its language, which a 1-2 KB message cannot teach zlib by itself. With it
# a typical email compresses to a few hundred bytes instead of ≈ 1.2 KB, so its MAIL# item takes one write unit
# instead of two (`make bench`). Built by scripts/build_mail_dictionary.py from the notification templates in every
# language, and frozen once used: a stored email names the dictionary it was compressed with (`email_dict`; none
# for the items written before there was one), so a new dictionary takes the next number and the old file stays
# while emails compressed with it can still be pending (a week, OUTBOX_EMAIL_RETENTION_SECONDS).
MAIL_DICTIONARY = 1
_MAIL_DICTIONARIES: dict[int, bytes] = {}


def mail_dictionary(version: int) -> bytes:
    found = _MAIL_DICTIONARIES.get(version)
    if found is None:
        found = (Path(__file__).parent / f"mail_dictionary_{version}.txt").read_bytes()
        _MAIL_DICTIONARIES[version] = found
    return found


def mail_payload(email: OutgoingEmail) -> bytes:
    """The email as the outbox keeps it (JSON), before compression."""
    payload = {
        "sender": email.sender,
        "to": [_mailbox_record(entry) for entry in email.to],
        "cc": [_mailbox_record(entry) for entry in email.cc],
        "subject": email.subject,
        "body": email.body,
        "rfc_message_id": email.rfc_message_id,
        "thread_root_id": email.thread_root_id,
        "tags": dict(email.tags),
        "configuration_set": email.configuration_set,
        "auto_submitted": email.auto_submitted,
        "html": email.html or None,
        "content_language": email.content_language or None,
        "in_reply_to": email.in_reply_to or None,
        "references": list(email.references) or None,
        "reply_to": list(email.reply_to) if email.reply_to else None,
        "attachments": [attachment_record(attachment) for attachment in email.attachments] or None,
    }
    return json.dumps(payload, separators=(",", ":")).encode()


def compress_mail(payload: bytes, version: int | None = MAIL_DICTIONARY) -> bytes:
    if version is None:
        return zlib.compress(payload, 6)
    compressor = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS, zdict=mail_dictionary(version))
    return compressor.compress(payload) + compressor.flush()


def decompress_mail(data: bytes, version: int | None) -> bytes:
    if version is None:
        return zlib.decompress(data)
    decompressor = zlib.decompressobj(zlib.MAX_WBITS, zdict=mail_dictionary(version))
    return decompressor.decompress(data) + decompressor.flush()


def outbox_items(
    notification: Notification,
    email: OutgoingEmail,
    subject: str,
    recorded_at: str,
    acting: dict | None = None,
    with_comment: bool = False,
) -> list[dict]:
    """A pending entry (the notification as it will be recorded: small, indexed for the sweeper) and the email
    exactly as it will be sent, compressed beside it (never indexed, never rewritten, removed by TTL).

    with_comment: the entry is written in the same unit as its (new) comment, whose item then makes it real
    (`committed_with`): it is put ahead of that transaction at one unit a KB (write_together), and the sweep sends
    it only once the comment exists (list_due_outbox).
    """
    entry = {
        "PK": f"TICKET#{notification.ticket_id}",
        "SK": f"OUTBOX#{notification.id}",
        "type": "outbox",
        "state": outbox.PENDING,
        "attempts": 0,
        "changed_at": recorded_at,
        "recorded_at": recorded_at,
        "ticket_id": notification.ticket_id,
        "comment_id": notification.comment_id,
        "notification_id": notification.id,
        "trigger_id": notification.trigger_id,
        "trigger_title": notification.trigger_title,
        "rfc_message_id": notification.rfc_message_id,
        "recipients": [_recipient_record(recipient) for recipient in notification.recipients],
        "ticket_had_failures": notification.ticket_had_failures,
        "subject": subject,
        "acting": acting,
        "committed_with": f"C#{notification.comment_id}" if with_comment else None,
        "GSI3PK": f"OUTBOX#{_shard_of(notification.id, OUTBOX_SHARDS)}",
        "GSI3SK": f"{recorded_at}#{notification.id}",
    }
    mail = {
        "PK": f"TICKET#{notification.ticket_id}",
        "SK": f"MAIL#{notification.id}",
        "type": "outbox_email",
        "email_z": compress_mail(mail_payload(email)),
        "email_dict": MAIL_DICTIONARY,
        "expires_at": _stamp_epoch(recorded_at) + OUTBOX_EMAIL_RETENTION_SECONDS,
    }
    return [mail, entry]  # the email first: a unit split over transactions never leaves an entry without it


def _stamp_epoch(stamp: str) -> int:
    """A timestamp's epoch seconds, for TTLs counted from it (now, for one that cannot be read)."""
    try:
        return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())
    except (ValueError, OverflowError, OSError):
        return int(time.time())


def _email_of(mail: dict | None) -> OutgoingEmail | None:
    from chalicelib.domain.messages import Mailbox, OutgoingEmail

    if not mail or "email_z" not in mail:
        return None
    stored = json.loads(decompress_mail(mail["email_z"], mail.get("email_dict")))
    return OutgoingEmail(
        sender=stored["sender"],
        to=tuple(Mailbox(entry["name"], entry["address"]) for entry in stored.get("to") or ()),
        cc=tuple(Mailbox(entry["name"], entry["address"]) for entry in stored.get("cc") or ()),
        subject=stored["subject"],
        body=stored["body"],
        rfc_message_id=stored["rfc_message_id"],
        thread_root_id=stored["thread_root_id"],
        tags=dict(stored.get("tags") or {}),
        configuration_set=stored["configuration_set"],
        auto_submitted=bool(stored.get("auto_submitted")),
        html=stored.get("html") or "",
        content_language=stored.get("content_language") or "",
        in_reply_to=stored.get("in_reply_to") or "",
        references=tuple(stored.get("references") or ()),
        reply_to=(stored["reply_to"][0], stored["reply_to"][1]) if stored.get("reply_to") else None,
        attachments=tuple(attachment_from_record(record) for record in stored.get("attachments") or ()),
    )


def outbox_entry(attributes: dict, mail: dict | None = None, committed: bool = True) -> outbox.OutboxEntry:
    """The entry, with its email when it is still pending (the email item read beside it)."""
    email = _email_of(mail) if attributes["state"] == outbox.PENDING else None
    notification = notification_from_lookup(
        {**attributes, "id": attributes["notification_id"], "sent_at": attributes.get("sent_at", "")}
    )
    return outbox.OutboxEntry(
        notification=notification,
        email=email,
        subject=attributes.get("subject", ""),
        state=attributes["state"],
        attempts=int(attributes.get("attempts", 0)),
        changed_at=attributes["changed_at"],
        acting=attributes.get("acting"),
        committed=committed,
    )


# A kept body is split into parts of at most this many UTF-8 bytes (the item limit is 400 KB): never cut.
RAW_PART_BYTES = 350_000


def _utf8_parts(text: str, limit: int = RAW_PART_BYTES) -> list[str]:
    data = text.encode("utf-8", "surrogatepass")
    parts, start = [], 0
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and data[end] & 0xC0 == 0x80:  # never split a character
            end -= 1
        parts.append(data[start:end].decode("utf-8", "surrogatepass"))
        start = end
    return parts or [""]


def raw_items(
    source: str, record_id: str, body: str, reason: str, received_at: str, epoch: int, **details: Any
) -> list[dict]:
    """RAW#{day}/{record id} with the body's first part, then {record id}#part#{n} for the rest (same TTL)."""
    parts = _utf8_parts(body)
    pk, expires_at = f"RAW#{received_at[:10]}", epoch + RAW_RETENTION_SECONDS
    head = {
        "PK": pk,
        "SK": record_id,
        "type": f"raw_{source}",
        "reason": reason[:500],
        "body": parts[0],
        "body_parts": len(parts),
        "body_chars": len(body),
        "body_sha256": hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest(),
        "received_at": received_at,
        "expires_at": expires_at,
        **{key: value for key, value in details.items() if value is not None},
    }
    return [head] + [
        {
            "PK": pk,
            "SK": f"{record_id}#part#{n:03d}",
            "type": f"raw_{source}_part",
            "part": n,
            "body": part,
            "expires_at": expires_at,
        }
        for n, part in enumerate(parts[1:], start=1)
    ]


def whole_raw(record_id: str, items: list[dict]) -> dict | None:
    """The head item of a kept message with `body` the whole body again (its parts in order)."""
    head = next((item for item in items if item["SK"] == record_id), None)
    if head is None:
        return None
    parts = sorted(
        (item for item in items if item["SK"].startswith(f"{record_id}#part#")), key=lambda item: item["part"]
    )
    return {**head, "body": head.get("body", "") + "".join(part["body"] for part in parts)}


# A handful of days per container (today, yesterday): strptime costs ≈ 5 µs, paid by every batch with a counted fact.
@functools.lru_cache(maxsize=64)
def _day_epoch(day: str) -> int:
    return int(datetime.strptime(day, "%Y-%m-%d").replace(tzinfo=UTC).timestamp())


class DeskmailTable:
    """DynamoDB access for deskmail; created once per Lambda container around one boto3 client."""

    BATCH_WRITE_LIMIT = 25
    BATCH_GET_LIMIT = 100

    # Trigger states are read by every comment: kept per container this long (one Query per container per 5 s
    # instead of one per comment); a switch in this container is seen at once, in others within that time.
    TRIGGER_CACHE_SECONDS = 5.0

    def __init__(self, client: Any, table_name: str, sleep=time.sleep, clock=time.monotonic):
        self.client = client
        self.name = table_name
        self._sleep = sleep
        self._clock = clock
        self._trigger_states: tuple[float, dict[str, bool]] | None = None

    # -- generic ----------------------------------------------------------------------------------------------------

    def write_items(self, items: Iterable[dict]) -> None:
        """Puts, 25 to a BatchWriteItem request; unprocessed items are retried with backoff, then WriteError."""
        pending = [{"PutRequest": {"Item": to_item(item)}} for item in _with_address_markers(list(items))]
        _check_sizes([put["PutRequest"]["Item"] for put in pending])
        self._write_requests(pending)

    def _write_requests(self, requests: list[dict]) -> None:
        """Put or delete requests, 25 to a BatchWriteItem (each retried by _write_chunk); WriteError for any left."""
        for start in range(0, len(requests), self.BATCH_WRITE_LIMIT):
            chunk = self._write_chunk(requests[start : start + self.BATCH_WRITE_LIMIT])
            if chunk:
                raise WriteError(f"{len(chunk)} items were not written")

    def write_owned_items(self, groups: Iterable[tuple[str, list[dict]]]) -> dict[str, str]:
        """Puts the items of many owners (SQS records) packed 25 to a BatchWriteItem; returns {owner: why} for each
        owner some of whose items were not written, so that owner alone is retried.

        Two owners putting the same key (two copies of one bounce, one ticket's tag) make one put, of the later
        version, as writing them one after the other would leave; it belongs to both. Unprocessed items are retried
        with backoff, then mapped back to their owners; a request that fails outright fails the owners in it.
        Address facts that count towards reputation (hard bounces, complaints) are written apart, each only if it is
        new, in the same transaction as what they add to the counters: a replay or SES's second copy counts nothing.
        An item is attributes (to_item marshals it) or already in wire form (outcome_wire_item; never an address
        fact, so the sorting below passes it by).
        """
        puts: dict[tuple[str, str], dict] = {}
        owners: dict[tuple[str, str], set[str]] = {}
        first_owner: dict[tuple[str, str], str] = {}
        for owner, items in groups:
            for item in _with_address_markers(items):
                key = item_key(item)
                puts[key] = item
                holders = owners.get(key)
                if holders is None:  # most keys have one owner: no empty set built and thrown away for the others
                    owners[key] = {owner}
                    first_owner[key] = owner
                else:
                    holders.add(owner)
        # One pass sorts the puts: facts counted in transactions, and the addresses of the other facts (`plain`).
        counted: dict[tuple[str, str], dict] = {}
        plain: set[str] = set()
        for key, item in puts.items():
            if item.get("reputation"):
                counted[key] = item
            elif item.get("type") == "address_fact":
                plain.add(key[0])
        failed = self._write_counted_facts(counted, owners)
        # Their addresses' markers went in the same transactions (one BatchWriteItem fewer for a batch of 10), unless
        # another fact of the address goes in the batch writes: its marker must land with it whatever the transaction.
        bundled = {(key[0], "FACTS") for key in counted if key[0] not in plain}
        requests = [
            (key, {"PutRequest": {"Item": item if _is_wire_item(item) else to_item(item)}})
            for key, item in puts.items()
            if key not in counted and key not in bundled
        ]
        for chunk in self._owner_chunks(requests, first_owner):
            try:
                left = self._write_chunk([request for _, request in chunk])
            except Exception as error:  # noqa: BLE001 - whatever the request hit, the owners in it are retried
                reason = f"BatchWriteItem failed: {type(error).__name__}: {error}"
                for key, _ in chunk:
                    failed.update(dict.fromkeys(owners[key], reason))
                continue
            for request in left:
                item = request["PutRequest"]["Item"]
                key = (item["PK"]["S"], item["SK"]["S"])
                failed.update(dict.fromkeys(owners[key], "items left unprocessed after retries"))
        return failed

    def _owner_chunks(self, requests: list, first_owner: dict) -> list[list]:
        """Requests of at most 25 puts, a record's puts kept in one request where they fit (so a failed request fails
        the fewest records); as many requests as packing them tight would need, or one more."""
        groups: list[list] = []
        for request in requests:
            if groups and first_owner[groups[-1][-1][0]] == first_owner[request[0]]:
                groups[-1].append(request)
            else:
                groups.append([request])
        chunks: list[list] = [[]]
        for group in groups:
            if chunks[-1] and len(chunks[-1]) + len(group) > self.BATCH_WRITE_LIMIT:
                chunks.append([])
            for request in group:
                if len(chunks[-1]) == self.BATCH_WRITE_LIMIT:
                    chunks.append([])
                chunks[-1].append(request)
        return [chunk for chunk in chunks if chunk]

    # Facts per transaction: each a conditional Put, its address's marker, one counter Update per day (≤ 100 actions).
    COUNTED_FACTS_PER_TRANSACTION = 45

    def _write_counted_facts(self, facts: dict[tuple[str, str], dict], owners: dict) -> dict[str, str]:
        """Each new fact and its counts, together: a Put if the fact does not exist yet, and ADD to the counters.

        A fact already there (a replay, the other feedback source's copy) cancels the transaction; it is dropped and
        the rest written again, so every fact counts exactly once however often and by whichever source it arrives.
        """
        failed: dict[str, str] = {}
        keys = list(facts)
        for start in range(0, len(keys), self.COUNTED_FACTS_PER_TRANSACTION):
            todo = keys[start : start + self.COUNTED_FACTS_PER_TRANSACTION]
            strikes: dict[tuple[str, str], int] = {}
            while todo:
                chosen = [facts[key] for key in todo]
                actions = [
                    {
                        "Put": {
                            "TableName": self.name,
                            "Item": to_item(item),
                            "ConditionExpression": "attribute_not_exists(PK)",
                        }
                    }
                    for item in chosen
                ]
                # The addresses' markers (unconditional, idempotent) ride along: they land with their facts.
                markers = {item["PK"]: address_marker_item(item["PK"][5:]) for item in chosen}
                actions += [{"Put": {"TableName": self.name, "Item": to_item(item)}} for item in markers.values()]
                actions += [{"Update": {"TableName": self.name, **update}} for update in self._counter_updates(chosen)]
                try:
                    self.client.transact_write_items(TransactItems=actions)
                    break
                except Exception as error:  # noqa: BLE001 - sorted below: present facts, throttles, anything else
                    reasons = [
                        reason.get("Code") for reason in getattr(error, "response", {}).get("CancellationReasons") or []
                    ]
                    present = {
                        key for key, code in zip(todo, reasons, strict=False) if code == "ConditionalCheckFailed"
                    }
                    if present:
                        todo = [key for key in todo if key not in present]  # written (and counted) before
                        continue
                    # The facts DynamoDB named (a throttled partition), else all: retried with backoff, then given up
                    # to SQS (their owners alone), the others written without them.
                    blamed = [key for key, code in zip(todo, reasons, strict=False) if code not in (None, "None")]
                    for key in blamed or todo:
                        strikes[key] = strikes.get(key, 0) + 1
                    given_up = {key for key in todo if strikes.get(key, 0) >= 5}
                    reason = f"TransactWriteItems failed: {type(error).__name__}: {error}"
                    for key in given_up:
                        failed.update(dict.fromkeys(owners[key], reason))
                    todo = [key for key in todo if key not in given_up]
                    self._sleep(0.05 * 2 ** min(max(strikes.values()), 5))
        return failed

    def _counter_updates(self, items: Iterable[dict], shard: int | None = None) -> list[dict]:
        """UpdateItem ADD of what items add to the counters: one per day touched, on one shard (random unless given)."""
        by_day: dict[str, dict[str, int]] = {}
        for (day, hour), counts in reputation_increments(items).items():
            for kind, amount in counts.items():
                slot = by_day.setdefault(day, {})
                slot[f"{kind}_{hour}"] = slot.get(f"{kind}_{hour}", 0) + amount
        updates = []
        for day, amounts in by_day.items():
            names = sorted(amounts)
            values: dict[str, dict] = {f":v{n}": {"N": str(amounts[name])} for n, name in enumerate(names)}
            values[":expires"] = {"N": str(_day_epoch(day) + REPUTATION_RETENTION_SECONDS)}
            additions = ", ".join(f"{name} :v{n}" for n, name in enumerate(names))
            where = random.randrange(REPUTATION_SHARDS) if shard is None else shard
            updates.append(
                {
                    "Key": {"PK": {"S": f"REP#{day}#{where}"}, "SK": {"S": "COUNTS"}},
                    "UpdateExpression": f"ADD {additions} SET expires_at = :expires",
                    "ExpressionAttributeValues": values,
                }
            )
        return updates

    def count_sent(self, *notifications: Notification) -> None:
        """Adds the notifications' sent recipients to the counters (one UpdateItem ADD a counter shard and day for
        all of them); called once for each, when its outbox entry became `sent` (the conditional move that happens
        exactly once). A process that dies between the two loses the counts: rates then read a little high, which
        errs towards caution."""
        if not notifications:
            return
        try:
            for update in self._counter_updates([sent_counts_item(notification) for notification in notifications]):
                self.client.update_item(TableName=self.name, **update)
        except Exception as error:  # noqa: BLE001 - the notification is recorded: a lost count must not undo it
            logger.warning("reputation counters not updated", extra={"error": f"{type(error).__name__}: {error}"})

    def _write_chunk(self, chunk: list[dict]) -> list[dict]:
        """One BatchWriteItem of up to 25 puts, retrying what DynamoDB leaves unprocessed; returns what is left."""
        for attempt in range(5):
            response = self.client.batch_write_item(RequestItems={self.name: chunk})
            chunk = response.get("UnprocessedItems", {}).get(self.name, [])
            if not chunk:
                return []
            self._sleep(0.05 * 2**attempt)
        return chunk

    def keep_raw(
        self, source: str, record_id: str, body: str, reason: str, received_at: str, epoch: int, **details: Any
    ) -> None:
        """An unreadable message, kept whole for inspection (RAW#{day}) until its TTL: nothing is lost silently."""
        self.write_items(raw_items(source, record_id, body, reason, received_at, epoch, **details))

    def get_raw(self, day: str, record_id: str) -> dict | None:
        """A kept message with its body put back together from its parts (None when nothing is kept under that id)."""
        items, start = [], None
        while True:
            kwargs: dict[str, Any] = {
                "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
                "ExpressionAttributeValues": {":pk": {"S": f"RAW#{day}"}, ":prefix": {"S": record_id}},
            }
            if start:
                kwargs["ExclusiveStartKey"] = start
            response = self._query(**kwargs)
            items += [from_item(item) for item in response.get("Items", [])]
            start = response.get("LastEvaluatedKey")
            if not start:
                break
        return whole_raw(record_id, items)

    OTHER_SENDER_SHARDS = 10
    OTHER_SENDER_RETENTION_SECONDS = 90 * 24 * 3600

    def count_other_sender_feedback(self, at: str, count: int, epoch: int) -> None:
        """Adds to the day's count of feedback about mail deskmail did not send (one shard, picked at random)."""
        self.client.update_item(
            TableName=self.name,
            Key={
                "PK": {"S": f"FEEDBACK#OTHER#{at[:10]}"},
                "SK": {"S": f"COUNT#{random.randrange(self.OTHER_SENDER_SHARDS)}"},
            },
            UpdateExpression="ADD feedback_count :count SET last_seen_at = :at, expires_at = :expires",
            ExpressionAttributeValues={
                ":count": {"N": str(count)},
                ":at": {"S": at},
                ":expires": {"N": str(epoch + self.OTHER_SENDER_RETENTION_SECONDS)},
            },
        )

    def other_sender_feedback_on(self, day: str) -> int:
        """The day's count of feedback about other senders' mail (one Query over its few shards)."""
        response = self._query(
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": f"FEEDBACK#OTHER#{day}"}},
        )
        return sum(int(item.get("feedback_count", {}).get("N", "0")) for item in response.get("Items", []))

    def get_many(self, keys: list[tuple[str, str]], consistent: bool = False) -> dict[tuple[str, str], dict]:
        """BatchGetItem for up to 100 keys a request; missing items are simply absent from the answer."""
        return {key: from_item(item) for key, item in self._get_many_wire(keys, consistent).items()}

    def _get_many_wire(self, keys: list[tuple[str, str]], consistent: bool = False) -> dict[tuple[str, str], dict]:
        """get_many's items as DynamoDB gives them (marshalled), for callers that decode only some."""
        found: dict[tuple[str, str], dict] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), self.BATCH_GET_LIMIT):
            chunk = unique[start : start + self.BATCH_GET_LIMIT]
            request: dict[str, dict] = {self.name: {"Keys": [{"PK": {"S": pk}, "SK": {"S": sk}} for pk, sk in chunk]}}
            if consistent:
                request[self.name]["ConsistentRead"] = True
            for attempt in range(5):
                response = self.client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self.name, []):
                    found[(item["PK"]["S"], item["SK"]["S"])] = item
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
                self._sleep(0.05 * 2**attempt)
            if request:
                raise ReadError(f"{len(request[self.name]['Keys'])} keys were not read")
        return found

    def _get(self, pk: str, sk: str) -> dict | None:
        response = self.client.get_item(TableName=self.name, Key={"PK": {"S": pk}, "SK": {"S": sk}})
        return from_item(response["Item"]) if "Item" in response else None

    def _query(self, **kwargs: Any) -> dict:
        return self.client.query(TableName=self.name, **kwargs)

    # -- users ------------------------------------------------------------------------------------------------------

    def put_user(self, user: User) -> None:
        self.client.put_item(TableName=self.name, Item=to_item(user_item(user)))

    def get_user(self, user_id: str) -> User | None:
        attributes = self._get(f"USER#{user_id}", "PROFILE")
        return _user(attributes) if attributes else None

    def get_users(self, user_ids: Iterable[str]) -> dict[str, User]:
        found = self.get_many([(f"USER#{user_id}", "PROFILE") for user_id in user_ids])
        return {attributes["id"]: _user(attributes) for attributes in found.values()}

    def find_users_by_email(self, email: str) -> list[User]:
        response = self._query(
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :pk",
            ExpressionAttributeValues={":pk": {"S": f"EMAIL#{email.lower()}"}},
        )
        return [_user(from_item(item)) for item in response.get("Items", [])]

    # -- tickets, comments, notifications ------------------------------------------------------------------------------

    def get_ticket_with_tags(self, ticket_id: str) -> tuple[Ticket | None, dict[str, dict]]:
        """One Query: the ticket item and its tag items sit side by side ("TAG#…" sorts just before "TICKET")."""
        response = self._query(
            KeyConditionExpression="PK = :pk AND SK BETWEEN :low AND :high",
            ExpressionAttributeValues={
                ":pk": {"S": f"TICKET#{ticket_id}"},
                ":low": {"S": "TAG#"},
                ":high": {"S": "TICKET"},
            },
        )
        ticket = None
        tags: dict[str, dict] = {}
        for item in response.get("Items", []):
            attributes = from_item(item)
            if attributes["SK"] == "TICKET":
                ticket = _ticket(attributes)
            else:
                tags[attributes["tag"]] = attributes
        return ticket, tags

    def get_comment(self, ticket_id: str, comment_id: str) -> Comment | None:
        attributes = self._get(f"TICKET#{ticket_id}", f"C#{comment_id}")
        return _comment(attributes) if attributes else None

    def list_conversation_page(
        self, ticket_id: str, page_token: str | None, max_comments: int, max_items: int = 400
    ) -> tuple[list[tuple[Comment, list[tuple[Notification, list[OutcomeEvent]]]]], str | None]:
        """One Query per page: comments arrive interleaved with their notifications and outcomes, in key order."""
        pk = f"TICKET#{ticket_id}"
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":prefix": {"S": "C#"}},
            "Limit": max_items,
        }
        if page_token:
            kwargs["ExclusiveStartKey"] = decode_token(page_token, pk, "C#")
        response = self._query(**kwargs)
        items = response.get("Items", [])
        # A single comment with more children than a page of items: read on until it is whole (rare).
        while "LastEvaluatedKey" in response and sum(item["type"]["S"] == "comment" for item in items) <= 1:
            response = self._query(**{**kwargs, "ExclusiveStartKey": response["LastEvaluatedKey"]})
            items = items + response.get("Items", [])
        groups: list[tuple[Comment, list]] = []
        group_ends: list[str] = []
        notifications: dict[str, tuple[Notification, list[OutcomeEvent]]] = {}
        full = False
        for item in items:
            attributes = from_item(item)
            kind = attributes.get("type")
            if kind == "comment":
                if len(groups) == max_comments:
                    full = True
                    break
                groups.append((_comment(attributes), []))
                group_ends.append(attributes["SK"])
                notifications = {}
            elif not groups:
                continue
            elif kind == "notification":
                entry: tuple[Notification, list[OutcomeEvent]] = (notification_from_lookup(attributes), [])
                notifications[entry[0].id] = entry
                groups[-1][1].append(entry)
            elif kind == "outcome":
                notification_id = attributes["SK"].split("#N#", 1)[1].split("#E#", 1)[0]
                if notification_id in notifications:
                    notifications[notification_id][1].append(_outcome(attributes))
            group_ends[-1] = attributes["SK"]
        if not full and "LastEvaluatedKey" in response and len(groups) > 1:
            groups, group_ends = groups[:-1], group_ends[:-1]  # the last comment may be cut short: next page
            full = True
        if not full or not groups:
            return groups, None
        return groups, encode_token(to_item({"PK": pk, "SK": group_ends[-1]}))

    def list_ticket_events(
        self, ticket_id: str, page_token: str | None = None, limit: int = 100
    ) -> tuple[list[dict], str | None]:
        """One page of the events log, oldest first (Query `TICKET#{id}`, SK begins with `EV#`)."""
        pk = f"TICKET#{ticket_id}"
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": pk}, ":prefix": {"S": "EV#"}},
            "Limit": limit,
        }
        if page_token:
            kwargs["ExclusiveStartKey"] = decode_token(page_token, pk, "EV#")
        response = self._query(**kwargs)
        token = encode_token(response["LastEvaluatedKey"]) if "LastEvaluatedKey" in response else None
        return [from_item(item) for item in response.get("Items", [])], token

    def list_failure_events_since(self, ticket_id: str, since: str) -> list[dict]:
        """The ticket's failure and complaint events from `since` on, newest first (one Query in the ticket's own
        partition: its size is the ticket's, not the table's)."""
        response = self._query(
            KeyConditionExpression="PK = :pk AND SK BETWEEN :low AND :high",
            FilterExpression="event_type IN (:failure, :complaint)",
            ProjectionExpression="occurred_at, event_type, #data.recipient.user_id, #data.category",
            ExpressionAttributeNames={"#data": "data"},
            ExpressionAttributeValues={
                ":pk": {"S": f"TICKET#{ticket_id}"},
                ":low": {"S": f"EV#{since}"},
                ":high": {"S": "EV#~"},
                ":failure": {"S": "email_delivery_failure"},
                ":complaint": {"S": "email_complaint"},
            },
            ScanIndexForward=False,  # no Limit: with a filter it would count the events read, not the failures kept
        )
        return [from_item(item) for item in response.get("Items", [])]

    def get_feedback_context(
        self, message_ids: Iterable[str], ticket_ids: Iterable[str]
    ) -> tuple[dict[str, SentMessage], dict[str, dict | None]]:
        """What a feedback batch needs, in one BatchGetItem (up to 100 keys): the messages deskmail sent
        ({SES message id: SentMessage}, those it has a record of), and the failure tag of the tickets named up front
        ({ticket: tag item or None}, every ticket asked for answered)."""
        tag_keys = {ticket: _tag_key(ticket, FAILURE_TAG) for ticket in ticket_ids}
        found = self._get_many_wire(
            [(f"MSG#{message_id}", "MSG") for message_id in message_ids] + list(tag_keys.values())
        )
        sent = {pk[4:]: _sent_message(item) for (pk, _), item in found.items() if pk[:4] == "MSG#"}
        tags = {}
        for ticket, key in tag_keys.items():
            tag = found.get(key)
            tags[ticket] = from_item(tag) if tag is not None else None
        return sent, tags

    def get_failure_tags(self, ticket_ids: Iterable[str]) -> dict[str, dict | None]:
        """The failure tag of each ticket ({ticket: tag item or None})."""
        tag_keys = {ticket: _tag_key(ticket, FAILURE_TAG) for ticket in ticket_ids}
        found = self.get_many(list(tag_keys.values()))
        return {ticket: found.get(key) for ticket, key in tag_keys.items()}

    def get_notifications_by_message_id(self, message_ids: Iterable[str]) -> dict[str, dict]:
        found = self.get_many([(f"MSG#{message_id}", "MSG") for message_id in message_ids])
        return {attributes["message_id"]: attributes for attributes in found.values()}

    # -- addresses, the inbox, reputation -----------------------------------------------------------------------------

    def list_address_facts(self, email: str, limit: int = 50) -> list[dict]:
        """Newest first; a reset fact ends what matters, so a short page is enough."""
        response = self._query(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
            ExpressionAttributeValues={":pk": {"S": f"ADDR#{email.lower()}"}, ":prefix": {"S": "F#"}},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [from_item(item) for item in response.get("Items", [])]

    def list_addresses_facts(self, emails: Iterable[str], limit: int = 50) -> dict[str, list[dict]]:
        """Each address's facts, newest first: one BatchGetItem of the addresses' markers, then a Query only for those
        that have facts (most addresses never bounced)."""
        wanted = sorted({email.lower() for email in emails})
        marked = self.get_many([(f"ADDR#{email}", "FACTS") for email in wanted]) if wanted else {}
        return {
            email: self.list_address_facts(email, limit) if (f"ADDR#{email}", "FACTS") in marked else []
            for email in wanted
        }

    def list_failures(
        self, since: str | None, until: str | None, page_token: str | None, limit: int, category: str | None
    ) -> tuple[list[dict], str | None]:
        """Newest first over the monthly buckets FAILURES#{yyyy-mm} (GSI2), from `until` back to `since`."""
        if since and until and since > until:
            return [], None  # an empty range: DynamoDB refuses a BETWEEN whose bounds are reversed (a 500, not a page)
        kwargs: dict[str, Any] = {
            "IndexName": "GSI2",
            "KeyConditionExpression": "GSI2PK = :pk AND GSI2SK BETWEEN :low AND :high",
            "ExpressionAttributeValues": {":low": {"S": since or "0"}, ":high": {"S": (until or "9999") + "~"}},
            "ScanIndexForward": False,
        }
        if category:
            kwargs["FilterExpression"] = "#data.#category = :category"
            kwargs["ExpressionAttributeNames"] = {"#data": "data", "#category": "category"}
            kwargs["ExpressionAttributeValues"][":category"] = {"S": category}
        buckets = failure_buckets(until, since, datetime.now(UTC))
        return self._walk_buckets(buckets, "GSI2", kwargs, page_token, limit)

    def _walk_buckets(
        self, buckets: list[str], index: str, kwargs: dict, page_token: str | None, limit: int
    ) -> tuple[list[dict], str | None]:
        """Up to `limit` items from the buckets, newest first; the token names the bucket to go on in."""
        position, start = decode_bucket_token(page_token, buckets, index) if page_token else (0, None)
        items: list[dict] = []
        for bucket in buckets[position:]:
            query = {**kwargs, "Limit": limit - len(items)}
            query["ExpressionAttributeValues"] = {**kwargs["ExpressionAttributeValues"], ":pk": {"S": bucket}}
            if start:
                query["ExclusiveStartKey"] = start
            response = self._query(**query)
            items += [from_item(item) for item in response.get("Items", [])]
            start = response.get("LastEvaluatedKey")
            if start:
                return items, encode_bucket_token(bucket, start)
            position = buckets.index(bucket) + 1
            if len(items) >= limit:
                break
        if position < len(buckets):
            return items, encode_bucket_token(buckets[position], None)
        return items, None

    def last_deliveries(self, ticket_users: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """When a notification of each ticket last reached each user, where a marker says so: one BatchGetItem."""
        keys = [(f"TICKET#{ticket_id}", f"DLV#{user_id}") for ticket_id, user_id in ticket_users]
        found = self.get_many(keys) if keys else {}
        return {
            (pk.removeprefix("TICKET#"), sk.removeprefix("DLV#")): item["delivered_at"]
            for (pk, sk), item in found.items()
        }

    def resolve_failure(
        self, ticket_id: str, event_sk: str, resolved_at: str, resolved_by: str, resolved_by_name: str | None = None
    ) -> bool:
        """Marks one inbox row resolved; False when there is no such failure."""
        try:
            self.client.update_item(
                TableName=self.name,
                Key={"PK": {"S": f"TICKET#{ticket_id}"}, "SK": {"S": event_sk}},
                UpdateExpression="SET resolved_at = if_not_exists(resolved_at, :at), resolved_by = "
                "if_not_exists(resolved_by, :by), resolved_by_name = if_not_exists(resolved_by_name, :name)",
                ConditionExpression="attribute_exists(PK) AND event_type = :failure",
                ExpressionAttributeValues={
                    ":at": {"S": resolved_at},
                    ":by": {"S": resolved_by},
                    ":name": {"S": resolved_by_name or resolved_by},
                    ":failure": {"S": "email_delivery_failure"},
                },
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def reputation_by_hour(self, days: list[str]) -> dict[tuple[str, str], dict[str, int]]:
        """{(day, hour): {"sent", "bounce", "complaint"}} summed over the shards: one BatchGetItem for 9 days,
        the same size whatever the volume."""
        found = self.get_many([(f"REP#{day}#{shard}", "COUNTS") for day in days for shard in range(REPUTATION_SHARDS)])
        totals: dict[tuple[str, str], dict[str, int]] = {}
        for (pk, _), attributes in found.items():
            day = pk.split("#")[1]
            for name, value in attributes.items():
                kind, _, hour = name.rpartition("_")
                if kind in REPUTATION_KINDS and isinstance(value, int):
                    slot = totals.setdefault((day, hour), dict.fromkeys(REPUTATION_KINDS, 0))
                    slot[kind] += value
        return totals

    # -- triggers --------------------------------------------------------------------------------------------------

    def get_trigger_states(self) -> dict[str, bool]:
        now = self._clock()
        if self._trigger_states is not None and self._trigger_states[0] > now:
            return dict(self._trigger_states[1])
        response = self._query(KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": "TRIGGERS"}})
        states = {from_item(item)["trigger_id"]: from_item(item)["active"] for item in response.get("Items", [])}
        self._trigger_states = (now + self.TRIGGER_CACHE_SECONDS, states)
        return dict(states)

    def put_trigger_state(self, trigger_id: str, active: bool, updated_at: str, updated_by: dict | None = None) -> None:
        """updated_by: the agent who switched it ({"id", "name"})."""
        self._trigger_states = None
        self.client.put_item(
            TableName=self.name,
            Item=to_item(
                {
                    "PK": "TRIGGERS",
                    "SK": f"TRIGGER#{trigger_id}",
                    "trigger_id": trigger_id,
                    "active": active,
                    "updated_at": updated_at,
                    "updated_by": (updated_by or {}).get("id"),
                    "updated_by_name": (updated_by or {}).get("name"),
                }
            ),
        )

    # -- "my customer got no email": participation, inbound replays --------------------------------------------------

    def list_user_ticket_ids(self, user_id: str) -> list[str]:
        """The tickets a user takes part in (requester, CC, assignee or author): Query USER#{id}, SK TICKET#, then
        one BatchGetItem of the first comments the rows of new tickets name."""
        rows: list[dict] = []
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": f"USER#{user_id}"}, ":prefix": {"S": "TICKET#"}},
            "ProjectionExpression": "#type, ticket_id, committed_with",  # what _commit_anchor reads
            "ExpressionAttributeNames": {"#type": "type"},
        }
        while True:
            response = self._query(**kwargs)
            rows.extend(from_item(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        # A row put ahead of a new ticket's transaction names its first comment: it counts once that comment exists,
        # so a ticket whose creation never landed is nobody's.
        return [row["ticket_id"] for row in self._landed(rows)]

    def _landed(self, rows: list[dict]) -> list[dict]:
        """The rows whose committing item exists (rows that name none count as they are)."""
        landed = self._landed_anchors(rows)
        return [row for row in rows if (anchor := _commit_anchor(row)) is None or anchor in landed]

    def _landed_anchors(self, items: list[dict]) -> set[tuple[str, str]]:
        """Of the committing items these items name (_commit_anchor), those that exist: one consistent
        BatchGetItem, none when no item names one."""
        anchors = [anchor for anchor in map(_commit_anchor, items) if anchor is not None]
        return set(self.get_many(anchors, consistent=True)) if anchors else set()

    def list_comment_notifications(
        self, ticket_id: str, comment_id: str
    ) -> list[tuple[Notification, list[OutcomeEvent]]]:
        """A comment's notifications with their outcomes: Query TICKET#{id}, SK begins with C#{comment}#N#."""
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": {"S": f"TICKET#{ticket_id}"},
                ":prefix": {"S": f"C#{comment_id}#N#"},
            },
        }
        notifications: dict[str, tuple[Notification, list[OutcomeEvent]]] = {}
        while True:
            response = self._query(**kwargs)
            for item in response.get("Items", []):
                attributes = from_item(item)
                if attributes.get("type") == "notification":
                    notifications[attributes["id"]] = (notification_from_lookup(attributes), [])
                elif attributes.get("type") == "outcome":
                    notification_id = attributes["SK"].split("#N#", 1)[1].split("#E#", 1)[0]
                    if notification_id in notifications:
                        notifications[notification_id][1].append(_outcome(attributes))
            if "LastEvaluatedKey" not in response:
                return list(notifications.values())
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def claim_inbound_message(
        self, ses_message_id: str, ticket_id: str, claimed_at: str, now: int, in_progress_until: int, expires_at: int
    ) -> str:
        """Takes an inbound email for one invocation: "claimed", "done" (handled before: SQS redelivered it) or
        "in_progress" (another invocation holds it until `in_progress_until`). A conditional PutItem: new, or an
        in-progress claim whose holder's time ran out (a Lambda timeout never released it)."""
        item = {
            "PK": f"INBOUND#{ses_message_id}",
            "SK": "INBOUND",
            "type": "inbound",
            "ticket_id": ticket_id,
            "claimed_at": claimed_at,
            "status": "in_progress",
            "in_progress_until": in_progress_until,
            "expires_at": expires_at,
        }
        try:
            self.client.put_item(
                TableName=self.name,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(PK) OR (#status = :in_progress AND in_progress_until < :now)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":in_progress": {"S": "in_progress"}, ":now": {"N": str(now)}},
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            current = self._get(f"INBOUND#{ses_message_id}", "INBOUND") or {}
            # A claim from before claims had a status was only ever written by a handling that went through.
            return "in_progress" if current.get("status") == "in_progress" else "done"
        return "claimed"

    def complete_inbound_message(self, ses_message_id: str, outcome: str, completed_at: str) -> None:
        """The email's effects are all written: every later delivery of it is a duplicate."""
        self.client.update_item(
            TableName=self.name,
            Key={"PK": {"S": f"INBOUND#{ses_message_id}"}, "SK": {"S": "INBOUND"}},
            UpdateExpression="SET #status = :done, outcome = :outcome, completed_at = :at REMOVE in_progress_until",
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={
                ":done": {"S": "done"},
                ":outcome": {"S": outcome},
                ":at": {"S": completed_at},
            },
        )

    def release_inbound_message(self, ses_message_id: str) -> None:
        """Handling failed: let SQS's next delivery try again at once (a completed claim is never released)."""
        try:
            self.client.delete_item(
                TableName=self.name,
                Key={"PK": {"S": f"INBOUND#{ses_message_id}"}, "SK": {"S": "INBOUND"}},
                ConditionExpression="#status = :in_progress",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":in_progress": {"S": "in_progress"}},
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            pass

    # -- inbound email held for review ("suspended"): failed sender authentication ---------------------------------

    def put_suspended_inbound(self, item: dict) -> None:
        self.client.put_item(TableName=self.name, Item=to_item(item))

    def get_suspended_inbound(self, ses_message_id: str) -> dict | None:
        return self._get(f"INBOUND#{ses_message_id}", "SUSPENDED")

    def list_suspended_inbound_page(self, page_token: str | None, limit: int) -> tuple[list[dict], str | None]:
        """Held inbound email, newest first: Query GSI2 SUSPENDED (one partition, small: mail waits there for days)."""
        kwargs: dict[str, Any] = {
            "IndexName": "GSI2",
            "KeyConditionExpression": "GSI2PK = :pk",
            "ExpressionAttributeValues": {":pk": {"S": "SUSPENDED"}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if page_token:
            kwargs["ExclusiveStartKey"] = decode_token(page_token, "SUSPENDED", "", index="GSI2")
        response = self._query(**kwargs)
        token = encode_token(response["LastEvaluatedKey"]) if "LastEvaluatedKey" in response else None
        return [from_item(item) for item in response.get("Items", [])], token

    def delete_suspended_inbound(self, ses_message_id: str) -> bool:
        """False when there was nothing to delete (already recovered or deleted)."""
        try:
            self.client.delete_item(
                TableName=self.name,
                Key={"PK": {"S": f"INBOUND#{ses_message_id}"}, "SK": {"S": "SUSPENDED"}},
                ConditionExpression="attribute_exists(PK)",
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # -- all-or-nothing writes, the outbox ---------------------------------------------------------------------------

    TRANSACTION_LIMIT = 100

    # Items whose owner is written by the transaction and that mean nothing without it: an outbox entry's email
    # (MAIL#, read only through its entry) and a ticket's search rows (skipped while the ticket has no LIST item).
    # write_together puts them first, in a BatchWriteItem at one unit a KB instead of a transaction's two. If the
    # transaction then fails they are deleted; if even that fails they stay unreachable (the email expires by TTL,
    # a search skips the row). An item that names the item committing it (`committed_with`, _commit_anchor: an
    # outbox entry its comment; a new ticket's participation rows, subject reference and first events the ticket)
    # goes ahead too, when that item is in the transaction. Whatever reads it checks that item first: the sweep
    # drops an entry whose comment never landed (list_due_outbox), a user's tickets and a reference lookup skip
    # such rows (_landed), and the events log is read once the ticket is found, so a stray one never sends an
    # email or names a ticket that is not there.
    AHEAD_TYPES = frozenset({"outbox_email", "ticket_search"})

    def _goes_ahead(self, item: dict, committed: set[tuple[str, str]]) -> bool:
        if item.get("type") in self.AHEAD_TYPES:
            return True
        anchor = _commit_anchor(item)
        return anchor is not None and anchor in committed

    def write_together(self, items: list[dict], updates: Iterable[dict] = ()) -> None:
        """Puts (and raw conditional Updates) in one TransactWriteItems: all of them are written, or none.

        A unit larger than one transaction (100 actions) is written in consecutive transactions, in the order
        given: callers put what must never be orphaned (the comment, the outbox entries) last. Items of AHEAD_TYPES
        go ahead of the transaction, as plain puts.
        """
        unique = {(item["PK"], item["SK"]): item for item in items}  # one action per item in a transaction
        # What the transaction itself writes (an item naming its committing item goes ahead only if that one is here).
        committed = {key for key, item in unique.items() if item.get("type") not in self.AHEAD_TYPES}
        goes_ahead = {key: self._goes_ahead(item, committed) for key, item in unique.items()}
        ahead = [to_item(item) for key, item in unique.items() if goes_ahead[key]]
        puts = [to_item(item) for key, item in unique.items() if not goes_ahead[key]]
        _check_sizes(ahead + puts)
        self._write_requests([{"PutRequest": {"Item": item}} for item in ahead])
        actions: list[dict] = [{"Put": {"TableName": self.name, "Item": item}} for item in puts]
        actions += [{"Update": {"TableName": self.name, **update}} for update in updates]
        for start in range(0, len(actions), self.TRANSACTION_LIMIT):
            try:
                self.client.transact_write_items(TransactItems=actions[start : start + self.TRANSACTION_LIMIT])
            except self.client.exceptions.TransactionCanceledException as error:
                if start == 0:  # cancelled: nothing of the unit landed, and nothing is left behind
                    self._take_back(ahead)
                reasons = [reason.get("Code") for reason in error.response.get("CancellationReasons") or []]
                if "ConditionalCheckFailed" in reasons:
                    raise WriteConflict(f"a condition failed: {reasons}") from error
                raise
            except (ClientError, BotoCoreError):
                # Another error may or may not have committed: the items ahead go only if the first put is absent
                # (a consistent read), since a landed entry needs its email.
                if start == 0 and ahead and puts and not self._exists(puts[0]):
                    self._take_back(ahead)
                raise

    def _exists(self, item: dict) -> bool:
        try:
            key = {"PK": item["PK"], "SK": item["SK"]}
            return "Item" in self.client.get_item(TableName=self.name, Key=key, ConsistentRead=True)
        except (ClientError, BotoCoreError):
            return True  # cannot tell: keep them (unreachable if it did not land, expired by TTL or skipped)

    def _take_back(self, ahead: list[dict]) -> None:
        try:
            self._write_requests([{"DeleteRequest": {"Key": {"PK": item["PK"], "SK": item["SK"]}}} for item in ahead])
        except (WriteError, ClientError, BotoCoreError):
            logger.warning("Items put ahead of a failed transaction were left (unreachable)", exc_info=True)

    # -- attachments and download links ----------------------------------------------------------------------------

    def put_attachment(self, item: dict) -> None:
        self.client.put_item(TableName=self.name, Item=to_item(item))

    def get_attachment(self, ticket_id: str, attachment_id: str) -> dict | None:
        return self._get(f"TICKET#{ticket_id}", f"ATT#{attachment_id}")

    def get_attachments(self, ticket_id: str, attachment_ids: list[str]) -> dict[str, dict]:
        found = self.get_many([(f"TICKET#{ticket_id}", f"ATT#{attachment_id}") for attachment_id in attachment_ids])
        return {attributes["id"]: attributes for attributes in found.values()}

    def get_download_link(self, token_hash: str) -> dict | None:
        return self._get(f"LINK#{token_hash}", "LINK")

    def move_outbox(
        self,
        ticket_id: str,
        notification_id: str,
        from_state: str,
        attempts: int,
        to_state: str,
        changed_at: str,
        values: dict | None = None,
        epoch_seconds: int | None = None,
    ) -> bool:
        """One state change, only if the entry is still (from_state, attempts): False when another actor moved it.

        A move to `sending` counts an attempt; a move to a done state drops the entry from the sweeper's queue and
        sets its TTL (its email item expires by its own).
        """
        names = {"#state": "state"}
        assignments = ["#state = :to", "changed_at = :changed"]
        values_out: dict[str, Any] = {
            ":from": _marshal(from_state),
            ":attempts": _marshal(attempts),
            ":to": _marshal(to_state),
            ":changed": _marshal(changed_at),
        }
        removals: list[str] = []
        if to_state == outbox.SENDING:
            assignments.append("attempts = :next")
            values_out[":next"] = _marshal(attempts + 1)
        if to_state in outbox.DONE_STATES:
            removals = ["GSI3PK", "GSI3SK"]
            assignments.append("expires_at = :expires")
            values_out[":expires"] = _marshal(int(epoch_seconds or time.time()) + OUTBOX_RETENTION_SECONDS)
        # Other moves leave the index key as it is (a key change is a delete and a put in the index): the sweep
        # reads entries recorded before its cutoff and keeps those whose last change is older too.
        for position, (name, value) in enumerate(sorted((values or {}).items())):
            names[f"#v{position}"] = name
            assignments.append(f"#v{position} = :v{position}")
            values_out[f":v{position}"] = _marshal(value)
        expression = "SET " + ", ".join(assignments) + (" REMOVE " + ", ".join(removals) if removals else "")
        try:
            self.client.update_item(
                TableName=self.name,
                Key=_outbox_key(ticket_id, notification_id),
                UpdateExpression=expression,
                ConditionExpression="#state = :from AND attempts = :attempts",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values_out,
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def get_notification(self, ticket_id: str, comment_id: str, notification_id: str) -> Notification | None:
        found = self._get(f"TICKET#{ticket_id}", f"C#{comment_id}#N#{notification_id}")
        return notification_from_lookup(found) if found else None

    def get_outbox_entry(self, ticket_id: str, notification_id: str) -> outbox.OutboxEntry | None:
        pk = f"TICKET#{ticket_id}"
        found = self.get_many([(pk, f"OUTBOX#{notification_id}"), (pk, f"MAIL#{notification_id}")])
        entry = found.get((pk, f"OUTBOX#{notification_id}"))
        return outbox_entry(entry, found.get((pk, f"MAIL#{notification_id}"))) if entry else None

    def list_due_outbox(self, changed_before: str, limit: int = 100) -> list[outbox.OutboxEntry]:
        """Entries not done, last changed before changed_before, oldest first: one Query per shard of GSI3
        OUTBOX#{shard} (keys only), then BatchGetItem for the entries and their emails."""
        keys: list[dict] = []
        for shard in range(OUTBOX_SHARDS):
            response = self._query(
                IndexName="GSI3",
                KeyConditionExpression="GSI3PK = :pk AND GSI3SK < :before",
                ExpressionAttributeValues={":pk": {"S": f"OUTBOX#{shard}"}, ":before": {"S": changed_before}},
                Limit=limit,
            )
            keys += [from_item(item) for item in response.get("Items", [])]
        listed = sorted(keys, key=lambda row: row["GSI3SK"])
        due: list[outbox.OutboxEntry] = []
        for start in range(0, len(listed), limit):  # oldest first, until `limit` are due (most are, at once)
            rows = listed[start : start + limit]
            mail_keys = [(row["PK"], "MAIL#" + row["SK"].removeprefix("OUTBOX#")) for row in rows]
            found = self.get_many([(row["PK"], row["SK"]) for row in rows] + mail_keys)
            entries = [found.get((row["PK"], row["SK"])) for row in rows]
            # Read after the index: one done since has left the queue, one claimed since is not due yet.
            open_rows = [
                (entry, mail_key)
                for entry, mail_key in zip(entries, mail_keys, strict=True)
                if entry is not None and "GSI3PK" in entry and entry["changed_at"] < changed_before
            ]
            # Only a pending entry can be one whose comment never landed: a claimed one was sent by the request
            # that committed it, or by the sweep after this check.
            landed = self._landed_anchors([entry for entry, _ in open_rows if entry["state"] == outbox.PENDING])
            for entry, mail_key in open_rows:
                pending = entry["state"] == outbox.PENDING
                real = not pending or (anchor := _commit_anchor(entry)) is None or anchor in landed
                due.append(outbox_entry(entry, found.get(mail_key) if pending else None, committed=real))
                if len(due) == limit:
                    return due
        return due

    def drop_uncommitted_outbox(self, ticket_id: str, notification_id: str) -> bool:
        """Deletes an entry whose committing transaction never landed, and its email: only while it is still pending
        and unclaimed (False when someone moved it meanwhile)."""
        key = _outbox_key(ticket_id, notification_id)
        try:
            self.client.delete_item(
                TableName=self.name,
                Key=key,
                ConditionExpression="#state = :pending AND attempts = :zero",
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":pending": {"S": outbox.PENDING}, ":zero": {"N": "0"}},
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        self.client.delete_item(TableName=self.name, Key={"PK": key["PK"], "SK": {"S": f"MAIL#{notification_id}"}})
        return True

    # -- Idempotency-Key records (chalicelib/services/idempotency.py) ------------------------------------------------

    def claim_idempotency_key(self, record: dict, now_epoch: int) -> dict | None:
        """Puts the in-progress record unless a live one exists: None when claimed, else the existing record.

        A record whose TTL passed (DynamoDB deletes late) or whose in-progress lease ran out (its request died
        before committing anything) counts as absent.
        """
        try:
            self.client.put_item(
                TableName=self.name,
                Item=to_item(record),
                ConditionExpression=(
                    "attribute_not_exists(PK) OR expires_at < :now OR (#state = :in_progress AND lease_until < :now)"
                ),
                ExpressionAttributeNames={"#state": "state"},
                ExpressionAttributeValues={":now": _marshal(now_epoch), ":in_progress": _marshal("in_progress")},
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            found = self._get(record["PK"], record["SK"])
            return found if found is not None else self.claim_idempotency_key(record, now_epoch)
        return None

    @staticmethod
    def idempotency_committed_update(pk: str, owner: str) -> dict:
        """A raw Update for write_together: the key's request committed (in the same transaction as its writes)."""
        return {
            "Key": {"PK": {"S": pk}, "SK": {"S": "IDEM"}},
            "UpdateExpression": "SET #state = :committed",
            "ConditionExpression": "#owner = :owner AND #state = :in_progress",
            "ExpressionAttributeNames": {"#state": "state", "#owner": "owner"},
            "ExpressionAttributeValues": {
                ":committed": {"S": "committed"},
                ":in_progress": {"S": "in_progress"},
                ":owner": {"S": owner},
            },
        }

    def complete_idempotency_key(self, pk: str, owner: str, status_code: int, body: str) -> None:
        self.client.update_item(
            TableName=self.name,
            Key={"PK": {"S": pk}, "SK": {"S": "IDEM"}},
            UpdateExpression="SET #state = :completed, #status = :status, #response = :body REMOVE lease_until",
            ConditionExpression="#owner = :owner",
            ExpressionAttributeNames={
                "#state": "state",
                "#owner": "owner",
                "#status": "status_code",
                "#response": "response",
            },
            ExpressionAttributeValues={
                ":completed": {"S": "completed"},
                ":status": _marshal(status_code),
                ":body": {"S": body},
                ":owner": {"S": owner},
            },
        )

    def release_idempotency_key(self, pk: str, owner: str) -> None:
        """The request failed before committing anything: the key may be used again (fixed input, a retry)."""
        try:
            self.client.delete_item(
                TableName=self.name,
                Key={"PK": {"S": pk}, "SK": {"S": "IDEM"}},
                ConditionExpression="#owner = :owner AND #state = :in_progress",
                ExpressionAttributeNames={"#state": "state", "#owner": "owner"},
                ExpressionAttributeValues={":owner": {"S": owner}, ":in_progress": {"S": "in_progress"}},
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            pass  # it committed (keep the record), or another request took over an expired lease

    def list_ticket_index(
        self,
        page_token: str | None,
        limit: int,
        *,
        word: str | None = None,
        month: str | None = None,
        tag: str | None = None,
    ) -> tuple[list[dict], str | None]:
        """One page of a ticket index, newest first: a search word's tickets (FIND#{word}#{shard}), a month's
        (yyyy-mm, GSI1 TICKETS#), or those carrying a tag. Words and months are merged over their shards (one Query
        each); a tag walks its yearly buckets TAG#{tag}#{yyyy} on GSI1. The token says where to go on."""
        if tag is not None:
            kwargs: dict[str, Any] = {
                "IndexName": "GSI1",
                "KeyConditionExpression": "GSI1PK = :pk",
                "ExpressionAttributeValues": {},
                "ScanIndexForward": False,
            }
            return self._walk_buckets(tag_buckets(tag, datetime.now(UTC)), "GSI1", kwargs, page_token, limit)
        # A word's rows are base-table items (sorted by SK), a month's are LIST items on GSI1 (sorted by GSI1SK).
        index, (partition, sort) = (None, TABLE_KEY) if word is not None else ("GSI1", TABLE_INDEXES["GSI1"])
        base = f"FIND#{word}" if word is not None else f"TICKETS#{month}"
        before = _decode_cursor(page_token) if page_token else None
        rows: list[dict] = []
        more = False
        for shard in range(TICKET_INDEX_SHARDS):
            query: dict[str, Any] = {
                "KeyConditionExpression": f"{partition} = :pk" + (f" AND {sort} < :before" if before else ""),
                "ExpressionAttributeValues": {":pk": {"S": f"{base}#{shard}"}},
                "ScanIndexForward": False,
                "Limit": limit,
            }
            if index:
                query["IndexName"] = index
            if before:
                query["ExpressionAttributeValues"][":before"] = {"S": before}
            response = self._query(**query)
            rows += [from_item(item) for item in response.get("Items", [])]
            more = more or "LastEvaluatedKey" in response
        rows.sort(key=lambda row: row[sort], reverse=True)
        page = rows[:limit]
        cursor = _encode_cursor(page[-1][sort]) if (more or len(rows) > limit) and page else None
        if word is not None and page:
            # A search row put ahead of a ticket transaction that then failed names no ticket: skipped.
            listed = self.get_ticket_listings([row["ticket_id"] for row in page])
            page = [row for row in page if row["ticket_id"] in listed]
        return page, cursor

    def get_ticket_listings(self, ticket_ids: list[str]) -> dict[str, dict]:
        """What the ticket list shows of each ticket (its LIST item: requester, status), one BatchGetItem a page."""
        found = self.get_many([(f"TICKET#{ticket_id}", "LIST") for ticket_id in ticket_ids]) if ticket_ids else {}
        return {item["ticket_id"]: item for item in found.values()}

    # -- agents' sign-in accounts (one GetItem per request: IDENTITY#{sub}) -----------------------------------------

    def get_agent_account(self, subject: str) -> dict | None:
        """The deskmail agent a token's `sub` signs in as: user_id, role, disabled, username (one GetItem)."""
        return self._get(f"IDENTITY#{subject}", "IDENTITY")

    def get_agent_account_of_user(self, user_id: str) -> dict | None:
        """The reverse link USER#{id} / IDENTITY: the `sub` of an agent user, for PATCH /agents/{id}."""
        return self._get(f"USER#{user_id}", "IDENTITY")

    # -- notification emails: threads, ticket references, per-trigger templates, history (issue 14) -------------------

    def get_thread_chains(self, ticket_id: str, user_ids: Iterable[str]) -> dict[str, RecipientThread]:
        """Each recipient's thread on the ticket (TICKET#{id} / MID#{user}): their chain of SES Message-IDs and
        latest sends. One BatchGetItem."""
        from chalicelib.domain.threads import RecipientThread

        keys = [(f"TICKET#{ticket_id}", f"MID#{user_id}") for user_id in user_ids]
        found = self.get_many(keys) if keys else {}
        return {
            item["user_id"]: RecipientThread(
                tuple(item.get("message_ids") or ()),
                tuple((send[0], send[1]) for send in item.get("sends") or ()),
            )
            for item in found.values()
        }

    def find_tickets_by_reference(self, reference: str) -> list[str]:
        """Ticket ids whose subject reference ("[Ticket 4TDV9V]") is this, newest first: Query REF#{reference}, then
        a BatchGetItem of their tickets."""
        response = self._query(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
            ExpressionAttributeValues={":pk": {"S": f"REF#{reference.upper()}"}, ":prefix": {"S": "TICKET#"}},
            ScanIndexForward=False,
            Limit=10,
        )
        # Put ahead of its ticket's transaction: one whose ticket never landed is skipped (one BatchGetItem).
        return [row["ticket_id"] for row in self._landed([from_item(item) for item in response.get("Items", [])])]

    def get_trigger_templates(self, trigger_id: str) -> dict[str, dict]:
        """A trigger's edited templates by locale: Query TRIGGER#{id}, SK TEMPLATE#."""
        response = self._query(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
            ExpressionAttributeValues={":pk": {"S": f"TRIGGER#{trigger_id}"}, ":prefix": {"S": "TEMPLATE#"}},
        )
        return {item["locale"]: item for item in (from_item(raw) for raw in response.get("Items", []))}

    def get_templates_for(self, pairs: Iterable[tuple[str, str]]) -> dict[tuple[str, str], dict]:
        """The edited templates for (trigger id, locale) pairs, those that exist: one BatchGetItem."""
        keys = [(f"TRIGGER#{trigger_id}", f"TEMPLATE#{locale}") for trigger_id, locale in pairs]
        found = self.get_many(keys) if keys else {}
        return {(item["trigger_id"], item["locale"]): item for item in found.values()}

    def put_trigger_template(self, item: dict) -> None:
        self.client.put_item(TableName=self.name, Item=to_item(item))

    def list_recent_public_comments(self, ticket_id: str, before_comment_id: str, limit: int) -> list[Comment]:
        """The latest public comments before one, newest first: Query TICKET#{id} backwards from C#{comment}.

        A comment's notifications and outcomes sort between comments, so the Filter drops them; a few pages at most.
        """
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": "PK = :pk AND SK BETWEEN :low AND :high",
            "FilterExpression": "#type = :comment AND #public = :yes",
            "ExpressionAttributeNames": {"#type": "type", "#public": "public"},
            "ExpressionAttributeValues": {
                ":pk": {"S": f"TICKET#{ticket_id}"},
                ":low": {"S": "C#"},
                ":high": {"S": f"C#{before_comment_id}"},
                ":comment": {"S": "comment"},
                ":yes": {"BOOL": True},
            },
            "ScanIndexForward": False,
            "Limit": 100,
        }
        comments: list[Comment] = []
        for _ in range(5):
            response = self._query(**kwargs)
            comments.extend(
                _comment(attributes)
                for attributes in (from_item(item) for item in response.get("Items", []))
                if attributes["id"] != before_comment_id
            )
            if len(comments) >= limit or "LastEvaluatedKey" not in response:
                break
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return comments[:limit]


def agent_account_items(
    subject: str, user_id: str, username: str, role: str, disabled: bool, updated_at: str
) -> list[dict]:
    """The link between an identity provider's user (`sub`) and a deskmail agent user, both ways."""
    account = {
        "type": "agent_account",
        "subject": subject,
        "user_id": user_id,
        "username": username,
        "role": role,
        "disabled": disabled,
        "updated_at": updated_at,
    }
    return [
        {"PK": f"IDENTITY#{subject}", "SK": "IDENTITY", **account},
        {"PK": f"USER#{user_id}", "SK": "IDENTITY", **account},
    ]


def thread_item(ticket_id: str, user_id: str, thread: RecipientThread, updated_at: str) -> dict:
    """A recipient's chain of notification Message-IDs (as SES set them) on a ticket, for In-Reply-To/References,
    and their sends within the loop brake's window (one item a recipient and ticket: no send log per notification)."""
    return {
        "PK": f"TICKET#{ticket_id}",
        "SK": f"MID#{user_id}",
        "type": "thread",
        "ticket_id": ticket_id,
        "user_id": user_id,
        "message_ids": list(thread.message_ids),
        "sends": [list(send) for send in thread.sends] or None,
        "updated_at": updated_at,
    }


def reference_item(ticket_id: str, reference: str, subject: str, created_at: str) -> dict:
    """The short reference in notification subjects -> the ticket, so a reply with only the subject finds it.

    Written with a new ticket, just ahead of its transaction (`committed_with` its TICKET item): a reference whose
    ticket never landed is skipped (find_tickets_by_reference)."""
    return {
        "PK": f"REF#{reference.upper()}",
        "SK": f"TICKET#{ticket_id}",
        "type": "reference",
        "ticket_id": ticket_id,
        "subject": subject,
        "created_at": created_at,
        "committed_with": "TICKET",
    }


def trigger_template_item(
    trigger_id: str, locale: str, subject: str, body: str, updated_at: str, updated_by: str
) -> dict:
    return {
        "PK": f"TRIGGER#{trigger_id}",
        "SK": f"TEMPLATE#{locale}",
        "type": "trigger_template",
        "trigger_id": trigger_id,
        "locale": locale,
        "subject": subject,
        "body": body,
        "updated_at": updated_at,
        "updated_by": updated_by,
    }
