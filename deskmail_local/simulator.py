"""The SES mailbox simulator of the local stack: what real SES event publishing would say about each sent message.

moto keeps every message sent through SES but its own feedback is canned (see FIELD-NOTES), so this module reads
moto's sent messages and publishes, to the configuration set's SNS event destination, the notifications real SES
sends: a Send event, then per recipient what its mailbox does (docs/local-stack.md lists the rules). The payload
builders are pure functions; `MailboxSimulator` is the thread that watches moto and publishes through boto3, so
SNS -> SQS delivery and the feedback worker downstream are the real thing.

It also stands in for two things outside moto: the account-level suppression list (SES suppresses addresses that
hard-bounced or complained, and refuses to send to them), kept in the `LocalSuppressionList` the API reads too; and
the mailboxes that answer (an out-of-office responder, a customer who replies), whose mail it hands to deskmail as
an SES receipt rule would: a "Received" notification on the inbound SNS topic.
"""

from __future__ import annotations

import email
import hashlib
import json
import logging
import os
import re
import string
import threading
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.utils import format_datetime, formataddr, getaddresses, parseaddr
from typing import Any

from chalicelib.adapters.ses_account import BOUNCE, COMPLAINT, SuppressionList
from chalicelib.ids import format_timestamp
from chalicelib.naming import INBOUND_OBJECT_PREFIX

log = logging.getLogger("deskmail_local.simulator")

SIMULATOR_DOMAIN = "simulator.amazonses.com"
EVENT_SUBJECT = "Amazon SES Email Event Notification"
REPORTING_MTA = "a8-70.smtp-out.amazonses.com"
OUTGOING_IP = "54.240.8.70"  # the address behind a8-70.smtp-out.amazonses.com
REMOTE_MTA_IP = "52.94.236.248"  # the receiving MTA SES talked to (identity notifications name it)
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
REPLY_AFTER_MS = 1500
# SES retries a message it cannot deliver for about 14 hours (840 minutes in its "Message expired" texts); here that
# whole window takes DESKMAIL_SIMULATE_RETRY_SECONDS. Events further than this past the send wait for their time.
RETRY_SECONDS_ENV = "DESKMAIL_SIMULATE_RETRY_SECONDS"
DEFAULT_RETRY_SECONDS = 5.0
SCHEDULE_BEYOND = timedelta(seconds=2)

RECEIPT_SUBJECT = "Amazon SES Email Receipt Notification"
SUPPRESSION_LIST_DIAGNOSTIC = (
    "Amazon SES did not send the message to this address because it is on the suppression list for your account. "
    "For more information about removing addresses from the suppression list, see the Amazon SES Developer Guide at "
    "https://docs.aws.amazon.com/ses/latest/DeveloperGuide/sending-email-suppression-list.html"
)
OUT_OF_OFFICE_TEXT = "I am out of the office and will answer your message when I am back.\n"
THANKS_TEXT = "Thanks!"
PHOTO_TEXT = "Here is a photo of the error message."
PHOTO_BYTES = 200 * 1024


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
    # None: within a second of the send (compressed); a fraction: that far into SES's retry window.
    retry_fraction: float | None = None
    reporting_mta: str | None = None


@dataclass(frozen=True)
class Bounced:
    bounce_type: str
    subtype: str
    status: str | None = None  # None: no DSN came back (an auto-reply), so SES names only the address
    diagnostic: str | None = None
    reporting_mta: str = f"dsn; {REPORTING_MTA}"  # only published with a DSN (a status)
    retry_fraction: float | None = None  # 1.0: when SES's retries expire


@dataclass(frozen=True)
class Verdicts:
    """What SES's inbound receipt says of the answer's sender: SPF, DKIM, DMARC (PASS, FAIL, GRAY) and, with a DMARC
    FAIL only, the From domain's published policy (lower-case, as SES writes it)."""

    spf: str = "PASS"
    dkim: str = "PASS"
    dmarc: str = "PASS"
    dmarc_policy: str | None = None

    def receipt_fields(self) -> dict:
        fields: dict[str, Any] = {
            "spfVerdict": {"status": self.spf},
            "dkimVerdict": {"status": self.dkim},
            "dmarcVerdict": {"status": self.dmarc},
        }
        if self.dmarc == "FAIL" and self.dmarc_policy:
            fields["dmarcPolicy"] = self.dmarc_policy
        return fields


AUTHENTIC = Verdicts()
UNVERIFIABLE = Verdicts("GRAY", "GRAY", "GRAY")  # the sender's domain publishes no SPF, DKIM or DMARC


def spoofed(policy: str) -> Verdicts:
    return Verdicts("FAIL", "FAIL", "FAIL", policy)


@dataclass(frozen=True)
class Answers:
    """After delivery the mailbox writes back to the sender: an automatic (out-of-office) reply or a person's."""

    automatic: bool
    text: str
    verdicts: Verdicts = AUTHENTIC
    photo_bytes: int = 0  # a phone photo attached: mail above SNS's 150 KB, which only the S3 action delivers
    # Where an automatic answer goes: the envelope sender (RFC 3834 3.1.5; SES's simulator), or the header address
    # (Reply-To, else From) as many mail servers' vacation responders do.
    to_envelope_sender: bool = False


Outcome = Delivered | Complained | Delayed | Bounced | Answers

