"""Files on comments: presigned uploads, checks before a comment takes them, downloads, emailed links, inbound files.

Rules (names, types, inline or link) are in chalicelib/domain/attachments.py; the bucket is behind
chalicelib/adapters/files.FileStore; DynamoDB items are built by chalicelib/adapters/dynamo.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib import validation
from chalicelib.adapters import dynamo
from chalicelib.adapters.dynamo import DeskmailTable
from chalicelib.adapters.files import FileStore, FileUnavailable
from chalicelib.config import Settings
from chalicelib.domain import attachments as rules
from chalicelib.domain.model import Attachment, Notification, Recipient
from chalicelib.errors import Conflict, Gone, InvalidInput, NotFound, TooLarge
from chalicelib.i18n import N_
from chalicelib.ids import format_timestamp

PENDING = "pending"
ATTACHED = "attached"
# A declared upload nobody attached is forgotten after a day (TTL); the bucket's lifecycle rule removes its bytes.
PENDING_SECONDS = 24 * 3600
EVENT_ATTACHMENTS_DROPPED = "inbound_attachments_dropped"


def view(attachment: Attachment) -> dict:
    """What the API shows of a file (never its key)."""
    return {
        "id": attachment.id,
        "name": attachment.name,
        "size": attachment.size,
        "content_type": attachment.content_type,
    }


def _epoch(stamp: str) -> int:
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())


def require_bucket(settings: Settings) -> None:
    """Attachments need DESKMAIL_ATTACHMENTS_BUCKET; without it the routes say so (409) instead of failing."""
    if not settings.attachments_bucket:
        raise Conflict(N_("Attachments are not configured on this help desk."))


def _too_large_file(settings: Settings) -> TooLarge:
    return TooLarge(
        N_("A file may have at most {max_bytes} bytes ({limit})."),
        limit="attachment_max_bytes",
        max_bytes=settings.attachment_max_bytes,
    )


# ---- upload --------------------------------------------------------------------------------------------------------


def create_upload(
    table: DeskmailTable, files: FileStore, settings: Settings, ticket_id: str, body: object, stamp: str
) -> dict:
    """Declares a file and answers the presigned POST that uploads exactly its bytes to its key."""
    from chalicelib.services import workspace

    require_bucket(settings)
    body = validation.body_object(body)
    raw_name = body.get("name")
    if not isinstance(raw_name, str) or not raw_name.strip() or len(raw_name) > rules.NAME_INPUT_MAX:
        raise InvalidInput(
            N_("'{field}' is required: a file name of at most {max_length} characters."),
            field="name",
            max_length=rules.NAME_INPUT_MAX,
        )
    size = body.get("size")
    if type(size) is not int or size < 1:
        raise InvalidInput(N_("'{field}' must be the file's size in bytes (a positive integer)."), field="size")
    if size > settings.attachment_max_bytes:
        raise _too_large_file(settings)
    declared = body.get("content_type")
    if declared is not None and (not isinstance(declared, str) or len(declared) > 255):
        raise InvalidInput(
            N_("'{field}' must be a media type such as {example}."), field="content_type", example="application/pdf"
        )
    ticket, _ = workspace.get_ticket(table, ticket_id)
    attachment_id = rules.new_attachment_id()
    attachment = Attachment(
        id=attachment_id,
        name=rules.sanitize_name(raw_name),
        size=size,
        content_type=rules.normalize_type(declared) or rules.OCTET_STREAM,  # a hint until the bytes are sniffed
        key=rules.object_key(ticket.id, attachment_id),
    )
    table.put_attachment(
        dynamo.attachment_item(
            ticket.id,
            attachment,
            stamp,
            PENDING,
            expires_at=_epoch(stamp) + PENDING_SECONDS,
            declared_type=rules.normalize_type(declared),
        )
    )
    upload = files.presigned_upload(attachment.key, size, settings.upload_expires_seconds)
    return {**view(attachment), "upload": upload, "expires_in": settings.upload_expires_seconds}


# ---- a comment takes its files -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    attachments: tuple[Attachment, ...]
    updates: list[dict]  # conditional updates that attach them, in the comment's transaction


def check_for_comment(
    table: DeskmailTable,
    files: FileStore | None,
    settings: Settings,
    ticket_id: str,
    body: dict,
    comment_id: str,
) -> Checked:
    """Every id is this ticket's pending upload, uploaded whole (its stored size is the declared one); types
    sniffed from the first bytes (one ranged GetObject each). Raises before anything is written."""
    value = body.get("attachment_ids")
    if value is None or value == []:
        return Checked((), [])
    if not isinstance(value, list):
        raise InvalidInput(N_("'{field}' must be a list of ids."), field="attachment_ids")
    if len(value) > settings.attachment_max_count:
        raise InvalidInput(
            N_("A comment may have at most {max_count} files ({limit})."),
            limit="attachment_max_count",
            max_count=settings.attachment_max_count,
        )
    ids = list(dict.fromkeys(validation.an_id(item, "attachment_ids") for item in value))
    require_bucket(settings)
    if files is None:
        raise Conflict(N_("Attachments are not configured on this help desk."))
    found = table.get_attachments(ticket_id, ids)
    unknown = [attachment_id for attachment_id in ids if attachment_id not in found]
    if unknown:
        raise InvalidInput(N_("Unknown attachment(s) on this ticket: {ids}."), ids=", ".join(unknown))
    taken = [attachment_id for attachment_id in ids if found[attachment_id].get("state") != PENDING]
    if taken:
        raise Conflict(N_("Already on a comment: {ids}. Upload the file again."), ids=", ".join(taken))
    total = sum(int(found[attachment_id]["size"]) for attachment_id in ids)
    if total > settings.attachment_max_total_bytes:
        raise TooLarge(
            N_("A comment's files may have at most {max_bytes} bytes together ({limit})."),
            limit="attachment_max_total_bytes",
            max_bytes=settings.attachment_max_total_bytes,
        )
    checked = []
    for attachment_id in ids:
        record = dynamo.attachment_from_record(found[attachment_id])
        try:
            probed = files.probe(record.key, rules.SNIFF_BYTES)
            if probed is None:
                raise InvalidInput(N_("The file {name} was not uploaded (yet)."), name=record.name)
            stored, head = probed
            if stored != record.size:
                raise InvalidInput(
                    N_("The file {name} has {stored} bytes, not the {size} declared: upload it again."),
                    name=record.name,
                    stored=stored,
                    size=record.size,
                )
        except FileUnavailable:
            raise Conflict(N_("The attachments cannot be read right now: try again.")) from None
        content_type = rules.decide_type(found[attachment_id].get("declared_type"), rules.sniff(head))
        checked.append(Attachment(record.id, record.name, record.size, content_type, record.key))
    return Checked(tuple(checked), [dynamo.attach_update(ticket_id, a, comment_id) for a in checked])


# ---- downloads -----------------------------------------------------------------------------------------------------


def download(table: DeskmailTable, files: FileStore, settings: Settings, ticket_id: str, attachment_id: str) -> dict:
    """An agent's download: a short presigned GET, always `attachment`, never a type a browser would render."""
    require_bucket(settings)
    found = None
    if validation.ID_PATTERN.match(ticket_id) and validation.ID_PATTERN.match(attachment_id):
        found = table.get_attachment(ticket_id, attachment_id)
    if found is None:
        raise NotFound(
            N_("There is no attachment {attachment_id} on ticket {ticket_id}."),
            attachment_id=attachment_id,
            ticket_id=ticket_id,
        )
    attachment = dynamo.attachment_from_record(found)
    # Not sniffed yet (pending): whatever the uploader says, it is served as bytes.
    content_type = attachment.content_type if found.get("state") == ATTACHED else rules.OCTET_STREAM
    return {
        "url": _presigned(files, settings, attachment, content_type),
        "expires_in": settings.download_expires_seconds,
    }


