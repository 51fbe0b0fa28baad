"""Threading on SES's Message-IDs and the 50-recipient split."""

from __future__ import annotations

import pytest

from chalicelib.domain import threads

ROOT = "<ticket-01jabc@deskmail.example.com>"


def test_ses_message_id_header_per_region():
    assert (
        threads.ses_message_id_header("0100abc-def-000000", "us-east-1") == "<0100abc-def-000000@email.amazonses.com>"
    )
    assert threads.ses_message_id_header("0100abc", "eu-west-1") == "<0100abc@eu-west-1.amazonses.com>"
    with pytest.raises(ValueError):
        threads.ses_message_id_header("x>\r\nBcc: a@b", "us-east-1")


def test_chain_across_three_notifications_keeps_every_earlier_id():
    first, second, third = (f"<id{n}@email.amazonses.com>" for n in (1, 2, 3))
    chain: tuple[str, ...] = ()
    headers = threads.thread_headers(ROOT, [chain])
    assert headers.in_reply_to == ROOT and headers.references == (ROOT,)

    chain = threads.extended_chain(chain, first)
    headers = threads.thread_headers(ROOT, [chain])
    assert headers.in_reply_to == first and headers.references == (ROOT, first)

    chain = threads.extended_chain(chain, second)
    headers = threads.thread_headers(ROOT, [chain])
    assert headers.in_reply_to == second and headers.references == (ROOT, first, second)

    chain = threads.extended_chain(chain, third)
    assert threads.thread_headers(ROOT, [chain]).references == (ROOT, first, second, third)


def test_chain_is_bounded_and_keeps_its_start():
    chain: tuple[str, ...] = ()
    for n in range(25):
        chain = threads.extended_chain(chain, f"<id{n}@email.amazonses.com>")

    assert len(chain) == threads.CHAIN_LIMIT
    assert chain[0] == "<id0@email.amazonses.com>" and chain[-1] == "<id24@email.amazonses.com>"
    headers = threads.thread_headers(ROOT, [chain])
    assert len(headers.references) == threads.CHAIN_LIMIT
    assert headers.references[:2] == (ROOT, "<id0@email.amazonses.com>")


def test_unsafe_ids_never_reach_the_chain():
    chain = threads.extended_chain((), "<a@b>\r\nBcc: x@y")

    assert chain == ()


def test_in_reply_to_follows_the_first_recipient_with_a_chain():
    headers = threads.thread_headers(ROOT, [(), ("<a@email.amazonses.com>",), ("<b@email.amazonses.com>",)])

    assert headers.in_reply_to == "<a@email.amazonses.com>"
    assert headers.references == (ROOT, "<a@email.amazonses.com>", "<b@email.amazonses.com>")


def test_fifty_one_recipients_make_two_messages_of_at_most_fifty():
    recipients = [(f"user{n}", "en") for n in range(51)]

    found = threads.batches(recipients)

    assert [len(batch.user_ids) for batch in found] == [50, 1]
    assert [user for batch in found for user in batch.user_ids] == [user for user, _ in recipients]


def test_batches_group_by_language_in_first_seen_order():
    found = threads.batches([("a", "de"), ("b", "en"), ("c", "de"), ("d", "fr")])

    assert [(batch.locale, batch.user_ids) for batch in found] == [("de", ("a", "c")), ("en", ("b",)), ("fr", ("d",))]


def test_a_recipient_new_to_the_ticket_still_threads_on_the_tickets_notifications():
    ticket_chain = ("<ack@email.amazonses.com>", "<second@email.amazonses.com>")

    newcomer = threads.thread_headers(ROOT, [()], ticket_chain)
    regular = threads.thread_headers(ROOT, [("<ack@email.amazonses.com>",)], ticket_chain)

    assert newcomer.in_reply_to == "<second@email.amazonses.com>"
    assert newcomer.references == (ROOT, "<ack@email.amazonses.com>")
    assert regular.in_reply_to == "<ack@email.amazonses.com>"
    assert regular.references == (ROOT, "<ack@email.amazonses.com>")


def test_a_recipient_thread_keeps_its_sends_within_the_brakes_window_for_the_next_count():
    first, second = "<id1@email.amazonses.com>", "<id2@email.amazonses.com>"
    thread = threads.RecipientThread().after(first, "Rita@Example.com", "2026-12-01T10:00:00.000Z", "2026-12-01T09:00")
    thread = thread.after(second, "rita@example.com", "2026-12-01T10:30:00.000Z", "2026-12-01T09:30:00.000Z")
    assert thread.message_ids == (first, second)
    assert thread.sends == (
        ("rita@example.com", "2026-12-01T10:00:00.000Z"),
        ("rita@example.com", "2026-12-01T10:30:00.000Z"),
    )
    # An hour later the first send is out of every window: dropped; the chain keeps both ids for threading.
    later = thread.after("<id3@email.amazonses.com>", None, "2026-12-01T11:05:00.000Z", "2026-12-01T10:05:00.000Z")
    assert later.sends == (("rita@example.com", "2026-12-01T10:30:00.000Z"),)
    assert later.message_ids[:2] == (first, second)
