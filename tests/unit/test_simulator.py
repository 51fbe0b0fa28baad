"""The local stack's SES mailbox simulator, field by field: what it publishes must be what real SES publishes and
what deskmail's own parser reads."""

from __future__ import annotations

import email
import email.policy
import json
import re
import threading
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from chalicelib.adapters.ses_account import LocalSuppressionList
from chalicelib.domain import inbound_mail, loops
from chalicelib.domain.feedback import parse
from chalicelib.domain.messages import OutgoingEmail, to_mime
from deskmail_local import simulator
from deskmail_local.simulator import (
    InboundRoute,
    MailboxSimulator,
    SentMessage,
    events_for,
    received_notification,
    recipient_outcomes,
    replies_for,
    sns_message,
    suppression_list_additions,
)

MESSAGE_ID = "0100018b8375d149-b3a90120-37e5-4873-a60d-b64f70e677cb-000000"
SENT_AT = datetime(2026, 11, 23, 8, 0, 0, 123000, tzinfo=UTC)
REGION, ACCOUNT = "us-east-1", "123456789012"
TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:deskmail-feedback-dev"
ISO_MILLIS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
FEEDBACK_ID = re.compile(r"^0100[0-9a-f]{12}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-000000$")
DSN_MTA = "dsn; a8-70.smtp-out.amazonses.com"


def raw_email(
    to=("success@simulator.amazonses.com",),
    cc=(),
    subject="[4TDV9V] Printer on fire",
    ticket_id="t1",
    auto_submitted=False,
) -> str:
    email = OutgoingEmail(
        sender="Deskmail Support <support@deskmail.example.com>",
        to=tuple(to),
        cc=tuple(cc),
        subject=subject,
        body="Ada Agent wrote:\nOn my way.\n",
        rfc_message_id=f"<ticket-{ticket_id}-n1@deskmail.example.com>",
        thread_root_id=f"<ticket-{ticket_id}@deskmail.example.com>",
        tags={"ticket_id": ticket_id, "comment_id": "c1", "trigger_id": "notify-requester-ccs-comment"},
        configuration_set="deskmail-dev",
        auto_submitted=auto_submitted,
    )
    return to_mime(email).decode()


def sent(to=("success@simulator.amazonses.com",), cc=(), destinations=None, **mime) -> SentMessage:
    return SentMessage(
        message_id=MESSAGE_ID,
        source="Deskmail Support <support@deskmail.example.com>",
        destinations=tuple(destinations if destinations is not None else (*to, *cc)),
        raw_data=raw_email(to, cc, **mime),
        sent_at=SENT_AT,
    )


def events(message: SentMessage) -> list[dict]:
    return events_for(message, "deskmail-dev", REGION, ACCOUNT)


def summary(message: SentMessage) -> list[tuple]:
    """(eventType, the addresses it names) in publishing order."""
    named = []
    for event in events(message):
        kind = event["eventType"]
        if kind == "Send":
            named.append((kind,))
        elif kind == "Delivery":
            named.append((kind, *event["delivery"]["recipients"]))
        elif kind == "DeliveryDelay":
            named.append((kind, *(r["emailAddress"] for r in event["deliveryDelay"]["delayedRecipients"])))
        elif kind == "Bounce":
            bounce = event["bounce"]
            addresses = (r["emailAddress"] for r in bounce["bouncedRecipients"])
            named.append((kind, f"{bounce['bounceType']}/{bounce['bounceSubType']}", *addresses))
        else:
            named.append((kind, *(r["emailAddress"] for r in event["complaint"]["complainedRecipients"])))
    return named


def only(message: SentMessage, event_type: str) -> dict:
    found = [event for event in events(message) if event["eventType"] == event_type]
    assert len(found) == 1, found
    return found[0]


# ---- the mail object ----------------------------------------------------------------------------------------------


def test_mail_object_names_the_message_and_its_headers_as_ses_does():
    message = sent(to=("Sam Success <success@simulator.amazonses.com>",), cc=("Carl <bounce@simulator.amazonses.com>",))
    mail = only(message, "Send")["mail"]

    assert mail["messageId"] == MESSAGE_ID
    assert mail["timestamp"] == "2026-11-23T08:00:00.123Z"
    assert mail["source"] == "support@deskmail.example.com"
    assert mail["sourceArn"] == f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/deskmail.example.com"
    assert mail["sendingAccountId"] == ACCOUNT
    assert mail["destination"] == ["success@simulator.amazonses.com", "bounce@simulator.amazonses.com"]
    assert mail["headersTruncated"] is False
    assert [header["name"] for header in mail["headers"]] == [
        "From",
        "To",
        "Cc",
        "Subject",
        "Message-ID",
        "In-Reply-To",
        "References",
        "X-Auto-Response-Suppress",
        "X-SES-CONFIGURATION-SET",
        "X-SES-MESSAGE-TAGS",
        "Content-Type",
        "Content-Transfer-Encoding",
        "MIME-Version",
    ]
    assert mail["headers"][0] == {"name": "From", "value": "Deskmail Support <support@deskmail.example.com>"}
    assert mail["headers"][1] == {"name": "To", "value": "Sam Success <success@simulator.amazonses.com>"}
    # Folded in the MIME (it is long), unfolded in the notification.
    assert re.search(r"^X-SES-MESSAGE-TAGS:.*\n ", message.raw_data, re.MULTILINE)
    assert mail["headers"][9] == {
        "name": "X-SES-MESSAGE-TAGS",
        "value": "ticket_id=t1, comment_id=c1, trigger_id=notify-requester-ccs-comment",
    }
    assert mail["commonHeaders"] == {
        "from": ["Deskmail Support <support@deskmail.example.com>"],
        "to": ["Sam Success <success@simulator.amazonses.com>"],
        "cc": ["Carl <bounce@simulator.amazonses.com>"],
        "date": "Mon, 23 Nov 2026 08:00:00 +0000",  # the message has no Date: SES stamps the send time
        "messageId": f"<{MESSAGE_ID}@email.amazonses.com>",  # SES's, not the one deskmail wrote
        "subject": "[4TDV9V] Printer on fire",
    }
    assert mail["headers"][4] == {"name": "Message-ID", "value": f"<{MESSAGE_ID}@email.amazonses.com>"}


@pytest.mark.parametrize(
    "region, expected",
    [
        ("us-east-1", f"<{MESSAGE_ID}@email.amazonses.com>"),
        ("eu-west-1", f"<{MESSAGE_ID}@eu-west-1.amazonses.com>"),
        ("us-west-2", f"<{MESSAGE_ID}@us-west-2.amazonses.com>"),
    ],
)
def test_ses_replaces_the_message_id_with_its_own_in_each_region(region, expected):
    message = SentMessage(MESSAGE_ID, "support@deskmail.example.com", ("a@example.com",), raw_email(), SENT_AT, region)
    assert "<ticket-t1-n1@deskmail.example.com>" in message.raw_data  # what deskmail wrote
    assert message.mime.get_all("Message-ID") == [expected]
    mail = events_for(message, "deskmail-dev", region, ACCOUNT)[0]["mail"]
    assert mail["commonHeaders"]["messageId"] == expected
    assert [h["value"] for h in mail["headers"] if h["name"] == "Message-ID"] == [expected]


def test_the_rewrite_keeps_every_other_byte_adds_a_missing_id_and_drops_a_second_one():
    folded = "From: a@example.com\r\nMessage-ID:\r\n <long@deskmail.example.com>\r\nSubject: s\r\n\r\nbody\r\n"
    assert simulator.with_ses_message_id(folded, "<x@email.amazonses.com>") == (
        "From: a@example.com\r\nMessage-ID: <x@email.amazonses.com>\r\nSubject: s\r\n\r\nbody\r\n"
    )
    assert simulator.with_ses_message_id("From: a\nSubject: s\n\nMessage-ID: <in-body>\n", "<x@e>") == (
        "From: a\nSubject: s\nMessage-ID: <x@e>\n\nMessage-ID: <in-body>\n"  # the body is not a header
    )
    twice = "Message-ID: <1@a>\nFrom: a\nmessage-id: <2@a>\n\nb"
    assert simulator.with_ses_message_id(twice, "<x@e>") == "Message-ID: <x@e>\nFrom: a\n\nb"


