"""Sends what the outbox holds and records the outcome: right after a request's commit, and in the sweep.

The states and the reasoning about exactly-once are in chalicelib/domain/outbox.py. Every record written here
is an idempotent put keyed by the notification id (times come from the entry, not the clock, when a sweeper
redoes them), so redoing a step after a crash writes the same items again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.adapters import dynamo
from chalicelib.adapters.dynamo import DeskmailTable, ReadError, WriteError
from chalicelib.adapters.ses import SendResult, SesMailer
from chalicelib.domain import classification, outbox
from chalicelib.domain.model import FAILED_STATUSES, FAILURE_TAG, NOT_SENT, REJECTED, Notification, Recipient
from chalicelib.ids import format_timestamp, stable_id
from chalicelib.observability import MetricUnit, logger, metrics
from chalicelib.services import notification_emails
from chalicelib.services.failures import TagState, outcome_event_items

Clock = Callable[[], str]

EVENT_NOTIFICATION_SENT = "email_notification_sent"
EVENT_NOTIFICATION_NOT_SENT = "email_notification_not_sent"
EVENT_NOTIFICATION_RECOVERED = "email_notification_recovered"
SWEEPER = "sweep_outbox"
STORAGE_ERRORS = (WriteError, ReadError, ClientError, BotoCoreError)


def _epoch(stamp: str) -> int:
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())


def acting_fields(acting: dict | None) -> dict:
    """The agent who made a change, as events name them (agent_id, agent_name)."""
    return {"agent_id": acting["id"], "agent_name": acting["name"]} if acting else {}


def notification_event(notification: Notification, acting: dict | None = None) -> dict:
    sent = any(recipient.status not in (NOT_SENT, REJECTED) for recipient in notification.recipients)
    return dynamo.event_item(
        notification.ticket_id,
        stable_id("notification", notification.id),
        notification.sent_at,
        EVENT_NOTIFICATION_SENT if sent else EVENT_NOTIFICATION_NOT_SENT,
        {
            "comment_id": notification.comment_id,
            "notification_id": notification.id,
            "message_id": notification.message_id,
            "triggers": [{"id": notification.trigger_id, "title": notification.trigger_title}],
            "recipients": [
                {
                    "user_id": r.user_id,
                    "name": r.name,
                    "email": r.email,
                    "status": r.status,
                    "category": (r.failure or {}).get("category"),
                }
                for r in notification.recipients
            ],
            **acting_fields(acting),
        },
    )


def record_items(
    table: DeskmailTable, notification: Notification, subject: str, acting: dict | None = None
) -> list[dict]:
    """The notification, its MSG# lookup, its event, each failed recipient's event and the failure tag, and the
    recipients' thread chains (the Message-ID SES gave it)."""
    notification, thread_items = notification_emails.threaded(table, notification)
    items = [
        *dynamo.notification_items(notification, subject),
        notification_event(notification, acting),
        *thread_items,
    ]
    tag_state: TagState | None = None
    for recipient in notification.recipients:
        if recipient.status not in FAILED_STATUSES:
            continue
        if tag_state is None:
            _, tags = table.get_ticket_with_tags(notification.ticket_id)
            tag_state = TagState({notification.ticket_id: tags.get(FAILURE_TAG)})
        source = stable_id(notification.id, recipient.user_id)
        items.extend(
            outcome_event_items(
                notification, recipient, recipient.status, recipient.failure, notification.sent_at, source, subject
            )
        )
        items.extend(tag_state.tag_items_for_failure(notification.ticket_id, subject, notification.sent_at, source))
    return items


def _rejected(notification: Notification, failure: dict, at: str) -> Notification:
    recipients = tuple(
        Recipient(**{**recipient.__dict__, "status": REJECTED, "failure": failure})
        if recipient.status != NOT_SENT
        else recipient
        for recipient in notification.recipients
    )
    return replace(notification, recipients=recipients, sent_at=at)