DELIVERED = Delivered()
COMPLAINED = Complained()
AUTO_REPLY = Bounced("Transient", "General")
UNKNOWN_USER = Bounced("Permanent", "General", "5.1.1", "smtp; 550 5.1.1 user unknown")
MAILBOX_FULL_DELAY = Delayed("MailboxFull", "4.2.2", "smtp; 452 4.2.2 Mailbox full")
MAILBOX_FULL = Bounced("Transient", "MailboxFull", "5.2.2", "smtp; 552 5.2.2 Mailbox full")
MESSAGE_TOO_LARGE = Bounced(
    "Transient", "MessageTooLarge", "5.3.4", "smtp; 552 5.3.4 Message size exceeds fixed maximum message size"
)
# SES itself refuses the address: nothing left Amazon, hence "dns; amazonses.com" rather than a DSN's MTA.
ON_ACCOUNT_SUPPRESSION_LIST = Bounced(
    "Permanent", "OnAccountSuppressionList", "5.1.1", SUPPRESSION_LIST_DIAGNOSTIC, reporting_mta="dns; amazonses.com"
)
OUT_OF_OFFICE_REPLY = Answers(automatic=True, text=OUT_OF_OFFICE_TEXT, to_envelope_sender=True)
VACATION_REPLY = Answers(automatic=True, text=OUT_OF_OFFICE_TEXT)
THANKS_REPLY = Answers(automatic=False, text=THANKS_TEXT)


def unresolvable_domain(domain: str) -> tuple[Outcome, ...]:
    """What SES does when the recipient's domain has no DNS: it retries (DeliveryDelay events, reported by its own
    MTA), and when the message expires it bounces with 4.4.7 and the last attempt's reply in angle brackets. Newer
    captures (2025) type that bounce Permanent/General with "550 4.4.7"; older ones (2013, 2020) Transient with "554"
    or "550". Permanent is what SES does now: the domain will not appear, and the address goes on the account's
    suppression list like any hard bounce."""
    last_reply = f"421 4.4.0 Unable to lookup DNS for {domain}"
    delay = Delayed("TransientCommunicationFailure", "4.4.0", f"smtp; {last_reply}", reporting_mta=OUTGOING_IP)
    expired = Bounced(
        "Permanent",
        "General",
        "4.4.7",
        f"smtp; 550 4.4.7 Message expired: unable to deliver in 840 minutes.<{last_reply}>",
        retry_fraction=1.0,
    )
    return (
        Delayed(**{**delay.__dict__, "retry_fraction": 1 / 3}),
        Delayed(**{**delay.__dict__, "retry_fraction": 2 / 3}),
        expired,
    )


def bare_address(address: str) -> str:
    """ "Rita <rita@example.com>" -> "rita@example.com" (moto lists header recipients with their names)."""
    return parseaddr(address)[1] or address.strip()


# A `tiny…` mailbox's server refuses messages above this many bytes (as sent, headers and encoding included), as a
# receiving server with a small message_size_limit does: "552 5.3.4", which SES reports as Transient/MessageTooLarge.
TINY_MAILBOX_MAX_BYTES = 64 * 1024


def simulated_outcomes(address: str, size: int = 0) -> tuple[Outcome, ...]:
    """What happens to a message of `size` bytes at this address, in the order SES reports it
    (docs/local-stack.md)."""
    address = bare_address(address)
    local, _, domain = address.lower().rpartition("@")
    mailbox = local.split("+", 1)[0]  # labels are allowed: bounce+ticket42@simulator.amazonses.com
    if domain == SIMULATOR_DOMAIN:
        if mailbox == "bounce":
            return (UNKNOWN_USER,)
        if mailbox == "ooto":
            # The responder answers the envelope sender: SES's own MAIL FROM, which SES reports as a transient
            # bounce. deskmail's inbound never sees that answer (see envelope_sender).
            return (DELIVERED, AUTO_REPLY, OUT_OF_OFFICE_REPLY)
        if mailbox == "complaint":
            return (DELIVERED, COMPLAINED)
        if mailbox == "suppressionlist":
            # Seen in real captures: Permanent/General (not Suppressed), the address quoted in the diagnostic.
            diagnostic = f"smtp; 550 5.1.1 user unknown ( blacklisted address: {address} )"
            return (Bounced("Permanent", "General", "5.1.1", diagnostic),)
        return (DELIVERED,)  # success@, and any other simulator mailbox
    if domain == "invalid" or domain.endswith(".invalid"):
        return unresolvable_domain(domain)  # RFC 2606: .invalid never resolves
    if mailbox.startswith("unknown"):
        # A receiving server that knows no such user: the instant hard bounce the suppression list reacts to.
        diagnostic = f"smtp; 550 5.1.1 <{address}>: Recipient address rejected: User unknown in virtual mailbox table"
        return (Bounced("Permanent", "General", "5.1.1", diagnostic),)
    if mailbox.startswith("full"):
        return (MAILBOX_FULL_DELAY, MAILBOX_FULL)
    if mailbox.startswith("big"):
        return (MESSAGE_TOO_LARGE,)
    if mailbox.startswith("tiny"):
        return (MESSAGE_TOO_LARGE,) if size > TINY_MAILBOX_MAX_BYTES else (DELIVERED,)
    if mailbox.startswith("reply"):
        return (DELIVERED, THANKS_REPLY)
    if mailbox.startswith("spoof"):
        # Someone else answers in this customer's name: SPF, DKIM and DMARC all fail; the policy the local part
        # names (spoof-none@, spoof-quarantine@), else p=reject.
        policy = next((name for name in ("none", "quarantine") if name in mailbox), "reject")
        return (DELIVERED, Answers(automatic=False, text=THANKS_TEXT, verdicts=spoofed(policy)))
    if mailbox.startswith("away"):
        return (DELIVERED, VACATION_REPLY)  # a vacation responder that answers the From/Reply-To address
    if mailbox.startswith("photo"):
        return (DELIVERED, Answers(automatic=False, text=PHOTO_TEXT, photo_bytes=PHOTO_BYTES))
    if mailbox.startswith("gray"):
        return (DELIVERED, Answers(automatic=False, text=THANKS_TEXT, verdicts=UNVERIFIABLE))
    return (DELIVERED,)


