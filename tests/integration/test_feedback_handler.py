"""The SQS feedback handler, fed as Lambda feeds it, against moto's DynamoDB."""

import hashlib
import json

import boto3
import pytest

from tests import ses_payloads as ses
from tests.helpers import Api, feed, message_ids, open_ticket, people
from tests.reliability.scenario import table_items

FAILURE_TAG = "system_email_notification_failure"


@pytest.fixture
def api(client):
    return Api(client)


@pytest.fixture
def commented(api):
    """A ticket whose agent reply went to Rita (To) and Carl (Cc) in one SES message."""
    who = people(api)
    ticket = open_ticket(api, who)
    api.ok("post", f"/tickets/{ticket['id']}/comments", {"author_id": who["agent"]["id"], "body": "Hi", "public": True})
    reply = api.comments(ticket["id"])[1]
    return {
        "ticket": ticket,
        "who": who,
        "message_id": message_ids(reply)["rita@example.com"],
        "destination": ["rita@example.com", "carl@example.com"],
    }


def recipient(api, ticket_id, email):
    reply = api.comments(ticket_id)[1]["delivery"]
    return next(r for r in reply["recipients"] if r["email"] == email)


def test_every_notification_three_times_interleaved_equals_once(client, api, commented):
    mid, dest = commented["message_id"], commented["destination"]
    bodies = [
        ses.send(mid, dest),
        ses.delay(mid, dest, ["rita@example.com"]),
        ses.delivery(mid, dest, ["rita@example.com"]),
        ses.bounce(mid, dest, [ses.hard_bounce_recipient("carl@example.com")], feedback_id="fb-1"),
        ses.complaint(mid, dest, ["rita@example.com"]),
    ]
    assert feed(client, *bodies)[0] == {"batchItemFailures": []}
    once = table_items()
    events_once = api.ok("get", f"/tickets/{commented['ticket']['id']}/events")["events"]
    # SNS redelivers with a new envelope id but the same SES content; replay twice more, in other orders.
    assert feed(client, *reversed(bodies))[0] == {"batchItemFailures": []}
    for body in bodies[2:] + bodies[:2]:
        assert feed(client, body)[0] == {"batchItemFailures": []}
    assert table_items() == once
    assert api.ok("get", f"/tickets/{commented['ticket']['id']}/events")["events"] == events_once
    types = [e["type"] for e in events_once]
    assert types.count("email_delivery_failure") == 1 and types.count("tag_added") == 1
    assert types.count("email_complaint") == 1


@pytest.mark.parametrize(
    "sequence, expected",
    [
        (["delay", "delivery"], "delivered"),
        (["delivery", "delay"], "delivered"),
        (["delivery", "complaint"], "complained"),
        (["complaint", "delivery"], "complained"),
        (["transient", "permanent"], ("bounced", "invalid_address")),
        (["permanent", "transient"], ("bounced", "invalid_address")),
        (["delivery", "permanent"], ("bounced", "invalid_address")),
    ],
)
def test_arrival_order_does_not_change_the_final_state(client, api, commented, sequence, expected):
    mid, dest = commented["message_id"], commented["destination"]
    rita = "rita@example.com"
    make = {
        "delay": lambda: ses.delay(mid, dest, [rita], timestamp=ses.at(4)),
        "delivery": lambda: ses.delivery(mid, dest, [rita], timestamp=ses.at(6)),
        "complaint": lambda: ses.complaint(mid, dest, [rita], timestamp=ses.at(300)),
        "transient": lambda: ses.bounce(
            mid,
            dest,
            [
                {
                    "emailAddress": rita,
                    "action": "failed",
                    "status": "4.2.2",
                    "diagnosticCode": "smtp; 452 4.2.2 Mailbox full",
                }
            ],
            "Transient",
            "MailboxFull",
            timestamp=ses.at(5),
        ),
        "permanent": lambda: ses.bounce(mid, dest, [ses.hard_bounce_recipient(rita)], timestamp=ses.at(7)),
    }
    for step in sequence:
        assert feed(client, make[step]())[0] == {"batchItemFailures": []}
    rita_now = recipient(api, commented["ticket"]["id"], rita)
    if isinstance(expected, tuple):
        assert (rita_now["status"], rita_now["failure"]["category"]) == expected
    else:
        assert rita_now["status"] == expected