def test_the_watcher_stamps_the_message_id_with_its_region():
    backend, sns = fake_backend([moto_message("m1")]), FakeSns()
    watching = MailboxSimulator(backend, sns, threading.Event(), "eu-central-1", ACCOUNT)
    watching.settle_seconds = 0
    watching.step(SENT_AT)
    mail = json.loads(sns.published[0]["Message"])["mail"]
    assert mail["commonHeaders"]["messageId"] == "<m1@eu-central-1.amazonses.com>"


def test_tags_are_the_configuration_sets_and_the_messages_own_each_a_list_of_strings():
    message = sent()
    send_tags = only(message, "Send")["mail"]["tags"]
    assert send_tags == {
        "ses:operation": ["SendEmail"],
        "ses:configuration-set": ["deskmail-dev"],
        "ses:source-ip": ["127.0.0.1"],
        "ses:from-domain": ["deskmail.example.com"],
        "ses:caller-identity": ["deskmail-local"],
        "ticket_id": ["t1"],
        "comment_id": ["c1"],
        "trigger_id": ["notify-requester-ccs-comment"],
    }
    # Only a delivery says which SES address it left from.
    assert only(message, "Delivery")["mail"]["tags"] == {**send_tags, "ses:outgoing-ip": ["54.240.8.70"]}


@pytest.mark.parametrize(
    "header, tags",
    [
        ("ticket_id=t1, comment_id=c1", {"ticket_id": ["t1"], "comment_id": ["c1"]}),
        ("a=1,b=2", {"a": ["1"], "b": ["2"]}),
        ("", {}),
        (None, {}),
        ("no-equals-sign, =orphan, ok=yes", {"ok": ["yes"]}),
    ],
)
def test_message_tags_header(header, tags):
    assert simulator.message_tags(header) == tags


def test_destination_is_bare_addresses_each_once_as_moto_may_list_one_twice():
    message = sent(
        to=("Sam <success@simulator.amazonses.com>",),
        destinations=(
            "success@simulator.amazonses.com",
            "Sam <success@simulator.amazonses.com>",
            "Success@Simulator.AmazonSES.com",
            "Carl <bounce@simulator.amazonses.com>",
        ),
    )
    assert only(message, "Send")["mail"]["destination"] == [
        "success@simulator.amazonses.com",
        "bounce@simulator.amazonses.com",
    ]


def test_timestamps_are_iso_8601_with_milliseconds_and_z_and_come_after_the_send():
    message = sent(to=("success@simulator.amazonses.com", "complaint@simulator.amazonses.com"), cc=("full@x.org",))
    stamps = []
    for event in events(message):
        assert ISO_MILLIS.match(event["mail"]["timestamp"])
        detail = event[simulator_detail_key(event["eventType"])]
        for key in ("timestamp", "expirationTime", "arrivalDate"):
            if key in detail:
                assert ISO_MILLIS.match(detail[key]), (key, detail[key])
                stamps.append(detail[key])
    assert stamps and all(stamp > "2026-11-23T08:00:00.123Z" for stamp in stamps)
    assert max(stamps) <= "2026-11-23T08:00:01.500Z"  # everything within the simulator's settle delay


def simulator_detail_key(event_type: str) -> str:
    return {"DeliveryDelay": "deliveryDelay"}.get(event_type, event_type.lower())


def test_sns_message_is_the_event_as_a_json_string_with_a_trailing_newline():
    event = only(sent(), "Send")
    text = sns_message(event)
    assert text.endswith("}\n")
    assert json.loads(text) == event
    assert event["send"] == {}


# ---- one rule per mailbox -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address, expected",
    [
        ("success@simulator.amazonses.com", [("Send",), ("Delivery", "success@simulator.amazonses.com")]),
        (
            "bounce@simulator.amazonses.com",
            [("Send",), ("Bounce", "Permanent/General", "bounce@simulator.amazonses.com")],
        ),
        (
            "ooto@simulator.amazonses.com",
            [
                ("Send",),
                ("Delivery", "ooto@simulator.amazonses.com"),
                ("Bounce", "Transient/General", "ooto@simulator.amazonses.com"),
            ],
        ),
        (
            "complaint@simulator.amazonses.com",
            [
                ("Send",),
                ("Delivery", "complaint@simulator.amazonses.com"),
                ("Complaint", "complaint@simulator.amazonses.com"),
            ],
        ),
        (
            "suppressionlist@simulator.amazonses.com",
            [("Send",), ("Bounce", "Permanent/General", "suppressionlist@simulator.amazonses.com")],
        ),
        (
            "someone@nowhere.invalid",
            [
                ("Send",),
                ("DeliveryDelay", "someone@nowhere.invalid"),
                ("DeliveryDelay", "someone@nowhere.invalid"),
                ("Bounce", "Permanent/General", "someone@nowhere.invalid"),
            ],
        ),
        (
            "x@invalid",
            [
                ("Send",),
                ("DeliveryDelay", "x@invalid"),
                ("DeliveryDelay", "x@invalid"),
                ("Bounce", "Permanent/General", "x@invalid"),
            ],
        ),
        (
            "full-mailbox@example.com",
            [
                ("Send",),
                ("DeliveryDelay", "full-mailbox@example.com"),
                ("Bounce", "Transient/MailboxFull", "full-mailbox@example.com"),
            ],
        ),
        ("big.files@example.com", [("Send",), ("Bounce", "Transient/MessageTooLarge", "big.files@example.com")]),
        ("rita@example.com", [("Send",), ("Delivery", "rita@example.com")]),
        ("reply-rita@example.com", [("Send",), ("Delivery", "reply-rita@example.com")]),  # and she answers, below
        # Labels, and any case, as SES allows: the address is reported as it was written.
        (
            "Bounce+Ticket42@Simulator.AmazonSES.com",
            [("Send",), ("Bounce", "Permanent/General", "Bounce+Ticket42@Simulator.AmazonSES.com")],
        ),
        ("success+x@simulator.amazonses.com", [("Send",), ("Delivery", "success+x@simulator.amazonses.com")]),
        (
            "FULL@example.com",
            [("Send",), ("DeliveryDelay", "FULL@example.com"), ("Bounce", "Transient/MailboxFull", "FULL@example.com")],
        ),
    ],
)
def test_each_mailbox_gets_the_events_real_ses_sends(address, expected):
    assert summary(sent(to=(address,))) == expected


def test_success_is_a_delivery_with_the_smtp_response():
    delivery = only(sent(), "Delivery")["delivery"]
    assert delivery == {
        "timestamp": "2026-11-23T08:00:00.603Z",
        "processingTimeMillis": 480,
        "recipients": ["success@simulator.amazonses.com"],
        "smtpResponse": "250 2.6.0 Message received",
        "reportingMTA": "a8-70.smtp-out.amazonses.com",
    }


def test_bounce_is_a_permanent_general_bounce_with_a_dsn():
    bounce = only(sent(to=("bounce@simulator.amazonses.com",)), "Bounce")["bounce"]
    assert FEEDBACK_ID.match(bounce.pop("feedbackId"))
    assert bounce == {
        "bounceType": "Permanent",
        "bounceSubType": "General",
        "bouncedRecipients": [
            {
                "emailAddress": "bounce@simulator.amazonses.com",
                "action": "failed",
                "status": "5.1.1",
                "diagnosticCode": "smtp; 550 5.1.1 user unknown",
            }
        ],
        "timestamp": "2026-11-23T08:00:01.023Z",
        "reportingMTA": DSN_MTA,
    }


