"""Inbound email (SES receipt rule -> SNS -> SQS): customer replies become comments, automated mail never does."""

from __future__ import annotations

from dataclasses import replace
from email.utils import parseaddr
from typing import Any

from chalicelib import validation
from chalicelib.adapters import dynamo
from chalicelib.adapters.dynamo import DeskmailTable
from chalicelib.adapters.files import FileStore
from chalicelib.adapters.inbound_store import InboundMailStore
from chalicelib.adapters.ses import SesMailer
from chalicelib.config import Settings
from chalicelib.domain import loops
from chalicelib.domain.inbound_mail import (
    InboundEmail,
    MalformedInbound,
    NotInbound,
    comment_id_for,
    hold_reason,
    parse,
    referenced_ses_message_ids,
    referenced_ticket_ids,
    referenced_ticket_reference,
    stored_message,
    unwrap,
)
from chalicelib.domain.messages import header_text
from chalicelib.domain.model import AGENT, Ticket, User
from chalicelib.errors import Conflict, InvalidInput, NotFound
from chalicelib.i18n import N_
from chalicelib.ids import stable_id
from chalicelib.observability import MetricUnit, logger, mask_address, metrics
from chalicelib.services import attachments, workspace
from chalicelib.services.events import (
    EVENT_AUTOMATED_REPLY,
    EVENT_INBOUND_SUSPENDED,
    EVENT_INBOUND_UNKNOWN_SENDER,
)
from chalicelib.sqs_batch import SqsMessage, messages, process_partial_batch

INBOUND_MEMORY_SECONDS = 7 * 24 * 3600  # SQS keeps a message 4 days at most: replays come well within this
# Without a Lambda context (tests, scripts) an invocation is given this long before its claim may be retaken.
DEFAULT_INVOCATION_SECONDS = 60
# Past the invocation's deadline before another may retake its claim: clocks differ a little between hosts.
CLAIM_MARGIN_SECONDS = 5


class StillInProgress(RuntimeError):
    """Another invocation holds this email and may still be writing it: SQS redelivers it later."""


# Held mail waits this long for an agent, then DynamoDB's TTL removes it (Zendesk keeps suspended tickets 14 days).
SUSPENDED_RETENTION_SECONDS = 14 * 24 * 3600
SUSPENDED_PAGE_SIZE = 50

COMMENT = "comment"
SUSPENDED = "suspended"
AUTOMATED = "automated"
UNKNOWN_SENDER = "unknown_sender"
NO_TICKET = "no_ticket"
DUPLICATE = "duplicate"
IGNORED = "ignored"
MALFORMED = "malformed"


# What of a customer's email is stored, in UTF-8 bytes. The reply's text is a comment and goes out again in the
# notifications' text and HTML (escaped: up to 5 bytes a character) in one outbox item; the whole text, quotes and
# all, sits beside it in the comment item. Both stay well inside DynamoDB's 400 KB per item; the whole message is
# in S3 (the receipt rule's S3 action) when an agent needs more.
MAX_TEXT_BYTES = 32_000
MAX_FULL_TEXT_BYTES = 200_000
MAX_SUBJECT_CHARACTERS = 998  # RFC 5322's line limit


def _clipped(text: str, max_bytes: int) -> str:
    encoded = text.encode("utf-8")
    return text if len(encoded) <= max_bytes else encoded[:max_bytes].decode("utf-8", "ignore").rstrip()


def storable(email: InboundEmail) -> InboundEmail:
    """The email as deskmail may store and show it: whatever a sender put in it (NUL, lone surrogates from a JSON
    escape, megabytes of text, line breaks in a name) is cleaned, never a reason to fail the record; SQS would only
    retry it into the dead-letter queue and the customer's reply would be lost. Names and the subject are one line
    (they came from headers and may be shown where headers are built); texts keep their line breaks."""
    one_line = header_text
    return replace(
        email,
        ses_message_id=validation.storable_text(email.ses_message_id),
        sender=one_line(email.sender),
        sender_name=one_line(email.sender_name),
        recipients=tuple(one_line(recipient) for recipient in email.recipients),
        subject=one_line(email.subject)[:MAX_SUBJECT_CHARACTERS],
        headers=tuple((one_line(name), validation.storable_text(value)) for name, value in email.headers),
        text=_clipped(validation.storable_text(email.text), MAX_TEXT_BYTES),
        full_text=_clipped(validation.storable_text(email.full_text), MAX_FULL_TEXT_BYTES),
        authentication=replace(
            email.authentication,
            dmarc_policy=one_line(email.authentication.dmarc_policy)[:40]
            if email.authentication.dmarc_policy
            else None,
        ),
    )