def test_bad_input_does_not_stop_the_good_records_and_nothing_is_lost(client, api, commented):
    mid, dest = commented["message_id"], commented["destination"]
    bad = [
        "{not json",
        json.dumps({"eventType": "Teleport", "mail": {"messageId": mid}}),
        json.dumps({"eventType": "Bounce", "bounce": {}, "mail": {"destination": dest}}),
        json.dumps({"Type": "Notification", "MessageId": "x", "TopicArn": "t", "Message": 42}),
        "x" * 256 * 1024,
    ]
    unknown_sender = ses.delivery("0100-never-sent-by-deskmail", dest)
    good = ses.bounce(mid, dest, [ses.hard_bounce_recipient("carl@example.com")])
    response, event = feed(client, bad[0], good, *bad[1:], unknown_sender)
    records = event["Records"]
    # Only the unknown message id is retried (and ends in the DLQ if it never appears); the rest are settled.
    assert response == {"batchItemFailures": [{"itemIdentifier": records[-1]["messageId"]}]}
    assert recipient(api, commented["ticket"]["id"], "carl@example.com")["status"] == "bounced"
    kept = [item for item in table_items() if item["PK"]["S"].startswith("RAW#")]
    assert sorted(item["SK"]["S"] for item in kept) == sorted(r["messageId"] for r in records[:1] + records[2:-1])
    assert all(int(item["expires_at"]["N"]) > 0 for item in kept)


def test_feedback_before_the_send_was_recorded_is_retried_until_it_is(client, api, commented):
    from chalicelib import runtime

    mid, dest = commented["message_id"], commented["destination"]
    lookup_key = {"PK": {"S": f"MSG#{mid}"}, "SK": {"S": "MSG"}}
    saved = boto3.client("dynamodb").get_item(TableName="deskmail-dev", Key=lookup_key)["Item"]
    boto3.client("dynamodb").delete_item(TableName="deskmail-dev", Key=lookup_key)
    body = ses.delivery(mid, dest)
    response, event = feed(client, body)
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    runtime.table().client.put_item(TableName="deskmail-dev", Item=saved)
    assert feed(client, body)[0] == {"batchItemFailures": []}
    assert recipient(api, commented["ticket"]["id"], "rita@example.com")["status"] == "delivered"


def test_reject_fails_every_recipient_and_tags_once(client, api, commented):
    feed(client, ses.reject(commented["message_id"], commented["destination"]))
    reply = api.comments(commented["ticket"]["id"])[1]["delivery"]
    assert reply["scope"] == "all" and {r["status"] for r in reply["recipients"]} == {"rejected"}
    events = api.ok("get", f"/tickets/{commented['ticket']['id']}/events")["events"]
    assert [e["type"] for e in events].count("tag_added") == 1


def test_identity_notifications_raw_delivery_and_suppression(client, api, commented):
    mid, dest = commented["message_id"], commented["destination"]
    suppressed = {
        "emailAddress": "carl@example.com",
        "action": "failed",
        "status": "5.1.1",
        "diagnosticCode": "Amazon SES did not send the message to this address because it is on the "
        "suppression list for your account.",
    }
    feed(
        client,
        ses.bounce(mid, dest, [suppressed], "Permanent", "OnAccountSuppressionList", fmt="notification", wrap="raw"),
        ses.delivery(mid, dest, ["rita@example.com"], fmt="notification", wrap="raw"),
    )
    carl = recipient(api, commented["ticket"]["id"], "carl@example.com")
    assert carl["status"] == "suppressed" and carl["failure"]["category"] == "suppressed"
    assert recipient(api, commented["ticket"]["id"], "rita@example.com")["status"] == "delivered"


