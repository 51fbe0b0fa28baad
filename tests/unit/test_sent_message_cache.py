"""The adapter's per-container cache of sent messages gives what the item read gives, never an older reading."""

from __future__ import annotations

import random

import pytest

from chalicelib.adapters import dynamo
from chalicelib.domain.model import Notification, Recipient, SentMessage


def _lookup_item(name: str = "Rita Requester", email: str = "Rita@Example.com", subject: str = "Printer") -> dict:
    notification = Notification(
        id="n-1",
        ticket_id="t-1",
        comment_id="c-1",
        trigger_id="notify-requester",
        trigger_title="Notify requester",
        message_id="ses-cache-1",
        recipients=(Recipient("u-1", name, email, "to"), Recipient("u-2", "No Address", None, "cc")),
        sent_at="2026-01-01T00:00:00.000Z",
    )
    return dynamo.to_item(dynamo.notification_items(notification, subject)[1])


@pytest.fixture(autouse=True)
def _empty_cache(monkeypatch):
    monkeypatch.setattr(dynamo, "_sent_messages", {})


def test_a_lookup_gives_its_notification_its_recipients_by_lowercased_address_and_the_subject():
    sent = dynamo._sent_message(_lookup_item())
    assert isinstance(sent, SentMessage)
    assert sent == dynamo.sent_message_from_lookup(dynamo.from_item(_lookup_item()))
    assert sent.notification.ticket_id == "t-1"
    assert sent.recipients_by_email == {"rita@example.com": sent.notification.recipients[0]}
    assert sent.subject == "Printer"


def test_an_equal_item_from_a_later_read_gives_the_same_value():
    first = dynamo._sent_message(_lookup_item())
    assert dynamo._sent_message(_lookup_item()) is first  # new dicts, as the client gives them: reused


def test_a_changed_lookup_for_the_same_message_is_read_again():
    dynamo._sent_message(_lookup_item())
    sent = dynamo._sent_message(_lookup_item(name="Rita R.", email="r@b.example", subject="Renamed"))
    assert sent.notification.recipients[0].name == "Rita R."
    assert set(sent.recipients_by_email) == {"r@b.example"}
    assert sent.subject == "Renamed"


@pytest.mark.parametrize("seed", range(30))
def test_changing_the_response_dicts_after_the_read_does_not_change_what_the_cache_compares_with(seed):
    rng = random.Random(seed)
    item = _lookup_item()
    dynamo._sent_message(item)
    # The client's response is mutated in place (a nested value or a top-level one) after the read.
    if rng.randrange(2):
        item["recipients"]["L"][0]["M"]["name"] = {"S": f"Changed {seed}"}
    else:
        item["subject"] = {"S": f"Changed {seed}"}
    assert dynamo._sent_message(item) == dynamo.sent_message_from_lookup(dynamo.from_item(item))


def test_the_cache_keeps_at_most_its_limit_the_oldest_going_first(monkeypatch):
    monkeypatch.setattr(dynamo, "SENT_MESSAGES_LIMIT", 2)
    for message_id in ("a", "b", "c"):
        item = _lookup_item()
        item["PK"] = {"S": f"MSG#{message_id}"}
        dynamo._sent_message(item)
    assert list(dynamo._sent_messages) == ["MSG#b", "MSG#c"]
