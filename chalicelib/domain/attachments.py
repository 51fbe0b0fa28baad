"""Rules for files on comments: names, ids, content types, and which ones a notification carries inline.

Plain Python on plain values: no boto3, no I/O (the bucket is chalicelib/adapters/files.py).

Content types are sniffed with a small magic-number table rather than a library: python-magic needs libmagic, a
native library the Lambda runtime does not ship; the pure-Python ones (filetype, puremagic) know hundreds of
formats we would never act on, and every type we decide on is here, readable in one screen. What we do not
recognise, or what contradicts the uploader's hint, is stored as application/octet-stream (a download, never
rendered).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from chalicelib.domain.model import Attachment

OCTET_STREAM = "application/octet-stream"
SNIFF_BYTES = 512  # what the ranged GetObject reads: every signature below fits, and enough text to judge it

# How a notification carries its comment's files: "auto" (inline up to the budget, links beyond), "links" (all
# as download links: the resend after a "message too large" bounce).
AUTO = "auto"
LINKS = "links"
MODES = (AUTO, LINKS)

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # ids.py's: ids stay [0-9a-z]{26} (validation.ID_PATTERN)

# (offset, signature, type). Checked in order; ZIP-based office formats are told apart by the hint (below).
_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"%PDF-", "application/pdf"),
    (0, b"\x89PNG\r\n\x1a\n", "image/png"),
    (0, b"\xff\xd8\xff", "image/jpeg"),
    (0, b"GIF87a", "image/gif"),
    (0, b"GIF89a", "image/gif"),
    (0, b"II*\x00", "image/tiff"),
    (0, b"MM\x00*", "image/tiff"),
    (0, b"BM", "image/bmp"),
    (0, b"PK\x03\x04", "application/zip"),
    (0, b"PK\x05\x06", "application/zip"),  # an empty archive
    (0, b"\x1f\x8b", "application/gzip"),
    (0, b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
    (0, b"Rar!\x1a\x07", "application/vnd.rar"),
    (0, b"ID3", "audio/mpeg"),
    (0, b"OggS", "audio/ogg"),
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/x-ole-storage"),  # old .doc/.xls/.msg
)
_RIFF = {b"WEBP": "image/webp", b"WAVE": "audio/wav", b"AVI ": "video/x-msvideo"}
_FTYP = {b"heic": "image/heic", b"heix": "image/heic", b"mif1": "image/heif", b"qt  ": "video/quicktime"}
_ZIP_CONTAINERS = frozenset(
    {
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        "application/vnd.oasis.opendocument.presentation",
        "application/epub+zip",
    }
)
_OLE_TYPES = frozenset({"application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint"})
_TEXT_TYPES = frozenset({"text/plain", "text/csv", "text/markdown", "application/json", "text/calendar"})
_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "application/x-zip-compressed": "application/zip"}
# Types a browser would render or run from our origin or the bucket's: downloads are served as octet-stream.
_ACTIVE = re.compile(r"^(text/html|application/xhtml\+xml|image/svg\+xml|text/xml|application/xml|text/javascript)$")
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+\-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+\-]{0,127}$")
_MARKUP = re.compile(rb"^\s*(<\?xml[^>]*>\s*)?<(!doctype\s+html|html|svg|script|head|body)\b", re.IGNORECASE)

# Names: what ends or splits a line or a header (as messages.LINE_BREAKING) plus the bidirectional controls that
# make "invoice\u202efdp.exe" read as "invoiceexe.pdf".
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff\ud800-\udfff]")
_RESERVED = re.compile(r'[<>:"|?*=]')  # Windows refuses them; "=" and "?" also make RFC 2047 words
_WINDOWS_DEVICES = re.compile(r"^(con|prn|aux|nul|com\d|lpt\d)(\.|$)", re.IGNORECASE)
NAME_MAX_BYTES = 200
NAME_INPUT_MAX = 1024  # longer input is refused, not cut
_ASCII_SAFE = re.compile(r"[^A-Za-z0-9._ ()\-]")


def new_attachment_id() -> str:
    """26 characters of 32 symbols from the OS's CSPRNG: 130 bits, not time-ordered (nothing to guess from)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(26))


def stable_attachment_id(*parts: object) -> str:
    """The same id for the same parts (an inbound email's n-th file, retried): 26 symbols of a SHA-256."""
    number = int(hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).hexdigest(), 16)
    return "".join(_ALPHABET[(number >> (5 * i)) & 31] for i in range(26))


def object_key(ticket_id: str, attachment_id: str) -> str:
    """Where the bytes live: ids only, so no name can reach the key (no traversal, no odd characters)."""
    return f"attachments/{ticket_id}/{attachment_id}"


def new_link_token() -> str:
    """An emailed download link's secret: 256 bits, URL-safe. Only its hash is stored (link_token_hash)."""
    return secrets.token_urlsafe(32)


def link_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def looks_like_token(token: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9_\-]{43}", token or ""))


# ---- names -------------------------------------------------------------------------------------------------------


