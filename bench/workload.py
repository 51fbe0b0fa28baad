"""Feedback the benchmarks feed: SES notifications of each kind, for notifications already recorded in the table."""

from __future__ import annotations

import itertools
import uuid

from chalicelib.adapters import dynamo
from chalicelib.domain.model import Notification, Recipient
from chalicelib.ids import new_id
from tests import ses_payloads as ses

KINDS = ("delivery", "bounce", "complaint", "delay")


def recorded_notifications(count: int) -> list[Notification]:
    """Notifications as the send path records them: To and Cc, each with an SES message id."""
    notifications = []
    for n in range(count):
        ticket_id, comment_id = new_id(), new_id()
        notifications.append(
            Notification(
                id=new_id(),
                ticket_id=ticket_id,
                comment_id=comment_id,
                trigger_id="notify-requester-ccs-comment",
                trigger_title="Notify requester and CCs of comment update",
                message_id=f"0100019{uuid.uuid4().hex}-{n:06d}-000000",
                recipients=(
                    Recipient(new_id(), "Rita Requester", f"rita.{n}@example.com", "to"),
                    Recipient(new_id(), "Carl Cc", f"carl.{n}@example.com", "cc"),
                ),
                sent_at=ses.at(0),
            )
        )
    return notifications


def items_for(notifications: list[Notification]) -> list[dict]:
    return [item for n in notifications for item in dynamo.notification_items(n, "Printer on fire")]


def deskmail_tags(notification: Notification) -> dict[str, list[str]]:
    """The message tags the send path gives every notification, as SES publishes them (each value a list)."""
    return {
        "ticket_id": [notification.ticket_id],
        "comment_id": [notification.comment_id],
        "trigger_id": [notification.trigger_id],
        "notification_id": [notification.id],
    }


def feedback_body(kind: str, notification: Notification) -> str:
    """One SNS-wrapped SES event of this kind about this notification (one recipient named, as is typical)."""
    message_id = notification.message_id or ""
    rita, carl = (r.email or "" for r in notification.recipients)
    destination = [rita, carl]
    tags = deskmail_tags(notification)
    if kind == "delivery":
        return ses.delivery(message_id, destination, [rita], tags=tags)
    if kind == "bounce":
        return ses.bounce(message_id, destination, [ses.hard_bounce_recipient(carl)], tags=tags)
    if kind == "complaint":
        return ses.complaint(message_id, destination, [rita], tags=tags)
    if kind == "delay":
        return ses.delay(message_id, destination, [carl], tags=tags)
    raise ValueError(kind)


def bodies(kinds: list[str] | tuple[str, ...], notifications: list[Notification], count: int) -> list[str]:
    """count bodies cycling through the kinds, each about the next notification (round robin)."""
    kind_cycle, target = itertools.cycle(kinds), itertools.cycle(notifications)
    return [feedback_body(next(kind_cycle), next(target)) for _ in range(count)]