def test_tagged_view_lists_newest_failure_first_and_agent_clear_sticks(client, api):
    tickets = []
    for n, when in enumerate([ses.at(-7200), ses.at(-3600), ses.at(-10800)]):
        # A different requester each time: a hard-bounced address gets no further notification.
        ticket = open_ticket(api, people(api, f"t{n}.example"), subject=f"T{n}")
        mid = api.comments(ticket["id"])[0]["delivery"]["recipients"][0]["message_id"]
        address = f"rita@t{n}.example"
        feed(client, ses.bounce(mid, [address], [ses.hard_bounce_recipient(address)], timestamp=when))
        tickets.append((ticket["id"], mid, address))
    listed = api.ok("get", f"/tickets?tag={FAILURE_TAG}")["tickets"]
    assert [t["id"] for t in listed] == [tickets[1][0], tickets[0][0], tickets[2][0]]
    # The agent acts and clears the tag; a late replay of the old bounce must not bring it back.
    api.ok("put", f"/tickets/{tickets[1][0]}/tags", {"tags": []})
    feed(
        client,
        ses.bounce(
            tickets[1][1],
            [tickets[1][2]],
            [ses.hard_bounce_recipient(tickets[1][2])],
            timestamp=ses.at(-3600),
        ),
    )
    assert api.ok("get", f"/tickets/{tickets[1][0]}")["tags"] == []
    assert [t["id"] for t in api.ok("get", f"/tickets?tag={FAILURE_TAG}")["tickets"]] == [tickets[0][0], tickets[2][0]]


# ---- per-record isolation and unreadable feedback kept whole (issue 12, finding 4) ------------------------------


def kept_raw(record_id: str) -> dict | None:
    """What RAW# holds for one SQS record, its parts put back together (read through the adapter)."""
    from chalicelib import runtime
    from chalicelib.ids import utc_now

    return runtime.table().get_raw(utc_now()[:10], record_id)


def feed_event(client, bodies, receive_count=1):
    event = ses.sqs_event(list(bodies), receive_count=receive_count)
    return client.lambda_.invoke("handle_ses_feedback", event).payload, event


@pytest.fixture
def opening(api):
    """A ticket whose opening notification went to Rita alone (one SES message, one destination)."""
    who = people(api)
    ticket = open_ticket(api, who)
    first = api.comments(ticket["id"])[0]
    return {"ticket": ticket, "message_id": message_ids(first)["rita@example.com"], "destination": ["rita@example.com"]}


def address_facts(address: str) -> list[dict]:
    return [item for item in table_items() if item["PK"]["S"] == f"ADDR#{address}" and item["SK"]["S"].startswith("F#")]


@pytest.mark.parametrize(
    "entries",
    [[{"emailAddress": None}], [{"emailAddress": ""}], [{}], ["nobody"]],
    ids=["null", "empty", "missing", "no-at"],
)
def test_a_bounce_naming_no_readable_recipient_bounces_nobody_and_is_kept_whole(client, api, opening, entries):
    ticket_id = opening["ticket"]["id"]
    body = ses.bounce(opening["message_id"], opening["destination"], entries)
    before = table_items()
    response, event = feed_event(client, [body])
    assert response == {"batchItemFailures": []}
    rita = api.comments(ticket_id)[0]["delivery"]["recipients"][0]
    assert rita["status"] == "sent" and rita.get("failure") is None
    assert api.ok("get", f"/tickets/{ticket_id}")["tags"] == []
    assert address_facts("rita@example.com") == []
    kept = kept_raw(event["Records"][0]["messageId"])
    assert kept["body"] == body and kept["outcome"] == "unreadable" and kept["ses_message_id"] == opening["message_id"]
    added = [item for item in table_items() if item not in before]
    assert {item["PK"]["S"][:4] for item in added} == {"RAW#"}  # nothing but the kept copy was written


def test_a_complaint_naming_no_readable_recipient_is_kept_not_dropped(client, api, opening):
    document = json.loads(
        json.loads(ses.complaint(opening["message_id"], opening["destination"], ["rita@example.com"]))["Message"]
    )
    document["complaint"]["complainedRecipients"] = [{"emailAddress": None}]
    body = ses.envelope(document)
    response, event = feed_event(client, [body])
    assert response == {"batchItemFailures": []}
    assert api.comments(opening["ticket"]["id"])[0]["delivery"]["recipients"][0]["status"] == "sent"
    assert kept_raw(event["Records"][0]["messageId"])["body"] == body