# ---- the message as SES describes it: the `mail` object ----------------------------------------------------------


def ses_message_id_header(message_id: str, region: str) -> str:
    """The Message-ID SES gives every message it sends (SES developer guide, "Amazon SES header fields"): its own id
    at email.amazonses.com in us-east-1, at {region}.amazonses.com elsewhere."""
    host = "email.amazonses.com" if region == "us-east-1" else f"{region}.amazonses.com"
    return f"<{message_id}@{host}>"


_HEADER_BLOCK_END = re.compile(r"\r?\n\r?\n")
_HEADER_FIELD = re.compile(r"^[^ \t\r\n][^\r\n]*(?:\r?\n[ \t][^\r\n]*)*", re.MULTILINE)


def with_ses_message_id(raw_data: str, message_id_header: str) -> str:
    """The raw message as it leaves SES: the Message-ID the sender wrote replaced by SES's (added if there was none),
    every other byte as the sender wrote it."""
    end = _HEADER_BLOCK_END.search(raw_data)
    head, rest = (raw_data[: end.start()], raw_data[end.start() :]) if end else (raw_data, "")
    newline = "\r\n" if "\r\n" in head else "\n"
    ses_field = f"Message-ID: {message_id_header}"
    fields, replaced = [], False
    for field in _HEADER_FIELD.findall(head):
        if field.split(":", 1)[0].strip().lower() == "message-id":
            if not replaced:  # a second Message-ID would contradict SES's: dropped
                fields.append(ses_field)
                replaced = True
            continue
        fields.append(field)
    if not replaced:
        fields.append(ses_field)
    return newline.join(fields) + rest


@dataclass(frozen=True)
class SentMessage:
    """One message moto's SES accepted, and when the simulator saw it leave. `raw_data` is what the app sent;
    `mime` is the message as SES delivers it (its own Message-ID), which is what events and answers describe."""

    message_id: str
    source: str
    destinations: tuple[str, ...]
    raw_data: str
    sent_at: datetime
    region: str = "us-east-1"

    @classmethod
    def from_moto(cls, raw_message: Any, sent_at: datetime, region: str = "us-east-1") -> SentMessage:
        return cls(
            raw_message.id,
            raw_message.source or "",
            tuple(raw_message.destinations),
            raw_message.raw_data,
            sent_at,
            region,
        )

    @property
    def message_id_header(self) -> str:
        return ses_message_id_header(self.message_id, self.region)

    @property
    def delivered_raw(self) -> str:
        return with_ses_message_id(self.raw_data, self.message_id_header)

    @property
    def mime(self) -> email.message.Message:
        return email.message_from_string(self.delivered_raw)

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
    # A message without Date gets SES's own when it leaves; its Message-ID is always SES's (see SentMessage.mime).
    common["date"] = _unfold(mime["Date"]) if mime.get("Date") else format_datetime(message.sent_at)
    common["messageId"] = _unfold(mime["Message-ID"]) if mime.get("Message-ID") else message.message_id_header
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


# ---- the account-level suppression list ---------------------------------------------------------------------------


def recipient_outcomes(message: SentMessage, suppressed: Collection[str] = ()) -> dict[str, tuple[Outcome, ...]]:
    """Each recipient's fate, by bare address. `suppressed`: the recipients that were on the account-level
    suppression list when SES accepted the message; SES sends them nothing and bounces them itself."""
    on_list = {address.lower() for address in suppressed}
    return {
        address: (ON_ACCOUNT_SUPPRESSION_LIST,)
        if address.lower() in on_list
        else simulated_outcomes(address, len(message.raw_data.encode("utf-8", "surrogateescape")))
        for address in destination(message)
    }


def suppression_list_additions(outcomes: dict[str, tuple[Outcome, ...]]) -> dict[str, str]:
    """What SES, with account-level suppression on for BOUNCE and COMPLAINT, puts on the list after these outcomes:
    address -> reason. Hard bounces and complaints, but never a mailbox simulator address (AWS: mail to the simulator
    does not add to the suppression list), and not an address the list refused (it is on it already)."""
    additions: dict[str, str] = {}
    for address, fates in outcomes.items():
        if address.lower().rpartition("@")[2] == SIMULATOR_DOMAIN:
            continue
        bounces = [fate for fate in fates if isinstance(fate, Bounced)]
        if any(bounce == ON_ACCOUNT_SUPPRESSION_LIST for bounce in bounces):
            continue
        if any(bounce.bounce_type == "Permanent" for bounce in bounces):
            additions[address] = BOUNCE
        elif COMPLAINED in fates:
            additions[address] = COMPLAINT
    return additions


# ---- the events ---------------------------------------------------------------------------------------------------


def feedback_id(moment: datetime, *parts: str) -> str:
    """Shaped like SES's (0100 + hex milliseconds + a UUID + -000000), and the same for the same inputs."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return f"0100{int(moment.timestamp() * 1000):012x}-{uuid.UUID(digest[:32])}-000000"


def _to_milliseconds(moment: datetime) -> datetime:
    """SES's precision: its timestamps carry milliseconds, so every moment the simulator acts at is one an event can
    name (an action scheduled at 3.0004 s would otherwise run a tick after the event that says 3.000)."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _later(message: SentMessage, milliseconds: int) -> datetime:
    return _to_milliseconds(message.sent_at + timedelta(milliseconds=milliseconds))


