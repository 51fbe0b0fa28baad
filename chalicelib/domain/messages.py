"""Builds the MIME email a trigger sends: threading headers, SES headers, loop-safety headers."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr

from chalicelib.domain.model import Recipient


@dataclass(frozen=True)
class OutgoingEmail:
    sender: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    body: str
    rfc_message_id: str
    thread_root_id: str
    tags: dict[str, str]
    configuration_set: str
    auto_submitted: bool = False
    # Notification emails (issue 14): the HTML alternative, the language, threading on SES's ids, the ticket's reply
    # address as (name, address).
    html: str = ""
    content_language: str = ""
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    reply_to: tuple[str, str] | None = None

    @property
    def destinations(self) -> tuple[str, ...]:
        return self.to + self.cc


def thread_root_id(ticket_id: str, domain: str) -> str:
    """Every notification of a ticket refers to this id, so mail clients thread them and replies find the ticket."""
    return f"<ticket-{ticket_id}@{domain}>"


def notification_message_id(ticket_id: str, notification_id: str, domain: str) -> str:
    return f"<ticket-{ticket_id}-{notification_id}@{domain}>"


def addresses(recipients: tuple[Recipient, ...], header: str) -> tuple[str, ...]:
    return tuple(
        formataddr((recipient.name, recipient.email))
        for recipient in recipients
        if recipient.header == header and recipient.email
    )


def to_mime(email: OutgoingEmail) -> bytes:
    message = EmailMessage()
    message["From"] = email.sender
    if email.to:
        message["To"] = ", ".join(email.to)
    if email.cc:
        message["Cc"] = ", ".join(email.cc)
    message["Subject"] = email.subject
    if email.reply_to:
        message["Reply-To"] = formataddr(email.reply_to)
    message["Message-ID"] = email.rfc_message_id
    message["In-Reply-To"] = email.in_reply_to or email.thread_root_id
    message["References"] = " ".join(email.references) or email.thread_root_id
    # Ask Exchange and friends not to answer with out-of-office replies (loop protection).
    message["X-Auto-Response-Suppress"] = "OOF, AutoReply"
    if email.auto_submitted:
        message["Auto-Submitted"] = "auto-generated"
    # Real SES reads these from a raw message too; the local stack's simulator relies on them.
    message["X-SES-CONFIGURATION-SET"] = email.configuration_set
    message["X-SES-MESSAGE-TAGS"] = ", ".join(f"{name}={value}" for name, value in email.tags.items())
    message.set_content(email.body)
    if email.html:
        message.add_alternative(email.html, subtype="html")
    if email.content_language:
        message["Content-Language"] = email.content_language  # after set_content, which drops Content-* headers
    return message.as_bytes()