def after_send(notification: Notification, result: SendResult, sent_at: str) -> Notification:
    if result.message_id:
        return replace(notification, message_id=result.message_id, sent_at=sent_at)
    klass = classification.classify_send_error(result.error_code or "Unknown", result.error_message or "")
    failure = klass.as_record(diagnostic=f"{result.error_code}: {result.error_message}", occurred_at=sent_at)
    return _rejected(notification, failure, sent_at)


def interrupted(notification: Notification, claimed_at: str) -> Notification:
    """A sender claimed this email and stopped before recording anything: it may or may not have gone out."""
    failure = {
        "category": classification.UNKNOWN,
        "permanent": False,
        "diagnostic": (
            f"{outbox.SEND_INTERRUPTED}: the send was interrupted after it started; deskmail cannot tell whether "
            "SES sent it, so it is not sent again automatically (resend it if the recipient did not get it)"
        ),
        "occurred_at": claimed_at,
    }
    return _rejected(notification, failure, claimed_at)


def finish(
    table: DeskmailTable,
    entry: outbox.OutboxEntry,
    notification: Notification,
    to_count: list[Notification] | None = None,
) -> bool:
    """Records the outcome, then marks the entry done; if the record cannot be written, keeps the SES message id.

    False when something is left for the sweeper (the entry then is `accepted`, or still `sending`). A sent one is
    counted towards reputation now, or added to `to_count` for its caller to count with others in one update.
    """
    done = outbox.SENT if notification.message_id else outbox.FAILED
    outcome = {"message_id": notification.message_id, "sent_at": notification.sent_at}
    try:
        table.write_items(record_items(table, notification, entry.subject, entry.acting))
    except STORAGE_ERRORS:
        logger.exception(
            "Notification outcome not recorded",
            extra={"notification_id": notification.id, "message_id": notification.message_id},
        )
        if notification.message_id and entry.state == outbox.SENDING:
            # One small update instead of the whole record: the sweeper then records it without sending again.
            try:
                table.move_outbox(
                    notification.ticket_id,
                    notification.id,
                    entry.state,
                    entry.attempts,
                    outbox.ACCEPTED,
                    notification.sent_at,
                    outcome,
                )
            except STORAGE_ERRORS:
                logger.exception(
                    "SES message id not recorded: the sweep will record this notification as failed",
                    extra={"notification_id": notification.id, "message_id": notification.message_id},
                )
        return False
    try:
        moved = table.move_outbox(
            notification.ticket_id,
            notification.id,
            entry.state,
            entry.attempts,
            done,
            notification.sent_at,
            {key: value for key, value in outcome.items() if value},
            _epoch(notification.sent_at),
        )
    except STORAGE_ERRORS:
        logger.exception("Outbox entry not marked done", extra={"notification_id": notification.id})
        return False
    if moved and done == outbox.SENT:  # the move to `sent` happens once: so does the count
        if to_count is None:
            table.count_sent(notification)
        else:
            to_count.append(notification)
    return moved


def send_claimed(
    table: DeskmailTable,
    mailer: SesMailer,
    entry: outbox.OutboxEntry,
    now: Clock,
    to_count: list[Notification] | None = None,
) -> Notification:
    """Sends an entry this caller has just claimed (state `sending`), then records what SES said."""
    assert entry.email is not None and entry.state == outbox.SENDING
    notification = after_send(entry.notification, mailer.send_notification(entry.email), now())
    finish(table, entry, notification, to_count)
    return notification


def deliver(
    table: DeskmailTable, mailer: SesMailer, entries: list[outbox.OutboxEntry], now: Clock
) -> list[Notification]:
    """The request path, after its commit: claim each entry, send it, record it (one at a time, in order); then
    count the sent ones towards reputation in one update (a comment's messages are one request's)."""
    notifications = []
    sent: list[Notification] = []
    for entry in entries:
        notification = entry.notification
        if entry.email is None:
            notifications.append(notification)  # nobody reachable: recorded with the commit already
            continue
        claimed = table.move_outbox(notification.ticket_id, notification.id, outbox.PENDING, 0, outbox.SENDING, now())
        if not claimed:  # a sweeper got there first (only after the grace period): it sends and records it
            notifications.append(notification)
            continue
        sending = replace(entry, state=outbox.SENDING, attempts=1)
        notifications.append(send_claimed(table, mailer, sending, now, sent))
    table.count_sent(*sent)
    return notifications


