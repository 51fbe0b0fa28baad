import json

import pytest

from chalicelib.domain.feedback import Ignored, MalformedFeedback, parse
from tests import ses_payloads as ses

NOW = "2026-11-23T09:00:00.000Z"
DEST = ["rita@example.com", "carl@example.com"]


def events(body):
    return {(e.email, e.kind, e.status) for e in parse(body, NOW).events}


@pytest.mark.parametrize("fmt", ["event", "notification"])
@pytest.mark.parametrize("wrap", ["sns", "raw"])
def test_both_formats_wrapped_or_raw_read_the_same(fmt, wrap):
    body = ses.bounce(
        "m-1",
        DEST,
        [ses.hard_bounce_recipient("carl@example.com")],
        fmt=fmt,
        wrap=wrap,
        timestamp="2026-11-23T08:00:05.000Z",
    )
    feedback = parse(body, NOW)
    assert feedback.message_id == "m-1"
    assert feedback.source_format == fmt
    assert events(body) == {("carl@example.com", "bounce", "bounced")}
    (bounce,) = feedback.events
    assert bounce.failure["smtp_status"] == "5.1.1" and bounce.failure["smtp_code"] == "550"
    assert bounce.occurred_at == "2026-11-23T08:00:05.000Z"


def test_only_bounced_recipients_bounce_and_addresses_are_lower_cased():
    body = ses.bounce("m-1", DEST, [ses.hard_bounce_recipient("Carl@Example.COM")])
    assert events(body) == {("carl@example.com", "bounce", "bounced")}


def test_final_recipient_with_display_name_is_reduced_to_the_address():
    body = ses.bounce("m-1", DEST, [ses.hard_bounce_recipient("Carl <carl@example.com>")])
    assert events(body) == {("carl@example.com", "bounce", "bounced")}


def test_empty_bounced_recipients_with_one_destination_is_theirs():
    body = ses.bounce("m-1", ["rita@example.com"], [], bounce_type="Undetermined", subtype="Undetermined")
    feedback = parse(body, NOW)
    assert events(body) == {("rita@example.com", "bounce", "bounced")}
    assert not feedback.unattributed


def test_empty_bounced_recipients_with_several_destinations_is_kept_unattributed():
    feedback = parse(ses.bounce("m-1", DEST, [], bounce_type="Undetermined", subtype="Undetermined"), NOW)
    assert feedback.events == () and feedback.unattributed


@pytest.mark.parametrize(
    "bounce_type, subtype, status, category",
    [
        ("Permanent", "General", "bounced", "invalid_address"),
        ("Permanent", "NoEmail", "bounced", "invalid_address"),
        ("Permanent", "Suppressed", "suppressed", "suppressed"),
        ("Permanent", "OnAccountSuppressionList", "suppressed", "suppressed"),
        ("Transient", "MailboxFull", "bounced", "mailbox_full"),
        ("Transient", "MessageTooLarge", "bounced", "message_too_large"),
        ("Transient", "ContentRejected", "bounced", "spam_or_policy"),
        ("Transient", "AttachmentRejected", "bounced", "spam_or_policy"),
        ("Undetermined", "Undetermined", "bounced", "unknown"),
    ],
)
def test_every_bounce_subtype(bounce_type, subtype, status, category):
    recipient = {
        "emailAddress": "carl@example.com",
        "action": "failed",
        "status": "5.0.0",
        "diagnosticCode": "smtp; 550 5.0.0 rejected",
    }
    if subtype in ("General", "NoEmail"):
        recipient["status"] = "5.1.1"
    (event,) = parse(ses.bounce("m-1", DEST, [recipient], bounce_type, subtype), NOW).events
    assert (event.status, event.failure["category"]) == (status, category)
    assert event.failure["bounce_type"] == bounce_type and event.failure["bounce_subtype"] == subtype


def test_out_of_office_transient_general_without_details_is_an_auto_reply():
    body = ses.bounce("m-1", DEST, [{"emailAddress": "rita@example.com"}], "Transient", "General")
    assert events(body) == {("rita@example.com", "auto_reply", "delivered")}


@pytest.mark.parametrize("feedback_type", ["abuse", None])
def test_complaints_with_and_without_feedback_type(feedback_type):
    (event,) = parse(ses.complaint("m-1", DEST, ["rita@example.com"], feedback_type=feedback_type), NOW).events
    assert (event.kind, event.status, event.failure["category"]) == ("complaint", "complained", "complaint")
    assert event.failure.get("feedback_type") == feedback_type