def test_feedback_id_starts_with_the_region_prefix_and_the_bounce_time_in_hex_milliseconds():
    bounce = only(sent(to=("bounce@simulator.amazonses.com",)), "Bounce")["bounce"]
    bounced_at = SENT_AT + timedelta(milliseconds=900)
    assert bounce["feedbackId"].startswith(f"0100{int(bounced_at.timestamp() * 1000):012x}-")
    assert bounce["feedbackId"] == only(sent(to=("bounce@simulator.amazonses.com",)), "Bounce")["bounce"]["feedbackId"]


def test_out_of_office_is_delivered_then_a_transient_bounce_naming_only_the_address():
    message = sent(to=("ooto@simulator.amazonses.com",))
    bounce = only(message, "Bounce")["bounce"]
    assert bounce["bounceType"] == "Transient" and bounce["bounceSubType"] == "General"
    assert bounce["bouncedRecipients"] == [{"emailAddress": "ooto@simulator.amazonses.com"}]
    assert "reportingMTA" not in bounce
    assert only(message, "Delivery")["delivery"]["recipients"] == ["ooto@simulator.amazonses.com"]


def test_complaint_is_delivered_then_an_abuse_report_from_the_simulator():
    message = sent(to=("complaint@simulator.amazonses.com",))
    complaint = only(message, "Complaint")["complaint"]
    assert FEEDBACK_ID.match(complaint.pop("feedbackId"))
    assert complaint == {
        "complaintSubType": None,
        "complainedRecipients": [{"emailAddress": "complaint@simulator.amazonses.com"}],
        "timestamp": "2026-11-23T08:00:01.323Z",
        "userAgent": "Amazon SES Mailbox Simulator",
        "complaintFeedbackType": "abuse",
        "arrivalDate": only(message, "Delivery")["delivery"]["timestamp"],
    }


def test_suppression_list_is_a_permanent_general_bounce_quoting_the_address():
    bounce = only(sent(to=("suppressionlist@simulator.amazonses.com",)), "Bounce")["bounce"]
    assert (bounce["bounceType"], bounce["bounceSubType"], bounce["reportingMTA"]) == ("Permanent", "General", DSN_MTA)
    assert bounce["bouncedRecipients"] == [
        {
            "emailAddress": "suppressionlist@simulator.amazonses.com",
            "action": "failed",
            "status": "5.1.1",
            "diagnosticCode": "smtp; 550 5.1.1 user unknown "
            "( blacklisted address: suppressionlist@simulator.amazonses.com )",
        }
    ]


def test_an_unknown_user_is_rejected_by_the_receiving_server_at_once():
    bounce = only(sent(to=("unknown-nora@example.com",)), "Bounce")["bounce"]
    assert (bounce["bounceType"], bounce["bounceSubType"], bounce["reportingMTA"]) == ("Permanent", "General", DSN_MTA)
    assert bounce["bouncedRecipients"] == [
        {
            "emailAddress": "unknown-nora@example.com",
            "action": "failed",
            "status": "5.1.1",
            "diagnosticCode": "smtp; 550 5.1.1 <unknown-nora@example.com>: Recipient address rejected: "
            "User unknown in virtual mailbox table",
        }
    ]
    assert parsed_outcomes(sent(to=("unknown-nora@example.com",)))[1][2:] == ("bounced", "invalid_address")
    outcomes = recipient_outcomes(sent(to=("unknown-nora@example.com",)))
    assert simulator.suppression_list_additions(outcomes) == {"unknown-nora@example.com": "BOUNCE"}


DNS_EXPIRED = (
    "smtp; 550 4.4.7 Message expired: unable to deliver in 840 minutes.<421 4.4.0 Unable to lookup DNS for "
    "nowhere.invalid>"
)


def test_an_unresolvable_domain_is_retried_with_delays_until_it_expires_then_bounces_4_4_7():
    message = sent(to=("someone@nowhere.invalid",))
    published = events_for(message, "deskmail-dev", REGION, ACCOUNT, retry_seconds=6)
    delays = [e["deliveryDelay"] for e in published if e["eventType"] == "DeliveryDelay"]
    assert delays == [
        {
            "timestamp": stamp,
            "delayType": "TransientCommunicationFailure",
            "expirationTime": "2026-11-23T08:00:06.123Z",  # the retry window, compressed: when the bounce comes
            "delayedRecipients": [
                {
                    "emailAddress": "someone@nowhere.invalid",
                    "status": "4.4.0",
                    "diagnosticCode": "smtp; 421 4.4.0 Unable to lookup DNS for nowhere.invalid",
                }
            ],
            "reportingMTA": simulator.OUTGOING_IP,  # SES's own MTA: no remote one was ever reached
        }
        for stamp in ("2026-11-23T08:00:02.123Z", "2026-11-23T08:00:04.123Z")
    ]
    (bounce,) = [e["bounce"] for e in published if e["eventType"] == "Bounce"]
    assert (bounce["bounceType"], bounce["bounceSubType"], bounce["reportingMTA"]) == ("Permanent", "General", DSN_MTA)
    assert bounce["timestamp"] == "2026-11-23T08:00:06.123Z"
    assert bounce["bouncedRecipients"] == [
        {
            "emailAddress": "someone@nowhere.invalid",
            "action": "failed",
            "status": "4.4.7",
            "diagnosticCode": DNS_EXPIRED,
        }
    ]
    assert simulator.suppression_list_additions(recipient_outcomes(message)) == {"someone@nowhere.invalid": "BOUNCE"}


def test_the_watcher_publishes_the_retries_when_their_time_comes():
    backend, sns = (
        fake_backend([moto_message("m1", to=("someone@nowhere.invalid", "success@simulator.amazonses.com"))]),
        FakeSns(),
    )
    watching = MailboxSimulator(backend, sns, threading.Event(), REGION, ACCOUNT, settle_seconds=0, retry_seconds=9)
    kinds = lambda: [json.loads(p["Message"])["eventType"] for p in sns.published]  # noqa: E731

    watching.step(SENT_AT)
    assert kinds() == ["Send", "Delivery"]  # what happens within a second, at once
    watching.step(SENT_AT + timedelta(seconds=3.1))
    assert kinds() == ["Send", "Delivery", "DeliveryDelay"]
    watching.step(SENT_AT + timedelta(seconds=8))
    assert kinds() == ["Send", "Delivery", "DeliveryDelay", "DeliveryDelay"]
    watching.step(SENT_AT + timedelta(seconds=9))
    assert kinds() == ["Send", "Delivery", "DeliveryDelay", "DeliveryDelay", "Bounce"]
    watching.step(SENT_AT + timedelta(seconds=20))
    assert len(sns.published) == 5


def test_the_retry_window_follows_the_environment(monkeypatch):
    monkeypatch.setenv(simulator.RETRY_SECONDS_ENV, "2.5")
    assert MailboxSimulator(fake_backend(), FakeSns(), threading.Event(), REGION, ACCOUNT).retry_seconds == 2.5


# SES's real texts for an unresolvable domain (captures: 2013 Transient "550 4.4.7", 2020 eu-west-1 Transient
# "554 4.4.7", 2025 Permanent "550 4.4.7"). After 14 hours of failed DNS lookups the address is not deliverable.
_EXPIRED = "Message expired: unable to deliver in 840 minutes."
REAL_DNS_EXPIRY_TEXTS = [
    ("Permanent", f"smtp; 550 4.4.7 {_EXPIRED}<421 4.4.0 Unable to lookup DNS for paconsuling.com>"),
    ("Transient", f"smtp; 554 4.4.7 {_EXPIRED}<421 4.4.0 Unable to lookup DNS for mailinatorc.com>"),
    (
        "Transient",
        "smtp; 550 4.4.7 Message expired - unable to deliver in 840 minutes.<421 4.4.0 Unable to lookup DNS for x.com>",
    ),
]


