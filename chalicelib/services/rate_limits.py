"""The per-address notification limit applied on the send path: hold, record why, remember what was sent."""

from __future__ import annotations

import os
from datetime import datetime

from chalicelib.adapters import dynamo
from chalicelib.adapters.dynamo import DeskmailTable
from chalicelib.domain import rate_limit, triggers
from chalicelib.domain.model import NOT_SENT, REJECTED, Notification, Recipient
from chalicelib.ids import stable_id

EVENT_NOTIFICATION_HELD = "notification_held"
SEND_LOG_RETENTION_SECONDS = 2 * 3600  # the longest window, and some slack before TTL removes the item


class NotificationBrake:
    """One unit of work's view of a ticket's recent sends: the Query happens once, on the first fired trigger."""

    def __init__(self, table: DeskmailTable, ticket_id: str, now: str):
        self.table = table
        self.ticket_id = ticket_id
        self.now = now
        self.windows = rate_limit.windows_from(os.environ)
        self._counter: rate_limit.SendCounter | None = None

    def _sends(self) -> rate_limit.SendCounter:
        if self._counter is None:
            since = rate_limit.window_start(self.now, self.windows)
            self._counter = rate_limit.SendCounter(
                self.now, self.windows, self.table.list_recent_sends(self.ticket_id, since)
            )
        return self._counter

    def hold_over_limit(
        self, evaluation: triggers.TriggerEvaluation
    ) -> tuple[triggers.TriggerEvaluation, list[tuple[Recipient, rate_limit.Hold]]]:
        """The evaluation with recipients over the limit marked not_sent (rate_limited), and those holds."""
        if not any(recipient.email for recipient in evaluation.recipients):
            return evaluation, []
        counter = self._sends()
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
        """The send-log item for the addresses SES took, and a notification_held event per held recipient.

        before_send: the outbox records a notification before SES is called, so the log counts the addresses it
        is about to go to (an attempt counts, which errs on the side of fewer emails in a loop).
        """
        items: list[dict] = []
        sent_to = [r.email for r in notification.recipients if r.email and r.status not in (NOT_SENT, REJECTED)]
        if sent_to and (notification.message_id or before_send):
            counter = self._sends()
            for address in sent_to:
                counter.record(address, notification.sent_at)
            expires_at = int(datetime.fromisoformat(notification.sent_at.replace("Z", "+00:00")).timestamp())
            items.append(dynamo.send_log_item(notification, sent_to, expires_at + SEND_LOG_RETENTION_SECONDS))
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