def test_complaint_on_account_suppression_list_is_suppressed():
    body = ses.complaint("m-1", DEST, ["rita@example.com"], feedback_type=None, subtype="OnAccountSuppressionList")
    assert events(body) == {("rita@example.com", "complaint", "suppressed")}


def test_delay_delivery_reject_and_send():
    assert events(ses.delay("m-1", DEST, ["rita@example.com"])) == {("rita@example.com", "delivery_delay", "delayed")}
    assert events(ses.delivery("m-1", DEST, ["carl@example.com"])) == {("carl@example.com", "delivery", "delivered")}
    assert events(ses.reject("m-1", DEST)) == {(a, "reject", "rejected") for a in DEST}
    assert events(ses.send("m-1", DEST)) == {(a, "send", "sent") for a in DEST}


def test_replays_give_identical_event_ids():
    body = ses.bounce("m-1", DEST, [ses.hard_bounce_recipient("carl@example.com")], feedback_id="fb-1")
    assert parse(body, NOW).events == parse(body, "2030-01-01T00:00:00.000Z").events


def test_lenient_timestamp_with_space_before_offset():
    document = json.loads(json.loads(ses.delivery("m-1", DEST))["Message"])
    document["delivery"]["timestamp"] = "2018-10-08T14:05:45 +0000"
    (first, _) = parse(json.dumps(document), NOW).events
    assert first.occurred_at == "2018-10-08T14:05:45.000Z"


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[1, 2]",
        json.dumps({"Type": "Notification", "MessageId": "x", "TopicArn": "t", "Message": "{broken"}),
        json.dumps({"Type": "Notification", "MessageId": "x", "TopicArn": "t"}),
        json.dumps({"eventType": "Teleport", "mail": {"messageId": "m"}}),
        json.dumps({"eventType": "Bounce", "bounce": {}, "mail": {}}),
        json.dumps({"notificationType": "Bounce", "bounce": "nope", "mail": {"messageId": "m"}}),
        json.dumps({"hello": "world"}),
    ],
)
def test_malformed_bodies_raise(body):
    with pytest.raises(MalformedFeedback):
        parse(body, NOW)


def test_untracked_types_and_subscription_confirmations_are_ignored():
    open_event = json.dumps({"eventType": "Open", "open": {}, "mail": {"messageId": "m"}})
    confirmation = json.dumps(
        {
            "Type": "SubscriptionConfirmation",
            "MessageId": "x",
            "TopicArn": "t",
            "Message": "You have chosen to subscribe",
            "SubscribeURL": "https://x",
        }
    )
    assert isinstance(parse(open_event, NOW), Ignored)
    assert isinstance(parse(confirmation, NOW), Ignored)


def test_a_timestamp_outside_datetimes_range_falls_back_to_the_mail_time():
    document = json.loads(json.loads(ses.delivery("m-1", DEST))["Message"])
    document["delivery"]["timestamp"] = "0001-01-01T00:00:00+00:10"
    first, _ = parse(json.dumps(document), NOW).events
    assert first.occurred_at == parse(json.dumps(document), NOW).mail_timestamp


@pytest.mark.parametrize(
    "entries",
    [[{"emailAddress": None}], [{"emailAddress": ""}], [{"emailAddress": 42}], [{}], ["not-an-address"], "carl"],
    ids=["null", "empty", "number", "missing", "no-at", "not-a-list"],
)
def test_a_bounce_naming_only_unreadable_recipients_is_pinned_on_nobody(entries):
    # One destination: an EMPTY list would be theirs, but a list of unreadable entries names nobody.
    feedback = parse(ses.bounce("m-1", ["rita@example.com"], entries), NOW)
    assert feedback.events == () and feedback.unattributed
    assert "bouncedRecipients" in feedback.unreadable


def test_readable_entries_apply_and_the_unreadable_ones_are_reported():
    feedback = parse(
        ses.bounce("m-1", DEST, [ses.hard_bounce_recipient("carl@example.com"), {"emailAddress": None}]), NOW
    )
    assert events(ses.bounce("m-1", DEST, [ses.hard_bounce_recipient("carl@example.com")])) == {
        (e.email, e.kind, e.status) for e in feedback.events
    }
    assert not feedback.unattributed and feedback.unreadable == "1 of 2 bounce.bouncedRecipients entries unreadable"