@pytest.mark.parametrize("bounce_type, diagnostic", REAL_DNS_EXPIRY_TEXTS)
def test_the_classifier_reads_a_dns_expiry_as_an_address_that_cannot_be_reached(bounce_type, diagnostic):
    from chalicelib.domain.classification import INVALID_ADDRESS, classify_bounce

    found = classify_bounce(bounce_type, "General", action="failed", status="4.4.7", diagnostic=diagnostic)
    assert (found.category, found.permanent) == (INVALID_ADDRESS, True)


def test_a_full_mailbox_is_delayed_then_bounces_as_mailbox_full():
    message = sent(to=("full-mailbox@example.com",))
    delay = only(message, "DeliveryDelay")["deliveryDelay"]
    assert delay == {
        "timestamp": "2026-11-23T08:00:00.723Z",
        "delayType": "MailboxFull",
        "expirationTime": "2026-11-23T08:00:01.023Z",
        "delayedRecipients": [
            {
                "emailAddress": "full-mailbox@example.com",
                "status": "4.2.2",
                "diagnosticCode": "smtp; 452 4.2.2 Mailbox full",
            }
        ],
    }
    bounce = only(message, "Bounce")["bounce"]
    assert (bounce["bounceType"], bounce["bounceSubType"]) == ("Transient", "MailboxFull")
    assert bounce["bouncedRecipients"] == [
        {
            "emailAddress": "full-mailbox@example.com",
            "action": "failed",
            "status": "5.2.2",
            "diagnosticCode": "smtp; 552 5.2.2 Mailbox full",
        }
    ]
    assert bounce["timestamp"] > delay["timestamp"]


def test_a_big_mailbox_refuses_the_message_as_too_large():
    bounce = only(sent(to=("big@example.com",)), "Bounce")["bounce"]
    assert (bounce["bounceType"], bounce["bounceSubType"]) == ("Transient", "MessageTooLarge")
    assert bounce["bouncedRecipients"][0]["status"] == "5.3.4"
    assert bounce["bouncedRecipients"][0]["diagnosticCode"] == (
        "smtp; 552 5.3.4 Message size exceeds fixed maximum message size"
    )


def test_bounces_of_one_type_from_one_send_are_combined_into_one_notification():
    message = sent(
        to=("bounce@simulator.amazonses.com",),
        cc=(
            "bounce+cc@simulator.amazonses.com",
            "success@simulator.amazonses.com",
            "suppressionlist@simulator.amazonses.com",
            "full@example.com",
        ),
    )
    assert summary(message) == [
        ("Send",),
        ("Delivery", "success@simulator.amazonses.com"),
        ("DeliveryDelay", "full@example.com"),
        (
            "Bounce",
            "Permanent/General",
            "bounce@simulator.amazonses.com",
            "bounce+cc@simulator.amazonses.com",
            "suppressionlist@simulator.amazonses.com",
        ),
        ("Bounce", "Transient/MailboxFull", "full@example.com"),
    ]
    bounces = [event["bounce"] for event in events(message) if event["eventType"] == "Bounce"]
    assert len({bounce["feedbackId"] for bounce in bounces}) == 2
    assert all(event["mail"]["destination"] == list(message.destinations) for event in events(message))


# ---- what deskmail's parser makes of it ---------------------------------------------------------------------------


def sns_envelope(event: dict) -> str:
    """The SQS body moto delivers from the SNS subscription (not raw delivery)."""
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": "3132e8df-5b69-47af-9af0-d5efe2c14642",
            "TopicArn": TOPIC,
            "Subject": simulator.EVENT_SUBJECT,
            "Message": sns_message(event),
            "Timestamp": "2026-11-23T08:00:02.000Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE==",
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem",
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x",
        }
    )


def parsed_outcomes(message: SentMessage, suppressed=()) -> list[tuple]:
    outcomes = []
    for event in events_for(message, "deskmail-dev", REGION, ACCOUNT, suppressed):
        feedback = parse(sns_envelope(event), "2026-11-23T08:00:05.000Z")
        assert feedback.message_id == MESSAGE_ID
        assert feedback.source_format == "event"
        assert feedback.mail_timestamp == "2026-11-23T08:00:00.123Z"
        assert feedback.tags["ticket_id"] == ["t1"]
        assert not feedback.unattributed
        for outcome in feedback.events:
            outcomes.append((outcome.email, outcome.kind, outcome.status, (outcome.failure or {}).get("category")))
    return outcomes


@pytest.mark.parametrize(
    "address, expected",
    [
        ("success@simulator.amazonses.com", [("delivery", "delivered", None)]),
        ("bounce@simulator.amazonses.com", [("bounce", "bounced", "invalid_address")]),
        ("ooto@simulator.amazonses.com", [("delivery", "delivered", None), ("auto_reply", "delivered", "auto_reply")]),
        (
            "complaint@simulator.amazonses.com",
            [("delivery", "delivered", None), ("complaint", "complained", "complaint")],
        ),
        ("suppressionlist@simulator.amazonses.com", [("bounce", "bounced", "invalid_address")]),
        (
            "full-mailbox@example.com",
            [("delivery_delay", "delayed", "mailbox_full"), ("bounce", "bounced", "mailbox_full")],
        ),
        ("big@example.com", [("bounce", "bounced", "message_too_large")]),
        ("rita@example.com", [("delivery", "delivered", None)]),
        ("reply-rita@example.com", [("delivery", "delivered", None)]),
    ],
)
def test_the_parser_reads_every_event_to_the_expected_outcome(address, expected):
    outcomes = parsed_outcomes(sent(to=(address,)))
    assert outcomes[0] == (address, "send", "sent", None)
    assert outcomes[1:] == [(address, *outcome) for outcome in expected]


def test_the_parser_reads_a_combined_bounce_to_one_outcome_per_recipient():
    message = sent(
        to=("success@simulator.amazonses.com",),
        cc=("bounce@simulator.amazonses.com", "bounce+2@simulator.amazonses.com"),
    )
    outcomes = parsed_outcomes(message)
    assert [o for o in outcomes if o[1] == "bounce"] == [
        ("bounce@simulator.amazonses.com", "bounce", "bounced", "invalid_address"),
        ("bounce+2@simulator.amazonses.com", "bounce", "bounced", "invalid_address"),
    ]
    assert ("success@simulator.amazonses.com", "delivery", "delivered", None) in outcomes


# ---- the watcher --------------------------------------------------------------------------------------------------


class FakeSns:
    def __init__(self):
        self.published: list[dict] = []

    def publish(self, **request):
        self.published.append(request)


def fake_backend(messages=(), matching=("send", "delivery", "bounce", "complaint", "deliveryDelay"), enabled=True):
    destination = {
        "Name": "feedback-sns",
        "Enabled": enabled,
        "MatchingEventTypes": list(matching),
        "SNSDestination": {"TopicARN": TOPIC},
    }
    return SimpleNamespace(sent_messages=list(messages), config_set_event_destination={"deskmail-dev": destination})


def moto_message(message_id="m1", to=("success@simulator.amazonses.com",), raw=None):
    return SimpleNamespace(
        id=message_id,
        source="Deskmail Support <support@deskmail.example.com>",
        destinations=list(to),
        raw_data=raw or raw_email(to),
    )


def watcher(backend, sns):
    return MailboxSimulator(backend, sns, threading.Event(), REGION, ACCOUNT, settle_seconds=1.0)