def _recovered_event(entry: outbox.OutboxEntry, action: str, notification: Notification, at: str) -> dict:
    return dynamo.event_item(
        notification.ticket_id,
        stable_id(EVENT_NOTIFICATION_RECOVERED, notification.id, action),
        at,
        EVENT_NOTIFICATION_RECOVERED,
        {
            "comment_id": notification.comment_id,
            "notification_id": notification.id,
            "message_id": notification.message_id,
            "action": action,  # sent, recorded or given_up
            "state_found": entry.state,
            "attempts": entry.attempts,
            "since": entry.changed_at,
            "by": SWEEPER,
        },
    )


def _sweep_one(table: DeskmailTable, mailer: SesMailer, entry: outbox.OutboxEntry, now: Clock) -> str:
    notification = entry.notification
    action = outbox.sweep_action(entry)
    if action == "drop":
        # Put ahead of its comment's transaction, which never landed: no comment, nothing to notify about, and no
        # ticket event either (the ticket itself may not exist). Logged, and counted as OutboxSwept.dropped.
        if not table.drop_uncommitted_outbox(notification.ticket_id, notification.id):
            return "taken"
        logger.warning(
            "Outbox entry dropped: the comment it was written with was never committed",
            extra={"notification_id": notification.id, "ticket_id": notification.ticket_id},
        )
        return "dropped"
    if action == "send":
        if not table.move_outbox(notification.ticket_id, notification.id, outbox.PENDING, 0, outbox.SENDING, now()):
            return "taken"
        sending = replace(entry, state=outbox.SENDING, attempts=1)
        notification = send_claimed(table, mailer, sending, now)
        outcome = "sent" if notification.message_id else "refused"
    elif action == "record":
        if not finish(table, entry, notification):
            return "error"
        outcome = "recorded"
    else:
        # The sender died after its claim. If its record landed and only the final move was lost, finish that;
        # otherwise nobody can tell whether SES sent it, and it is never sent twice: record it as failed.
        recorded = table.get_notification(notification.ticket_id, notification.comment_id, notification.id)
        if recorded is not None and recorded.message_id:
            notification = recorded
            outcome = "recorded"
            if table.move_outbox(
                notification.ticket_id,
                notification.id,
                entry.state,
                entry.attempts,
                outbox.SENT,
                entry.changed_at,
                {"message_id": recorded.message_id, "sent_at": recorded.sent_at},
                _epoch(recorded.sent_at),
            ):
                table.count_sent(notification)
        else:
            notification = interrupted(notification, entry.changed_at)
            if not finish(table, entry, notification):
                return "error"
            outcome = "given_up"
    table.write_items([_recovered_event(entry, outcome, notification, now())])
    return outcome


def sweep(
    table: DeskmailTable,
    mailer: SesMailer,
    now: Clock,
    grace_seconds: int | None = None,
    limit: int = 100,
) -> dict[str, int]:
    """Sends or fails the entries left open longer than the grace period; counts what it did, by outcome."""
    moment = datetime.fromisoformat(now().replace("Z", "+00:00"))
    grace = outbox.GRACE_SECONDS if grace_seconds is None else grace_seconds
    cutoff = format_timestamp(moment - timedelta(seconds=grace))
    outcomes: Counter[str] = Counter()
    for entry in table.list_due_outbox(cutoff, limit):
        try:
            outcomes[_sweep_one(table, mailer, entry, now)] += 1
        except STORAGE_ERRORS:
            logger.exception("Outbox entry not swept", extra={"notification_id": entry.notification.id})
            outcomes["error"] += 1
    if outcomes:
        for outcome, count in outcomes.items():
            metrics.add_metric(name=f"OutboxSwept.{outcome}", unit=MetricUnit.Count, value=count)
        metrics.flush_metrics()
        logger.info("Outbox swept", extra={"outcomes": dict(outcomes)})
    return dict(outcomes)
