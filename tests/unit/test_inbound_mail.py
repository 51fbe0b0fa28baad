"""Reading SES inbound notifications: envelope, encodings, threading references and the reply's own text."""

import json

from chalicelib.domain.inbound_mail import (
    NotInbound,
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
