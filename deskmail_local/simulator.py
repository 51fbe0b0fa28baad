"""The SES mailbox simulator of the local stack: what real SES event publishing would say about each sent message.

moto keeps every message sent through SES but its own feedback is canned (see FIELD-NOTES), so this module reads
moto's sent messages and publishes, to the configuration set's SNS event destination, the notifications real SES
sends: a Send event, then per recipient what its mailbox does (docs/local-stack.md lists the rules). The payload
builders are pure functions; `MailboxSimulator` is the thread that watches moto and publishes through boto3, so
SNS -> SQS delivery and the feedback worker downstream are the real thing.
"""

from __future__ import annotations

import email
import hashlib
import json
import logging
import re
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from email.utils import format_datetime, formataddr, getaddresses, parseaddr
from typing import Any

from chalicelib.ids import format_timestamp

log = logging.getLogger("deskmail_local.simulator")

SIMULATOR_DOMAIN = "simulator.amazonses.com"
EVENT_SUBJECT = "Amazon SES Email Event Notification"
REPORTING_MTA = "a8-70.smtp-out.amazonses.com"
OUTGOING_IP = "54.240.8.70"  # the address behind a8-70.smtp-out.amazonses.com
SOURCE_IP = "127.0.0.1"  # who called SES: the local API
CALLER_IDENTITY = "deskmail-local"
OPERATION = "SendEmail"  # SESv2 SendEmail, raw content
HEADERS_LIMIT = 10 * 1024  # SES truncates mail.headers beyond 10 KB
CONFIGURATION_SET_HEADER = "X-SES-CONFIGURATION-SET"
MESSAGE_TAGS_HEADER = "X-SES-MESSAGE-TAGS"

# SES compresses nothing, the simulator does: every outcome lands within about a second of the send.
DELIVERY_AFTER_MS = 480
DELAY_AFTER_MS = 600
BOUNCE_AFTER_MS = 900
COMPLAINT_AFTER_MS = 1200


# ---- what each recipient's mailbox does ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivered:
    pass


@dataclass(frozen=True)
class Complained:
    pass


@dataclass(frozen=True)
class Delayed:
    delay_type: str
    status: str
    diagnostic: str


@dataclass(frozen=True)
class Bounced:
    bounce_type: str
    subtype: str
    status: str | None = None  # None: no DSN came back (an auto-reply), so SES names only the address
    diagnostic: str | None = None


Outcome = Delivered | Complained | Delayed | Bounced

DELIVERED = Delivered()
COMPLAINED = Complained()
AUTO_REPLY = Bounced("Transient", "General")
UNKNOWN_USER = Bounced("Permanent", "General", "5.1.1", "smtp; 550 5.1.1 user unknown")
MAILBOX_FULL_DELAY = Delayed("MailboxFull", "4.2.2", "smtp; 452 4.2.2 Mailbox full")
MAILBOX_FULL = Bounced("Transient", "MailboxFull", "5.2.2", "smtp; 552 5.2.2 Mailbox full")
MESSAGE_TOO_LARGE = Bounced(
    "Transient", "MessageTooLarge", "5.3.4", "smtp; 552 5.3.4 Message size exceeds fixed maximum message size"
)


def bare_address(address: str) -> str:
    """ "Rita <rita@example.com>" -> "rita@example.com" (moto lists header recipients with their names)."""
    return parseaddr(address)[1] or address.strip()


def simulated_outcomes(address: str) -> tuple[Outcome, ...]:
    """What happens to a message at this address, in the order SES reports it (docs/local-stack.md)."""
    address = bare_address(address)
    local, _, domain = address.lower().rpartition("@")
    mailbox = local.split("+", 1)[0]  # labels are allowed: bounce+ticket42@simulator.amazonses.com
    if domain == SIMULATOR_DOMAIN:
        if mailbox == "bounce":
            return (UNKNOWN_USER,)
        if mailbox == "ooto":
            return (DELIVERED, AUTO_REPLY)
        if mailbox == "complaint":
            return (DELIVERED, COMPLAINED)
        if mailbox == "suppressionlist":
            # Seen in real captures: Permanent/General (not Suppressed), the address quoted in the diagnostic.
            diagnostic = f"smtp; 550 5.1.1 user unknown ( blacklisted address: {address} )"
            return (Bounced("Permanent", "General", "5.1.1", diagnostic),)
        return (DELIVERED,)  # success@, and any other simulator mailbox
    if domain == "invalid" or domain.endswith(".invalid"):
        diagnostic = f"smtp; 550 5.1.1 <{address}>: Recipient address rejected: User unknown in virtual mailbox table"
        return (Bounced("Permanent", "General", "5.1.1", diagnostic),)
    if mailbox.startswith("full"):
        return (MAILBOX_FULL_DELAY, MAILBOX_FULL)
    if mailbox.startswith("big"):
        return (MESSAGE_TOO_LARGE,)
    return (DELIVERED,)