def _presigned(files: FileStore, settings: Settings, attachment: Attachment, content_type: str) -> str:
    return files.presigned_download(
        attachment.key,
        rules.content_disposition(attachment.name),
        rules.safe_type(content_type),
        settings.download_expires_seconds,
    )


def open_link(table: DeskmailTable, files: FileStore, settings: Settings, token: str, epoch_seconds: int) -> str:
    """An emailed link: the presigned GET to redirect to. Unknown token: 404; past its expiry: 410."""
    found = table.get_download_link(rules.link_token_hash(token)) if rules.looks_like_token(token) else None
    if found is None:
        raise NotFound(N_("This download link does not exist."))
    if int(found.get("expires_at", 0)) <= epoch_seconds:  # TTL deletes lazily: the expiry is checked here
        raise Gone(N_("This download link has expired: ask the help desk to send the file again."))
    if not settings.attachments_bucket:
        raise NotFound(N_("This download link does not exist."))
    attachment = dynamo.attachment_from_record(found["attachment"])
    return _presigned(files, settings, attachment, attachment.content_type)


@dataclass(frozen=True)
class DownloadLink:
    attachment: Attachment
    url: str
    expires_at: str  # ISO 8601


def links_for(
    settings: Settings,
    notification: Notification | tuple[str, str, str],
    recipients: Sequence[Recipient],
    linked: Sequence[Attachment],
    stamp: str,
) -> tuple[list[DownloadLink], list[dict]]:
    """One link per file for this message, bound to its notification and recipients, and the items to write with
    its outbox entry (so a link exists exactly when the email that shows it does). `notification`: the
    notification, or its (ticket id, comment id, notification id) before it is built."""
    ticket_id, comment_id, notification_id = (
        (notification.ticket_id, notification.comment_id, notification.id)
        if isinstance(notification, Notification)
        else notification
    )
    expires = datetime.fromisoformat(stamp.replace("Z", "+00:00")) + timedelta(days=settings.download_link_days)
    expires_at = int(expires.timestamp())
    bound = [{"user_id": r.user_id, "email": r.email} for r in recipients]
    links, items = [], []
    for attachment in linked:
        token = rules.new_link_token()
        url = settings.download_url_template.replace("{token}", token)
        links.append(DownloadLink(attachment, url, format_timestamp(expires)))
        items.append(
            dynamo.download_link_item(
                rules.link_token_hash(token),
                ticket_id,
                comment_id,
                notification_id,
                attachment,
                bound,
                stamp,
                expires_at,
            )
        )
    return links, items


