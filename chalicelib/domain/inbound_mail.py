"""Reads SES inbound ("Received") notifications: who wrote, about which ticket, what they said. No I/O."""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr

from chalicelib.domain import sns
from chalicelib.domain.attachments import IncomingFile
from chalicelib.ids import normalize_timestamp, stable_ordered_id

MAX_BODY = 65536


class MalformedInbound(ValueError):
    """A message body that is no SES inbound notification."""


@dataclass(frozen=True)
class NotInbound:
    """A well-formed message with nothing to do (an SNS subscription notice, another notification type)."""

    reason: str


# SES receipt verdicts (spfVerdict, dkimVerdict, dmarcVerdict): PASS, FAIL, GRAY (nothing to check: no record, no
# signature), PROCESSING_FAILED. dmarcPolicy comes only with a DMARC FAIL: what the From domain asks receivers to do.
PASS, FAIL, GRAY = "PASS", "FAIL", "GRAY"
DMARC_REJECT, DMARC_QUARANTINE, DMARC_NONE = "REJECT", "QUARANTINE", "NONE"

# Why an inbound email is held for review rather than made a comment.
HELD_DMARC_REJECT = "dmarc_policy_reject"
HELD_DMARC_QUARANTINE = "dmarc_policy_quarantine"
HELD_UNAUTHENTICATED = "authentication_failed"


@dataclass(frozen=True)
class Authentication:
    """What SES's receipt found about the sender's authenticity."""

    spf: str = GRAY
    dkim: str = GRAY
    dmarc: str = GRAY
    dmarc_policy: str | None = None

    def as_record(self) -> dict:
        return {"spf": self.spf, "dkim": self.dkim, "dmarc": self.dmarc, "dmarc_policy": self.dmarc_policy}


def hold_reason(authentication: Authentication) -> str | None:
    """Whether mail claiming to be from a customer must wait for an agent instead of becoming their comment.

    Held: a DMARC failure where the From domain's owner publishes p=reject or p=quarantine (they say such mail is not
    theirs); and mail that SPF or DKIM proves forged (a FAIL) while neither vouches for it (no PASS), whatever DMARC
    says. Not held: a DMARC failure under p=none with SPF or DKIM passing (forwarders and mailing lists break
    alignment every day, and the owner asked receivers not to act), and GRAY or PROCESSING_FAILED verdicts alone (most
    small domains publish nothing; an SES hiccup must not lose a reply). A spoofer of a domain with no DMARC and a
    passing SPF for its own envelope domain is not caught here: no verdict SES gives can tell.
    """
    if authentication.dmarc == FAIL and authentication.dmarc_policy == DMARC_REJECT:
        return HELD_DMARC_REJECT
    if authentication.dmarc == FAIL and authentication.dmarc_policy == DMARC_QUARANTINE:
        return HELD_DMARC_QUARANTINE
    forged = FAIL in (authentication.spf, authentication.dkim)
    vouched = PASS in (authentication.spf, authentication.dkim)
    if forged and not vouched:
        return HELD_UNAUTHENTICATED
    return None


def _verdict(receipt: dict, name: str) -> str:
    value = receipt.get(name)
    status = value.get("status") if isinstance(value, dict) else None
    return str(status).upper() if status else GRAY


def authentication_of(receipt: dict) -> Authentication:
    policy_value = receipt.get("dmarcPolicy")
    policy = policy_value.get("status") if isinstance(policy_value, dict) else policy_value
    return Authentication(
        spf=_verdict(receipt, "spfVerdict"),
        dkim=_verdict(receipt, "dkimVerdict"),
        dmarc=_verdict(receipt, "dmarcVerdict"),
        dmarc_policy=str(policy).upper() if isinstance(policy, str) and policy else None,
    )