def test_the_watcher_publishes_each_new_message_once_after_it_settles():
    backend, sns = fake_backend([moto_message("m1")]), FakeSns()
    simulator_thread = watcher(backend, sns)

    assert simulator_thread.step(SENT_AT) == 0  # seen, not yet due
    assert simulator_thread.step(SENT_AT + timedelta(seconds=1)) == 1
    assert [json.loads(p["Message"])["eventType"] for p in sns.published] == ["Send", "Delivery"]
    assert {p["TopicArn"] for p in sns.published} == {TOPIC}
    assert {p["Subject"] for p in sns.published} == {"Amazon SES Email Event Notification"}
    assert json.loads(sns.published[0]["Message"])["mail"]["messageId"] == "m1"
    assert json.loads(sns.published[0]["Message"])["mail"]["timestamp"] == "2026-11-23T08:00:00.123Z"

    backend.sent_messages.append(moto_message("m2", to=("bounce@simulator.amazonses.com",)))
    assert simulator_thread.step(SENT_AT + timedelta(seconds=2)) == 0
    assert simulator_thread.step(SENT_AT + timedelta(seconds=3)) == 1
    assert [json.loads(p["Message"])["mail"]["messageId"] for p in sns.published] == ["m1", "m1", "m2", "m2"]


def test_the_watcher_publishes_only_the_event_types_the_destination_matches():
    backend, sns = fake_backend([moto_message(to=("ooto@simulator.amazonses.com",))], matching=("BOUNCE",)), FakeSns()
    watcher(backend, sns).step(SENT_AT)
    assert sns.published == []
    simulator_thread = watcher(backend, sns)
    simulator_thread.settle_seconds = 0
    simulator_thread.step(SENT_AT)
    assert [json.loads(p["Message"])["eventType"] for p in sns.published] == ["Bounce"]


@pytest.mark.parametrize(
    "backend",
    [
        fake_backend([moto_message()], enabled=False),
        SimpleNamespace(sent_messages=[moto_message()], config_set_event_destination={}),
        fake_backend([moto_message(raw=raw_email().replace("X-SES-CONFIGURATION-SET: deskmail-dev\n", ""))]),
    ],
    ids=["disabled destination", "no destination", "no configuration set header"],
)
def test_without_an_sns_event_destination_nothing_is_published(backend):
    sns = FakeSns()
    simulator_thread = watcher(backend, sns)
    simulator_thread.settle_seconds = 0
    assert simulator_thread.step(SENT_AT) == 1
    assert sns.published == []


# ---- the account-level suppression list ---------------------------------------------------------------------------

SUPPRESSION_DIAGNOSTIC = (
    "Amazon SES did not send the message to this address because it is on the suppression list for your account. "
    "For more information about removing addresses from the suppression list, see the Amazon SES Developer Guide at "
    "https://docs.aws.amazon.com/ses/latest/DeveloperGuide/sending-email-suppression-list.html"
)


def test_an_address_on_the_account_list_is_not_sent_to_and_bounces_on_account_suppression_list():
    message = sent(to=("someone@nowhere.invalid",), cc=("success@simulator.amazonses.com",))
    published = events_for(message, "deskmail-dev", REGION, ACCOUNT, suppressed={"Someone@Nowhere.invalid"})

    assert [event["eventType"] for event in published] == ["Send", "Delivery", "Bounce"]
    bounce = published[-1]["bounce"]
    assert bounce["bounceType"] == "Permanent"
    assert bounce["bounceSubType"] == "OnAccountSuppressionList"
    assert bounce["bouncedRecipients"] == [
        {
            "emailAddress": "someone@nowhere.invalid",
            "action": "failed",
            "status": "5.1.1",
            "diagnosticCode": SUPPRESSION_DIAGNOSTIC,
        }
    ]
    assert bounce["reportingMTA"] == "dns; amazonses.com"
    assert FEEDBACK_ID.match(bounce["feedbackId"])
    assert published[1]["delivery"]["recipients"] == ["success@simulator.amazonses.com"]


def test_the_parser_reads_an_account_suppression_bounce_as_suppressed():
    outcomes = parsed_outcomes(sent(to=("someone@nowhere.invalid",)), suppressed={"someone@nowhere.invalid"})
    assert outcomes[1:] == [("someone@nowhere.invalid", "bounce", "suppressed", "suppressed")]


@pytest.mark.parametrize(
    "address, suppressed, added",
    [
        ("someone@nowhere.invalid", (), {"someone@nowhere.invalid": "BOUNCE"}),
        # The mailbox simulator's bounces and complaints never reach the account list (AWS documents it).
        ("bounce@simulator.amazonses.com", (), {}),
        ("suppressionlist@simulator.amazonses.com", (), {}),
        ("complaint@simulator.amazonses.com", (), {}),
        # Soft bounces and deliveries say nothing that suppresses.
        ("full-mailbox@example.com", (), {}),
        ("big@example.com", (), {}),
        ("rita@example.com", (), {}),
        # Already on the list: SES refused it, nothing new to add.
        ("someone@nowhere.invalid", ("someone@nowhere.invalid",), {}),
    ],
)
def test_hard_bounces_go_on_the_account_list_but_not_the_simulators(address, suppressed, added):
    assert suppression_list_additions(recipient_outcomes(sent(to=(address,)), suppressed)) == added


def test_a_complaint_outside_the_simulator_goes_on_the_account_list():
    outcomes = {"rita@example.com": (simulator.DELIVERED, simulator.COMPLAINED)}
    assert suppression_list_additions(outcomes) == {"rita@example.com": "COMPLAINT"}


def bounce_subtypes(sns: FakeSns, message_id: str) -> list[str]:
    found = []
    for request in sns.published:
        event = json.loads(request["Message"])
        if event.get("eventType") == "Bounce" and event["mail"]["messageId"] == message_id:
            found.append(event["bounce"]["bounceSubType"])
    return found


def test_the_watcher_keeps_the_account_list_and_refuses_listed_addresses_until_they_are_removed(tmp_path):
    backend, sns = fake_backend([moto_message("m1", to=("someone@nowhere.invalid",))]), FakeSns()
    suppression_list = LocalSuppressionList(str(tmp_path / "suppression-list.json"))
    watching = MailboxSimulator(
        backend, sns, threading.Event(), REGION, ACCOUNT, suppression_list=suppression_list, retry_seconds=3
    )

    watching.step(SENT_AT)
    # Sent before the first bounce came back: SES checked the list when it took m2, and it was empty then.
    backend.sent_messages.append(moto_message("m2", to=("someone@nowhere.invalid",)))
    watching.step(SENT_AT + timedelta(seconds=0.5))
    watching.step(SENT_AT + timedelta(seconds=2))
    assert bounce_subtypes(sns, "m1") == [] and suppression_list.get("someone@nowhere.invalid") is None  # retrying
    watching.step(SENT_AT + timedelta(seconds=3.6))  # both expired: bounced, and on the list from then on
    assert bounce_subtypes(sns, "m1") == bounce_subtypes(sns, "m2") == ["General"]
    entry = suppression_list.get("someone@nowhere.invalid")
    assert entry is not None and entry.reason == "BOUNCE"

    backend.sent_messages.append(moto_message("m3", to=("someone@nowhere.invalid",)))
    watching.step(SENT_AT + timedelta(seconds=4))
    watching.step(SENT_AT + timedelta(seconds=5.1))
    assert bounce_subtypes(sns, "m3") == ["OnAccountSuppressionList"]  # at once: SES never tried

    assert suppression_list.delete("someone@nowhere.invalid")
    backend.sent_messages.append(moto_message("m4", to=("someone@nowhere.invalid",)))
    watching.step(SENT_AT + timedelta(seconds=6))
    watching.step(SENT_AT + timedelta(seconds=7.1))
    watching.step(SENT_AT + timedelta(seconds=9.1))
    assert bounce_subtypes(sns, "m4") == ["General"]


class ListCheckingSns(FakeSns):
    """Notes, for each Bounce it is given, whether its addresses were on the account list at that moment."""

    def __init__(self, suppression_list):
        super().__init__()
        self.suppression_list = suppression_list
        self.listed_at_bounce: list[bool] = []

    def publish(self, **request):
        event = json.loads(request["Message"])
        if event.get("eventType") == "Bounce":
            addresses = [r["emailAddress"] for r in event["bounce"]["bouncedRecipients"]]
            self.listed_at_bounce.append(all(self.suppression_list.get(a) is not None for a in addresses))
        super().publish(**request)