# ---- inbound -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kept:
    attachments: tuple[Attachment, ...]
    items: list[dict]  # the ATT# items, attached to the comment
    dropped: list[dict]  # {"name", "size", "reason"} for the event


def keep_inbound(
    files: FileStore | None,
    settings: Settings,
    ticket_id: str,
    comment_id: str,
    ses_message_id: str,
    incoming: Sequence[rules.IncomingFile],
    stamp: str,
) -> Kept:
    """Stores a reply's files (stable ids: a retry writes the same objects), within the count and size limits;
    what is over them is dropped and named (never the whole reply)."""
    kept: list[Attachment] = []
    items: list[dict] = []
    dropped: list[dict] = []
    total = 0
    for index, part in enumerate(incoming):
        name = rules.sanitize_name(part.name or "attachment")
        size = len(part.data)
        reason = None
        if files is None:
            reason = "not_configured"
        elif size == 0:
            reason = "empty"
        elif size > settings.attachment_max_bytes:
            reason = "attachment_max_bytes"
        elif len(kept) >= settings.attachment_max_count:
            reason = "attachment_max_count"
        elif total + size > settings.attachment_max_total_bytes:
            reason = "attachment_max_total_bytes"
        if reason:
            dropped.append({"name": name, "size": size, "reason": reason})
            continue
        assert files is not None
        attachment_id = rules.stable_attachment_id("inbound", ses_message_id, index)
        content_type = rules.decide_type(part.content_type, rules.sniff(part.data[: rules.SNIFF_BYTES]))
        attachment = Attachment(attachment_id, name, size, content_type, rules.object_key(ticket_id, attachment_id))
        files.put(attachment.key, part.data)
        kept.append(attachment)
        total += size
        items.append(
            dynamo.attachment_item(
                ticket_id,
                attachment,
                stamp,
                ATTACHED,
                comment_id=comment_id,
                declared_type=rules.normalize_type(part.content_type),
            )
        )
    return Kept(tuple(kept), items, dropped)
