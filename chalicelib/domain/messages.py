"""Builds the MIME email a trigger sends: threading headers, SES headers, loop-safety headers.

Headers and body are built apart. `header_fields` turns every header value into plain, already folded ASCII
itself (RFC 2047 encoded words for anything that is not plain text), so no value a user typed ever reaches
Python's header parser and folder. Why: CPython before 3.11.10 / 3.12.5 / 3.13.0 (CVE-2024-6923, gh-121650)
re-emits an encoded word that decodes to CR/LF as a real header line (this machine's 3.11.7 does), and
gh-144125 (CVE-2026-1299, 2026) found the same class again in BytesGenerator. The Lambda runtime (python3.11
in infrastructure/ when this was written, moving to python3.12 or 3.13) is kept by AWS on the newest patch
release, so it has the 2024 fix; whether a 3.12 runtime has the 2026 one could not be checked offline. This
module relies on neither: `to_mime` also reads back what it built and refuses a message whose header names or
recipients differ from the ones it meant to write, and the SES adapter passes the recipients in Destination.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser, BytesParser
from email.utils import formataddr, getaddresses, parseaddr
from urllib.parse import quote

from chalicelib.domain.model import Attachment, Recipient

# Characters that end or split a header line in some reader: C0/C1 controls (CR, LF, NUL, NEL U+0085...), DEL,
# and the Unicode line/paragraph separators. validation.py refuses them at input; header_text replaces them again.
LINE_BREAKING = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# An RFC 2047 encoded word: decodes to any bytes (CR/LF included) in whichever program reads it next.
ENCODED_WORD = re.compile(r"=\?[^?]*\?[bq]\?[^?]*\?=", re.IGNORECASE)
_SURROGATE = re.compile("[\ud800-\udfff]")
_PLAIN = re.compile(r"^[\x20-\x7e]*$")
# A bare address as email-validator normalizes it (ASCII, no quoted local part): nothing a header parser splits.
_ADDRESS = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.\-]+@[A-Za-z0-9.\-]+$")
LINESEP = "\n"  # what email.policy.default writes for the body part; one line ending for the whole message
_MAX_LINE = 78
_MAX_WORD_BYTES = 45  # base64 of 45 bytes is 60 characters: "=?utf-8?b?" + 60 + "?=" stays under RFC 2047's 75


class UnsafeHeader(ValueError):
    """A header would say something other than what deskmail meant: the message is refused, never sent."""


@dataclass(frozen=True)
class Mailbox:
    """One recipient as the headers show them: a display name and a bare address."""

    name: str
    address: str


@dataclass(frozen=True)
class OutgoingEmail:
    sender: str
    # Mailbox values; a str is an address, optionally "Name <address>" (tools and tests write them so).
    to: tuple[Mailbox | str, ...]
    cc: tuple[Mailbox | str, ...]
    subject: str
    body: str
    rfc_message_id: str
    thread_root_id: str
    tags: dict[str, str]
    configuration_set: str
    auto_submitted: bool = False
    # Notification emails (issue 14): the HTML alternative, the language, threading on SES's Message-IDs, and the
    # ticket's reply address as (name, address).
    html: str = ""
    content_language: str = ""
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    reply_to: tuple[str, str] | None = None
    # Files carried inline (multipart/mixed); the SES adapter reads their bytes at send time (never stored here).
    attachments: tuple[Attachment, ...] = ()

    @property
    def to_addresses(self) -> tuple[str, ...]:
        return tuple(mailbox(entry).address for entry in self.to)

    @property
    def cc_addresses(self) -> tuple[str, ...]:
        return tuple(mailbox(entry).address for entry in self.cc)

    @property
    def destinations(self) -> tuple[str, ...]:
        """The bare addresses SES is told to send to (Destination), the same as the To and Cc headers show."""
        return self.to_addresses + self.cc_addresses


def thread_root_id(ticket_id: str, domain: str) -> str:
    """Every notification of a ticket refers to this id, so mail clients thread them and replies find the ticket."""
    return f"<ticket-{ticket_id}@{domain}>"


def notification_message_id(ticket_id: str, notification_id: str, domain: str) -> str:
    return f"<ticket-{ticket_id}-{notification_id}@{domain}>"


def addresses(recipients: tuple[Recipient, ...], header: str) -> tuple[Mailbox, ...]:
    return tuple(
        Mailbox(recipient.name, recipient.email)
        for recipient in recipients
        if recipient.header == header and recipient.email
    )


# ---- headers: every value user text can reach is cleaned and encoded here, nowhere else -------------------------


def header_text(value: str) -> str:
    """One line of text: controls and line separators become spaces, lone surrogates U+FFFD, runs of space one."""
    cleaned = _SURROGATE.sub("\ufffd", LINE_BREAKING.sub(" ", value))
    return " ".join(cleaned.split())


def mailbox(entry: Mailbox | str) -> Mailbox:
    found = entry if isinstance(entry, Mailbox) else Mailbox(*parseaddr(entry))
    address = found.address.strip()
    if not _ADDRESS.match(address):
        raise UnsafeHeader(f"not a plain address: {address!r}")
    return Mailbox(header_text(found.name), address)


def _encoded_words(text: str) -> list[str]:
    """text as UTF-8 base64 encoded words, split on character boundaries so each word decodes on its own."""
    chunks: list[bytes] = []
    chunk = b""
    for character in text:
        encoded = character.encode("utf-8")
        if len(chunk) + len(encoded) > _MAX_WORD_BYTES:
            chunks.append(chunk)
            chunk = b""
        chunk += encoded
    if chunk:
        chunks.append(chunk)
    return [f"=?utf-8?b?{base64.b64encode(chunk).decode('ascii')}?=" for chunk in chunks]


def _words(text: str) -> list[str]:
    """The header's words: plain ASCII as is, anything else (or anything that looks encoded) encoded by us."""
    text = header_text(text)
    if _PLAIN.match(text) and "=?" not in text:
        return text.split(" ") if text else []
    return _encoded_words(text)