def _with_outgoing_ip(mail: dict) -> dict:
    return {**mail, "tags": {**mail["tags"], "ses:outgoing-ip": [OUTGOING_IP]}}


def _bounced_recipient(address: str, bounce: Bounced) -> dict:
    if bounce.status is None:
        return {"emailAddress": address}
    return {"emailAddress": address, "action": "failed", "status": bounce.status, "diagnosticCode": bounce.diagnostic}


# The EICAR anti-virus test file (eicar.org): what SES's guide says to send to see a Reject event.
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def carries_a_virus(message: SentMessage) -> bool:
    """SES scans what it sends and rejects the whole message when it finds a virus. Here: an EICAR test string in
    any part (decoded), or, as a local rule, a recipient whose local part starts with `virus`."""
    if any(bare_address(address).lower().startswith("virus") for address in destination(message)):
        return True
    for part in message.mime.walk():
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes) and EICAR in payload:
            return True
    return False


def _retry_moment(message: SentMessage, fraction: float | None, quick_ms: int, retry_seconds: float) -> datetime:
    if fraction is None:
        return _later(message, quick_ms)
    return _to_milliseconds(message.sent_at + timedelta(seconds=retry_seconds * fraction))


def events_for(
    message: SentMessage,
    configuration_set: str,
    region: str,
    account_id: str,
    suppressed: Collection[str] = (),
    retry_seconds: float = DEFAULT_RETRY_SECONDS,
) -> list[dict]:
    """Every event SES publishes about one message, in time order within each kind: Send; deliveries and delays;
    bounces, one notification per bounce type and subtype at one moment (SES combines them); complaints.
    `suppressed`: see recipient_outcomes. `retry_seconds`: how long SES's retry window lasts here."""
    mail = mail_object(message, configuration_set, region, account_id)
    events: list[dict] = [{"eventType": "Send", "mail": mail, "send": {}}]
    if carries_a_virus(message):
        # SES accepted the call, found a virus and tried no recipient: one Reject, nothing else ("Bad content" is
        # the only reason SES documents).
        return [*events, {"eventType": "Reject", "mail": mail, "reject": {"reason": "Bad content"}}]
    outcomes = recipient_outcomes(message, suppressed)
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
            delay_detail: dict[str, Any] = {
                "timestamp": timestamp(_retry_moment(message, delay.retry_fraction, DELAY_AFTER_MS, retry_seconds)),
                "delayType": delay.delay_type,
                # Compressed time: SES gives up (and bounces) when this passes, and so does the simulator.
                "expirationTime": timestamp(
                    _retry_moment(
                        message, None if delay.retry_fraction is None else 1.0, BOUNCE_AFTER_MS, retry_seconds
                    )
                ),
                "delayedRecipients": [
                    {"emailAddress": address, "status": delay.status, "diagnosticCode": delay.diagnostic}
                ],
            }
            if delay.reporting_mta:
                delay_detail["reportingMTA"] = delay.reporting_mta
            events.append({"eventType": "DeliveryDelay", "mail": mail, "deliveryDelay": delay_detail})
    bounces: dict[tuple[str, str, datetime], list[dict]] = {}
    reporting_mtas: dict[tuple[str, str, datetime], str] = {}
    for address, fates in outcomes.items():
        for bounce in (fate for fate in fates if isinstance(fate, Bounced)):
            moment = _retry_moment(message, bounce.retry_fraction, BOUNCE_AFTER_MS, retry_seconds)
            kind = (bounce.bounce_type, bounce.subtype, moment)
            bounces.setdefault(kind, []).append(_bounced_recipient(address, bounce))
            reporting_mtas.setdefault(kind, bounce.reporting_mta)
    for (bounce_type, subtype, bounced_at), recipients in sorted(bounces.items(), key=lambda entry: entry[0][2]):
        bounce_detail: dict[str, Any] = {
            "feedbackId": feedback_id(bounced_at, message.message_id, "bounce", bounce_type, subtype),
            "bounceType": bounce_type,
            "bounceSubType": subtype,
            "bouncedRecipients": recipients,
            "timestamp": timestamp(bounced_at),
        }
        if any("status" in recipient for recipient in recipients):
            bounce_detail["reportingMTA"] = reporting_mtas[(bounce_type, subtype, bounced_at)]  # only with a DSN
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


# ---- the second source: the identity's feedback notifications ----------------------------------------------------


@dataclass(frozen=True)
class IdentityNotifications:
    """An identity's feedback notification topics (SES SetIdentityNotificationTopic). Production points the sender
    domain's Bounce and Complaint notifications at the feedback topic, beside the configuration set's event
    destination, so every bounce and complaint reaches deskmail twice, in two formats."""

    domain: str
    topic_arn: str
    types: frozenset[str] = frozenset({"Bounce", "Complaint"})  # "Delivery" too if that topic is set
    include_headers: bool = False  # SetIdentityHeadersInNotificationsEnabled; production leaves it off

    def covers(self, message: SentMessage) -> bool:
        sender = bare_address(message.source or message.mime.get("From", ""))
        return sender.rpartition("@")[2].lower() == self.domain.lower()


IDENTITY_FEEDBACK_ENV = "DESKMAIL_SIMULATE_IDENTITY_FEEDBACK"
_OFF = ("0", "false", "no", "off")


