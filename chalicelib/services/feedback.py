"""Records SES feedback: per-recipient outcomes, failure events and the failure tag, idempotently.

Every write is a put of a key derived from the notification itself, so a replay writes the same items again
and changes nothing; the current status is computed from the stored outcomes when read, so arrival order
does not matter either. That is why no transaction is needed (see the README's cost model).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chalicelib.adapters import dynamo
from chalicelib.adapters.dynamo import DeskmailTable
from chalicelib.domain.feedback import DESKMAIL, OTHER_SENDER, Ignored, MalformedFeedback, SesFeedback, parse
from chalicelib.domain.model import FAILED_STATUSES, SentMessage
from chalicelib.observability import logger, mask_address
from chalicelib.services.failures import TagState, outcome_event_items
from chalicelib.sqs_batch import SqsMessage

# The feedback queue's maxReceiveCount (infrastructure and the local stack): on this receive a record that would
# be retried once more goes to the dead-letter queue instead. Feedback for a message id deskmail still has no
# record of by then is kept whole (RAW#) and acknowledged: inspectable, and it does not alarm as a failure.
LATE_RECEIVE_COUNT = 5
# An identity notification (no tags) about a message id deskmail has no record of may be deskmail's, ahead of the
# write that records the send, or another sender's on the same domain: retried once, then acknowledged as not
# deskmail's. Its event-publishing twin, if it was deskmail's, carries the tags and is retried to the end.
UNKNOWN_SENDER_RECEIVES = 2


class BatchReadFailed(RuntimeError):
    """The batch read failed (throttled, say): each record that needed it is retried, the others are settled."""


class NotificationNotRecorded(LookupError):
    """Feedback for a message id deskmail has no record of (yet): retried by SQS, then dead-lettered."""

    def __init__(self, message_id: str):
        super().__init__(f"no notification recorded for SES message {message_id}")
        self.message_id = message_id


@dataclass(frozen=True)
class KeptFeedback:
    """One record kept for inspection: what the log line and the metric say about it (addresses masked)."""

    sqs_message_id: str
    outcome: str  # malformed, unreadable, partly_unreadable, unknown_message
    reason: str
    ses_message_id: str | None
    recipients: tuple[str | None, ...]
    body_chars: int


@dataclass
class BatchSummary:
    recorded: int = 0
    ignored: int = 0
    malformed: int = 0
    unreadable: int = 0
    unknown_message: int = 0
    unknown_message_kept: int = 0
    other_sender: int = 0
    kept: list[KeptFeedback] = field(default_factory=list)
    outcomes: int = 0
    failures_by_category: dict[str, int] = field(default_factory=dict)
    failures: list[dict] = field(default_factory=list)
    by_type: dict[str, int] = field(default_factory=dict)


class FeedbackBatch:
    """One SQS batch: parsed and read up front (one BatchGetItem), decided record by record, then written at once:
    every record's items packed 25 to a BatchWriteItem, and only the records whose items did not land retried."""

    def __init__(self, table: DeskmailTable, received_at: str, epoch_seconds: int, configuration_set: str = ""):
        self.table = table
        self.configuration_set = configuration_set
        self.received_at = received_at
        self.epoch_seconds = epoch_seconds
        self.parsed: dict[str, SesFeedback | Ignored | MalformedFeedback] = {}
        self.sent: dict[str, SentMessage] = {}  # by SES message id: the messages deskmail has a record of
        self.tags = TagState({})
        self.summary = BatchSummary()
        self.read_error: Exception | None = None
        self.pending: list[tuple[str, list[dict]]] = []  # (SQS message id, the items it writes)

    def prepare(self, records: list[SqsMessage]) -> None:
        """Parses each record and batch-reads what applying them needs; no record's failure stops the others."""
        for record in records:
            self.parsed[record.message_id] = self._parse(record.body)
        feedbacks = [item for item in self.parsed.values() if isinstance(item, SesFeedback) and item.events]
        if not feedbacks:
            return
        try:
            self._read(feedbacks)
        except Exception as error:  # noqa: BLE001 - whatever the read hit, only the records that need it are retried
            self.read_error = error

    def _read(self, feedbacks: list[SesFeedback]) -> None:
        failing = [f for f in feedbacks if any(e.status in FAILED_STATUSES for e in f.events)]
        # Event publishing names the ticket in deskmail's own message tags: its failure tag is read in the same
        # request as the message lookups. Only an identity copy (no tags) can need a second read.
        hinted = {ticket for f in failing for ticket in _ticket_hints(f)}
        self.sent, tags = self.table.get_feedback_context({f.message_id for f in feedbacks}, hinted)
        needed = {self.sent[f.message_id].notification.ticket_id for f in failing if f.message_id in self.sent}
        if needed - tags.keys():
            tags.update(self.table.get_failure_tags(needed - tags.keys()))
        self.tags = TagState(tags)

    def flush(self) -> dict[str, str]:
        """Writes what every applied record reported; returns {SQS message id: why} for records to retry."""
        pending, self.pending = self.pending, []
        return self.table.write_owned_items(pending) if pending else {}

    def apply(self, record: SqsMessage) -> str:
        """Writes what one record reports; raises to have SQS retry just this record."""
        parsed = self.parsed.get(record.message_id)
        if parsed is None:
            parsed = self._parse(record.body)
        if isinstance(parsed, MalformedFeedback):
            self._keep(record, "malformed", str(parsed), None)
            self.summary.malformed += 1
            return "malformed"
        if isinstance(parsed, Ignored):
            self.summary.ignored += 1
            return "ignored"
        if parsed.unattributed:
            # Nobody readable is named: nothing may be pinned on a recipient, and nothing is lost either.
            self._keep(record, "unreadable", parsed.unreadable or "", parsed)
            self.summary.unreadable += 1
            return "unreadable"
        if self.read_error is not None:
            raise BatchReadFailed(f"the batch read failed: {self.read_error}") from self.read_error
        sent = self.sent.get(parsed.message_id)
        if sent is None:
            sender = parsed.sender(self.configuration_set)
            if sender == OTHER_SENDER or (sender != DESKMAIL and record.receive_count >= UNKNOWN_SENDER_RECEIVES):
                # Mail another program sent from deskmail's domain: not deskmail's to record, nor to dead-letter.
                self.summary.other_sender += 1
                return "other_sender"
            if record.receive_count >= LATE_RECEIVE_COUNT:
                reason = f"no notification recorded for SES message {parsed.message_id}"
                reason += f" after {record.receive_count} receives"
                self._keep(record, "unknown_message", reason, parsed)
                self.summary.unknown_message_kept += 1
                return "unknown_message_kept"
            # Feedback can overtake the write that records the send; SQS redelivers it until it is there.
            self.summary.unknown_message += 1
            raise NotificationNotRecorded(parsed.message_id)
        items = self._items_for(parsed, sent)
        if parsed.unreadable:
            # Some recipient entries were readable and are applied; the whole body is kept for the others.
            items += self._keep_items(record, "partly_unreadable", parsed.unreadable, parsed)
            self.summary.unreadable += 1
        if items:
            self.pending.append((record.message_id, items))
        self.summary.recorded += 1
        self.summary.by_type[parsed.event_type] = self.summary.by_type.get(parsed.event_type, 0) + 1
        return "recorded"

    def _parse(self, body: str) -> SesFeedback | Ignored | MalformedFeedback:
        try:
            return parse(body, self.received_at)
        except MalformedFeedback as error:
            return error
        except Exception as error:  # noqa: BLE001 - whatever reading one body raises, that body alone is quarantined
            return MalformedFeedback(f"unreadable ({type(error).__name__}): {error}"[:500])

    def _items_for(self, feedback: SesFeedback, sent: SentMessage) -> list[dict]:
        notification, recipients, subject = sent
        items: list[dict] = []
        for event in feedback.events:
            recipient = recipients.get(event.email)
            if recipient is None:
                # SES named an address this notification was not sent to: nothing of ours to update.
                logger.debug(
                    "feedback names an address the notification was not sent to",
                    extra={"ses_message_id": feedback.message_id, "recipient": mask_address(event.email)},
                )
                continue
            items.append(dynamo.outcome_wire_item(notification, event))
            self.summary.outcomes += 1
            if event.kind == "delivery" and notification.ticket_had_failures:
                # Lets the delivery-problems inbox close this user's earlier failures on this ticket (on a ticket that
                # had none when this was sent, there is nothing to close: no marker, one write fewer).
                items.append(dynamo.delivered_marker_item(notification.ticket_id, recipient.user_id, event.occurred_at))
            items.extend(
                outcome_event_items(
                    notification,
                    recipient,
                    event.status,
                    event.failure,
                    event.occurred_at,
                    event.id,
                    subject,
                )
            )
            if event.status in FAILED_STATUSES:
                category = (event.failure or {}).get("category", "unknown")
                # Named in the batch summary's one log line (address masked): per-record logging costs more CPU
                # than the rest of the record's work.
                self.summary.failures.append(
                    {
                        "ses_message_id": feedback.message_id,
                        "ticket_id": notification.ticket_id,
                        "recipient": mask_address(event.email),
                        "category": category,
                        "smtp_status": (event.failure or {}).get("smtp_status"),
                    }
                )
                self.summary.failures_by_category[category] = self.summary.failures_by_category.get(category, 0) + 1
                items.extend(
                    self.tags.tag_items_for_failure(notification.ticket_id, subject, event.occurred_at, event.id)
                )
        return items

    def _keep_items(self, record: SqsMessage, outcome: str, reason: str, feedback: SesFeedback | None) -> list[dict]:
        self.summary.kept.append(
            KeptFeedback(
                record.message_id,
                outcome,
                reason,
                feedback.message_id if feedback else None,
                tuple(mask_address(address) for address in feedback.destination) if feedback else (),
                len(record.body),
            )
        )
        return dynamo.raw_items(
            "feedback",
            record.message_id,
            record.body,
            reason,
            self.received_at,
            self.epoch_seconds,
            outcome=outcome,
            ses_message_id=feedback.message_id if feedback else None,
            receive_count=record.receive_count,
        )

    def _keep(self, record: SqsMessage, outcome: str, reason: str, feedback: SesFeedback | None) -> None:
        self.pending.append((record.message_id, self._keep_items(record, outcome, reason, feedback)))


def _ticket_hints(feedback: SesFeedback) -> list[str]:
    values = feedback.tags.get("ticket_id")
    if not isinstance(values, list):
        return []
    return [value for value in values[:1] if isinstance(value, str) and 0 < len(value) <= 64]
