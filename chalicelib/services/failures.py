"""What a failed, complained or refused recipient writes: the ticket event, and the tag with its own event."""

from __future__ import annotations

from chalicelib.adapters import dynamo
from chalicelib.domain import deliverability
from chalicelib.domain.model import COMPLAINED, FAILED_STATUSES, FAILURE_TAG, Notification, Recipient
from chalicelib.ids import stable_id

EVENT_DELIVERY_FAILURE = "email_delivery_failure"
EVENT_COMPLAINT = "email_complaint"
EVENT_TAG_ADDED = "tag_added"
EVENT_TAG_REMOVED = "tag_removed"


def outcome_event_items(
    notification: Notification,
    recipient: Recipient,
    status: str,
    failure: dict | None,
    occurred_at: str,
    source_id: str,
    subject: str = "",
) -> list[dict]:
    """The events-log entry for one recipient's failure or complaint (none for other outcomes)."""
    if status not in FAILED_STATUSES and status != COMPLAINED:
        return []
    failure = failure or {}
    data = {
        "comment_id": notification.comment_id,
        "notification_id": notification.id,
        "message_id": notification.message_id,
        "recipient": {"user_id": recipient.user_id, "name": recipient.name, "email": recipient.email},
        "status": status,
        "category": failure.get("category"),
        "smtp_status": failure.get("smtp_status"),
        "smtp_code": failure.get("smtp_code"),
        "diagnostic": failure.get("diagnostic"),
        "bounce_type": failure.get("bounce_type"),
        "bounce_subtype": failure.get("bounce_subtype"),
        "triggers": [{"id": notification.trigger_id, "title": notification.trigger_title}],
        "subject": subject,
    }
    event_type = EVENT_COMPLAINT if status == COMPLAINED else EVENT_DELIVERY_FAILURE
    item = dynamo.event_item(notification.ticket_id, stable_id(event_type, source_id), occurred_at, event_type, data)
    if event_type == EVENT_DELIVERY_FAILURE:
        item.update(dynamo.failure_inbox_keys(notification.ticket_id, item["id"], occurred_at))
    items = [item]
    fact = deliverability.fact_for(status, failure)
    if fact and recipient.email:
        items.append(
            dynamo.address_fact_item(recipient.email, fact, occurred_at, source_id, notification.ticket_id, failure)
        )
    return items


class TagState:
    """The failure tag of the tickets a unit of work touches, read once and kept current as it writes."""

    def __init__(self, tag_items: dict[str, dict | None]):
        self._items = tag_items  # ticket id -> tag item (or None)

    def tag_items_for_failure(self, ticket_id: str, subject: str, occurred_at: str, source_id: str) -> list[dict]:
        current = self._items.get(ticket_id)
        if current and not current.get("active") and current.get("cleared_at", "") >= occurred_at:
            return []  # an agent cleared the tag after this failure: a late replay must not bring it back
        if current and current.get("active") and current.get("sort_time", "") >= occurred_at:
            # A later failure is already recorded. If this failure is the one that added the tag, this is a retry
            # or replay of it: its "tag added" event may be the part of an earlier write that did not land.
            return [_tag_added_event(current)] if current.get("added_by") == source_id else []
        newly_tagged = not (current and current.get("active"))
        tagged_at = occurred_at if newly_tagged else current.get("tagged_at", occurred_at)  # type: ignore[union-attr]
        added_by = source_id if newly_tagged else current.get("added_by")  # type: ignore[union-attr]
        item = dynamo.tag_item(ticket_id, subject, FAILURE_TAG, occurred_at, tagged_at, added_by)
        self._items[ticket_id] = item
        return [item, _tag_added_event(item)] if newly_tagged else [item]


def _tag_added_event(tag: dict) -> dict:
    """The events-log entry of the failure that added the tag: same key and content however often it is written."""
    return dynamo.event_item(
        tag["ticket_id"],
        stable_id(EVENT_TAG_ADDED, tag["ticket_id"], tag["added_by"]),
        tag["tagged_at"],
        EVENT_TAG_ADDED,
        {"tag": FAILURE_TAG, "by": "system"},
    )