def identity_notifications_from_environment(
    domain: str, topic_arn: str, environ: Mapping[str, str] = os.environ
) -> IdentityNotifications | None:
    """DESKMAIL_SIMULATE_IDENTITY_FEEDBACK: on (the default) publishes Bounce and Complaint notifications as the
    deployed stack's identity topics do; a comma-separated list ("Bounce,Complaint,Delivery") picks the types; off
    publishes only the configuration set's events."""
    value = environ.get(IDENTITY_FEEDBACK_ENV, "on").strip()
    if value.lower() in _OFF:
        return None
    if value.lower() in ("", "1", "true", "yes", "on"):
        return IdentityNotifications(domain, topic_arn)
    wanted = {part.strip().capitalize() for part in value.split(",") if part.strip()}
    unknown = wanted - set(_NOTIFIED_TYPES)
    if unknown:
        raise ValueError(
            f"{IDENTITY_FEEDBACK_ENV}: SES identities notify {sorted(_NOTIFIED_TYPES)}, not {sorted(unknown)}"
        )
    return IdentityNotifications(domain, topic_arn, frozenset(wanted))


_NOTIFIED_TYPES = {"Bounce": "bounce", "Complaint": "complaint", "Delivery": "delivery"}


def identity_mail_object(event_mail: dict, include_headers: bool) -> dict:
    """The `mail` object of a feedback notification: sourceIp and callerIdentity instead of tags; the headers only if
    the identity asks for them."""
    mail = {
        key: event_mail[key]
        for key in ("timestamp", "source", "sourceArn", "sendingAccountId", "messageId", "destination")
    }
    mail["sourceIp"] = SOURCE_IP
    mail["callerIdentity"] = CALLER_IDENTITY
    if include_headers:
        mail.update({key: event_mail[key] for key in ("headersTruncated", "headers", "commonHeaders")})
    return mail


def identity_notification(event: dict, include_headers: bool = False) -> dict | None:
    """The feedback notification an identity's topic gets for the same outcome as this event, or None for the event
    types identities do not notify (Send, DeliveryDelay, Reject). The outcome object is the event's own (same
    feedbackId, timestamps and recipients: it is the same bounce), plus remoteMtaIp where a remote MTA answered."""
    kind = event["eventType"]
    key = _NOTIFIED_TYPES.get(kind)
    if key is None:
        return None
    detail = dict(event[key])
    remote_answered = kind == "Delivery" or (
        kind == "Bounce" and str(detail.get("reportingMTA", "")).startswith("dsn;")
    )
    if remote_answered:
        detail["remoteMtaIp"] = REMOTE_MTA_IP
    return {"notificationType": kind, "mail": identity_mail_object(event["mail"], include_headers), key: detail}


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


# ---- mail the recipients' mailboxes send back: SES inbound "Received" notifications ------------------------------


@dataclass(frozen=True)
class Reply:
    """A message a recipient's mailbox sends back to deskmail, as it arrives at SES's inbound MTA."""

    mailbox: str  # who answers: the recipient of the sent message
    envelope_sender: str  # MAIL FROM; "" is the null reverse-path
    recipient: str  # the address it is for: the sent message's Reply-To, else its From
    automatic: bool
    mime: EmailMessage
    verdicts: Verdicts = AUTHENTIC


@dataclass(frozen=True)
class InboundRoute:
    """The receipt rule: mail for `domain` is published to `topic_arn`. With a `bucket`, as deployed: one S3 action
    stores every message under inbound/{id} and notifies the topic (no content: mail of any size). Without: an SNS
    action carrying the message as UTF-8 content (at most 150 KB in AWS)."""

    topic_arn: str
    domain: str
    bucket: str | None = None

    def accepts(self, address: str) -> bool:
        return address.lower().rpartition("@")[2] == self.domain.lower()


def _stable_token(length: int, *parts: str) -> str:
    """Lower-case letters and digits, the same for the same inputs (SES inbound ids look like this)."""
    number = int(hashlib.sha256("\x1f".join(parts).encode()).hexdigest(), 16)
    alphabet = string.digits + string.ascii_lowercase
    token = ""
    while len(token) < length:
        number, digit = divmod(number, len(alphabet))
        token += alphabet[digit]
    return token


def envelope_sender(message: SentMessage) -> str:
    """Where an RFC 3834 responder (SES's ooto@) answers: the message's Return-Path header if the sender wrote one,
    else its MAIL FROM. deskmail writes no Return-Path and SES sends with its own MAIL FROM, a per-message address at
    amazonses.com (us-east-1; {region}.amazonses.com elsewhere) or at a custom MAIL FROM domain, whose MX is SES's
    feedback endpoint: SES turns what arrives there into the bounce notification, and deskmail's receipt rule never
    receives it."""
    written = message.mime.get("Return-Path")
    if written and bare_address(_unfold(written)):
        return bare_address(_unfold(written))
    host = "amazonses.com" if message.region == "us-east-1" else f"{message.region}.amazonses.com"
    return f"{message.message_id}@{host}"


def reply_address(message: SentMessage) -> str:
    """Where an answer goes: Reply-To, else From (what Exchange, Gmail and people's mail clients answer)."""
    mime = message.mime
    return bare_address(_unfold(mime.get("Reply-To") or mime.get("From") or message.source))