def sanitize_name(raw: str) -> str:
    """A display name safe in a header, a URL parameter, a file system and a page: the last path segment, no
    controls, separators, bidi overrides or encoded words, no leading dots, at most NAME_MAX_BYTES of UTF-8
    (the extension kept)."""
    text = unicodedata.normalize("NFC", raw)
    text = _INVISIBLE.sub(" ", text)
    text = text.replace("\\", "/").rsplit("/", 1)[-1]  # "../../etc/passwd", "C:\\x\\y.txt": the last segment
    text = _RESERVED.sub("_", text)
    text = " ".join(text.split()).strip(" .")  # no "..", no hidden ".htaccess", no Windows trailing dot
    if _WINDOWS_DEVICES.match(text):
        text = f"_{text}"
    if not text:
        return "attachment"
    return _cap(text, NAME_MAX_BYTES)


def _cap(text: str, limit: int) -> str:
    if len(text.encode("utf-8")) <= limit:
        return text
    stem, dot, extension = text.rpartition(".")
    if not dot or not stem or len(extension.encode("utf-8")) > 16:
        stem, extension = text, ""
    room = limit - (len(extension.encode("utf-8")) + 1 if extension else 0)
    cut = stem.encode("utf-8")[:room].decode("utf-8", "ignore").rstrip(" .") or "attachment"
    return f"{cut}.{extension}" if extension else cut


def ascii_fallback(name: str) -> str:
    """The name for readers that ignore RFC 2231/5987's filename*: ASCII letters, digits and . _ - ( ) only."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    folded = " ".join(_ASCII_SAFE.sub("_", folded).split()).strip(" .")
    return folded or "attachment"


def content_disposition(name: str) -> str:
    """`attachment` with both filename forms (RFC 6266): plain ASCII only, whatever the name holds."""
    return f"attachment; filename=\"{ascii_fallback(name)}\"; filename*=UTF-8''{quote(name, safe='')}"


# ---- content types -------------------------------------------------------------------------------------------------


def normalize_type(declared: str | None) -> str | None:
    if not declared:
        return None
    base = declared.split(";", 1)[0].strip().lower()
    base = _ALIASES.get(base, base)
    return base if _MEDIA_TYPE.match(base) else None


def sniff(head: bytes) -> str | None:
    """The type the first bytes prove, or None. Text is UTF-8 without control characters (tabs and line ends
    allowed); markup (HTML, SVG, XML) is recognised so that it is never served as such."""
    for offset, signature, media_type in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return media_type
    if head[:4] == b"RIFF" and head[8:12] in _RIFF:
        return _RIFF[head[8:12]]
    if head[4:8] == b"ftyp":
        return _FTYP.get(head[8:12], "video/mp4")
    if _MARKUP.match(head):
        return "image/svg+xml" if b"<svg" in head.lower() else "text/html"
    return "text/plain" if _is_text(head) else None


def _is_text(head: bytes) -> bool:
    if not head:
        return False
    data = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(data) - 3:  # only a character cut at the end of the sample is forgiven
            return False
        text = data[: error.start].decode("utf-8")
    return not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", text)


def decide_type(declared: str | None, sniffed: str | None) -> str:
    """The type we store: the sniffed one; the hint only where the bytes cannot tell (a .docx is a ZIP, CSV is
    text); octet-stream when nothing is recognised or the hint contradicts the bytes."""
    hint = normalize_type(declared)
    if sniffed is None:
        return OCTET_STREAM
    if sniffed == "application/zip" and hint in _ZIP_CONTAINERS:
        return hint
    if sniffed == "application/x-ole-storage":
        return hint if hint in _OLE_TYPES else OCTET_STREAM
    if sniffed == "text/plain" and hint in _TEXT_TYPES:
        return hint
    if hint is None or hint == sniffed or hint == OCTET_STREAM:
        return sniffed
    return OCTET_STREAM


def safe_type(content_type: str | None) -> str:
    """What a download (or a mail part) is served as: never a type a browser renders as a page or runs."""
    found = normalize_type(content_type)
    if found is None or _ACTIVE.match(found):
        return OCTET_STREAM
    return found


# ---- inbound -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IncomingFile:
    """A file of a customer's email, as its MIME part named and typed it (both untrusted)."""

    name: str
    content_type: str
    data: bytes


# ---- inline or link --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryPlan:
    inline: tuple[Attachment, ...]
    linked: tuple[Attachment, ...]


def plan_delivery(attachments: Sequence[Attachment], inline_budget: int, mode: str = AUTO) -> DeliveryPlan:
    """Which files ride in the message and which go as download links: in order, each inline while the raw
    bytes so far stay within the budget (a later small file may still fit), the rest as links; `links`: all."""
    if mode == LINKS:
        return DeliveryPlan((), tuple(attachments))
    inline: list[Attachment] = []
    linked: list[Attachment] = []
    used = 0
    for attachment in attachments:
        if used + attachment.size <= inline_budget:
            inline.append(attachment)
            used += attachment.size
        else:
            linked.append(attachment)
    return DeliveryPlan(tuple(inline), tuple(linked))


def encoded_size(raw_bytes: int) -> int:
    """Bytes on the wire once Base64-encoded in 76-character lines (4/3, plus CRLF per line)."""
    encoded = 4 * ((raw_bytes + 2) // 3)
    return encoded + 2 * ((encoded + 75) // 76)


def human_size(size: int, locale: str = "en") -> str:
    """1 234 567 -> "1.2 MB" (a decimal comma outside English)."""
    value, unit = float(size), "B"
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            break
        value /= 1000
    text = f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
    return text if locale == "en" else text.replace(".", ",")
