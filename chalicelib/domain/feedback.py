"""Reads SES feedback (identity notifications or event publishing, in an SNS envelope or raw) into outcome events."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain import classification, sns
from chalicelib.domain.model import (
    BOUNCED,
    COMPLAINED,
    DELAYED,
    DELIVERED,
    REJECTED,
    SENT,
    SUPPRESSED,
    OutcomeEvent,
)
from chalicelib.ids import normalize_timestamp, stable_id

TRACKED_TYPES = {"Send", "Delivery", "DeliveryDelay", "Bounce", "Complaint", "Reject"}
# Published by SES but carrying nothing about delivery; acknowledged and dropped.
UNTRACKED_TYPES = {"Open", "Click", "Rendering Failure", "Subscription", "Received"}


class MalformedFeedback(ValueError):
    """The body is not an SES notification deskmail can read; it is kept for inspection, not retried."""


@dataclass(frozen=True)
class Ignored:
    reason: str


@dataclass(frozen=True)
class SesFeedback:
    message_id: str
    event_type: str
    source_format: str  # "event" (configuration set) or "notification" (identity)
    destination: tuple[str, ...]
    mail_timestamp: str
    tags: dict
    events: tuple[OutcomeEvent, ...]
    unattributed: bool = False  # a bounce that named no recipient we could pin down


def _unwrap(body: str) -> dict:
    try:
        document = sns.unwrap(body)
    except sns.UnreadableBody as error:
        raise MalformedFeedback(str(error)) from None
    if isinstance(document, sns.ControlMessage):
        return {"__ignored__": f"SNS {document.type}"}
    return document


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def parse(body: str, received_at: str) -> SesFeedback | Ignored:
    """One SQS body to the outcome events it reports. Raises MalformedFeedback when it cannot be read."""
    document = _unwrap(body)
    if "__ignored__" in document:
        return Ignored(document["__ignored__"])
    event_type = document.get("eventType") or document.get("notificationType")
    source_format = "event" if "eventType" in document else "notification"
    if not isinstance(event_type, str):
        raise MalformedFeedback("neither eventType nor notificationType")
    if event_type in UNTRACKED_TYPES:
        return Ignored(f"untracked event type {event_type}")
    if event_type not in TRACKED_TYPES:
        raise MalformedFeedback(f"unknown event type {event_type!r}")
    mail = document.get("mail")
    if not isinstance(mail, dict) or not _text(mail.get("messageId")):
        raise MalformedFeedback("mail.messageId is missing")
    message_id = mail["messageId"]
    mail_timestamp = normalize_timestamp(_text(mail.get("timestamp")), received_at)
    destination = tuple(
        address.strip().lower() for address in mail.get("destination") or () if isinstance(address, str)
    )
    tags: dict = mail["tags"] if isinstance(mail.get("tags"), dict) else {}
    reader = _READERS[event_type]
    detail = document.get(_DETAIL_KEY[event_type]) or {}
    if not isinstance(detail, dict):
        raise MalformedFeedback(f"{_DETAIL_KEY[event_type]} is not an object")
    events, unattributed = reader(message_id, detail, destination, mail_timestamp)
    return SesFeedback(
        message_id=message_id,
        event_type=event_type,
        source_format=source_format,
        destination=destination,
        mail_timestamp=mail_timestamp,
        tags=tags,
        events=tuple(events),
        unattributed=unattributed,
    )


_DETAIL_KEY = {
    "Send": "send",
    "Delivery": "delivery",
    "DeliveryDelay": "deliveryDelay",
    "Bounce": "bounce",
    "Complaint": "complaint",
    "Reject": "reject",
}


def _addresses(entries: object) -> list[tuple[str, dict]]:
    """(lower-cased address, entry) for each recipient entry; tolerates plain strings."""
    found: list[tuple[str, dict]] = []
    for entry in entries if isinstance(entries, list) else ():
        if isinstance(entry, str):
            found.append((entry.strip().lower(), {}))
        elif isinstance(entry, dict) and isinstance(entry.get("emailAddress"), str):
            found.append((_bare_address(entry["emailAddress"]), entry))
    return found


def _bare_address(address: str) -> str:
    # DSN Final-Recipient may come as "Name <a@b>" or with odd case.
    address = address.strip()
    if "<" in address and address.endswith(">"):
        address = address[address.rindex("<") + 1 : -1]
    return address.strip().lower()


def _read_send(message_id, detail, destination, mail_timestamp):
    return [
        OutcomeEvent(stable_id(message_id, "send", email), email, "send", SENT, mail_timestamp) for email in destination
    ], False


def _read_delivery(message_id, detail, destination, mail_timestamp):
    occurred_at = normalize_timestamp(_text(detail.get("timestamp")), mail_timestamp)
    smtp_response = _text(detail.get("smtpResponse"))
    recipients = [email for email, _ in _addresses(detail.get("recipients"))] or list(destination)
    return [
        OutcomeEvent(
            stable_id(message_id, "delivery", email),
            email,
            "delivery",
            DELIVERED,
            occurred_at,
            details={"smtp_response": smtp_response} if smtp_response else {},
        )
        for email in recipients
    ], False


def _read_delay(message_id, detail, destination, mail_timestamp):
    occurred_at = normalize_timestamp(_text(detail.get("timestamp")), mail_timestamp)
    delay_type = _text(detail.get("delayType"))
    events = []
    for email, entry in _addresses(detail.get("delayedRecipients")):
        diagnostic = _text(entry.get("diagnosticCode"))
        klass = classification.classify_delay(delay_type, status=_text(entry.get("status")), diagnostic=diagnostic)
        failure = klass.as_record(
            diagnostic=diagnostic,
            delay_type=delay_type,
            occurred_at=occurred_at,
            expires_at=_text(detail.get("expirationTime")),
        )
        events.append(
            OutcomeEvent(
                stable_id(message_id, "delay", email, occurred_at),
                email,
                "delivery_delay",
                DELAYED,
                occurred_at,
                failure,
            )
        )
    return events, False


def _read_bounce(message_id, detail, destination, mail_timestamp):
    occurred_at = normalize_timestamp(_text(detail.get("timestamp")), mail_timestamp)
    bounce_type = _text(detail.get("bounceType"))
    bounce_subtype = _text(detail.get("bounceSubType"))
    feedback_id = _text(detail.get("feedbackId"))
    recipients = _addresses(detail.get("bouncedRecipients"))
    unattributed = False
    if not recipients:
        # An empty bouncedRecipients list happens; with a single destination the bounce can only be theirs.
        if len(destination) == 1:
            recipients = [(destination[0], {})]
        else:
            unattributed = True
    events = []
    for email, entry in recipients:
        status = _text(entry.get("status"))
        diagnostic = _text(entry.get("diagnosticCode"))
        action = _text(entry.get("action"))
        klass = classification.classify_bounce(
            bounce_type, bounce_subtype, action=action, status=status, diagnostic=diagnostic
        )
        failure = klass.as_record(
            diagnostic=diagnostic,
            bounce_type=bounce_type,
            bounce_subtype=bounce_subtype,
            occurred_at=occurred_at,
        )
        if klass.category == classification.AUTO_REPLY:
            kind, outcome = "auto_reply", DELIVERED
        elif klass.category == classification.SUPPRESSED:
            kind, outcome = "bounce", SUPPRESSED
        else:
            kind, outcome = "bounce", BOUNCED
        events.append(
            OutcomeEvent(
                stable_id(message_id, "bounce", email, feedback_id or occurred_at),
                email,
                kind,
                outcome,
                occurred_at,
                failure,
            )
        )
    return events, unattributed


def _read_complaint(message_id, detail, destination, mail_timestamp):
    occurred_at = normalize_timestamp(_text(detail.get("timestamp")), mail_timestamp)
    feedback_id = _text(detail.get("feedbackId"))
    feedback_type = _text(detail.get("complaintFeedbackType"))
    subtype = _text(detail.get("complaintSubType"))
    klass = classification.classify_complaint(feedback_type, subtype)
    status = SUPPRESSED if klass.category == classification.SUPPRESSED else COMPLAINED
    events = []
    for email, _ in _addresses(detail.get("complainedRecipients")):
        failure = klass.as_record(
            feedback_type=feedback_type, occurred_at=occurred_at, user_agent=_text(detail.get("userAgent"))
        )
        events.append(
            OutcomeEvent(
                stable_id(message_id, "complaint", email, feedback_id or occurred_at),
                email,
                "complaint",
                status,
                occurred_at,
                failure,
            )
        )
    return events, False


def _read_reject(message_id, detail, destination, mail_timestamp):
    reason = _text(detail.get("reason")) or "Bad content"
    failure = classification.FailureClass(classification.SPAM_OR_POLICY, True).as_record(
        diagnostic=reason, occurred_at=mail_timestamp
    )
    # SES rejected the whole message (a virus): no recipient got it.
    return [
        OutcomeEvent(stable_id(message_id, "reject", email), email, "reject", REJECTED, mail_timestamp, failure)
        for email in destination
    ], False


_READERS = {
    "Send": _read_send,
    "Delivery": _read_delivery,
    "DeliveryDelay": _read_delay,
    "Bounce": _read_bounce,
    "Complaint": _read_complaint,
    "Reject": _read_reject,
}
