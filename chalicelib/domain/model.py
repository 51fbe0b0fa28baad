"""deskmail's domain objects: plain data, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

FAILURE_TAG = "system_email_notification_failure"

END_USER = "end-user"
AGENT = "agent"
ROLES = (END_USER, AGENT)

# Recipient statuses, as the API reports them.
SENT = "sent"
DELIVERED = "delivered"
DELAYED = "delayed"
BOUNCED = "bounced"
COMPLAINED = "complained"
REJECTED = "rejected"
SUPPRESSED = "suppressed"
NOT_SENT = "not_sent"
STATUSES = (SENT, DELIVERED, DELAYED, BOUNCED, COMPLAINED, REJECTED, SUPPRESSED, NOT_SENT)
FAILED_STATUSES = frozenset({BOUNCED, REJECTED, SUPPRESSED})


@dataclass(frozen=True)
class User:
    id: str
    name: str
    role: str
    email: str | None = None
    locale: str | None = None
    created_at: str = ""
    updated_at: str = ""


@dataclass(frozen=True)
class Ticket:
    id: str
    subject: str
    requester_id: str
    cc_ids: tuple[str, ...] = ()
    assignee_id: str | None = None
    status: str = "new"
    created_at: str = ""
    updated_at: str = ""


@dataclass(frozen=True)
class Attachment:
    """A file on a comment: stored in the attachments bucket under `key` (never derived from the name)."""

    id: str
    name: str  # the sanitised display name (chalicelib.domain.attachments.sanitize_name)
    size: int  # bytes, as uploaded (HeadObject agreed with the declared size)
    content_type: str  # sniffed from the first bytes, application/octet-stream when unsure
    key: str


@dataclass(frozen=True)
class Comment:
    id: str
    ticket_id: str
    author_id: str
    author_name: str
    body: str
    public: bool
    created_at: str
    trigger_evaluations: tuple[dict, ...] = ()
    original_body: str = ""  # an emailed reply's whole text, quoted history included (body is the new part)
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class Recipient:
    """Who a notification was addressed to, as they were when it was sent."""

    user_id: str
    name: str
    email: str | None
    header: str  # "to" or "cc"
    status: str = SENT  # sent, or not_sent / rejected when SES never took it
    failure: dict | None = None
    locale: str | None = None  # the user's language when it was sent (the email is in it, or the default)


@dataclass(frozen=True)
class Notification:
    """One email (one SES message) sent by one trigger for one comment."""

    id: str
    ticket_id: str
    comment_id: str
    trigger_id: str
    trigger_title: str
    message_id: str | None
    recipients: tuple[Recipient, ...]
    sent_at: str
    rfc_message_id: str = ""
    # The Message-ID recipients see: SES replaces ours with <{message_id}@email.amazonses.com> (threads chain on it).
    message_id_header: str = ""
    # The ticket carried the failure tag when this was prepared: only then can a delivery of it close an open row of
    # the delivery-problems inbox, so only then does its feedback write "delivered" markers (True when unknown).
    ticket_had_failures: bool = True


class SentMessage(NamedTuple):
    """What feedback about one SES message needs: the notification it was, its recipients by lower-cased address
    (SES may change an address's case), and the ticket's subject when it was sent (events and the tag name it)."""

    notification: Notification
    recipients_by_email: dict[str, Recipient]
    subject: str


class OutcomeEvent(NamedTuple):
    """One thing SES said about one recipient of one message."""

    # A named tuple, not a frozen dataclass: as immutable, and built in a fraction of the time (one per recipient
    # of every notification: the dataclass cost ≈ 14k of a notification's instructions at a batch of 10).
    id: str
    email: str
    kind: str  # send, delivery_delay, delivery, bounce, complaint, reject, auto_reply
    status: str
    occurred_at: str
    failure: dict | None = None
    details: dict | None = None  # none stored when None or empty