# ---- the message as SES describes it: the `mail` object ----------------------------------------------------------


@dataclass(frozen=True)
class SentMessage:
    """One message moto's SES accepted, and when the simulator saw it leave."""

    message_id: str
    source: str
    destinations: tuple[str, ...]
    raw_data: str
    sent_at: datetime

    @classmethod
    def from_moto(cls, raw_message: Any, sent_at: datetime) -> SentMessage:
        return cls(
            raw_message.id, raw_message.source or "", tuple(raw_message.destinations), raw_message.raw_data, sent_at
        )

    @property
    def mime(self) -> email.message.Message:
        return email.message_from_string(self.raw_data)

    @property
    def configuration_set(self) -> str | None:
        # moto drops the API's ConfigurationSetName; the header SES also honours for raw messages carries it.
        value = self.mime.get(CONFIGURATION_SET_HEADER)
        return value.strip() if value else None


def timestamp(moment: datetime) -> str:
    """ISO 8601, milliseconds, Z: 2026-11-23T08:00:00.123Z."""
    return format_timestamp(moment)


def destination(message: SentMessage) -> list[str]:
    """Bare addresses, each once: moto may list a recipient twice, once with its display name."""
    seen: dict[str, str] = {}
    for entry in message.destinations:
        address = bare_address(entry)
        seen.setdefault(address.lower(), address)
    return list(seen.values())


def _unfold(value: str) -> str:
    # A long header is folded onto continuation lines, sometimes from its first character: SES reports it on one.
    return re.sub(r"\r?\n(?=[ \t])", "", value).strip()


def message_tags(header_value: str | None) -> dict[str, list[str]]:
    """X-SES-MESSAGE-TAGS "name=value, name2=value2" as SES publishes tags: every value a list of strings."""
    tags: dict[str, list[str]] = {}
    for pair in (header_value or "").split(","):
        name, separator, value = pair.strip().partition("=")
        if separator and name.strip():
            tags[name.strip()] = [value.strip()]
    return tags


def _address_list(value: str) -> list[str]:
    return [formataddr((name, address)) for name, address in getaddresses([_unfold(value)]) if address]


def common_headers(message: SentMessage) -> dict:
    mime = message.mime
    common: dict[str, Any] = {"from": _address_list(mime.get("From", message.source))}
    for header, key in (("Reply-To", "replyTo"), ("To", "to"), ("Cc", "cc"), ("Bcc", "bcc")):
        if mime.get(header):
            common[key] = _address_list(mime[header])
    # A message without Date or Message-ID gets SES's own when it leaves.
    common["date"] = _unfold(mime["Date"]) if mime.get("Date") else format_datetime(message.sent_at)
    common["messageId"] = _unfold(mime["Message-ID"]) if mime.get("Message-ID") else message.message_id
    if mime.get("Subject") is not None:
        common["subject"] = str(make_header(decode_header(_unfold(mime["Subject"]))))
    return common


def mail_object(message: SentMessage, configuration_set: str, region: str, account_id: str) -> dict:
    """The `mail` object of every event about this message (event publishing: tags, no sourceIp/callerIdentity)."""
    mime = message.mime
    sender = bare_address(message.source or mime.get("From", ""))
    from_domain = sender.rpartition("@")[2].lower()
    headers, size, truncated = [], 0, False
    for name, value in mime.items():
        size += len(name) + len(value) + 4
        if size > HEADERS_LIMIT:
            truncated = True
            break
        headers.append({"name": name, "value": _unfold(value)})
    tags = {
        "ses:operation": [OPERATION],
        "ses:configuration-set": [configuration_set],
        "ses:source-ip": [SOURCE_IP],
        "ses:from-domain": [from_domain],
        "ses:caller-identity": [CALLER_IDENTITY],
        **message_tags(mime.get(MESSAGE_TAGS_HEADER)),
    }
    return {
        "timestamp": timestamp(message.sent_at),
        "source": sender,
        "sourceArn": f"arn:aws:ses:{region}:{account_id}:identity/{from_domain}",
        "sendingAccountId": account_id,
        "messageId": message.message_id,
        "destination": destination(message),
        "headersTruncated": truncated,
        "headers": headers,
        "commonHeaders": common_headers(message),
        "tags": tags,
    }