def _ticket_for(table: DeskmailTable, settings: Settings, email: InboundEmail) -> Ticket | None:
    for ticket_id in referenced_ticket_ids(email, settings.sender_domain):
        try:
            return workspace.get_ticket(table, ticket_id)[0]
        except NotFound:
            continue
    message_ids = referenced_ses_message_ids(email)
    if message_ids:
        lookups = table.get_notifications_by_message_id(message_ids)
        for message_id in message_ids:
            if message_id in lookups:
                return workspace.get_ticket(table, lookups[message_id]["ticket_id"])[0]
    # Last: the subject's "[Ticket 4TDV9V]" (newest ticket with that reference); the sender must still take part.
    reference = referenced_ticket_reference(email)
    ticket_ids = table.find_tickets_by_reference(reference) if reference else []
    return workspace.get_ticket(table, ticket_ids[0])[0] if ticket_ids else None


def _author(ticket: Ticket, users: list[User]) -> User | None:
    """The sender's account that may comment on the ticket: a participant first, else any agent."""
    participants = {ticket.requester_id, *ticket.cc_ids, ticket.assignee_id}
    return next((u for u in users if u.id in participants), None) or next((u for u in users if u.role == AGENT), None)


def _event(ticket: Ticket, email: InboundEmail, event_type: str, **data: Any) -> dict:
    # Keyed on the receipt, not on when this attempt runs: a retry after a timeout rewrites the same item.
    return dynamo.event_item(
        ticket.id,
        stable_id(event_type, email.ses_message_id),
        email.received_at,
        event_type,
        {"from": email.sender, "subject": email.subject[:250], "ses_message_id": email.ses_message_id, **data},
    )


def receive(
    table: DeskmailTable,
    mailer: SesMailer,
    settings: Settings,
    body: str,
    now: workspace.Clock,
    epoch_seconds: int,
    deadline: int | None = None,
    store: InboundMailStore | None = None,
    files: FileStore | None = None,
) -> str:
    """Handles one inbound notification; raises to have SQS retry it. `deadline` (epoch seconds): when this
    invocation will have been stopped at the latest (Lambda's timeout); its claim on the email lasts until then."""
    stamp = now()
    notification = unwrap(body)
    location = stored_message(notification)
    stored = None
    if location is not None:
        # Mail of any size comes this way (the receipt rule's S3 action): SNS content stops at 150 KB.
        if store is None:
            raise RuntimeError("an S3 inbound notification, and no inbound mail store to read it from")
        try:
            stored = store.read(location.bucket, location.key)
        except ValueError as error:
            raise MalformedInbound(str(error)) from None
    parsed = parse(notification, stamp, stored)
    if isinstance(parsed, NotInbound):
        return IGNORED
    email = storable(parsed)
    if email.spam_or_virus:
        logger.info("inbound email failed SES spam or virus checks", extra={"from": mask_address(email.sender)})
        return IGNORED
    ticket = _ticket_for(table, settings, email)
    if ticket is None:
        logger.info("inbound email for no known ticket", extra={"from": mask_address(email.sender)})
        return NO_TICKET
    held_until = (
        deadline if deadline is not None else epoch_seconds + DEFAULT_INVOCATION_SECONDS
    ) + CLAIM_MARGIN_SECONDS
    claim = table.claim_inbound_message(
        email.ses_message_id, ticket.id, stamp, epoch_seconds, held_until, epoch_seconds + INBOUND_MEMORY_SECONDS
    )
    if claim == "done":
        return DUPLICATE
    if claim == "in_progress":
        raise StillInProgress(f"inbound {email.ses_message_id} is being handled by another invocation")
    try:
        outcome = _apply(table, mailer, settings, ticket, email, now, stamp, epoch_seconds, files)
    except Exception:
        table.release_inbound_message(email.ses_message_id)
        raise
    # A timeout before this line leaves the claim in progress until held_until; the retry then retakes it, and
    # whatever was written already is found again under the same keys (comment id, event ids).
    table.complete_inbound_message(email.ses_message_id, outcome, now())
    return outcome


def _apply(
    table: DeskmailTable,
    mailer: SesMailer,
    settings: Settings,
    ticket: Ticket,
    email: InboundEmail,
    now: workspace.Clock,
    stamp: str,
    epoch_seconds: int,
    files: FileStore | None = None,
) -> str:
    automated = loops.automated_reason(email.headers, email.subject, own_addresses=[parseaddr(settings.sender)[1]])
    if automated:
        # Recorded, never commented: a comment would fire triggers, and two auto-responders would loop.
        table.write_items(
            [_event(ticket, email, EVENT_AUTOMATED_REPLY, rule=automated.rule, evidence=automated.evidence)]
        )
        return AUTOMATED
    held = hold_reason(email.authentication)
    if held:
        _suspend(table, settings, ticket, email, held, stamp, epoch_seconds, files)
        return SUSPENDED
    return _comment_from(table, mailer, settings, ticket, email, stamp, now, files)