@dataclass(frozen=True)
class InboundEmail:
    ses_message_id: str
    sender: str  # the From address, lower-cased
    sender_name: str
    recipients: tuple[str, ...]  # the envelope recipients SES received it for
    subject: str
    headers: tuple[tuple[str, str], ...]
    text: str  # the new text of the message, without the quoted history
    received_at: str
    spam_or_virus: bool = False
    full_text: str = ""  # the whole text part, quotes and all, for the agent who needs the history
    authentication: Authentication = Authentication()
    attachments: tuple[IncomingFile, ...] = ()  # its files (parts with a filename or "attachment"), in order

    def header(self, name: str) -> str:
        return " ".join(value for key, value in self.headers if key.lower() == name.lower())


@dataclass(frozen=True)
class StoredMessage:
    """Where the receipt rule's S3 action put the raw message (its notification has no content)."""

    bucket: str
    key: str


def unwrap(body: str) -> dict:
    """The SES notification in an SQS body (SNS envelope or raw); control messages become a notificationType."""
    return _unwrap(body)


def stored_message(notification: dict) -> StoredMessage | None:
    """The S3 object to read when the receipt's action is "S3"; None when the notification carries `content`."""
    action = (notification.get("receipt") or {}).get("action") or {}
    if not isinstance(action, dict) or str(action.get("type", "")).upper() != "S3":
        return None
    bucket, key = action.get("bucketName"), action.get("objectKey")
    if not isinstance(bucket, str) or not bucket or not isinstance(key, str) or not key:
        raise MalformedInbound("an S3 action without bucketName and objectKey")
    return StoredMessage(bucket, key)


def _unwrap(body: str) -> dict:
    try:
        document = sns.unwrap(body)
    except sns.UnreadableBody as error:
        raise MalformedInbound(str(error)) from None
    if isinstance(document, sns.ControlMessage):
        return {"notificationType": document.type}
    return document


_LONE_SURROGATE = re.compile("[\ud800-\udc7f\udd00-\udfff]")  # U+DC80..U+DCFF: raw bytes, as surrogateescape reads


def _raw_mime(notification: dict) -> bytes | None:
    content = notification.get("content")
    if not isinstance(content, str) or not content:
        return None
    encoding = str((notification.get("receipt") or {}).get("action", {}).get("encoding") or "UTF8").upper()
    if encoding == "BASE64":
        try:
            return base64.b64decode(content, validate=False)
        except (binascii.Error, ValueError) as error:
            raise MalformedInbound(f"content is not Base64: {error}") from None
    # A JSON "\ud800" escape is a lone surrogate no codec can write: it becomes U+FFFD, the rest is kept as sent.
    return _LONE_SURROGATE.sub("\ufffd", content).encode("utf-8", "surrogateescape")


