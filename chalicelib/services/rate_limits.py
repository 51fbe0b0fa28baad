"""The per-address notification limit applied on the send path: hold, and record why.

What a ticket sent each address lately is kept on the recipients' thread items (TICKET#{id} / MID#{user}, written
when a notification is recorded: chalicelib.services.notification_emails.threaded), which the send path reads
anyway to thread its emails: no send log per notification, and no Query of one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from chalicelib.adapters import dynamo
from chalicelib.domain import rate_limit, triggers
from chalicelib.domain.model import NOT_SENT, REJECTED, Notification, Recipient
from chalicelib.ids import stable_id

EVENT_NOTIFICATION_HELD = "notification_held"


def brake_window_start(now: str) -> str:
    """The oldest send the brake can still count (a thread keeps its sends from there on)."""
    return rate_limit.window_start(now, rate_limit.windows_from(os.environ))


class NotificationBrake:
    """One unit of work's view of a ticket's recent sends to its recipients, kept current as it sends more."""

    def __init__(self, now: str, recent_sends: Iterable[tuple[str, str]]):
        self.now = now
        self.counter = rate_limit.SendCounter(now, rate_limit.windows_from(os.environ), recent_sends)

    def hold_over_limit(
        self, evaluation: triggers.TriggerEvaluation
    ) -> tuple[triggers.TriggerEvaluation, list[tuple[Recipient, rate_limit.Hold]]]:
        """The evaluation with recipients over the limit marked not_sent (rate_limited), and those holds."""
        if not any(recipient.email for recipient in evaluation.recipients):
            return evaluation, []
        counter = self.counter
        recipients: list[Recipient] = []
        holds: list[tuple[Recipient, rate_limit.Hold]] = []
        for recipient in evaluation.recipients:
            hold = counter.hold(recipient.email) if recipient.email else None
            if hold is None:
                recipients.append(recipient)
                continue
            failure = {
                "category": rate_limit.RATE_LIMITED,
                "permanent": False,
                "diagnostic": f"{hold.sent} notifications to {hold.address} on this ticket in {hold.minutes} minutes",
                "occurred_at": self.now,
            }
            held = Recipient(**{**recipient.__dict__, "status": NOT_SENT, "failure": failure})
            recipients.append(held)
            holds.append((held, hold))
        if not holds:
            return evaluation, []
        return triggers.TriggerEvaluation(**{**evaluation.__dict__, "recipients": tuple(recipients)}), holds

    def items_after_send(
        self, notification: Notification, holds: list[tuple[Recipient, rate_limit.Hold]], before_send: bool = False
    ) -> list[dict]:
        """Counts the addresses SES took towards the limit for the rest of this unit of work, and returns a
        notification_held event per held recipient.

        before_send: the outbox records a notification before SES is called, so the count includes the addresses
        it is about to go to (an attempt counts, which errs on the side of fewer emails in a loop).
        """
        items: list[dict] = []
        sent_to = [r.email for r in notification.recipients if r.email and r.status not in (NOT_SENT, REJECTED)]
        if notification.message_id or before_send:
            for address in sent_to:
                self.counter.record(address, notification.sent_at)
        for recipient, hold in holds:
            items.append(
                dynamo.event_item(
                    notification.ticket_id,
                    stable_id(EVENT_NOTIFICATION_HELD, notification.id, recipient.user_id),
                    notification.sent_at,
                    EVENT_NOTIFICATION_HELD,
                    {
                        "comment_id": notification.comment_id,
                        "notification_id": notification.id,
                        "trigger": {"id": notification.trigger_id, "title": notification.trigger_title},
                        "recipient": {"user_id": recipient.user_id, "name": recipient.name, "email": recipient.email},
                        "sent": hold.sent,
                        "limit": hold.window.max_notifications,
                        "window_minutes": hold.minutes,
                    },
                )
            )
        return items