def _phrase(name: str, address: str) -> list[str]:
    name = header_text(name)
    if not name:
        return [address]
    if _PLAIN.match(name) and "=?" not in name:
        return formataddr((name, address)).split(" ")  # quotes and escapes specials (",", "<", '"', "\\")
    return [*_encoded_words(name), f"<{address}>"]


def _structural(value: str) -> str:
    """A value deskmail made itself (ids, configuration): it must already be one line of ASCII."""
    if not _PLAIN.match(value) or "=?" in value:
        raise UnsafeHeader(f"not a plain header value: {value!r}")
    return value


def _fold(name: str, words: list[str]) -> str:
    """Name: words, folded at spaces between words so that lines stay near 78 characters."""
    lines: list[str] = []
    line = f"{name}:"
    for word in words:
        if len(line) + 1 + len(word) > _MAX_LINE and line != f"{name}:":
            lines.append(line)
            line = ""
        line = f"{line} {word}"
    lines.append(line)
    return LINESEP.join(lines)


def _mailbox_list(entries: tuple[Mailbox | str, ...]) -> list[str]:
    words: list[str] = []
    for position, entry in enumerate(entries):
        found = mailbox(entry)
        phrase = _phrase(found.name, found.address)
        if position < len(entries) - 1:
            phrase[-1] += ","
        words.extend(phrase)
    return words


def header_fields(email: OutgoingEmail) -> list[tuple[str, str]]:
    """(name, folded ASCII line) for every header deskmail sets, in order."""
    fields = [("From", _fold("From", _mailbox_list((email.sender,))))]
    if email.to:
        fields.append(("To", _fold("To", _mailbox_list(email.to))))
    if email.cc:
        fields.append(("Cc", _fold("Cc", _mailbox_list(email.cc))))
    if email.reply_to:
        fields.append(("Reply-To", _fold("Reply-To", _mailbox_list((Mailbox(*email.reply_to),)))))
    structural = [
        ("Message-ID", email.rfc_message_id),
        # SES's Message-IDs of the recipients' earlier notifications (threads.thread_headers), else the root.
        ("In-Reply-To", email.in_reply_to or email.thread_root_id),
        ("References", " ".join(email.references) or email.thread_root_id),
        # Ask Exchange and friends not to answer with out-of-office replies (loop protection).
        ("X-Auto-Response-Suppress", "OOF, AutoReply"),
    ]
    if email.auto_submitted:
        structural.append(("Auto-Submitted", "auto-generated"))
    if email.content_language:
        structural.append(("Content-Language", email.content_language))
    # Real SES reads these from a raw message too; the local stack's simulator relies on them.
    structural.append(("X-SES-CONFIGURATION-SET", email.configuration_set))
    structural.append(("X-SES-MESSAGE-TAGS", ", ".join(f"{name}={value}" for name, value in email.tags.items())))
    fields.append(("Subject", _fold("Subject", _words(email.subject))))
    fields.extend((name, _fold(name, _structural(value).split(" "))) for name, value in structural)
    return fields


def _verify(raw: bytes, expected_names: list[str], email: OutgoingEmail) -> None:
    """Reads the message back as a receiver would: the same header names, and exactly the intended recipients."""
    parsed = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
    if [name.lower() for name in parsed.keys()] != [name.lower() for name in expected_names]:
        raise UnsafeHeader(f"headers {parsed.keys()} instead of {expected_names}")
    for header, intended in (("To", email.to_addresses), ("Cc", email.cc_addresses)):
        found = tuple(address for _, address in getaddresses(parsed.get_all(header, [])))
        if found != intended:
            raise UnsafeHeader(f"{header} reads as {found} instead of {intended}")


# ---- body -----------------------------------------------------------------------------------------------------------


