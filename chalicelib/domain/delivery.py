"""A comment's delivery: each recipient's current outcome and the one/some/all summary agents see."""

from __future__ import annotations

import gettext
from dataclasses import dataclass

from chalicelib.domain import classification
from chalicelib.domain.model import (
    BOUNCED,
    COMPLAINED,
    DELAYED,
    DELIVERED,
    FAILED_STATUSES,
    NOT_SENT,
    REJECTED,
    SENT,
    SUPPRESSED,
    Notification,
    OutcomeEvent,
)

_STATUS_RANK = {SENT: 10, DELAYED: 20, DELIVERED: 30, COMPLAINED: 40, BOUNCED: 50, REJECTED: 60, SUPPRESSED: 60}
_PERMANENT_BONUS = 5


def _rank(status: str, failure: dict | None) -> int:
    # A permanent bounce outranks a transient one, whatever order they arrive in.
    bonus = _PERMANENT_BONUS if failure and failure.get("permanent") else 0
    return _STATUS_RANK.get(status, 0) + bonus


def winning_outcome(baseline: OutcomeEvent, events: list[OutcomeEvent]) -> OutcomeEvent:
    """The worse outcome wins (failed over complained over delivered over delayed over sent); ties go to the later."""
    best = baseline
    for event in events:
        if event.kind == "auto_reply":
            continue
        challenger = (_rank(event.status, event.failure), event.occurred_at, event.id)
        holder = (_rank(best.status, best.failure), best.occurred_at, best.id)
        if challenger > holder:
            best = event
    return best


@dataclass(frozen=True)
class RecipientDelivery:
    user_id: str
    name: str
    email: str | None
    message_id: str | None
    status: str
    failure: dict | None
    timeline: tuple[OutcomeEvent, ...]
    sent_at: str = ""

    @property
    def failed(self) -> bool:
        return self.status in FAILED_STATUSES


@dataclass(frozen=True)
class DeliverySummary:
    # none | one | some | all (failures, as before) | not_sent: deskmail emailed nobody (every person is not_sent)
    scope: str
    message: str | None


def recipient_deliveries(notification: Notification, events: list[OutcomeEvent]) -> list[RecipientDelivery]:
    """Each recipient of one notification with the outcome its events add up to."""
    by_email: dict[str, list[OutcomeEvent]] = {}
    for event in events:
        by_email.setdefault(event.email, []).append(event)
    deliveries = []
    for recipient in notification.recipients:
        baseline = OutcomeEvent(
            id="",
            email=(recipient.email or "").lower(),
            kind="send",
            status=recipient.status,
            occurred_at=notification.sent_at,
            failure=recipient.failure,
        )
        own_events = sorted(by_email.get(baseline.email, []), key=lambda e: (e.occurred_at, e.id))
        if recipient.status == NOT_SENT:
            outcome = baseline
        else:
            outcome = winning_outcome(baseline, own_events)
        deliveries.append(
            RecipientDelivery(
                user_id=recipient.user_id,
                name=recipient.name,
                email=recipient.email,
                message_id=None if recipient.status == NOT_SENT else notification.message_id,
                status=outcome.status,
                failure=outcome.failure if outcome.status not in (SENT, DELIVERED) else None,
                timeline=tuple(own_events),
                sent_at=notification.sent_at,
            )
        )
    return deliveries


def _code(failure: dict | None) -> str | None:
    if not failure:
        return None
    return failure.get("smtp_status") or failure.get("smtp_code")


def current_attempts(recipients: list[RecipientDelivery]) -> list[RecipientDelivery]:
    """One row per person: their latest attempt (a resend replaces what the earlier email did), first-seen order."""
    latest: dict[str, RecipientDelivery] = {}
    for recipient in recipients:
        held = latest.get(recipient.user_id)
        if held is None or recipient.sent_at >= held.sent_at:
            latest[recipient.user_id] = recipient
    return list(latest.values())


def superseded_by(recipients: list[RecipientDelivery]) -> dict[int, RecipientDelivery]:
    """Index of each earlier attempt -> the person's latest attempt, which a resend made after it."""
    current = {recipient.user_id: recipient for recipient in current_attempts(recipients)}
    return {
        index: current[recipient.user_id]
        for index, recipient in enumerate(recipients)
        if current[recipient.user_id] is not recipient
    }


def summarize(recipients: list[RecipientDelivery], tr: gettext.NullTranslations) -> DeliverySummary:
    """The message under a comment: one person failed, all of several failed, some of them, or nobody was emailed.

    People are counted, not attempts: someone whose email bounced and whose resend went out counts once, by the
    resend's outcome.
    """
    recipients = current_attempts(recipients)
    failed = [recipient for recipient in recipients if recipient.failed]
    if recipients and all(recipient.status == NOT_SENT for recipient in recipients):
        reasons = dict.fromkeys(
            classification.failure_reason((r.failure or {}).get("category", classification.UNKNOWN), tr)
            for r in recipients
        )
        return DeliverySummary(
            "not_sent", tr.gettext("Not sent to anyone: {reasons}").format(reasons="; ".join(reasons))
        )
    if not failed:
        return DeliverySummary("none", None)
    if len(recipients) == 1:
        failure = failed[0].failure or {}
        reason = classification.failure_reason(failure.get("category", classification.UNKNOWN), tr)
        code = _code(failure)
        message = tr.gettext("{reason} ({code})").format(reason=reason, code=code) if code else reason
        return DeliverySummary("one", message)
    if len(failed) == len(recipients):
        return DeliverySummary("all", tr.gettext("Delivery failed"))
    return DeliverySummary("some", tr.gettext("Delivery failed to some recipients"))