def test_a_hard_bounce_is_published_only_once_its_address_is_on_the_account_list(tmp_path):
    # The bounce's moment is 3.0004 s after the send: its event says 3.000 (milliseconds). A step in between must
    # not publish the bounce and leave the listing to the next step (a reader of the bounce would not find it).
    suppression_list = LocalSuppressionList(str(tmp_path / "suppression-list.json"))
    backend, sns = (
        fake_backend([moto_message("m1", to=("someone@nowhere.invalid",))]),
        ListCheckingSns(suppression_list),
    )
    watching = MailboxSimulator(
        backend, sns, threading.Event(), REGION, ACCOUNT, suppression_list=suppression_list, retry_seconds=3.0004
    )

    watching.step(SENT_AT)
    watching.step(SENT_AT + timedelta(seconds=3.0002))
    assert bounce_subtypes(sns, "m1") == ["General"]
    assert sns.listed_at_bounce == [True]


# ---- the mailboxes that answer: SES inbound "Received" notifications ----------------------------------------------

TICKET_ID = "01m83r9ky21vp71zr2jjmzfg83"  # deskmail's ids: 26 lower-case letters and digits
SUPPORT = "support@deskmail.example.com"
INBOUND_TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:deskmail-inbound-dev"
REPLIED_AT = SENT_AT + timedelta(seconds=1.5)


def answered(to: str, **mime) -> list:
    message = sent(to=(to,), ticket_id=TICKET_ID, **mime)
    return replies_for(message, recipient_outcomes(message), REPLIED_AT)


def received(to: str) -> dict:
    (reply,) = answered(to)
    return received_notification(reply, INBOUND_TOPIC, REPLIED_AT, REGION)


def inbound_sqs_body(notification: dict) -> str:
    """The inbound queue's SQS body: the receipt rule's SNS notification in its envelope (not raw delivery)."""
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": "b6c2a1f0-5b69-47af-9af0-d5efe2c14642",
            "TopicArn": INBOUND_TOPIC,
            "Subject": simulator.RECEIPT_SUBJECT,
            "Message": json.dumps(notification),
            "Timestamp": "2026-11-23T08:00:02.000Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE==",
        }
    )


def test_the_simulators_out_of_office_answers_the_envelope_sender_which_is_ses_not_deskmail():
    # deskmail writes no Return-Path; SES sends with its own per-message MAIL FROM at amazonses.com.
    (reply,) = answered("ooto@simulator.amazonses.com")
    assert reply.recipient == f"{MESSAGE_ID}@amazonses.com" and reply.mime["To"] == reply.recipient
    assert reply.envelope_sender == "" and reply.mime["Auto-Submitted"] == "auto-replied"
    assert not InboundRoute(INBOUND_TOPIC, "deskmail.example.com").accepts(reply.recipient)
    eu = SentMessage(MESSAGE_ID, SUPPORT, ("ooto@simulator.amazonses.com",), raw_email(), SENT_AT, "eu-west-1")
    assert simulator.envelope_sender(eu) == f"{MESSAGE_ID}@eu-west-1.amazonses.com"
    with_return_path = raw_email().replace("From: ", "Return-Path: <bounces@deskmail.example.com>\nFrom: ", 1)
    written = SentMessage(MESSAGE_ID, SUPPORT, ("a@b",), with_return_path, SENT_AT)
    assert simulator.envelope_sender(written) == "bounces@deskmail.example.com"  # then it would reach inbound


def test_a_vacation_responder_answers_the_from_address_with_a_received_notification_as_a_receipt_rule_publishes_it():
    notification = received("away-otto@example.com")

    assert notification["notificationType"] == "Received"
    receipt = notification["receipt"]
    assert receipt["recipients"] == [SUPPORT]
    assert receipt["spamVerdict"] == receipt["virusVerdict"] == {"status": "PASS"}
    assert receipt["action"] == {"type": "SNS", "topicArn": INBOUND_TOPIC, "encoding": "UTF8"}
    assert ISO_MILLIS.match(receipt["timestamp"])
    mail = notification["mail"]
    assert re.fullmatch(r"[0-9a-z]{40}", mail["messageId"])
    assert mail["destination"] == [SUPPORT]
    assert mail["source"] == ""  # RFC 3834 3.3: a null reverse-path
    assert mail["timestamp"] == "2026-11-23T08:00:01.623Z"
    headers = {header["name"]: header["value"] for header in mail["headers"]}
    assert headers["Return-Path"] == "<>"
    assert headers["Auto-Submitted"] == "auto-replied"
    common = mail["commonHeaders"]
    assert common["from"] == ["away-otto@example.com"]
    assert common["to"] == ["Deskmail Support <support@deskmail.example.com>"]
    assert common["subject"] == "Automatic reply: [4TDV9V] Printer on fire"
    assert common["messageId"] == headers["Message-ID"]

    content = email.message_from_string(notification["content"], policy=email.policy.default)
    assert content["From"] == "away-otto@example.com"
    assert content["To"] == "Deskmail Support <support@deskmail.example.com>"
    assert content["Auto-Submitted"] == "auto-replied"
    # The answer quotes the Message-ID the notification arrived with: SES's, not deskmail's own.
    assert content["In-Reply-To"] == f"<{MESSAGE_ID}@email.amazonses.com>"
    assert content["References"].split() == [  # folded when long: compare the ids
        f"<ticket-{TICKET_ID}@deskmail.example.com>",
        f"<{MESSAGE_ID}@email.amazonses.com>",
    ]
    assert content["Subject"] == "Automatic reply: [4TDV9V] Printer on fire"
    assert "\r\n" in notification["content"]  # as it came over SMTP


def test_deskmail_reads_the_out_of_office_reply_as_automated_mail_about_the_ticket():
    inbound = inbound_mail.parse(inbound_sqs_body(received("away-otto@example.com")), "2026-11-23T08:00:05Z")

    assert isinstance(inbound, inbound_mail.InboundEmail)
    assert inbound.sender == "away-otto@example.com"
    assert inbound.recipients == (SUPPORT,)
    assert not inbound.spam_or_virus
    assert inbound_mail.referenced_ticket_ids(inbound, "deskmail.example.com") == [TICKET_ID]
    automated = loops.automated_reason(inbound.headers, inbound.subject, own_addresses=[SUPPORT])
    # The receiving MTA's Return-Path comes first; Auto-Submitted and the subject would each say the same.
    assert automated == loops.AutomatedMail(loops.EMPTY_RETURN_PATH, "Return-Path: <>")
    without_return_path = [(name, value) for name, value in inbound.headers if name != "Return-Path"]
    assert loops.automated_reason(without_return_path, inbound.subject).rule == loops.AUTO_SUBMITTED


def test_a_reply_mailbox_answers_as_a_person_whom_deskmail_reads_as_a_genuine_reply():
    notification = received("Rita <reply-rita@example.com>")
    content = email.message_from_string(notification["content"], policy=email.policy.default)
    assert content["From"] == "Rita <reply-rita@example.com>"  # her name as the notification addressed her
    assert content["Auto-Submitted"] is None
    assert content["Subject"] == "Re: [4TDV9V] Printer on fire"
    assert content["In-Reply-To"] == f"<{MESSAGE_ID}@email.amazonses.com>"
    assert notification["mail"]["source"] == "reply-rita@example.com"
    assert notification["receipt"]["recipients"] == [SUPPORT]

    inbound = inbound_mail.parse(inbound_sqs_body(notification), "2026-11-23T08:00:05Z")
    assert isinstance(inbound, inbound_mail.InboundEmail)
    assert inbound.sender == "reply-rita@example.com"
    assert inbound.text == "Thanks!"  # the quoted notification cut off
    assert inbound_mail.referenced_ticket_ids(inbound, "deskmail.example.com") == [TICKET_ID]
    assert loops.automated_reason(inbound.headers, inbound.subject, own_addresses=[SUPPORT]) is None


