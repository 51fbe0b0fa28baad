"""The SQS feedback handler's body: one FeedbackBatch, applied record by record with a partial batch response."""

from __future__ import annotations

import gc
from typing import Any

from chalicelib.adapters.dynamo import DeskmailTable
from chalicelib.config import settings
from chalicelib.observability import emit_summary, logger, mask_text
from chalicelib.services.feedback import FeedbackBatch, KeptFeedback, NotificationNotRecorded
from chalicelib.sqs_batch import messages

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
    # A batch allocates thousands of short-lived dicts (parsed SES JSON, items, their DynamoDB form), freed by
    # reference counting as it goes; the cyclic collector only walks them. At the default threshold (700) young
    # collections took 40 % of a batch of 1,000, and at a threshold of 20,000 a batch of 1,000 still paid a quarter
    # of its CPU in them (`make bench`): it is off for the invocation, then back on (whatever cycles a batch leaves
    # are collected later). A plain try/finally, not a @contextmanager: that generator cost ≈ 3 µs per invocation.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _handle(event, table, received_at, epoch_seconds, configuration_set)
    finally:
        if collecting:
            gc.enable()


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
    counts = {"NotificationsProcessed": summary.recorded}
    if summary.malformed:
        counts["MalformedFeedback"] = summary.malformed
    if summary.unreadable:
        counts["UnreadableFeedback"] = summary.unreadable
    if summary.unknown_message:
        counts["FeedbackForUnknownMessage"] = summary.unknown_message
    if summary.unknown_message_kept:
        counts["UnknownMessageFeedbackKept"] = summary.unknown_message_kept
    if summary.other_sender:
        counts["FeedbackForOtherSenders"] = summary.other_sender
        try:
            # A day's count an operator can read back (FEEDBACK#OTHER#{day}); the records are settled already.
            table.count_other_sender_feedback(batch.received_at, summary.other_sender, batch.epoch_seconds)
        except Exception as error:  # noqa: BLE001 - a lost count must not have SQS redeliver a settled batch
            logger.warning("could not count feedback for other senders", extra={"error": mask_text(str(error))})
    if summary.failures_by_category:
        counts["DeliveryFailures"] = sum(summary.failures_by_category.values())
        # The category is in the metric's name, not a dimension (a document per category cost a fifth of the
        # handler's CPU); the same line names each failure (address masked).
        for category, count in summary.failures_by_category.items():
            counts[f"DeliveryFailures_{category}"] = count
    # One document per batch: the summary log line and its metrics together (observability.emit_summary).
    emit_summary(
        "feedback batch processed",
        {
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
        counts,
        batch.received_at,
    )