# ---- the events ---------------------------------------------------------------------------------------------------


def feedback_id(moment: datetime, *parts: str) -> str:
    """Shaped like SES's (0100 + hex milliseconds + a UUID + -000000), and the same for the same inputs."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return f"0100{int(moment.timestamp() * 1000):012x}-{uuid.UUID(digest[:32])}-000000"


def _later(message: SentMessage, milliseconds: int) -> datetime:
    return message.sent_at + timedelta(milliseconds=milliseconds)


def _with_outgoing_ip(mail: dict) -> dict:
    return {**mail, "tags": {**mail["tags"], "ses:outgoing-ip": [OUTGOING_IP]}}


def _bounced_recipient(address: str, bounce: Bounced) -> dict:
    if bounce.status is None:
        return {"emailAddress": address}
    return {"emailAddress": address, "action": "failed", "status": bounce.status, "diagnosticCode": bounce.diagnostic}


def events_for(message: SentMessage, configuration_set: str, region: str, account_id: str) -> list[dict]:
    """Every event SES publishes about one message, in publishing order: Send; deliveries and delays; bounces, one
    notification per bounce type and subtype (SES combines them); complaints."""
    mail = mail_object(message, configuration_set, region, account_id)
    outcomes = {address: simulated_outcomes(address) for address in mail["destination"]}
    events: list[dict] = [{"eventType": "Send", "mail": mail, "send": {}}]
    delivered_at: dict[str, datetime] = {}
    for index, (address, fates) in enumerate(outcomes.items()):
        if DELIVERED in fates:
            processing_ms = DELIVERY_AFTER_MS + 37 * index
            delivered_at[address] = _later(message, processing_ms)
            delivery = {
                "timestamp": timestamp(delivered_at[address]),
                "processingTimeMillis": processing_ms,
                "recipients": [address],
                "smtpResponse": "250 2.6.0 Message received",
                "reportingMTA": REPORTING_MTA,
            }
            events.append({"eventType": "Delivery", "mail": _with_outgoing_ip(mail), "delivery": delivery})
        for delay in (fate for fate in fates if isinstance(fate, Delayed)):
            delay_detail = {
                "timestamp": timestamp(_later(message, DELAY_AFTER_MS)),
                "delayType": delay.delay_type,
                # Compressed time: SES gives up (and bounces) when this passes, here at the bounce.
                "expirationTime": timestamp(_later(message, BOUNCE_AFTER_MS)),
                "delayedRecipients": [
                    {"emailAddress": address, "status": delay.status, "diagnosticCode": delay.diagnostic}
                ],
            }
            events.append({"eventType": "DeliveryDelay", "mail": mail, "deliveryDelay": delay_detail})
    bounces: dict[tuple[str, str], list[dict]] = {}
    for address, fates in outcomes.items():
        for bounce in (fate for fate in fates if isinstance(fate, Bounced)):
            bounces.setdefault((bounce.bounce_type, bounce.subtype), []).append(_bounced_recipient(address, bounce))
    bounced_at = _later(message, BOUNCE_AFTER_MS)
    for (bounce_type, subtype), recipients in bounces.items():
        bounce_detail: dict[str, Any] = {
            "feedbackId": feedback_id(bounced_at, message.message_id, "bounce", bounce_type, subtype),
            "bounceType": bounce_type,
            "bounceSubType": subtype,
            "bouncedRecipients": recipients,
            "timestamp": timestamp(bounced_at),
        }
        if any("status" in recipient for recipient in recipients):
            bounce_detail["reportingMTA"] = f"dsn; {REPORTING_MTA}"  # only when a DSN came back
        events.append({"eventType": "Bounce", "mail": mail, "bounce": bounce_detail})
    complained_at = _later(message, COMPLAINT_AFTER_MS)
    for address, fates in outcomes.items():
        if COMPLAINED in fates:
            complaint = {
                "feedbackId": feedback_id(complained_at, message.message_id, "complaint", address),
                "complaintSubType": None,
                "complainedRecipients": [{"emailAddress": address}],
                "timestamp": timestamp(complained_at),
                "userAgent": "Amazon SES Mailbox Simulator",
                "complaintFeedbackType": "abuse",
                "arrivalDate": timestamp(delivered_at.get(address, message.sent_at)),
            }
            events.append({"eventType": "Complaint", "mail": mail, "complaint": complaint})
    return events


def sns_message(event: dict) -> str:
    """The SNS Message SES publishes: the event as a JSON string with a trailing newline."""
    return json.dumps(event) + "\n"


def _event_type_key(name: str) -> str:
    # The SES v1 API says deliveryDelay, v2 DELIVERY_DELAY, events DeliveryDelay: compare them all one way.
    return name.replace("_", "").lower()


@dataclass(frozen=True)
class SnsDestination:
    topic_arn: str
    matching_event_types: frozenset[str]

    def matches(self, event_type: str) -> bool:
        return _event_type_key(event_type) in self.matching_event_types


def sns_destination(ses_backend: Any, configuration_set: str | None) -> SnsDestination | None:
    """The configuration set's enabled SNS event destination in moto, if it has one."""
    destination_config = ses_backend.config_set_event_destination.get(configuration_set or "")
    if not destination_config or not destination_config.get("Enabled", False):
        return None
    topic_arn = (destination_config.get("SNSDestination") or {}).get("TopicARN")
    if not topic_arn:
        return None
    types = frozenset(_event_type_key(name) for name in destination_config.get("MatchingEventTypes") or ())
    return SnsDestination(topic_arn, types)


