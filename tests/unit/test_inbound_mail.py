"""Reading SES inbound notifications: envelope, encodings, threading references and the reply's own text."""

import json

import pytest

from chalicelib.domain.inbound_mail import (
    HELD_DMARC_QUARANTINE,
    HELD_DMARC_REJECT,
    HELD_UNAUTHENTICATED,
    Authentication,
    NotInbound,
    comment_id_for,
    hold_reason,
    parse,
    referenced_ses_message_ids,
    referenced_ticket_ids,
    reply_text,
)
from tests.inbound_payloads import mime, received

DOMAIN = "deskmail.example.com"
TICKET = "01jd2x7r9m8v3k4q5w6e7t8y9z"


def test_sns_wrapped_utf8_notification():
    email = parse(received(mime(in_reply_to=f"<ticket-{TICKET}-01jd2x7r9m8v3k4q5w6e7t8y90@{DOMAIN}>")), "now")

    assert email.sender == "rita@example.com" and email.sender_name == "Rita Requester"
    assert email.subject == "Re: [ABCDEF] Printer on fire"
    assert email.text == "Thanks, it works again."  # the quoted history is gone
    assert email.recipients == ("support@deskmail.example.com",)
    assert referenced_ticket_ids(email, DOMAIN) == [TICKET]


def test_base64_content_and_ses_message_id_references():
    message = mime(
        in_reply_to="<0100018c-aaaa-bbbb@email.amazonses.com>",
        references=f"<ticket-{TICKET}@{DOMAIN}> <0100018c-aaaa-bbbb@email.amazonses.com>",
        body="Grazie!\n\nIl giorno lun 23 nov 2026 Deskmail ha scritto:\n> ciao\n",
    )
    email = parse(received(message, encoding="Base64", wrap=False), "now")

    assert email.text == "Grazie!"
    assert referenced_ses_message_ids(email) == ["0100018c-aaaa-bbbb"]
    assert referenced_ticket_ids(email, DOMAIN) == [TICKET]


def test_plus_addressed_ticket_and_foreign_domains_ignored():
    email = parse(received(mime(to=f"support+{TICKET}@{DOMAIN}"), recipients=(f"support+{TICKET}@{DOMAIN}",)), "x")
    assert referenced_ticket_ids(email, DOMAIN) == [TICKET]

    other = parse(received(mime(in_reply_to=f"<ticket-{TICKET}@elsewhere.example.org>")), "x")
    assert referenced_ticket_ids(other, DOMAIN) == []


def test_spam_verdict_and_other_notifications():
    assert parse(received(mime(), spam="FAIL"), "x").spam_or_virus
    assert isinstance(parse(json.dumps({"Type": "SubscriptionConfirmation"}), "x"), NotInbound)
    assert isinstance(parse(json.dumps({"notificationType": "Bounce"}), "x"), NotInbound)


def test_reply_text_cuts_quotes_in_each_language():
    for marker in (
        "On Mon, Nov 23, 2026 at 8:00 AM Support <support@x> wrote:",
        "Am 23.11.2026 um 08:00 schrieb Support <support@x>:",
        "El lun, 23 nov 2026 a las 8:00, Support escribió:",
        "Le lun. 23 nov. 2026 à 08:00, Support a écrit :",
        "-----Original Message-----",
    ):
        assert reply_text(f"Merci\n\n{marker}\n> old text\nold text") == "Merci"


def test_receipt_verdicts_are_read_in_both_shapes_and_default_to_gray():
    email = parse(received(mime(), spf="FAIL", dkim="GRAY", dmarc="FAIL", dmarc_policy="reject"), "x")
    assert email.authentication == Authentication("FAIL", "GRAY", "FAIL", "REJECT")
    bare = json.loads(json.loads(received(mime()))["Message"])
    for name in ("spfVerdict", "dkimVerdict", "dmarcVerdict"):
        del bare["receipt"][name]
    bare["receipt"]["dmarcPolicy"] = {"status": "quarantine"}
    assert parse(json.dumps(bare), "x").authentication == Authentication("GRAY", "GRAY", "GRAY", "QUARANTINE")


@pytest.mark.parametrize(
    "verdicts, held",
    [
        (("PASS", "PASS", "PASS", None), None),
        (("GRAY", "GRAY", "GRAY", None), None),  # the domain publishes nothing: most small senders
        (("PROCESSING_FAILED", "GRAY", "GRAY", None), None),  # SES could not check: never lose a reply for it
        (("FAIL", "FAIL", "FAIL", "REJECT"), HELD_DMARC_REJECT),
        (("PASS", "GRAY", "FAIL", "REJECT"), HELD_DMARC_REJECT),  # SPF for another envelope domain: not aligned
        (("FAIL", "FAIL", "FAIL", "QUARANTINE"), HELD_DMARC_QUARANTINE),
        (("FAIL", "FAIL", "FAIL", "NONE"), HELD_UNAUTHENTICATED),  # p=none, but both checks prove it forged
        (("FAIL", "GRAY", "GRAY", None), HELD_UNAUTHENTICATED),  # an SPF hard fail, unsigned, no DMARC
        (("GRAY", "FAIL", "GRAY", None), HELD_UNAUTHENTICATED),  # a broken signature and nothing else
        (("PASS", "FAIL", "FAIL", "NONE"), None),  # a mailing list broke the signature; the owner asked for nothing
        (("FAIL", "PASS", "PASS", None), None),  # forwarded: SPF fails, the DKIM signature survives
    ],
)
def test_mail_is_held_when_its_domain_disowns_it_or_nothing_vouches_for_a_forgery(verdicts, held):
    assert hold_reason(Authentication(*verdicts)) == held


def test_the_comment_id_is_the_same_for_every_retry_and_sorts_by_receipt():
    body = received(mime(), message_id="a" * 40)
    first = parse(body, "2026-11-23T09:00:00.000Z")
    again = parse(body, "2026-11-23T09:30:00.000Z")  # the retry, half an hour later
    other = parse(received(mime(), message_id="b" * 40), "x")
    assert comment_id_for(first) == comment_id_for(again) != comment_id_for(other)
    assert len(comment_id_for(first)) == 26
    later = json.loads(json.loads(received(mime(), message_id="c" * 40))["Message"])
    later["mail"]["timestamp"] = "2099-11-23T08:06:00.000Z"
    assert comment_id_for(parse(json.dumps(later), "x")) > comment_id_for(first)
