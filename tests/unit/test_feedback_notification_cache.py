"""The per-container notification cache of the feedback service gives what its lookup gives, never an older reading."""

from __future__ import annotations

import copy

from chalicelib.adapters import dynamo
from chalicelib.domain.model import Notification, Recipient
from chalicelib.services import feedback


def _lookup(name: str = "Rita Requester", email: str = "Rita@Example.com") -> dict:
    notification = Notification(
        id="n-1",
        ticket_id="t-1",
        comment_id="c-1",
        trigger_id="notify-requester",
        trigger_title="Notify requester",
        message_id="ses-cache-1",
        recipients=(Recipient("u-1", name, email, "to"),),
        sent_at="2026-01-01T00:00:00.000Z",
    )
    return dynamo.from_item(dynamo.to_item(dynamo.notification_items(notification, "Printer on fire")[1]))


def test_an_equal_lookup_gives_the_notification_it_builds_and_the_recipients_by_lowercased_address():
    lookup = _lookup()
    first = feedback._notification_of("ses-cache-1", lookup)
    again = feedback._notification_of("ses-cache-1", copy.deepcopy(lookup))
    assert first == again == (dynamo.notification_from_lookup(lookup), {"rita@example.com": first[0].recipients[0]})


def test_a_changed_lookup_for_the_same_message_is_read_again():
    feedback._notification_of("ses-cache-1", _lookup())
    notification, by_address = feedback._notification_of("ses-cache-1", _lookup(name="Rita R.", email="r@b.example"))
    assert notification.recipients[0].name == "Rita R."
    assert set(by_address) == {"r@b.example"}


def test_the_cache_keeps_at_most_its_limit_the_oldest_going_first(monkeypatch):
    monkeypatch.setattr(feedback, "KNOWN_NOTIFICATIONS_LIMIT", 2)
    monkeypatch.setattr(feedback, "_known_notifications", {})
    for message_id in ("a", "b", "c"):
        feedback._notification_of(message_id, _lookup())
    assert list(feedback._known_notifications) == ["b", "c"]