def thread_references(original: Message) -> tuple[str | None, str]:
    """In-Reply-To and References of an answer (RFC 5322 3.6.4): the message's own id, after its References (which
    carry deskmail's ticket thread id)."""
    message_id = _unfold(original["Message-ID"]) if original.get("Message-ID") else None
    references = _unfold(original.get("References") or original.get("In-Reply-To") or "").split()
    chain = list(dict.fromkeys([*references, *([message_id] if message_id else [])]))
    return message_id, " ".join(chain)


def thread_root(original: Message) -> str:
    """The first message of the thread the message belongs to (deskmail's <ticket-{id}@domain>)."""
    _, references = thread_references(original)
    return references.split()[0] if references else ""


def _is_auto_submitted(original: Message) -> bool:
    value = (original.get("Auto-Submitted") or "").split(";")[0].strip().lower()
    return value not in ("", "no")


def _original_text(message: SentMessage) -> str:
    parsed = email.message_from_string(message.delivered_raw, policy=policy.default)
    body = parsed.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
    return body.get_content() if body is not None else ""


def _display_name(original: Message, address: str) -> str:
    headers = [_unfold(original.get(name, "")) for name in ("To", "Cc")]
    return next((name for name, found in getaddresses(headers) if found.lower() == address.lower()), "")