@pytest.mark.parametrize("where", ["body", "message"])
def test_a_deeply_nested_record_is_quarantined_alone_and_the_batch_goes_on(client, api, commented, where):
    mid, dest = commented["message_id"], commented["destination"]
    if where == "body":
        nested = '{"Type": "Notification", "TopicArn": "t", "Message": ' + ses.nested_json() + "}"
    else:
        nested = json.dumps({"Type": "Notification", "MessageId": "x", "TopicArn": "t", "Message": ses.nested_json()})
    good = [
        ses.bounce(mid, dest, [ses.hard_bounce_recipient("carl@example.com")]),
        ses.delivery(mid, dest, ["rita@example.com"]),
    ]
    response, event = feed_event(client, [good[0], nested, good[1]])
    assert response == {"batchItemFailures": []}
    assert recipient(api, commented["ticket"]["id"], "carl@example.com")["status"] == "bounced"
    assert recipient(api, commented["ticket"]["id"], "rita@example.com")["status"] == "delivered"
    kept = kept_raw(event["Records"][1]["messageId"])
    assert kept["body"] == nested and "nested too deeply" in kept["reason"]


def test_an_unexpected_error_reading_one_record_quarantines_that_record_alone(client, api, commented, monkeypatch):
    from chalicelib.domain import feedback as feedback_domain

    real = feedback_domain.classification.classify_bounce

    def classify(*args, diagnostic=None, **kwargs):
        if diagnostic and "boom" in diagnostic:
            raise KeyError("a classifier bug")
        return real(*args, diagnostic=diagnostic, **kwargs)

    monkeypatch.setattr(feedback_domain.classification, "classify_bounce", classify)
    mid, dest = commented["message_id"], commented["destination"]
    poison = ses.bounce(mid, dest, [ses.hard_bounce_recipient("rita@example.com", diagnostic="smtp; 550 boom")])
    good = ses.bounce(mid, dest, [ses.hard_bounce_recipient("carl@example.com")])
    response, event = feed_event(client, [poison, good])
    assert response == {"batchItemFailures": []}
    assert recipient(api, commented["ticket"]["id"], "carl@example.com")["status"] == "bounced"
    assert recipient(api, commented["ticket"]["id"], "rita@example.com")["status"] == "sent"
    kept = kept_raw(event["Records"][0]["messageId"])
    assert kept["body"] == poison and "KeyError" in kept["reason"]


def test_an_unexpected_read_error_fails_the_records_that_need_it_and_settles_the_others(client, commented, monkeypatch):
    from chalicelib import runtime

    def broken(*args, **kwargs):
        raise TypeError("an answer of a shape nobody expected")

    monkeypatch.setattr(runtime.table(), "_get_many_wire", broken)
    mid, dest = commented["message_id"], commented["destination"]
    response, event = feed_event(client, ["{not json", ses.delivery(mid, dest, ["rita@example.com"])])
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][1]["messageId"]}]}
    assert kept_raw(event["Records"][0]["messageId"])["body"] == "{not json"


def test_feedback_for_an_unknown_message_is_kept_whole_on_its_last_receive(client):
    body = ses.bounce(
        "0100-deskmail-never-recorded", ["rita@example.com"], [ses.hard_bounce_recipient("rita@example.com")]
    )
    assert feed_event(client, [body], receive_count=1)[0]["batchItemFailures"]  # early on: retried, the send may lag
    response, event = feed_event(client, [body], receive_count=5)  # the queue's maxReceiveCount: the last chance
    assert response == {"batchItemFailures": []}
    kept = kept_raw(event["Records"][0]["messageId"])
    assert kept["body"] == body and kept["outcome"] == "unknown_message" and kept["receive_count"] == 5


def test_a_large_unreadable_body_is_kept_whole_never_cut(client):
    body = "{" + "é€𝄞x" * 150_000  # 1.2 MB of UTF-8 in 600,000 characters: three items' worth
    response, event = feed_event(client, [body])
    assert response == {"batchItemFailures": []}
    kept = kept_raw(event["Records"][0]["messageId"])
    assert kept["body"] == body and kept["body_parts"] >= 3
    # The digest lets an operator check what they reassemble.
    assert kept["body_sha256"] == hashlib.sha256(body.encode()).hexdigest()


# ---- two feedback sources: the identity's notifications and the configuration set's events (issue 19, item 8) ----


