"""Inbound email (SES receipt rule -> SNS -> SQS): customer replies become comments, automated mail never does."""

from __future__ import annotations

from email.utils import parseaddr
from typing import Any

from chalicelib.adapters import dynamo
from chalicelib.adapters.dynamo import DeskmailTable
from chalicelib.adapters.ses import SesMailer
from chalicelib.config import Settings
from chalicelib.domain import loops
from chalicelib.domain.inbound_mail import (
    InboundEmail,
    MalformedInbound,
    NotInbound,
    parse,
    referenced_ses_message_ids,
    referenced_ticket_ids,
    referenced_ticket_reference,
)
from chalicelib.domain.model import AGENT, Ticket, User
from chalicelib.errors import NotFound
from chalicelib.ids import stable_id
from chalicelib.observability import MetricUnit, logger, mask_address, metrics
from chalicelib.services import workspace
from chalicelib.services.events import EVENT_AUTOMATED_REPLY, EVENT_INBOUND_UNKNOWN_SENDER
from chalicelib.sqs_batch import SqsMessage, messages, process_partial_batch

INBOUND_MEMORY_SECONDS = 7 * 24 * 3600  # SQS keeps a message 4 days at most: replays come well within this

COMMENT = "comment"
AUTOMATED = "automated"
UNKNOWN_SENDER = "unknown_sender"
NO_TICKET = "no_ticket"
DUPLICATE = "duplicate"
IGNORED = "ignored"
MALFORMED = "malformed"


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


def _event(ticket: Ticket, email: InboundEmail, event_type: str, stamp: str, **data: Any) -> dict:
    return dynamo.event_item(
        ticket.id,
        stable_id(event_type, email.ses_message_id),
        stamp,
        event_type,
        {"from": email.sender, "subject": email.subject[:250], "ses_message_id": email.ses_message_id, **data},
    )


def receive(
    table: DeskmailTable, mailer: SesMailer, settings: Settings, body: str, now: workspace.Clock, epoch_seconds: int
) -> str:
    """Handles one inbound notification; raises to have SQS retry it."""
    stamp = now()
    email = parse(body, stamp)
    if isinstance(email, NotInbound):
        return IGNORED
    if email.spam_or_virus:
        logger.info("inbound email failed SES spam or virus checks", extra={"from": mask_address(email.sender)})
        return IGNORED
    ticket = _ticket_for(table, settings, email)
    if ticket is None:
        logger.info("inbound email for no known ticket", extra={"from": mask_address(email.sender)})
        return NO_TICKET
    if not table.claim_inbound_message(email.ses_message_id, ticket.id, stamp, epoch_seconds + INBOUND_MEMORY_SECONDS):
        return DUPLICATE
    try:
        return _apply(table, mailer, settings, ticket, email, now, stamp)
    except Exception:
        table.release_inbound_message(email.ses_message_id)
        raise


def _apply(
    table: DeskmailTable,
    mailer: SesMailer,
    settings: Settings,
    ticket: Ticket,
    email: InboundEmail,
    now: workspace.Clock,
    stamp: str,
) -> str:
    automated = loops.automated_reason(email.headers, email.subject, own_addresses=[parseaddr(settings.sender)[1]])
    if automated:
        # Recorded, never commented: a comment would fire triggers, and two auto-responders would loop.
        table.write_items(
            [_event(ticket, email, EVENT_AUTOMATED_REPLY, stamp, rule=automated.rule, evidence=automated.evidence)]
        )
        return AUTOMATED
    users = table.find_users_by_email(email.sender) if email.sender else []
    author = _author(ticket, users)
    if author is None:
        reason = "not_a_participant" if users else "unknown_sender"
        table.write_items([_event(ticket, email, EVENT_INBOUND_UNKNOWN_SENDER, stamp, reason=reason)])
        return UNKNOWN_SENDER
    text = email.text or email.subject.strip() or "-"
    original = email.full_text if email.full_text and email.full_text != text else ""
    workspace.add_comment(
        table,
        mailer,
        settings,
        ticket.id,
        {"author_id": author.id, "body": text, "public": True},
        now,
        original_body=original,
    )
    return COMMENT


def handle(
    event: dict,
    context: Any,
    table: DeskmailTable,
    mailer: SesMailer,
    settings: Settings,
    now: workspace.Clock,
    epoch_seconds: int,
) -> dict:
    outcomes: dict[str, int] = {}

    def record_handler(record: SqsMessage) -> str:
        try:
            outcome = receive(table, mailer, settings, record.body, now, epoch_seconds)
        except MalformedInbound as error:
            # Retrying cannot make it readable: keep it for inspection rather than loop it through SQS.
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