# ---- the thread that watches moto ---------------------------------------------------------------------------------


class MailboxSimulator:
    """Watches moto's SES backend (in this process) and publishes each new message's events to SNS through boto3."""

    def __init__(
        self,
        ses_backend: Any,
        sns_client: Any,
        stop: threading.Event,
        region: str,
        account_id: str,
        settle_seconds: float = 1.0,
        poll_seconds: float = 0.2,
    ):
        self.ses_backend = ses_backend
        self.sns = sns_client
        self.stop = stop
        self.region = region
        self.account_id = account_id
        # Wait as long as the events' own timestamps run ahead, so none is published before it "happened"; this
        # also gives the API time to record the send, as real SES latency does.
        self.settle_seconds = settle_seconds
        self.poll_seconds = poll_seconds
        self.handled = 0  # index into moto's sent_messages
        self.pending: list[SentMessage] = []
        self.thread = threading.Thread(target=self._run, name="ses-mailbox-simulator", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def join(self, timeout: float | None = None) -> None:
        self.thread.join(timeout)

    def _run(self) -> None:
        while not self.stop.wait(self.poll_seconds):
            self.step(datetime.now(UTC))

    def step(self, now: datetime) -> int:
        """Notices new messages and publishes those that have settled; returns how many it published."""
        sent = self.ses_backend.sent_messages
        if len(sent) < self.handled:
            self.handled = 0  # moto was reset
        for raw_message in sent[self.handled :]:
            self.pending.append(SentMessage.from_moto(raw_message, now))
        self.handled = len(sent)
        due: list[SentMessage] = []
        waiting: list[SentMessage] = []
        for message in self.pending:
            settled = (now - message.sent_at).total_seconds() >= self.settle_seconds
            (due if settled else waiting).append(message)
        self.pending = waiting
        for message in due:
            try:
                self.publish(message)
            except Exception:  # one message SNS refused must not stop the simulator for the others
                log.exception("ses %s: publishing its events failed", message.message_id)
        return len(due)

    def publish(self, message: SentMessage) -> None:
        configuration_set = message.configuration_set
        target = sns_destination(self.ses_backend, configuration_set)
        if configuration_set is None or target is None:
            log.info(
                "ses %s: no configuration set with an SNS event destination, nothing published", message.message_id
            )
            return
        published = []
        for event in events_for(message, configuration_set, self.region, self.account_id):
            if target.matches(event["eventType"]):
                self.sns.publish(TopicArn=target.topic_arn, Subject=EVENT_SUBJECT, Message=sns_message(event))
                published.append(_describe(event))
        log.info("ses %s -> %s", message.message_id, "; ".join(published))


def _describe(event: dict) -> str:
    """One short line per event for the terminal: 'Bounce Permanent/General bounce@simulator.amazonses.com'."""
    kind = event["eventType"]
    if kind == "Delivery":
        return f"Delivery {', '.join(event['delivery']['recipients'])}"
    if kind == "DeliveryDelay":
        detail = event["deliveryDelay"]
        addresses = ", ".join(r["emailAddress"] for r in detail["delayedRecipients"])
        return f"DeliveryDelay {detail['delayType']} {addresses}"
    if kind == "Bounce":
        detail = event["bounce"]
        addresses = ", ".join(r["emailAddress"] for r in detail["bouncedRecipients"])
        return f"Bounce {detail['bounceType']}/{detail['bounceSubType']} {addresses}"
    if kind == "Complaint":
        return f"Complaint {', '.join(r['emailAddress'] for r in event['complaint']['complainedRecipients'])}"
    return kind