def _photo(size: int) -> bytes:
    """JPEG-framed bytes that do not compress, the same every time (a photo, as far as mail is concerned)."""
    body = b"".join(hashlib.sha256(str(block).encode()).digest() for block in range(size // 32 + 1))
    return b"\xff\xd8\xff\xe0" + body[: max(size - 6, 0)] + b"\xff\xd9"


def answer(message: SentMessage, mailbox: str, reply: Answers, replied_at: datetime) -> Reply:
    """What `mailbox` writes back: threaded on the message (In-Reply-To, References), to its Reply-To or From."""
    original = message.mime
    in_reply_to, references = thread_references(original)
    subject = str(make_header(decode_header(_unfold(original.get("Subject", "")))))
    domain = mailbox.rpartition("@")[2]
    answer_mime = EmailMessage()
    if reply.automatic:
        answer_mime["From"] = mailbox
        answer_mime["Subject"] = f"Automatic reply: {subject}"
    else:
        answer_mime["From"] = formataddr((_display_name(original, mailbox), mailbox))
        answer_mime["Subject"] = subject if subject.lower().startswith("re:") else f"Re: {subject}"
    to_envelope = reply.automatic and reply.to_envelope_sender
    recipient = envelope_sender(message) if to_envelope else reply_address(message)
    answer_mime["To"] = (
        recipient if to_envelope else _unfold(original.get("Reply-To") or original.get("From") or message.source)
    )
    answer_mime["Date"] = format_datetime(replied_at)
    answer_mime["Message-ID"] = f"<{_stable_token(24, message.message_id, mailbox, 'reply')}@{domain}>"
    if in_reply_to:
        answer_mime["In-Reply-To"] = in_reply_to
    if references:
        answer_mime["References"] = references
    if reply.automatic:
        answer_mime["Auto-Submitted"] = "auto-replied"  # RFC 3834 section 5
        answer_mime.set_content(reply.text)
    else:
        # A person's mail client quotes the message it answers; deskmail keeps only the text above the quote.
        sender_name = parseaddr(_unfold(original.get("From", message.source)))[0] or reply_address(message)
        quoted = "".join(f"> {line}\n" for line in _original_text(message).splitlines())
        answer_mime.set_content(f"{reply.text}\n\nOn {original.get('Date', '')}, {sender_name} wrote:\n{quoted}")
        if reply.photo_bytes:
            answer_mime.add_attachment(
                _photo(reply.photo_bytes), maintype="image", subtype="jpeg", filename="IMG_0001.jpg"
            )
    return Reply(
        mailbox=mailbox,
        # RFC 3834 section 3.3: automatic responses are sent with a null reverse-path, so nothing answers them.
        envelope_sender="" if reply.automatic else mailbox,
        recipient=recipient,
        automatic=reply.automatic,
        mime=answer_mime,
        verdicts=reply.verdicts,
    )


def replies_for(message: SentMessage, outcomes: dict[str, tuple[Outcome, ...]], now: datetime) -> list[Reply]:
    """The answers the delivered recipients' mailboxes send. No automatic answer to mail marked Auto-Submitted
    (every deskmail notification): RFC 3834 section 2 forbids auto-responses to it. People still answer it."""
    silenced = _is_auto_submitted(message.mime)
    return [
        answer(message, address, fate, now)
        for address, fates in outcomes.items()
        if DELIVERED in fates
        for fate in fates
        if isinstance(fate, Answers) and not (fate.automatic and silenced)
    ]


def silenced_responders(message: SentMessage, outcomes: dict[str, tuple[Outcome, ...]]) -> list[str]:
    """The delivered mailboxes whose automatic answer replies_for keeps back (the message is Auto-Submitted): the
    simulator logs each, so a test can wait for that decision instead of waiting a while for nothing."""
    if not _is_auto_submitted(message.mime):
        return []
    return [
        address
        for address, fates in outcomes.items()
        if DELIVERED in fates and any(isinstance(fate, Answers) and fate.automatic for fate in fates)
    ]


def stored_notification(notification: dict, bucket: str) -> tuple[dict, str, bytes]:
    """What the S3 action does with a received message: (the notification SNS gets, the object key, the object).
    The notification is the SNS action's without `content`, its action naming the bucket and key."""
    message_id = notification["mail"]["messageId"]
    key = f"{INBOUND_OBJECT_PREFIX}{message_id}"
    receipt = {
        **notification["receipt"],
        "action": {
            "type": "S3",
            "topicArn": notification["receipt"]["action"]["topicArn"],
            "bucketName": bucket,
            "objectKey": key,
        },
    }
    published = {key_: value for key_, value in notification.items() if key_ != "content"}
    return {**published, "receipt": receipt}, key, notification["content"].encode("utf-8")


def received_notification(reply: Reply, topic_arn: str, received_at: datetime, region: str) -> dict:
    """The SES receipt rule's SNS action notification for the reply: notificationType "Received", the mail and
    receipt objects, and `content`, the raw message with the trace headers SES's inbound MTA prepends."""
    message_id = _stable_token(40, reply.mailbox, str(reply.mime["Message-ID"]), "received")
    trace = [
        ("Return-Path", f"<{reply.envelope_sender}>"),
        (
            "Received",
            f"from {reply.mailbox.rpartition('@')[2]} by inbound-smtp.{region}.amazonaws.com with SMTP id "
            f"{message_id} for {reply.recipient}; {format_datetime(received_at)}",
        ),
        ("X-SES-Spam-Verdict", "PASS"),
        ("X-SES-Virus-Verdict", "PASS"),
    ]
    content = "".join(f"{name}: {value}\r\n" for name, value in trace) + reply.mime.as_string(policy=policy.SMTP)
    received = email.message_from_string(content, policy=policy.compat32)
    common: dict[str, Any] = {"returnPath": reply.envelope_sender} if reply.envelope_sender else {}
    common.update(
        {
            "from": _address_list(received["From"]),
            "date": _unfold(received["Date"]),
            "to": _address_list(received["To"]),
            "messageId": _unfold(received["Message-ID"]),
            "subject": str(make_header(decode_header(_unfold(received["Subject"])))),
        }
    )
    stamp = timestamp(received_at)
    return {
        "notificationType": "Received",
        "mail": {
            "timestamp": stamp,
            "source": reply.envelope_sender,
            "messageId": message_id,
            "destination": [reply.recipient],
            "headersTruncated": False,
            "headers": [{"name": name, "value": _unfold(value)} for name, value in received.items()],
            "commonHeaders": common,
        },
        "receipt": {
            "timestamp": stamp,
            "processingTimeMillis": 312,
            "recipients": [reply.recipient],
            "spamVerdict": {"status": "PASS"},
            "virusVerdict": {"status": "PASS"},
            **reply.verdicts.receipt_fields(),
            "action": {"type": "SNS", "topicArn": topic_arn, "encoding": "UTF8"},
        },
        "content": content,
    }


# ---- the thread that watches moto ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingMessage:
    message: SentMessage
    suppressed: frozenset[str]  # its recipients that were on the account-level suppression list when SES took it


class MailboxSimulator:
    """Watches moto's SES backend (in this process) and, for each new message, publishes its events to SNS through
    boto3, keeps the account-level suppression list, and publishes the recipients' answers to the inbound topic."""

    def __init__(
        self,
        ses_backend: Any,
        sns_client: Any,
        stop: threading.Event,
        region: str,
        account_id: str,
        settle_seconds: float = 1.0,
        poll_seconds: float = 0.2,
        suppression_list: SuppressionList | None = None,
        inbound: InboundRoute | None = None,
        identity_notifications: IdentityNotifications | None = None,
        retry_seconds: float | None = None,
        s3_client: Any = None,
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
        self.suppression_list = suppression_list  # None: the account has suppression off
        self.inbound = inbound  # None: no receipt rule, answers go nowhere
        self.identity_notifications = identity_notifications  # None: the identity has no feedback topics
        self.s3 = s3_client  # where the receipt rule's S3 action stores inbound mail (InboundRoute.bucket)
        if retry_seconds is None:
            retry_seconds = float(os.environ.get(RETRY_SECONDS_ENV, DEFAULT_RETRY_SECONDS))
        self.retry_seconds = retry_seconds
        # What SES does later (its retries): (when, order, action), run by step() once their time has come.
        self.scheduled: list[tuple[datetime, int, Callable[[], None]]] = []
        self.now = datetime.now(UTC)
        self.handled = 0  # index into moto's sent_messages
        self.pending: list[PendingMessage] = []
        # (mailbox, thread) pairs a person already answered: people write back once, and two reply* recipients of
        # one ticket must not thank each other's comments forever.
        self.answered_threads: set[tuple[str, str]] = set()
        self.thread = threading.Thread(target=self._run, name="ses-mailbox-simulator", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def join(self, timeout: float | None = None) -> None:
        self.thread.join(timeout)

    def _run(self) -> None:
        while not self.stop.wait(self.poll_seconds):
            self.step(datetime.now(UTC))

    def step(self, now: datetime) -> int:
        """Notices new messages, handles those that have settled and runs what SES's retries scheduled for now;
        returns how many messages it handled."""
        self.now = now
        sent = self.ses_backend.sent_messages
        if len(sent) < self.handled:
            self.handled = 0  # moto was reset
        for raw_message in sent[self.handled :]:
            message = SentMessage.from_moto(raw_message, now, self.region)
            # SES checks the list when it accepts the message, so this is read now, not when the events go out.
            self.pending.append(PendingMessage(message, self._on_suppression_list(message)))
        self.handled = len(sent)
        due: list[PendingMessage] = []
        waiting: list[PendingMessage] = []
        for pending in self.pending:
            settled = (now - pending.message.sent_at).total_seconds() >= self.settle_seconds
            (due if settled else waiting).append(pending)
        self.pending = waiting
        for pending in due:
            try:
                self.handle(pending)
            except Exception:  # one message SNS refused must not stop the simulator for the others
                log.exception("ses %s: publishing its events failed", pending.message.message_id)
        self.run_scheduled(now)
        return len(due)

    def run_scheduled(self, now: datetime) -> None:
        ready = [entry for entry in self.scheduled if entry[0] <= now]
        self.scheduled = [entry for entry in self.scheduled if entry[0] > now]
        for _, _, action in sorted(ready, key=lambda entry: (entry[0], entry[1])):
            try:
                action()
            except Exception:
                log.exception("ses: a scheduled publication failed")

    def at(self, moment: datetime, sent_at: datetime, action: Callable[[], None]) -> None:
        """Runs `action` now, or at `moment` if that is SES's retries (further past the send than a settle)."""
        if moment - sent_at > SCHEDULE_BEYOND and moment > self.now:
            self.scheduled.append((moment, len(self.scheduled), action))
        else:
            action()

    def _on_suppression_list(self, message: SentMessage) -> frozenset[str]:
        if self.suppression_list is None:
            return frozenset()
        return frozenset(address for address in destination(message) if self.suppression_list.get(address))

    def handle(self, pending: PendingMessage) -> None:
        message, outcomes = pending.message, recipient_outcomes(pending.message, pending.suppressed)
        infected = carries_a_virus(message)
        if self.suppression_list is not None and not infected:
            for address, reason in suppression_list_additions(outcomes).items():
                # When its hard bounce happens (after SES's retries for an unresolvable domain), scheduled ahead of
                # the bounce event at the same moment: whoever reads the bounce finds the address listed already.
                moments = [
                    _retry_moment(message, fate.retry_fraction, BOUNCE_AFTER_MS, self.retry_seconds)
                    for fate in outcomes[address]
                    if isinstance(fate, Bounced)
                ]
                self.at(max(moments, default=message.sent_at), message.sent_at, self._suppress(address, reason))
        self.publish(message, pending.suppressed)
        if infected:
            return  # nothing was delivered: nobody bounces, complains or answers
        self.send_replies(message, outcomes)

    def _suppress(self, address: str, reason: str) -> Callable[[], None]:
        def put() -> None:
            assert self.suppression_list is not None
            self.suppression_list.put(address, reason)
            log.info("ses: %s added to the account-level suppression list (%s)", address, reason)

        return put

    def _publish(self, message: SentMessage, event: dict, description: str, **request: Any) -> None:
        def send() -> None:
            self.sns.publish(**request)
            log.info("ses %s -> %s", message.message_id, description)

        self.at(event_moment(event), message.sent_at, send)

    def publish(self, message: SentMessage, suppressed: Collection[str] = ()) -> None:
        configuration_set = message.configuration_set
        target = sns_destination(self.ses_backend, configuration_set)
        events = events_for(
            message, configuration_set or "", self.region, self.account_id, suppressed, self.retry_seconds
        )
        if configuration_set is None or target is None:
            log.info("ses %s: no configuration set with an SNS event destination", message.message_id)
        else:
            for event in events:
                if target.matches(event["eventType"]):
                    request = {"TopicArn": target.topic_arn, "Subject": EVENT_SUBJECT, "Message": sns_message(event)}
                    self._publish(message, event, _describe(event), **request)
        identity = self.identity_notifications
        if identity is not None and identity.covers(message):
            for event in events:
                notification = identity_notification(event, identity.include_headers)
                if notification is not None and notification["notificationType"] in identity.types:
                    # Feedback notifications carry no SNS Subject and no trailing newline (real captures).
                    request = {"TopicArn": identity.topic_arn, "Message": json.dumps(notification)}
                    self._publish(message, event, f"identity {_describe(event)}", **request)

    def send_replies(self, message: SentMessage, outcomes: dict[str, tuple[Outcome, ...]]) -> None:
        replied_at = _later(message, REPLY_AFTER_MS)
        for address in silenced_responders(message, outcomes):
            log.info("ses: %s stays silent: %s is Auto-Submitted (RFC 3834)", address, message.message_id)
        for reply in replies_for(message, outcomes, replied_at):
            if not reply.automatic:
                thread = (reply.mailbox.lower(), thread_root(message.mime))
                if thread in self.answered_threads:
                    continue
                self.answered_threads.add(thread)
            if self.inbound is None or not self.inbound.accepts(reply.recipient):
                log.info("ses: %s answered %s, for which no receipt rule exists", reply.mailbox, reply.recipient)
                continue
            notification = received_notification(reply, self.inbound.topic_arn, replied_at, self.region)
            if self.inbound.bucket:
                # SES stores the message first, then notifies: the handler can always read what it is told of.
                notification, key, raw = stored_notification(notification, self.inbound.bucket)
                self.s3.put_object(Bucket=self.inbound.bucket, Key=key, Body=raw)
            self.sns.publish(TopicArn=self.inbound.topic_arn, Subject=RECEIPT_SUBJECT, Message=json.dumps(notification))
            kind = "automatic reply" if reply.automatic else "reply"
            log.info(
                "ses: %s -> %s (%s, inbound %s)",
                reply.mailbox,
                reply.recipient,
                kind,
                notification["mail"]["messageId"],
            )


def event_moment(event: dict) -> datetime:
    """When the event happened: its outcome's timestamp (the send's for Send)."""
    detail: dict = next((value for key, value in event.items() if key not in ("eventType", "mail")), {})
    stamp = (detail or {}).get("timestamp") or event["mail"]["timestamp"]
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


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
