"""The SQS feedback handler's body: one FeedbackBatch, applied record by record with a partial batch response."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from chalicelib.adapters.dynamo import DeskmailTable
from chalicelib.config import settings
from chalicelib.observability import MetricUnit, logger, mask_text, metrics
from chalicelib.services.feedback import FeedbackBatch, KeptFeedback, NotificationNotRecorded
from chalicelib.sqs_batch import messages

# A batch allocates thousands of short-lived dicts (parsed SES JSON, items, their DynamoDB form); at the default
# threshold (700) the young generation is collected every few records, which cost 40 % of the CPU of a batch of
# 1,000 (`make bench`). Raised for the invocation only, then put back.
YOUNG_GENERATION_THRESHOLD = 20_000


@contextmanager
def fewer_collections() -> Iterator[None]:
    previous = gc.get_threshold()
    gc.set_threshold(max(previous[0], YOUNG_GENERATION_THRESHOLD), *previous[1:])
    try:
        yield
    finally:
        gc.set_threshold(*previous)


KEPT_LOG_MESSAGES = {
    "malformed": "malformed SES feedback kept for inspection",
    "unreadable": "unreadable SES feedback kept for inspection: it names no readable recipient",
    "partly_unreadable": "SES feedback with unreadable recipient entries applied and kept for inspection",
    "unknown_message": "SES feedback for a message deskmail has no record of, kept for inspection",
}


def handle(
    event: dict,
    context: Any,
    table: DeskmailTable,
    received_at: str,
    epoch_seconds: int,
    configuration_set: str | None = None,
) -> dict:
    if configuration_set is None:
        configuration_set = settings().configuration_set
    with fewer_collections():
        return _handle(event, table, received_at, epoch_seconds, configuration_set)


def _handle(event: dict, table: DeskmailTable, received_at: str, epoch_seconds: int, configuration_set: str) -> dict:
    records = messages(event)
    batch = FeedbackBatch(table, received_at, epoch_seconds, configuration_set)
    batch.prepare(records)
    if batch.read_error is not None:
        logger.warning(
            "batch read failed; the records that need it will be retried",
            extra={"error": mask_text(str(batch.read_error))},
        )

    failed: dict[str, str] = {}
    for record in records:
        try:
            batch.apply(record)
        except NotificationNotRecorded as error:
            logger.warning(
                "feedback for an unrecorded message; SQS will redeliver it",
                extra={
                    "ses_message_id": error.message_id,
                    "sqs_message_id": record.message_id,
                    "receive_count": record.receive_count,
                },
            )
            failed[record.message_id] = "unrecorded message"
        except Exception:  # noqa: BLE001 - whatever went wrong, SQS retries this record alone, then dead-letters it
            logger.exception("record failed; SQS will redeliver it", extra={"sqs_message_id": record.message_id})
            failed[record.message_id] = "failed"
    not_written = batch.flush()
    if not_written:
        logger.warning(
            "some records' items were not written; SQS will redeliver those records",
            extra={"records": [{"sqs_message_id": k, "reason": mask_text(v)} for k, v in not_written.items()]},
        )
        failed.update(not_written)
    for kept in batch.summary.kept:
        if kept.sqs_message_id not in failed:
            _log_kept(kept)
    response = {"batchItemFailures": [{"itemIdentifier": r.message_id} for r in records if r.message_id in failed]}
    _publish(batch, table, len(records), len(response["batchItemFailures"]))
    return response


def _log_kept(kept: KeptFeedback) -> None:
    """One line per kept record: ids and masked addresses find it (RAW#{day}/{sqs id}); the body is never logged."""
    logger.warning(
        KEPT_LOG_MESSAGES[kept.outcome],
        extra={
            "sqs_message_id": kept.sqs_message_id,
            "ses_message_id": kept.ses_message_id,
            "reason": mask_text(kept.reason),
            "recipients": list(kept.recipients),
            "body_chars": kept.body_chars,
        },
    )


def _publish(batch: FeedbackBatch, table: DeskmailTable, received: int, failed: int) -> None:
    summary = batch.summary
    logger.info(
        "feedback batch processed",
        extra={
            "received": received,
            "failed": failed,
            "failures": summary.failures,
            "recorded": summary.recorded,
            "ignored": summary.ignored,
            "malformed": summary.malformed,
            "unreadable": summary.unreadable,
            "unknown_message": summary.unknown_message,
            "unknown_message_kept": summary.unknown_message_kept,
            "other_sender": summary.other_sender,
            "outcomes": summary.outcomes,
            "by_type": summary.by_type,
            "failures_by_category": summary.failures_by_category,
        },
    )
    metrics.add_metric(name="NotificationsProcessed", unit=MetricUnit.Count, value=summary.recorded)
    if summary.malformed:
        metrics.add_metric(name="MalformedFeedback", unit=MetricUnit.Count, value=summary.malformed)
    if summary.unreadable:
        metrics.add_metric(name="UnreadableFeedback", unit=MetricUnit.Count, value=summary.unreadable)
    if summary.unknown_message:
        metrics.add_metric(name="FeedbackForUnknownMessage", unit=MetricUnit.Count, value=summary.unknown_message)
    if summary.unknown_message_kept:
        metrics.add_metric(name="UnknownMessageFeedbackKept", unit=MetricUnit.Count, value=summary.unknown_message_kept)
    if summary.other_sender:
        metrics.add_metric(name="FeedbackForOtherSenders", unit=MetricUnit.Count, value=summary.other_sender)
        try:
            # A day's count an operator can read back (FEEDBACK#OTHER#{day}); the records are settled already.
            table.count_other_sender_feedback(batch.received_at, summary.other_sender, batch.epoch_seconds)
        except Exception as error:  # noqa: BLE001 - a lost count must not have SQS redeliver a settled batch
            logger.warning("could not count feedback for other senders", extra={"error": mask_text(str(error))})
    if summary.failures_by_category:
        metrics.add_metric(
            name="DeliveryFailures", unit=MetricUnit.Count, value=sum(summary.failures_by_category.values())
        )
    for category, count in summary.failures_by_category.items():
        # One EMF document per batch (a document per category cost a fifth of the handler's CPU): the category is
        # in the metric's name, not a dimension; the batch's log line has the same counts.
        metrics.add_metric(name=f"DeliveryFailures_{category}", unit=MetricUnit.Count, value=count)
    metrics.flush_metrics()
