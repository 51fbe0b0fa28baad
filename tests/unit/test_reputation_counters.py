"""What the reputation counters add up, and the inbox/tag page tokens that name their time bucket."""

from __future__ import annotations

import pytest

from chalicelib.adapters import dynamo
from chalicelib.adapters.dynamo import PageTokenError


def test_written_items_add_sent_recipients_hard_bounces_and_complaints_by_hour():
    items = [
        {"type": "sent_counts", "sent_count": 2, "sent_at": "2026-12-01T10:15:00.000Z"},
        {"type": "sent_counts", "sent_count": 0, "sent_at": "2026-12-01T10:16:00.000Z"},  # nothing reached SES
        {"type": "notification", "sent_count": 5, "sent_at": "2026-12-01T10:15:00.000Z"},  # stored items add nothing
        {"type": "address_fact", "reputation": "bounce", "occurred_at": "2026-12-01T10:59:59.000Z"},
        {"type": "address_fact", "kind": "transient_bounce", "occurred_at": "2026-12-01T10:30:00.000Z"},
        {"type": "address_fact", "reputation": "complaint", "occurred_at": "2026-12-01T11:00:00.000Z"},
    ]
    assert dynamo.reputation_increments(items) == {
        ("2026-12-01", "10"): {"sent": 2, "bounce": 1},
        ("2026-12-01", "11"): {"complaint": 1},
    }


def test_a_sent_notification_counts_its_sent_recipients_and_a_refused_one_nothing():
    from chalicelib.domain.model import Notification, Recipient

    sent = Recipient(user_id="u1", name="Rita", email="rita@x.example", header="to", status="sent")
    skipped = Recipient(user_id="u2", name="Carl", email=None, header="cc", status="not_sent")
    notification = Notification(
        id="n",
        ticket_id="t",
        comment_id="c",
        trigger_id="tr",
        trigger_title="T",
        message_id="ses-1",
        recipients=(sent, skipped),
        sent_at="2026-12-01T10:15:00.000Z",
    )
    assert dynamo.reputation_increments([dynamo.sent_counts_item(notification)]) == {("2026-12-01", "10"): {"sent": 1}}
    refused = Notification(**{**notification.__dict__, "message_id": None})
    assert dynamo.reputation_increments([dynamo.sent_counts_item(refused)]) == {}


def test_a_permanent_bounce_fact_counts_and_a_reset_does_not():
    bounce = dynamo.address_fact_item("A@x.example", "permanent_bounce", "2026-12-01T10:00:00.000Z", "s", "t", None)
    reset = dynamo.address_fact_item("a@x.example", "reset", "2026-12-01T10:00:00.000Z", "r", None, None)
    assert dynamo.reputation_increments([bounce, reset]) == {("2026-12-01", "10"): {"bounce": 1}}


def test_a_bucket_token_goes_on_in_its_bucket_and_a_foreign_bucket_is_refused():
    buckets = ["FAILURES#2026-12", "FAILURES#2026-11"]
    key = dynamo.to_item(
        {"PK": "TICKET#t", "SK": "EV#x", "GSI2PK": "FAILURES#2026-11", "GSI2SK": "2026-11-30T00:00:00.000Z#t#e"}
    )
    assert dynamo.decode_bucket_token(dynamo.encode_bucket_token("FAILURES#2026-11", key), buckets, "GSI2") == (
        1,
        key,
    )
    assert dynamo.decode_bucket_token(dynamo.encode_bucket_token("FAILURES#2026-12", None), buckets, "GSI2") == (
        0,
        None,
    )
    with pytest.raises(PageTokenError):
        dynamo.decode_bucket_token(dynamo.encode_bucket_token("FAILURES#2025-01", None), buckets, "GSI2")
    with pytest.raises(PageTokenError):  # a key of another bucket than the token names
        dynamo.decode_bucket_token(dynamo.encode_bucket_token("FAILURES#2026-12", key), buckets, "GSI2")