@pytest.mark.parametrize("address", ["ooto@simulator.amazonses.com", "away@example.com"])
def test_no_automatic_answer_to_mail_marked_auto_submitted(address):
    assert answered(address, auto_submitted=True) == []  # RFC 3834 section 2


@pytest.mark.parametrize("auto_submitted", [True, False])
def test_the_responders_kept_silent_are_named_exactly_when_the_message_is_auto_submitted(auto_submitted):
    to = ("away@example.com", "reply-rita@example.com", "success@example.com")
    message = sent(to=to, auto_submitted=auto_submitted)
    silenced = simulator.silenced_responders(message, recipient_outcomes(message))
    assert silenced == (["away@example.com"] if auto_submitted else [])


def test_people_still_answer_mail_marked_auto_submitted():
    (reply,) = answered("reply-rita@example.com", auto_submitted=True)

    assert not reply.automatic and reply.mailbox == "reply-rita@example.com"


@pytest.mark.parametrize(
    "address", ["success@simulator.amazonses.com", "bounce@simulator.amazonses.com", "rita@example.com"]
)
def test_other_mailboxes_do_not_answer(address):
    assert answered(address) == []


def inbound_watcher(backend, sns, domain="deskmail.example.com"):
    watching = MailboxSimulator(
        backend, sns, threading.Event(), REGION, ACCOUNT, inbound=InboundRoute(INBOUND_TOPIC, domain)
    )
    watching.settle_seconds = 0
    return watching


def inbound_published(sns: FakeSns) -> list[dict]:
    return [json.loads(p["Message"]) for p in sns.published if p["TopicArn"] == INBOUND_TOPIC]


def test_the_watcher_publishes_answers_to_the_inbound_topic_and_a_person_answers_a_thread_once():
    ticket_mail = raw_email(
        ("reply-rita@example.com", "away-otto@example.com", "ooto@simulator.amazonses.com"), ticket_id=TICKET_ID
    )
    to = ("reply-rita@example.com", "away-otto@example.com", "ooto@simulator.amazonses.com")
    backend, sns = fake_backend([moto_message("m1", to=to, raw=ticket_mail)]), FakeSns()
    watching = inbound_watcher(backend, sns)

    watching.step(SENT_AT)
    first = inbound_published(sns)
    assert [(n["mail"]["commonHeaders"]["from"], n["receipt"]["recipients"]) for n in first] == [
        (["reply-rita@example.com"], [SUPPORT]),
        (["away-otto@example.com"], [SUPPORT]),  # ooto@ answered SES's MAIL FROM: no receipt rule there
    ]
    assert {p["Subject"] for p in sns.published if p["TopicArn"] == INBOUND_TOPIC} == {
        "Amazon SES Email Receipt Notification"
    }

    # The next notification on the same ticket: the out-of-office responder answers again, Rita does not.
    backend.sent_messages.append(moto_message("m2", to=to, raw=ticket_mail))
    watching.step(SENT_AT + timedelta(seconds=1))
    assert [n["mail"]["commonHeaders"]["from"] for n in inbound_published(sns)[2:]] == [["away-otto@example.com"]]


def test_answers_to_a_domain_without_a_receipt_rule_go_nowhere():
    backend = fake_backend([moto_message("m1", to=("ooto@simulator.amazonses.com",))])
    sns = FakeSns()
    inbound_watcher(backend, sns, domain="elsewhere.example.com").step(SENT_AT)
    assert inbound_published(sns) == []


# ---- the second source: the identity's feedback notifications ----------------------------------------------------

FEEDBACK_TOPIC = TOPIC  # production points both sources at the one feedback topic


def identity_watcher(backend, sns, types=frozenset({"Bounce", "Complaint"})):
    watching = MailboxSimulator(
        backend,
        sns,
        threading.Event(),
        REGION,
        ACCOUNT,
        identity_notifications=simulator.IdentityNotifications("deskmail.example.com", FEEDBACK_TOPIC, types),
    )
    watching.settle_seconds = 0
    return watching


def published_documents(sns: FakeSns) -> list[tuple[str | None, dict]]:
    return [(p.get("Subject"), json.loads(p["Message"])) for p in sns.published]


def test_bounces_and_complaints_also_arrive_as_identity_notifications_sharing_the_feedback_id():
    to = ("bounce@simulator.amazonses.com", "complaint@simulator.amazonses.com", "success@simulator.amazonses.com")
    backend, sns = fake_backend([moto_message("m1", to=to)]), FakeSns()
    identity_watcher(backend, sns).step(SENT_AT)

    documents = published_documents(sns)
    events = {d["eventType"]: d for _, d in documents if "eventType" in d}
    notifications = [(subject, d) for subject, d in documents if "notificationType" in d]
    assert [d["notificationType"] for _, d in notifications] == ["Bounce", "Complaint"]  # no Delivery: not set
    assert {subject for subject, _ in notifications} == {None}  # feedback notifications carry no SNS Subject
    assert {p["TopicArn"] for p in sns.published} == {FEEDBACK_TOPIC}
    assert all(not p["Message"].endswith("\n") for p in sns.published if "notificationType" in p["Message"][:30])
    bounce = notifications[0][1]
    # The same bounce: the same feedbackId, timestamp and recipients as the event; remoteMtaIp where an MTA answered.
    assert {k: v for k, v in bounce["bounce"].items() if k != "remoteMtaIp"} == events["Bounce"]["bounce"]
    assert bounce["bounce"]["remoteMtaIp"] == simulator.REMOTE_MTA_IP
    assert notifications[1][1]["complaint"] == events["Complaint"]["complaint"]
    mail = bounce["mail"]
    assert set(mail) == {
        "timestamp",
        "source",
        "sourceArn",
        "sourceIp",
        "sendingAccountId",
        "callerIdentity",
        "messageId",
        "destination",
    }  # no tags, and no headers unless the identity asks for them
    assert mail["messageId"] == "m1" and mail["destination"] == list(to)


def test_delivery_notifications_when_that_topic_is_set_and_headers_when_asked():
    event = only(sent(), "Delivery")
    notification = simulator.identity_notification(event, include_headers=True)
    assert notification["notificationType"] == "Delivery"
    assert notification["delivery"]["remoteMtaIp"] == simulator.REMOTE_MTA_IP
    assert notification["mail"]["commonHeaders"] == event["mail"]["commonHeaders"]
    assert "tags" not in notification["mail"]
    assert simulator.identity_notification(only(sent(), "Send")) is None

    backend, sns = fake_backend([moto_message("m1")]), FakeSns()
    identity_watcher(backend, sns, frozenset({"Delivery"})).step(SENT_AT)
    assert [d.get("notificationType") for _, d in published_documents(sns) if "notificationType" in d] == ["Delivery"]


def test_an_account_suppression_bounce_names_no_remote_mta():
    message = sent(to=("rita@example.com",))
    (bounce,) = [e for e in events_for(message, "deskmail-dev", REGION, ACCOUNT, {"rita@example.com"})][1:]
    assert "remoteMtaIp" not in simulator.identity_notification(bounce)["bounce"]


def test_mail_from_another_identity_gets_no_identity_notifications():
    other = raw_email(("bounce@simulator.amazonses.com",)).replace("deskmail.example.com", "other.example.org")
    backend = fake_backend([moto_message("m1", to=("bounce@simulator.amazonses.com",), raw=other)])
    backend.sent_messages[0].source = "support@other.example.org"
    sns = FakeSns()
    identity_watcher(backend, sns).step(SENT_AT)
    assert [d for _, d in published_documents(sns) if "notificationType" in d] == []