# Where a mail client starts quoting the message it answers, in en, it, de, es and fr. A small table rather than
# mail-parser-reply: measured here, that library costs 30-110 ms of import and 15 ms on its first parse on the
# inbound function, misses Gmail's Spanish attribution with a parenthesised address and our own marker, and
# would need these additions anyway. Attribution lines that clients wrap over two lines are joined first.
_ATTRIBUTION = re.compile(
    r"^\s*(?:"
    r"On\b.+\bwrote\s?:"  # Gmail, Apple Mail, Thunderbird (en)
    r"|Il giorno\b.+\bha scritto\s?:|In data\b.+\bha scritto\s?:|.+\bha scritto\s?:"  # it
    r"|Am\b.+\bschrieb\b.*:|.+\bschrieb\s?:"  # de
    r"|El\b.+\bescribi[oó]\s?:|.+\bescribi[oó]\s?:"  # es
    r"|Le\b.+\ba [ée]crit\s?:|.+\ba [ée]crit\s?:"  # fr
    r")\s*$",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(
    r"^\s*(?:-{2,}\s*(?:Original Message|Messaggio originale|Urspr[üu]ngliche Nachricht|Mensaje original"
    r"|Message d'origine|Forwarded message|Messaggio inoltrato|Weitergeleitete Nachricht|Mensaje reenviado"
    r"|Message transf[ée]r[ée])\s*-{2,}|_{20,}|-{20,})\s*$",
    re.IGNORECASE,
)
# Outlook's quoted header block: a From line followed closely by a Sent/Date line, in each language.
_HEADER_FROM = re.compile(r"^\s*\*?(?:From|Von|De|Da|Desde)\s?:\*?\s+\S", re.IGNORECASE)
_HEADER_SENT = re.compile(
    r"^\s*\*?(?:Sent|Date|Gesendet|Datum|Envoy[ée]|Inviato|Data|Enviado|Fecha)\s?:\*?\s+\S", re.IGNORECASE
)
# deskmail's own "##- Please type your reply above this line -##", in whichever language the customer got it.
_OUR_MARKER = re.compile(r"^[\s>]*##-.*-##\s*$")


def _quote_starts(lines: list[str], index: int) -> bool:
    line = lines[index]
    if _OUR_MARKER.match(line) or _SEPARATOR.match(line):
        return True
    if _ATTRIBUTION.match(line):
        return True
    following = lines[index + 1] if index + 1 < len(lines) else ""
    if line.strip() and following.strip() and _ATTRIBUTION.match(f"{line.rstrip()} {following.strip()}"):
        return not line.lstrip().startswith(">")
    if _HEADER_FROM.match(line):
        return any(_HEADER_SENT.match(candidate) for candidate in lines[index + 1 : index + 4])
    return False


def reply_text(text: str) -> str:
    """The text above the quoted history (our marker, a client's attribution line or header block), without
    '>' lines."""
    lines = text.replace("\r\n", "\n").split("\n")
    kept = []
    for index, line in enumerate(lines):
        if _quote_starts(lines, index):
            break
        if not line.lstrip().startswith(">"):
            kept.append(line.rstrip())
    return "\n".join(kept).strip()[:MAX_BODY]


def _body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        text = part.get_content()
    except (LookupError, ValueError):
        text = part.get_payload(decode=True).decode("utf-8", "replace")  # type: ignore[union-attr]
    if part.get_content_subtype() == "html":
        text = re.sub(r"(?is)<(script|style).*?</\1>", "", text)
        text = re.sub(r"(?i)<br\s*/?>|</p>|</div>", "\n", text)
        text = re.sub(r"<[^>]+>", "", text)
    return text


def parse(body: str | dict, received_at: str, stored: bytes | None = None) -> InboundEmail | NotInbound:
    """`body`: the SQS body, or the notification unwrap() read from it; `stored`: the raw message the S3 action
    stored (see stored_message), for notifications without content."""
    notification = _unwrap(body) if isinstance(body, str) else body
    kind = notification.get("notificationType")
    if kind != "Received":
        return NotInbound(f"notificationType {kind!r}")
    mail = notification.get("mail")
    if not isinstance(mail, dict) or not mail.get("messageId"):
        raise MalformedInbound("no mail.messageId")
    receipt = notification.get("receipt") or {}
    common = mail.get("commonHeaders") or {}
    headers = [
        (str(h.get("name", "")), str(h.get("value", ""))) for h in mail.get("headers") or [] if isinstance(h, dict)
    ]
    text = ""
    files: tuple[IncomingFile, ...] = ()
    raw = stored if stored is not None else _raw_mime(notification)
    if raw is not None:
        message = BytesParser(policy=policy.default).parsebytes(raw)
        # The raw message is complete where the notification's header list may be truncated.
        headers = [(name, str(value)) for name, value in message.items()]
        text = _body_text(message)  # type: ignore[arg-type]
        files = _files(message)  # type: ignore[arg-type]
    header_map: dict[str, str] = {}
    for name, value in headers:
        header_map.setdefault(name.lower(), value)
    from_header = header_map.get("from") or ", ".join(common.get("from") or []) or mail.get("source", "")
    sender_name, sender = parseaddr(from_header)
    subject = header_map.get("subject") or common.get("subject") or ""
    verdicts = [(receipt.get(name) or {}).get("status") for name in ("spamVerdict", "virusVerdict")]
    return InboundEmail(
        ses_message_id=str(mail["messageId"]),
        sender=sender.lower(),
        sender_name=sender_name,
        recipients=tuple(str(r).lower() for r in receipt.get("recipients") or mail.get("destination") or []),
        subject=subject,
        headers=tuple(headers),
        text=reply_text(text),
        received_at=normalize_timestamp(_text_or_none(mail.get("timestamp")), received_at),
        spam_or_virus="FAIL" in verdicts,
        full_text=text.replace("\r\n", "\n").strip()[:MAX_BODY],
        authentication=authentication_of(receipt if isinstance(receipt, dict) else {}),
        attachments=files,
    )


MAX_FILES_READ = 50  # parts beyond these are not even decoded (a message of thousands of tiny parts)


def _files(message: EmailMessage) -> tuple[IncomingFile, ...]:
    """The message's attachments: parts that are not its body, with their (untrusted) name, type and bytes."""
    found: list[IncomingFile] = []
    for part in message.iter_attachments():
        if len(found) >= MAX_FILES_READ:
            break
        if part.is_multipart():
            continue
        try:
            data = part.get_payload(decode=True)
            name = part.get_filename() or ""
        except (LookupError, ValueError, TypeError):
            continue
        if not isinstance(data, bytes):
            continue
        found.append(IncomingFile(str(name), part.get_content_type(), data))
    return tuple(found)


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


_ANGLE_IDS = re.compile(r"<([^<>\s]+)>")
_TICKET_ID = r"([0-9a-z]{26})"


def referenced_ticket_ids(email: InboundEmail, domain: str) -> list[str]:
    """Ticket ids in In-Reply-To/References (<ticket-{id}...@domain>) and in plus-addressed recipients."""
    found: list[str] = []
    own = re.compile(rf"^ticket-{_TICKET_ID}(?:-[0-9a-z]+)?@{re.escape(domain)}$", re.IGNORECASE)
    for message_id in _ANGLE_IDS.findall(f"{email.header('In-Reply-To')} {email.header('References')}"):
        match = own.match(message_id)
        if match:
            found.append(match.group(1).lower())
    plus = re.compile(rf"^[^@+]+\+{_TICKET_ID}@{re.escape(domain)}$", re.IGNORECASE)
    addresses = [address for _, address in getaddresses([email.header("To"), email.header("Cc")])]
    for address in [*email.recipients, *addresses]:
        match = plus.match(address.strip())
        if match:
            found.append(match.group(1).lower())
    return list(dict.fromkeys(found))


_SES_MESSAGE_ID = re.compile(r"^([0-9a-zA-Z\-]+)@(?:email\.|[a-z0-9\-]+\.)?amazonses\.com$", re.IGNORECASE)


def referenced_ses_message_ids(email: InboundEmail) -> list[str]:
    """SES message ids of our notifications this answers: SES rewrites Message-ID to <{id}@email.amazonses.com>."""
    found = []
    for message_id in _ANGLE_IDS.findall(f"{email.header('In-Reply-To')} {email.header('References')}"):
        match = _SES_MESSAGE_ID.match(message_id)
        if match:
            found.append(match.group(1))
    return list(dict.fromkeys(found))


# "[Ticket 4TDV9V]" as notification subjects carry it (any language's word before the reference, or none).
_SUBJECT_REFERENCE = re.compile(r"\[(?:[^\[\]\s]{1,20}\s+)?#?([0-9A-Za-z]{6})\]")


def referenced_ticket_reference(email: InboundEmail) -> str | None:
    """The ticket reference in the subject, for replies whose client dropped In-Reply-To and References."""
    match = _SUBJECT_REFERENCE.search(email.subject)
    return match.group(1).upper() if match else None


def comment_id_for(email: InboundEmail) -> str:
    """The id of the comment this email becomes: derived from SES's message id, so a retry after a partial success
    writes the same comment instead of a second one, and time-ordered on the receipt, as comment ids are."""
    return stable_ordered_id(email.received_at, "inbound-comment", email.ses_message_id)