def _comment_from(
    table: DeskmailTable,
    mailer: SesMailer,
    settings: Settings,
    ticket: Ticket,
    email: InboundEmail,
    stamp: str,
    now: workspace.Clock,
    files: FileStore | None = None,
) -> str:
    users = table.find_users_by_email(email.sender) if email.sender else []
    author = _author(ticket, users)
    if author is None:
        reason = "not_a_participant" if users else "unknown_sender"
        table.write_items([_event(ticket, email, EVENT_INBOUND_UNKNOWN_SENDER, reason=reason)])
        return UNKNOWN_SENDER
    comment_id = comment_id_for(email)
    if table.get_comment(ticket.id, comment_id) is not None:
        # An earlier attempt wrote it and then failed (a timeout): the comment exists once, and stays once.
        logger.info("inbound email already a comment", extra={"comment_id": comment_id})
        return COMMENT
    text = email.text or email.subject.strip() or "-"
    original = email.full_text if email.full_text and email.full_text != text else ""
    # The reply's files, stored before the comment (stable keys: a retry writes the same objects); over the
    # limits they are dropped and the events log says which, while the reply itself becomes the comment.
    kept = attachments.keep_inbound(
        files, settings, ticket.id, comment_id, email.ses_message_id, email.attachments, stamp
    )
    if kept.dropped:
        kept = replace(
            kept,
            items=[
                *kept.items,
                _event(
                    ticket, email, attachments.EVENT_ATTACHMENTS_DROPPED, comment_id=comment_id, dropped=kept.dropped
                ),
            ],
        )
    workspace.add_comment(
        table,
        mailer,
        settings,
        ticket.id,
        {"author_id": author.id, "body": text, "public": True},
        now,
        original_body=original,
        comment_id=comment_id,
        kept_files=kept,
    )
    return COMMENT


# ---- held for review ("suspended"): mail that failed sender authentication -----------------------------------------


def _suspend(
    table: DeskmailTable,
    settings: Settings,
    ticket: Ticket,
    email: InboundEmail,
    reason: str,
    stamp: str,
    epoch: int,
    files: FileStore | None = None,
) -> None:
    """Kept whole enough to become the comment later, and shown on the ticket; nothing is sent to anyone.

    The reply's files are stored now (the SES payload is gone by the time an agent recovers the mail) under the
    ids the comment will have, and the held item keeps their references; recovering attaches them."""
    comment_id = comment_id_for(email)
    kept = attachments.keep_inbound(
        files, settings, ticket.id, comment_id, email.ses_message_id, email.attachments, stamp
    )
    attributes = {
        "ticket_id": ticket.id,
        "ticket_subject": ticket.subject,
        "sender": email.sender,
        "sender_name": email.sender_name,
        "recipients": list(email.recipients),
        "subject": email.subject[:998],
        "text": email.text,
        "reason": reason,
        "authentication": email.authentication.as_record(),
        "suspended_at": stamp,
        "attachments": [dynamo.attachment_record(attachment) for attachment in kept.attachments],
    }
    dropped = (
        [_event(ticket, email, attachments.EVENT_ATTACHMENTS_DROPPED, comment_id=comment_id, dropped=kept.dropped)]
        if kept.dropped
        else []
    )
    table.write_items(
        [
            dynamo.suspended_inbound_item(
                email.ses_message_id, email.received_at, attributes, epoch + SUSPENDED_RETENTION_SECONDS
            ),
            _event(
                ticket,
                email,
                EVENT_INBOUND_SUSPENDED,
                reason=reason,
                authentication=email.authentication.as_record(),
            ),
            *dropped,
        ]
    )
    logger.warning(
        "inbound email held for review: it failed sender authentication",
        extra={"from": mask_address(email.sender), "reason": reason, "ticket_id": ticket.id},
    )


def suspended_view(item: dict) -> dict:
    return {
        "id": item["ses_message_id"],
        "ticket_id": item["ticket_id"],
        "ticket_subject": item.get("ticket_subject", ""),
        "from": item.get("sender", ""),
        "from_name": item.get("sender_name", ""),
        "subject": item.get("subject", ""),
        "text": item.get("text", ""),
        "reason": item.get("reason"),
        "authentication": item.get("authentication") or {},
        "received_at": item.get("received_at"),
        "suspended_at": item.get("suspended_at"),
    }