def body_part(email: OutgoingEmail) -> EmailMessage:
    """The content: only the MIME headers the email package writes for it (Content-Type, ...), none from users."""
    message = EmailMessage(policy=policy.default)
    message.set_content(email.body)
    if email.html:
        # multipart/alternative: clients show the last part they can (the HTML), the text part is the fallback.
        message.add_alternative(email.html, subtype="html")
    return message


def to_mime(email: OutgoingEmail, contents: Mapping[str, bytes] | None = None) -> bytes:
    """The raw message. With attachments (their bytes in `contents`, by key): multipart/mixed, the body first."""
    content = body_part(email)
    fields = header_fields(email)
    head = "".join(line + LINESEP for _, line in fields).encode("ascii")
    if not email.attachments:
        raw = head + content.as_bytes()
        _verify(raw, [name for name, _ in fields] + list(content.keys()), email)
        return raw
    files = [(attachment, (contents or {})[attachment.key]) for attachment in email.attachments]
    body = content.as_bytes()
    # The body part without MIME-Version (the outer message says it once), exactly as the email package wrote it.
    part_head, _, part_body = body.partition(b"\n\n")
    kept = [line for line in part_head.split(b"\n") if not line.lower().startswith(b"mime-version:")]
    body = b"\n".join(kept) + b"\n\n" + part_body
    boundary = _boundary(body)
    mixed = [
        ("MIME-Version", "MIME-Version: 1.0"),
        ("Content-Type", f'Content-Type: multipart/mixed; boundary="{boundary}"'),
    ]
    parts = [b"--" + boundary.encode("ascii") + b"\n" + body.rstrip(b"\n") + b"\n"]
    for attachment, data in files:
        part_head = "".join(line + LINESEP for line in attachment_headers(attachment)).encode("ascii")
        parts.append(b"--" + boundary.encode("ascii") + b"\n" + part_head + b"\n" + _base64_lines(data))
    raw = (
        head
        + "".join(line + LINESEP for _, line in mixed).encode("ascii")
        + b"\n"
        + b"".join(parts)
        + b"--"
        + boundary.encode("ascii")
        + b"--\n"
    )
    _verify(raw, [name for name, _ in fields] + [name for name, _ in mixed], email)
    _verify_parts(raw, email.attachments)
    return raw


# ---- attachments: their part headers are built here from sanitised names, percent-encoded (RFC 2231) ---------------


def attachment_headers(attachment: Attachment) -> list[str]:
    """The part's header lines, plain ASCII: the type from our own table (made safe); the name quoted when it is
    plain ASCII, else as RFC 2231's filename* (UTF-8 percent-encoding: no CR, LF, quote or space to break out
    with). A name is at most 200 bytes (sanitize_name), so the filename* line stays under 998 characters."""
    from chalicelib.domain import attachments

    media_type = attachments.safe_type(attachment.content_type)
    fallback = attachments.ascii_fallback(attachment.name)
    if fallback == attachment.name:
        # Plain ASCII that needs no quoting: the simple form every reader knows.
        return [
            f'Content-Type: {_structural(media_type)}; name="{_structural(fallback)}"',
            f'Content-Disposition: attachment; filename="{_structural(fallback)}"',
            "Content-Transfer-Encoding: base64",
        ]
    # Anything else only as filename*: a reader that sees both forms may show the ASCII one (Python's does).
    return [
        f"Content-Type: {_structural(media_type)}",
        "Content-Disposition: attachment;",
        f" filename*=utf-8''{_structural(quote(attachment.name, safe=''))}",
        "Content-Transfer-Encoding: base64",
    ]


def _boundary(body: bytes) -> str:
    while True:
        boundary = f"=_deskmail_{secrets.token_hex(16)}"  # "=_" never occurs in Base64 or quoted-printable
        if boundary.encode("ascii") not in body:
            return boundary


def _base64_lines(data: bytes) -> bytes:
    encoded = base64.b64encode(data)
    return b"".join(encoded[start : start + 76] + b"\n" for start in range(0, len(encoded), 76))


def _verify_parts(raw: bytes, intended: tuple[Attachment, ...]) -> None:
    """Reads the parts back: the body, then exactly the intended files, each with only the three headers we wrote
    and the intended filename."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    parts = message.get_payload()
    if not message.is_multipart() or not isinstance(parts, list) or len(parts) != 1 + len(intended):
        raise UnsafeHeader("the attachments are not the message's parts")
    for part, attachment in zip(parts[1:], intended, strict=True):
        names = [name.lower() for name in part.keys()]
        if names != ["content-type", "content-disposition", "content-transfer-encoding"]:
            raise UnsafeHeader(f"an attachment part has headers {names}")
        if part.get_filename() != attachment.name:
            raise UnsafeHeader(f"an attachment reads as {part.get_filename()!r}, not {attachment.name!r}")
