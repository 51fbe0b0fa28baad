"""The outbox entry: what is stored is enough to send the very same email later, and the sweeper's choice."""

from __future__ import annotations

import zlib
from dataclasses import replace

from chalicelib.adapters import dynamo
from chalicelib.domain import outbox
from chalicelib.domain.messages import Mailbox, OutgoingEmail, to_mime
from chalicelib.domain.model import Notification, Recipient

NOTIFICATION = Notification(
    id="n1",
    ticket_id="t1",
    comment_id="c1",
    trigger_id="notify-requester-received",
    trigger_title="Notify requester",
    message_id=None,
    recipients=(Recipient("u1", "Rita", "rita@example.com", "to"), Recipient("u2", "Nina", None, "cc", "not_sent")),
    sent_at="2026-12-01T10:00:00.000Z",
    rfc_message_id="<ticket-t1-n1@deskmail.example.com>",
)
EMAIL = OutgoingEmail(
    sender="Deskmail Support <support@deskmail.example.com>",
    to=(Mailbox("Rita Ünïcode", "rita@example.com"),),
    cc=(),
    subject="[T1] Printer on fire",
    body="Ada wrote:\nHi\n",
    rfc_message_id="<ticket-t1-n1@deskmail.example.com>",
    thread_root_id="<ticket-t1@deskmail.example.com>",
    tags={"ticket_id": "t1", "notification_id": "n1"},
    configuration_set="deskmail-dev",
    auto_submitted=True,
)


def stored(item: dict) -> dict:
    return dynamo.from_item(dynamo.to_item(item))


def test_a_stored_entry_sends_the_same_bytes_and_records_the_same_notification():
    mail, item = map(stored, dynamo.outbox_items(NOTIFICATION, EMAIL, "Printer on fire", "2026-12-01T10:00:00.000Z"))
    assert item["state"] == "pending" and item["GSI3PK"].startswith("OUTBOX#") and item["GSI3SK"].endswith("#n1")
    assert "email_z" not in item and "GSI3PK" not in mail and mail["expires_at"] > 0  # the email: apart, expiring
    entry = dynamo.outbox_entry(item, mail)
    assert entry.email is not None and to_mime(entry.email) == to_mime(EMAIL)
    assert entry.notification == replace(NOTIFICATION, sent_at="")
    assert (entry.subject, entry.state, entry.attempts) == ("Printer on fire", "pending", 0)


def test_the_sweeper_sends_only_what_was_never_claimed():
    entry = dynamo.outbox_entry(
        *reversed([stored(i) for i in dynamo.outbox_items(NOTIFICATION, EMAIL, "s", "2026-12-01T10:00:00.000Z")])
    )
    assert outbox.sweep_action(entry) == "send"
    assert outbox.sweep_action(replace(entry, state=outbox.SENDING, attempts=1)) == "give_up"
    accepted = replace(entry, state=outbox.ACCEPTED, attempts=1, notification=replace(NOTIFICATION, message_id="m1"))
    assert outbox.sweep_action(accepted) == "record"
    assert outbox.sweep_action(replace(entry, attempts=1)) == "give_up"  # pending yet attempted: never resent
    # Put ahead of its comment's transaction, which never landed: dropped, never sent.
    assert outbox.sweep_action(replace(entry, committed=False)) == "drop"


def test_only_a_new_comments_entry_names_the_comment_that_commits_it():
    _, alone = dynamo.outbox_items(NOTIFICATION, EMAIL, "s", "2026-12-01T10:00:00.000Z")
    _, with_comment = dynamo.outbox_items(NOTIFICATION, EMAIL, "s", "2026-12-01T10:00:00.000Z", with_comment=True)
    assert alone["committed_with"] is None  # a resend: its entries are the unit, written in the transaction
    assert with_comment["committed_with"] == dynamo.comment_item(_comment())["SK"]


def _comment():
    from chalicelib.domain.model import Comment

    return Comment("c1", "t1", "u1", "Rita", "Hi", True, "2026-12-01T10:00:00.000Z")


def test_a_multipart_threaded_email_comes_back_from_the_outbox_as_the_same_mime():
    # What the sweeper resends must be the very email first prepared: both parts, its language, its thread.
    threaded = replace(
        EMAIL,
        html="<p>Ada wrote:</p><p>Hi</p>",
        content_language="de",
        in_reply_to="<0100018c-aaaa@email.amazonses.com>",
        references=("<ticket-t1@deskmail.example.com>", "<0100018c-aaaa@email.amazonses.com>"),
        reply_to=("Deskmail Support", "support+t1@deskmail.example.com"),
    )
    entry = dynamo.outbox_entry(
        *reversed([stored(i) for i in dynamo.outbox_items(NOTIFICATION, threaded, "s", "2026-12-01T10:00:00.000Z")])
    )
    assert entry.email == threaded
    mime = to_mime(entry.email)  # a multipart boundary is random: the parts and headers are what must match
    assert b"multipart/alternative" in mime and b"In-Reply-To: <0100018c-aaaa@email.amazonses.com>" in mime
    assert b"Content-Language: de" in mime and b"support+t1@deskmail.example.com" in mime


# The digest of the outbox emails' zlib dictionary: an email pending in the outbox was compressed with it, so the
# file never changes (a new one gets the next number: scripts/build_mail_dictionary.py).
MAIL_DICTIONARY_1_SHA256 = "f2c0abb10347c08c932376b7b697d1a1028b1b2f1787b865a42aa9e1d74d6ef8"


def test_the_mail_dictionary_an_email_names_is_frozen():
    import hashlib

    assert dynamo.MAIL_DICTIONARY == 1
    assert hashlib.sha256(dynamo.mail_dictionary(1)).hexdigest() == MAIL_DICTIONARY_1_SHA256


def _german_comment_email() -> OutgoingEmail:
    from scripts.render_notification_screenshot import german_notification

    rendered = german_notification()
    return replace(EMAIL, subject=rendered.subject, body=rendered.text, html=rendered.html, content_language="de")


def test_a_typical_notification_email_takes_one_write_unit_with_the_dictionary_and_two_without():
    # A comment in German quoting two earlier ones, both parts: the dictionary knows its HTML shell and phrases.
    email = _german_comment_email()
    mail, _ = dynamo.outbox_items(NOTIFICATION, email, "s", "2026-12-01T10:00:00.000Z")
    assert mail["email_dict"] == dynamo.MAIL_DICTIONARY
    assert dynamo.item_size(dynamo.to_item(mail)) < 1024
    without = {**mail, "email_z": dynamo.compress_mail(dynamo.mail_payload(email), None), "email_dict": None}
    assert dynamo.item_size(dynamo.to_item(without)) > 1024
    assert (
        dynamo.outbox_entry(*reversed([stored(i) for i in dynamo.outbox_items(NOTIFICATION, email, "s", "x")])).email
        == email
    )


def test_an_email_stored_before_there_was_a_dictionary_still_comes_back():
    email = _german_comment_email()
    mail, entry = map(stored, dynamo.outbox_items(NOTIFICATION, email, "s", "2026-12-01T10:00:00.000Z"))
    legacy = {key: value for key, value in mail.items() if key != "email_dict"}
    legacy["email_z"] = zlib.compress(dynamo.mail_payload(email), 6)  # as outbox_items wrote it before
    assert dynamo.outbox_entry(entry, legacy).email == email