def both_copies(commented):
    """The identity copy and the event copy of Carl's hard bounce and of Rita's complaint, as SES sends each."""
    mid, dest = commented["message_id"], commented["destination"]
    bounce_at, complaint_at = ses.at(5), ses.at(300)
    copies = {}
    for fmt in ("notification", "event"):
        copies[fmt] = [
            ses.bounce(
                mid,
                dest,
                [ses.hard_bounce_recipient("carl@example.com")],
                fmt=fmt,
                timestamp=bounce_at,
                feedback_id="fb-carl",
            ),
            ses.complaint(mid, dest, ["rita@example.com"], fmt=fmt, timestamp=complaint_at, feedback_id="fc-rita"),
        ]
    return copies


def test_the_two_copies_of_each_bounce_and_complaint_converge_on_one_record(client, api, commented):
    from tests.reliability.scenario import describe_difference, restore_table

    copies = both_copies(commented)
    before = table_items()
    for body in copies["notification"] + copies["event"]:  # identity copies first
        assert feed_event(client, [body])[0] == {"batchItemFailures": []}
    identity_first = table_items()
    restore_table(before)
    for body in copies["event"] + copies["notification"]:  # event copies first
        assert feed_event(client, [body])[0] == {"batchItemFailures": []}
    assert table_items() == identity_first, describe_difference(identity_first, table_items())
    # Replays: both copies of both in one batch, then each copy alone again.
    assert feed_event(client, copies["notification"] + copies["event"])[0] == {"batchItemFailures": []}
    for body in reversed(copies["event"] + copies["notification"]):
        feed_event(client, [body])
    assert table_items() == identity_first, describe_difference(identity_first, table_items())

    events = [e["type"] for e in api.ok("get", f"/tickets/{commented['ticket']['id']}/events")["events"]]
    assert events.count("email_delivery_failure") == 1 and events.count("email_complaint") == 1
    assert events.count("tag_added") == 1
    assert len(address_facts("carl@example.com")) == 1 and len(address_facts("rita@example.com")) == 1
    assert recipient(api, commented["ticket"]["id"], "carl@example.com")["status"] == "bounced"


def test_the_identity_copy_alone_records_what_the_event_copy_would(client, api, commented):
    from tests.reliability.scenario import restore_table

    copies = both_copies(commented)
    before = table_items()
    feed_event(client, copies["event"])
    from_events = table_items()
    restore_table(before)
    feed_event(client, copies["notification"])
    assert table_items() == from_events


def test_feedback_about_other_senders_mail_is_acknowledged_and_counted_not_dead_lettered(client):
    from chalicelib import runtime
    from chalicelib.ids import utc_now

    table, day = runtime.table(), utc_now()[:10]
    carl = ["carl@example.com"]
    # Another program's configuration set (event publishing to the same topic): known at once.
    crm = ses.bounce("0100-crm-1", carl, [ses.hard_bounce_recipient(carl[0])], tags={"ses:configuration-set": ["crm"]})
    assert feed_event(client, [crm])[0] == {"batchItemFailures": []}
    assert table.other_sender_feedback_on(day) == 1
    # An identity notification carries no tags: retried once (it may be deskmail's, ahead of the send's record),
    # then acknowledged and counted.
    identity = ses.bounce("0100-crm-2", carl, [ses.hard_bounce_recipient(carl[0])], fmt="notification")
    response, event = feed_event(client, [identity])
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert feed_event(client, [identity], receive_count=2)[0] == {"batchItemFailures": []}
    assert table.other_sender_feedback_on(day) == 2
    # deskmail's own (its configuration set) is retried until its last receive, then kept, never counted as other.
    ours = ses.bounce("0100-ours-late", carl, [ses.hard_bounce_recipient(carl[0])])
    for receive in range(1, 5):
        assert feed_event(client, [ours], receive_count=receive)[0]["batchItemFailures"]
    assert feed_event(client, [ours], receive_count=5)[0] == {"batchItemFailures": []}
    assert table.other_sender_feedback_on(day) == 2
    assert not [item for item in table_items() if "0100-crm" in json.dumps(item) and item["PK"]["S"].startswith("RAW#")]