@pytest.mark.parametrize(
    "value, types",
    [
        (None, {"Bounce", "Complaint"}),
        ("on", {"Bounce", "Complaint"}),
        ("bounce, complaint, delivery", {"Bounce", "Complaint", "Delivery"}),
        ("off", None),
        ("0", None),
    ],
)
def test_the_identity_notifications_setting(value, types):
    environ = {} if value is None else {simulator.IDENTITY_FEEDBACK_ENV: value}
    found = simulator.identity_notifications_from_environment("deskmail.example.com", TOPIC, environ)
    assert (found.types if found else None) == types


def test_an_unknown_identity_notification_type_is_refused():
    with pytest.raises(ValueError, match="Send"):
        simulator.identity_notifications_from_environment("d", TOPIC, {simulator.IDENTITY_FEEDBACK_ENV: "send"})


def test_the_parser_reads_both_copies_to_the_same_outcomes():
    to = ("bounce@simulator.amazonses.com", "complaint@simulator.amazonses.com")
    for event in events(sent(to=to)):
        notification = simulator.identity_notification(event)
        if notification is None:
            continue
        from_event = parse(sns_envelope(event), "2026-11-23T08:00:05.000Z")
        from_notification = parse(json.dumps({"Type": "Notification", "Message": json.dumps(notification)}), "x")
        assert [(o.id, o.email, o.kind, o.status) for o in from_notification.events] == [
            (o.id, o.email, o.kind, o.status) for o in from_event.events
        ]


# ---- receipt verdicts: authentic, unverifiable and spoofed answers -------------------------------------------------


@pytest.mark.parametrize(
    "address, verdicts, policy, held",
    [
        ("reply-rita@example.com", ("PASS", "PASS", "PASS"), None, None),
        ("gray-rita@example.com", ("GRAY", "GRAY", "GRAY"), None, None),
        ("spoof-rita@example.com", ("FAIL", "FAIL", "FAIL"), "reject", inbound_mail.HELD_DMARC_REJECT),
        ("spoof-quarantine@example.com", ("FAIL", "FAIL", "FAIL"), "quarantine", inbound_mail.HELD_DMARC_QUARANTINE),
        ("spoof-none@example.com", ("FAIL", "FAIL", "FAIL"), "none", inbound_mail.HELD_UNAUTHENTICATED),
    ],
)
def test_answers_carry_the_receipt_verdicts_of_their_sender(address, verdicts, policy, held):
    receipt = received(address)["receipt"]
    assert (receipt["spfVerdict"], receipt["dkimVerdict"], receipt["dmarcVerdict"]) == tuple(
        {"status": verdict} for verdict in verdicts
    )
    assert receipt.get("dmarcPolicy") == policy  # a plain lower-case string, only with a DMARC FAIL
    parsed = inbound_mail.parse(inbound_sqs_body(received(address)), "2026-11-23T08:00:05Z")
    assert inbound_mail.hold_reason(parsed.authentication) == held
    assert parsed.text == "Thanks!"  # a person's answer, whoever really wrote it


# ---- mail of any size: the receipt rule's S3 action ----------------------------------------------------------------


class FakeS3:
    def __init__(self):
        self.objects: dict[tuple[str, str], bytes] = {}

    def put_object(self, Bucket, Key, Body):  # noqa: N803 - boto3's parameter names
        self.objects[(Bucket, Key)] = Body


def test_with_a_bucket_every_answer_is_stored_first_and_notified_without_content():
    backend, sns, s3 = fake_backend([moto_message("m1", to=("photo-rita@example.com",))]), FakeSns(), FakeS3()
    watching = MailboxSimulator(
        backend,
        sns,
        threading.Event(),
        REGION,
        ACCOUNT,
        settle_seconds=0,
        inbound=InboundRoute(INBOUND_TOPIC, "deskmail.example.com", bucket="deskmail-inbound-dev"),
        s3_client=s3,
    )
    watching.step(SENT_AT)

    (notification,) = inbound_published(sns)
    message_id = notification["mail"]["messageId"]
    assert "content" not in notification
    assert notification["receipt"]["action"] == {
        "type": "S3",
        "topicArn": INBOUND_TOPIC,
        "bucketName": "deskmail-inbound-dev",
        "objectKey": f"inbound/{message_id}",
    }
    stored = s3.objects[("deskmail-inbound-dev", f"inbound/{message_id}")]
    assert len(stored) > 150 * 1024  # a phone photo: more than SES's SNS action carries

    body = inbound_sqs_body(notification)
    location = inbound_mail.stored_message(inbound_mail.unwrap(body))
    assert location == inbound_mail.StoredMessage("deskmail-inbound-dev", f"inbound/{message_id}")
    parsed = inbound_mail.parse(body, "2026-11-23T08:00:05Z", stored)
    assert parsed.text == simulator.PHOTO_TEXT and parsed.sender == "photo-rita@example.com"
    assert inbound_mail.referenced_ses_message_ids(parsed) == ["m1"]


def test_without_a_bucket_answers_carry_their_content_as_an_sns_action():
    notification = received("reply-rita@example.com")
    assert notification["receipt"]["action"]["type"] == "SNS" and notification["content"]
    assert inbound_mail.stored_message(notification) is None


# ---- Reject: SES found a virus and tried no recipient -------------------------------------------------------------

EICAR_TEXT = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def message_with_body(body: str, to=("success@simulator.amazonses.com", "reply-rita@example.com")) -> SentMessage:
    email_ = OutgoingEmail(
        sender="Deskmail Support <support@deskmail.example.com>",
        to=tuple(to),
        cc=(),
        subject="[4TDV9V] The file you asked for",
        body=body,
        rfc_message_id="<ticket-t1-n1@deskmail.example.com>",
        thread_root_id="<ticket-t1@deskmail.example.com>",
        tags={"ticket_id": "t1"},
        configuration_set="deskmail-dev",
    )
    return SentMessage(MESSAGE_ID, SUPPORT, tuple(to), to_mime(email_).decode(), SENT_AT)


@pytest.mark.parametrize(
    "message",
    [
        message_with_body(f"Ada Agent wrote:\n{EICAR_TEXT}\n"),
        message_with_body(f"Ada Agent wrote: caf\u00e9 \u2014 {EICAR_TEXT}\n"),  # not ASCII: the body is encoded
        sent(to=("virus-test@example.com", "success@simulator.amazonses.com")),
    ],
)
def test_a_virus_makes_ses_reject_the_whole_message(message):
    published = events(message)
    assert [event["eventType"] for event in published] == ["Send", "Reject"]
    assert published[1]["reject"] == {"reason": "Bad content"}
    assert published[1]["mail"]["destination"] == list(message.destinations)
    feedback = parse(sns_envelope(published[1]), "2026-11-23T08:00:05.000Z")
    assert {(o.email, o.kind, o.status) for o in feedback.events} == {
        (address, "reject", "rejected") for address in message.destinations
    }
    assert simulator.identity_notification(published[1]) is None  # identities are not told of Rejects


def test_a_rejected_message_is_answered_by_nobody_and_suppresses_nobody(tmp_path):
    raw = message_with_body(f"Ada Agent wrote:\n{EICAR_TEXT}\n", to=("reply-rita@example.com",)).raw_data
    backend, sns = (
        fake_backend([moto_message("m1", to=("reply-rita@example.com",), raw=raw)], matching=("reject",)),
        FakeSns(),
    )
    suppression_list = LocalSuppressionList(str(tmp_path / "list.json"))
    watching = MailboxSimulator(
        backend,
        sns,
        threading.Event(),
        REGION,
        ACCOUNT,
        settle_seconds=0,
        suppression_list=suppression_list,
        inbound=InboundRoute(INBOUND_TOPIC, "deskmail.example.com"),
    )
    watching.step(SENT_AT)
    assert [json.loads(p["Message"])["eventType"] for p in sns.published] == ["Reject"]
    assert suppression_list.get("reply-rita@example.com") is None