def test_a_complaint_naming_no_readable_recipient_is_unattributed():
    document = json.loads(json.loads(ses.complaint("m-1", ["rita@example.com"], ["rita@example.com"]))["Message"])
    document["complaint"]["complainedRecipients"] = [{"emailAddress": None}]
    feedback = parse(json.dumps(document), NOW)
    assert feedback.events == () and feedback.unattributed


def test_a_delivery_listing_only_unreadable_recipients_delivers_nobody():
    document = json.loads(json.loads(ses.delivery("m-1", DEST))["Message"])
    document["delivery"]["recipients"] = [None, ""]
    feedback = parse(json.dumps(document), NOW)
    assert feedback.events == () and feedback.unattributed


@pytest.mark.parametrize("where", ["body", "message"])
def test_json_nested_too_deeply_is_malformed_not_a_recursion_error(where):
    if where == "body":
        body = '{"Type": "Notification", "TopicArn": "t", "Message": ' + ses.nested_json() + "}"
    else:
        body = json.dumps({"Type": "Notification", "MessageId": "x", "TopicArn": "t", "Message": ses.nested_json()})
    with pytest.raises(MalformedFeedback, match="nested too deeply"):
        parse(body, NOW)


# ---- two sources: identity notifications and configuration-set events (issue 19, item 8) -------------------------


@pytest.mark.parametrize("wrap", ["sns", "raw"])
def test_the_identity_copy_and_the_event_copy_of_one_bounce_read_to_identical_events(wrap):
    when = "2026-11-23T08:00:05.000Z"
    copies = [
        parse(
            ses.bounce(
                "m-1",
                DEST,
                [ses.hard_bounce_recipient("carl@example.com")],
                fmt=fmt,
                wrap=wrap,
                timestamp=when,
                feedback_id="fb-1",
            ),
            NOW,
        )
        for fmt in ("notification", "event")
    ]
    assert [c.source_format for c in copies] == ["notification", "event"]
    assert copies[0].events == copies[1].events and copies[0].events


def test_the_identity_copy_and_the_event_copy_of_one_complaint_read_to_identical_events():
    when = "2026-11-23T08:10:00.000Z"
    identity, event = (
        parse(ses.complaint("m-1", DEST, ["rita@example.com"], fmt=fmt, timestamp=when, feedback_id="fc-1"), NOW)
        for fmt in ("notification", "event")
    )
    assert identity.events == event.events and identity.events


def _with_headers(body: str, message_id_header: str) -> str:
    document = json.loads(json.loads(body)["Message"])
    document["mail"]["commonHeaders"] = {"messageId": message_id_header}
    return json.dumps(document)


@pytest.mark.parametrize(
    "body, sender",
    [
        (ses.bounce("m-1", DEST, [ses.hard_bounce_recipient("carl@example.com")]), "deskmail"),
        (ses.delivery("m-1", DEST, tags={"ses:configuration-set": ["other"], "ticket_id": ["t-1"]}), "deskmail"),
        (ses.bounce("m-1", DEST, [ses.hard_bounce_recipient("carl@example.com")], fmt="notification"), "unknown"),
        (
            ses.bounce(
                "m-1", DEST, [ses.hard_bounce_recipient("carl@example.com")], tags={"ses:configuration-set": ["crm"]}
            ),
            "other",
        ),
        (
            _with_headers(
                ses.bounce("m-1", DEST, [ses.hard_bounce_recipient("carl@example.com")], fmt="notification"),
                "<ticket-01abc-01def@deskmail.example.com>",
            ),
            "deskmail",
        ),
        (
            _with_headers(
                ses.bounce("m-1", DEST, [ses.hard_bounce_recipient("carl@example.com")], fmt="notification"),
                "<invoice-4711@billing.example.com>",
            ),
            "other",
        ),
        (
            _with_headers(
                ses.bounce("m-1", DEST, [ses.hard_bounce_recipient("carl@example.com")], fmt="notification"),
                "<0100019a-1234@email.amazonses.com>",
            ),
            "unknown",
        ),
    ],
    ids=["our-set", "our-tags", "identity-bare", "other-set", "our-message-id", "other-message-id", "ses-message-id"],
)
def test_whose_mail_the_feedback_is_about(body, sender):
    assert parse(body, NOW).sender("deskmail-dev") == sender