def list_suspended(table: DeskmailTable, page_token: str | None) -> dict:
    try:
        items, next_page = table.list_suspended_inbound_page(page_token, SUSPENDED_PAGE_SIZE)
    except dynamo.PageTokenError:
        raise InvalidInput(N_("{field} is not a token this API issued"), field="next_page") from None
    return {"suspended": [suspended_view(item) for item in items], "next_page": next_page}


def _suspended_or_404(table: DeskmailTable, suspended_id: str) -> dict:
    item = table.get_suspended_inbound(suspended_id) if suspended_id.isalnum() and len(suspended_id) <= 100 else None
    if item is None:
        raise NotFound(N_("There is no held email {suspended_id}."), suspended_id=suspended_id)
    return item


def recover_suspended(
    table: DeskmailTable, mailer: SesMailer, settings: Settings, suspended_id: str, now: workspace.Clock
) -> dict:
    """An agent vouches for held mail: it becomes the sender's comment (and notifies as any reply does)."""
    item = _suspended_or_404(table, suspended_id)
    ticket = workspace.get_ticket(table, item["ticket_id"])[0]
    users = table.find_users_by_email(item["sender"]) if item.get("sender") else []
    author = _author(ticket, users)
    if author is None:
        raise Conflict(
            N_("{email} has no account that may comment on ticket {ticket_id}: add the person first."),
            email=item.get("sender") or "-",
            ticket_id=ticket.id,
        )
    comment_id = comment_id_for_suspended(item)
    comment = table.get_comment(ticket.id, comment_id)
    if comment is None:
        text = item.get("text") or str(item.get("subject", "")).strip() or "-"
        held_files = tuple(dynamo.attachment_from_record(record) for record in item.get("attachments") or ())
        stamp = now()
        kept = attachments.Kept(
            held_files,
            [
                dynamo.attachment_item(ticket.id, held, stamp, attachments.ATTACHED, comment_id=comment_id)
                for held in held_files
            ],
            [],
        )
        comment = workspace.add_comment(
            table,
            mailer,
            settings,
            ticket.id,
            {"author_id": author.id, "body": text, "public": True},
            now,
            comment_id=comment_id,
            kept_files=kept if held_files else None,
        )
    table.delete_suspended_inbound(suspended_id)
    return {"id": suspended_id, "ticket_id": ticket.id, "comment_id": comment.id, "recovered": True}


def comment_id_for_suspended(item: dict) -> str:
    email = InboundEmail(
        ses_message_id=item["ses_message_id"],
        sender=item.get("sender", ""),
        sender_name=item.get("sender_name", ""),
        recipients=(),
        subject=item.get("subject", ""),
        headers=(),
        text=item.get("text", ""),
        received_at=item["received_at"],
    )
    return comment_id_for(email)


def delete_suspended(table: DeskmailTable, suspended_id: str) -> dict:
    _suspended_or_404(table, suspended_id)
    if not table.delete_suspended_inbound(suspended_id):
        raise NotFound(N_("There is no held email {suspended_id}."), suspended_id=suspended_id)
    return {"id": suspended_id, "deleted": True}


def handle(
    event: dict,
    context: Any,
    table: DeskmailTable,
    mailer: SesMailer,
    settings: Settings,
    now: workspace.Clock,
    epoch_seconds: int,
    store: InboundMailStore | None = None,
    files: FileStore | None = None,
) -> dict:
    outcomes: dict[str, int] = {}
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    deadline = epoch_seconds + (remaining() // 1000 + 1 if callable(remaining) else DEFAULT_INVOCATION_SECONDS)

    def record_handler(record: SqsMessage) -> str:
        try:
            outcome = receive(table, mailer, settings, record.body, now, epoch_seconds, deadline, store, files)
        except (MalformedInbound, InvalidInput) as error:
            # Retrying cannot make it readable (or storable): keep it for inspection rather than loop it through SQS.
            table.keep_raw("inbound", record.message_id, record.body, str(error), now(), epoch_seconds)
            logger.warning(
                "malformed inbound notification kept for inspection",
                extra={"sqs_message_id": record.message_id, "reason": str(error)},
            )
            outcome = MALFORMED
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        return outcome

    response = process_partial_batch(messages(event), record_handler)
    failed = len(response["batchItemFailures"])
    logger.info("inbound batch processed", extra={"outcomes": outcomes, "failed": failed})
    for outcome, count in outcomes.items():
        metrics.add_metric(name=f"InboundEmails.{outcome}", unit=MetricUnit.Count, value=count)
    metrics.flush_metrics()
    return response
