"""Inbound email end to end on moto: replies, loop protection and the rate limit, held (suspended) mail, exactly-once
handling across timeouts, and mail of any size through the receipt rule's S3 action."""

import json

from tests import inbound_payloads as inbound
from tests.helpers import Api, open_ticket, people, sent_messages


def notified_message_id(api, ticket_id, email):
    rows = [r for c in api.comments(ticket_id) for r in (c["delivery"] or {}).get("recipients", [])]
    return [r for r in rows if r["email"] == email][-1]["message_id"]


def event_types(api, ticket_id):
    return [e["type"] for e in api.ok("get", f"/tickets/{ticket_id}/events")["events"]]


def test_a_customer_reply_becomes_a_comment_and_notifies_the_assignee(client):
    api = Api(client)
    who = people(api)
    ticket = open_ticket(api, who, cc=())
    ses_id = notified_message_id(api, ticket["id"], "rita@example.com")
    before = len(sent_messages())

    reply = inbound.mime(in_reply_to=f"<{ses_id}@email.amazonses.com>", references=f"<{ses_id}@email.amazonses.com>")
    assert inbound.feed_inbound(client, inbound.received(reply)) == {"batchItemFailures": []}

    comments = api.comments(ticket["id"])
    assert [c["body"] for c in comments] == ["It smokes.", "Thanks, it works again."]
    assert comments[1]["author_id"] == who["requester"]["id"] and comments[1]["public"] is True
    assert [m["destinations"] for m in sent_messages()[before:]] == [["ada@deskmail.example.com"]]


def test_replies_found_by_thread_root_and_by_plus_address_and_replays_ignored(client):
    api = Api(client)
    who = people(api)
    ticket = open_ticket(api, who, cc=())
    by_root = inbound.received(
        inbound.mime(body="By root.", references=f"<ticket-{ticket['id']}@deskmail.example.com>")
    )
    plus = f"support+{ticket['id']}@deskmail.example.com"
    by_plus = inbound.received(inbound.mime(body="By plus.", to=plus), recipients=(plus,))

    inbound.feed_inbound(client, by_root, by_plus)
    inbound.feed_inbound(client, by_root)  # SQS delivers at least once

    assert [c["body"] for c in api.comments(ticket["id"])] == ["It smokes.", "By root.", "By plus."]


def test_an_unknown_sender_is_recorded_not_commented(client):
    api = Api(client)
    who = people(api)
    ticket = open_ticket(api, who, cc=())
    stranger = inbound.mime(
        sender="Mallory <mallory@example.org>", references=f"<ticket-{ticket['id']}@deskmail.example.com>"
    )

    inbound.feed_inbound(client, inbound.received(stranger))

    assert len(api.comments(ticket["id"])) == 1
    events = api.ok("get", f"/tickets/{ticket['id']}/events")["events"]
    (event,) = [e for e in events if e["type"] == "inbound_email_from_unknown_sender"]
    assert event["from"] == "mallory@example.org" and event["reason"] == "unknown_sender"
    assert event["description"] == "Email from an unknown sender: no comment added"


AUTOMATED_VARIANTS = [
    {"extra_headers": [("Auto-Submitted", "auto-replied")]},
    {"extra_headers": [("X-Autoreply", "yes")]},
    {"extra_headers": [("Precedence", "bulk")]},
    {"extra_headers": [("X-Auto-Response-Suppress", "All")]},
    {"extra_headers": [("Return-Path", "<>")]},
    {"subject": "Out of Office: Re: [ABCDEF] Printer on fire"},
    {"subject": "Risposta automatica: Re: [ABCDEF] Printer on fire"},
    {"subject": "Abwesenheitsnotiz: Re: [ABCDEF] Printer on fire"},
    {"subject": "Respuesta automática: Re: [ABCDEF] Printer on fire"},
    {"subject": "Réponse automatique : Re: [ABCDEF] Printer on fire"},
]


def test_an_auto_reply_storm_sends_no_notification(client):
    api = Api(client)
    who = people(api)
    ticket = open_ticket(api, who, cc=())
    ses_id = notified_message_id(api, ticket["id"], "rita@example.com")
    before = len(sent_messages())

    storm = [
        inbound.received(
            inbound.mime(
                in_reply_to=f"<{ses_id}@email.amazonses.com>", **AUTOMATED_VARIANTS[i % len(AUTOMATED_VARIANTS)]
            )
        )
        for i in range(100)
    ]
    for start in range(0, 100, 10):  # a minute's worth, as SQS hands it over: batches of ten
        assert inbound.feed_inbound(client, *storm[start : start + 10]) == {"batchItemFailures": []}

    assert len(sent_messages()) == before
    assert len(api.comments(ticket["id"])) == 1
    first_page = api.ok("get", f"/tickets/{ticket['id']}/events")
    assert len(first_page["events"]) == 100 and first_page["next_page"]  # a storm pages, it never grows one response
    events = [e for e in api.events(ticket["id"]) if e["type"] == "automated_reply_received"]
    assert len(events) == 100
    assert {e["rule"] for e in events} == {
        "auto_submitted",
        "autoreply_header",
        "precedence",
        "auto_response_suppress",
        "empty_return_path",
        "out_of_office_subject",
    }
    assert events[0]["description"] == "Automated reply received: no comment added, no notification sent"


def test_the_eleventh_notification_in_ten_minutes_is_held(client):
    api = Api(client)
    who = people(api)
    ticket = open_ticket(api, who, cc=())  # 1st notification to Rita: "request received"
    for number in range(2, 12):
        api.ok(
            "post",
            f"/tickets/{ticket['id']}/comments",
            {"author_id": who["agent"]["id"], "body": f"Update {number}", "public": True},
        )

    to_rita = [m for m in sent_messages() if m["destinations"] == ["rita@example.com"]]
    assert len(to_rita) == 10
    last = api.comments(ticket["id"])[-1]["delivery"]["recipients"]
    assert [(r["email"], r["status"], r["message_id"]) for r in last] == [("rita@example.com", "not_sent", None)]
    assert last[0]["failure"]["category"] == "rate_limited"
    assert "too many notifications" in last[0]["failure"]["reason"]
    (held,) = [
        e for e in api.ok("get", f"/tickets/{ticket['id']}/events")["events"] if e["type"] == "notification_held"
    ]
    assert held["recipient"]["email"] == "rita@example.com"
    assert (held["sent"], held["limit"], held["window_minutes"]) == (10, 10, 10)
    assert "notification_held" in event_types(api, ticket["id"])


def test_the_limit_follows_the_environment(client, monkeypatch):
    monkeypatch.setenv("DESKMAIL_MAX_NOTIFICATIONS_PER_10_MINUTES", "2")
    api = Api(client)
    who = people(api)
    ticket = open_ticket(api, who, cc=())
    for number in range(3):
        api.ok(
            "post",
            f"/tickets/{ticket['id']}/comments",
            {"author_id": who["agent"]["id"], "body": f"U{number}", "public": True},
        )

    statuses = [c["delivery"]["recipients"][0]["status"] for c in api.comments(ticket["id"])]
    assert statuses == ["sent", "sent", "not_sent", "not_sent"]


def test_an_unreadable_inbound_message_is_kept_and_the_batch_goes_on(client):
    import boto3

    api = Api(client)
    who = people(api)
    ticket = open_ticket(api, who, cc=())
    ses_id = notified_message_id(api, ticket["id"], "rita@example.com")
    reply = inbound.mime(in_reply_to=f"<{ses_id}@email.amazonses.com>", references=f"<{ses_id}@email.amazonses.com>")
    assert inbound.feed_inbound(client, "{not json", inbound.received(reply)) == {"batchItemFailures": []}
    assert len(api.comments(ticket["id"])) == 2
    raw = boto3.client("dynamodb").scan(
        TableName="deskmail-dev",
        FilterExpression="begins_with(PK, :raw)",
        ExpressionAttributeValues={":raw": {"S": "RAW#"}},
    )["Items"]
    assert [(item["type"]["S"], item["body"]["S"]) for item in raw] == [("raw_inbound", "{not json")]
    assert int(raw[0]["expires_at"]["N"]) > 0


# ---- held for review ("suspended"): replies that fail sender authentication ----------------------------------------


def spoofed_reply(api, ticket, **verdicts):
    ses_id = notified_message_id(api, ticket["id"], "rita@example.com")
    reply = inbound.mime(
        body="Please send the refund to my new account.",
        in_reply_to=f"<{ses_id}@email.amazonses.com>",
        references=f"<{ses_id}@email.amazonses.com>",
    )
    return inbound.received(reply, **verdicts)


def test_a_spoofed_reply_is_held_not_commented_and_notifies_nobody(client):
    api = Api(client)
    who = people(api)
    ticket = open_ticket(api, who, cc=())
    before = len(sent_messages())

    body = spoofed_reply(api, ticket, spf="FAIL", dkim="FAIL", dmarc="FAIL", dmarc_policy="reject")
    assert inbound.feed_inbound(client, body) == {"batchItemFailures": []}
    assert inbound.feed_inbound(client, body) == {"batchItemFailures": []}  # SQS redelivers: still held once

    assert [c["body"] for c in api.comments(ticket["id"])] == ["It smokes."]
    assert len(sent_messages()) == before
    (held,) = api.ok("get", "/inbound/suspended")["suspended"]
    assert (held["ticket_id"], held["from"], held["reason"]) == (
        ticket["id"],
        "rita@example.com",
        "dmarc_policy_reject",
    )
    assert held["text"] == "Please send the refund to my new account."
    assert held["authentication"] == {"spf": "FAIL", "dkim": "FAIL", "dmarc": "FAIL", "dmarc_policy": "REJECT"}
    (event,) = [
        e for e in api.ok("get", f"/tickets/{ticket['id']}/events")["events"] if e["type"] == "inbound_email_suspended"
    ]
    assert event["description"] == "Email held for review: it failed sender authentication (SPF, DKIM, DMARC)"


def test_an_agent_recovers_held_mail_into_the_senders_comment(client):
    api = Api(client)
    who = people(api)
    ticket = open_ticket(api, who, cc=())
    inbound.feed_inbound(client, spoofed_reply(api, ticket, spf="FAIL", dkim="GRAY", dmarc="GRAY"))
    (held,) = api.ok("get", "/inbound/suspended")["suspended"]
    before = len(sent_messages())

    recovered = api.ok("post", f"/inbound/suspended/{held['id']}/recover", {})
    assert recovered["ticket_id"] == ticket["id"] and recovered["recovered"] is True

    comments = api.comments(ticket["id"])
    assert [c["body"] for c in comments] == ["It smokes.", "Please send the refund to my new account."]
    assert comments[1]["id"] == recovered["comment_id"] and comments[1]["author_id"] == who["requester"]["id"]
    # Now a comment like any reply: the assignee hears of it.
    assert [m["destinations"] for m in sent_messages()[before:]] == [["ada@deskmail.example.com"]]
    assert api.ok("get", "/inbound/suspended")["suspended"] == []
    status, body = api._call("post", f"/inbound/suspended/{held['id']}/recover", {})
    assert status == 404 and body["Code"] == "NotFoundError"


def test_held_mail_can_be_deleted_and_unknown_ids_are_404(client):
    api = Api(client)
    who = people(api)
    ticket = open_ticket(api, who, cc=())
    inbound.feed_inbound(
        client, spoofed_reply(api, ticket, spf="FAIL", dkim="FAIL", dmarc="FAIL", dmarc_policy="quarantine")
    )
    (held,) = api.ok("get", "/inbound/suspended")["suspended"]
    assert held["reason"] == "dmarc_policy_quarantine"

    assert api.ok("delete", f"/inbound/suspended/{held['id']}") == {"id": held["id"], "deleted": True}
    assert api.ok("get", "/inbound/suspended")["suspended"] == []
    assert [c["body"] for c in api.comments(ticket["id"])] == ["It smokes."]
    for method, path in (("delete", f"/inbound/suspended/{held['id']}"), ("post", "/inbound/suspended/x-y!/recover")):
        status, body = api._call(method, path, {} if method == "post" else None)
        assert status == 404 and set(body) == {"Code", "Message"}
    status, body = api._call("get", "/inbound/suspended?next_page=bogus")
    assert status == 400 and "next_page" in body["Message"]


def test_recovering_mail_from_someone_with_no_account_is_a_conflict(client):
    api = Api(client)
    who = people(api)
    ticket = open_ticket(api, who, cc=())
    stranger = inbound.mime(
        sender="Mallory <mallory@example.org>", references=f"<ticket-{ticket['id']}@deskmail.example.com>"
    )
    inbound.feed_inbound(
        client, inbound.received(stranger, spf="FAIL", dkim="FAIL", dmarc="FAIL", dmarc_policy="reject")
    )
    (held,) = api.ok("get", "/inbound/suspended")["suspended"]

    status, body = api._call("post", f"/inbound/suspended/{held['id']}/recover", {})
    assert status == 409 and "mallory@example.org" in body["Message"]
    assert len(api.ok("get", "/inbound/suspended")["suspended"]) == 1  # still there, nothing half-done
    assert len(api.comments(ticket["id"])) == 1


def test_mail_that_passes_or_cannot_be_checked_is_not_held(client):
    api = Api(client)
    who = people(api)
    ticket = open_ticket(api, who, cc=())
    inbound.feed_inbound(client, spoofed_reply(api, ticket, spf="GRAY", dkim="GRAY", dmarc="GRAY"))
    inbound.feed_inbound(client, spoofed_reply(api, ticket, spf="PASS", dkim="FAIL", dmarc="FAIL", dmarc_policy="none"))
    assert api.ok("get", "/inbound/suspended")["suspended"] == []
    assert len(api.comments(ticket["id"])) == 3


# ---- exactly once: a timed-out invocation loses no reply and duplicates no comment ---------------------------------


class LambdaTimeout(BaseException):
    """Lambda stops an invocation where it stands: none of our except or finally blocks runs (hence not Exception)."""


def handle_inbound(client, body, epoch, remaining_ms=30_000):
    """The inbound handler as Lambda runs it, at a chosen clock: epoch seconds, and the time the invocation has left."""
    from types import SimpleNamespace

    from chalicelib import runtime
    from chalicelib.config import settings
    from chalicelib.ids import utc_now
    from chalicelib.services import inbound as service

    event = client.events.generate_sqs_event(message_bodies=[body], queue_name="deskmail-inbound-dev")
    context = SimpleNamespace(get_remaining_time_in_millis=lambda: remaining_ms)
    return service.handle(event, context, runtime.table(), runtime.mailer(), settings(), utc_now, epoch)


def customer_reply(api, ticket):
    ses_id = notified_message_id(api, ticket["id"], "rita@example.com")
    return inbound.received(
        inbound.mime(in_reply_to=f"<{ses_id}@email.amazonses.com>", references=f"<{ses_id}@email.amazonses.com>")
    )


def test_a_timeout_after_the_comment_is_written_leaves_one_comment_after_the_retry(client, monkeypatch):
    import time

    from chalicelib.services import workspace

    api = Api(client)
    ticket = open_ticket(api, people(api), cc=())
    body = customer_reply(api, ticket)
    start = int(time.time())

    def timed_out(*args, **kwargs):
        raise LambdaTimeout()

    with monkeypatch.context() as patch:
        patch.setattr(workspace, "send_notifications", timed_out)  # dies after the comment is stored
        try:
            handle_inbound(client, body, start)
        except LambdaTimeout:
            pass
    assert [c["body"] for c in api.comments(ticket["id"])] == ["It smokes.", "Thanks, it works again."]

    # SQS redelivers while the stopped invocation's claim still runs: not taken, the record comes back later.
    (failure,) = handle_inbound(client, body, start + 10)["batchItemFailures"]
    assert failure["itemIdentifier"]
    # Past its deadline (30 s left when it started, plus a margin) the claim is retaken and finished: still one.
    assert handle_inbound(client, body, start + 40) == {"batchItemFailures": []}
    assert handle_inbound(client, body, start + 50) == {"batchItemFailures": []}  # done: a duplicate now
    assert [c["body"] for c in api.comments(ticket["id"])] == ["It smokes.", "Thanks, it works again."]


def test_a_timeout_before_anything_is_written_loses_no_reply(client, monkeypatch):
    import time

    from chalicelib.adapters.dynamo import DeskmailTable

    api = Api(client)
    ticket = open_ticket(api, people(api), cc=())
    body = customer_reply(api, ticket)
    before = len(sent_messages())
    start = int(time.time())

    with monkeypatch.context() as patch:
        patch.setattr(DeskmailTable, "find_users_by_email", lambda *args: (_ for _ in ()).throw(LambdaTimeout()))
        try:
            handle_inbound(client, body, start, remaining_ms=5_000)
        except LambdaTimeout:
            pass
    assert len(api.comments(ticket["id"])) == 1  # claimed, nothing else: before, this reply was lost for 7 days

    assert handle_inbound(client, body, start + 12) == {"batchItemFailures": []}
    assert [c["body"] for c in api.comments(ticket["id"])] == ["It smokes.", "Thanks, it works again."]
    assert [m["destinations"] for m in sent_messages()[before:]] == [["ada@deskmail.example.com"]]


def test_a_failure_releases_the_claim_for_an_immediate_retry(client, monkeypatch):
    import time

    from chalicelib.adapters.dynamo import DeskmailTable

    api = Api(client)
    ticket = open_ticket(api, people(api), cc=())
    body = customer_reply(api, ticket)
    start = int(time.time())

    with monkeypatch.context() as patch:
        patch.setattr(DeskmailTable, "find_users_by_email", lambda *args: (_ for _ in ()).throw(RuntimeError("x")))
        assert len(handle_inbound(client, body, start)["batchItemFailures"]) == 1
    assert handle_inbound(client, body, start + 1) == {"batchItemFailures": []}  # not held back by its own claim
    assert len(api.comments(ticket["id"])) == 2


# ---- mail of any size: the receipt rule's S3 action -----------------------------------------------------------------


def test_a_reply_above_150_kb_arrives_through_s3_and_becomes_a_comment(client):
    import boto3

    api = Api(client)
    ticket = open_ticket(api, people(api), cc=())
    ses_id = notified_message_id(api, ticket["id"], "rita@example.com")
    reply = inbound.mime(
        body="Here is a photo of the error.\n\nOn Mon, Deskmail Support wrote:\n> On my way.\n",
        in_reply_to=f"<{ses_id}@email.amazonses.com>",
    )
    reply.add_attachment(bytes(range(256)) * 800, maintype="image", subtype="jpeg", filename="IMG_0001.jpg")
    raw = reply.as_bytes()
    assert len(raw) > 150 * 1024  # more than SES's SNS action can carry
    boto3.client("s3").create_bucket(Bucket="deskmail-inbound-dev")
    message_id = "o3vq8n2l1k0j9h8g7f6e5d4c3b2a1z0y9x8w7v6u"
    boto3.client("s3").put_object(Bucket="deskmail-inbound-dev", Key=f"inbound/{message_id}", Body=raw)
    body = inbound.received(reply, message_id=message_id, s3=("deskmail-inbound-dev", f"inbound/{message_id}"))
    assert "content" not in json.loads(json.loads(body)["Message"])

    assert inbound.feed_inbound(client, body) == {"batchItemFailures": []}
    assert [c["body"] for c in api.comments(ticket["id"])] == ["It smokes.", "Here is a photo of the error."]


def test_an_s3_notification_whose_object_is_missing_is_retried_and_one_naming_another_bucket_is_kept(client):
    import boto3

    from chalicelib.adapters.inbound_store import InboundMailStore

    api = Api(client)
    ticket = open_ticket(api, people(api), cc=())
    boto3.client("s3").create_bucket(Bucket="deskmail-inbound-dev")
    reply = inbound.mime(references=f"<ticket-{ticket['id']}@deskmail.example.com>")
    missing = inbound.received(reply, s3=("deskmail-inbound-dev", "inbound/not-there-yet"))
    assert len(inbound.feed_inbound(client, missing)["batchItemFailures"]) == 1  # SQS tries again later

    from chalicelib import runtime
    from chalicelib.config import settings
    from chalicelib.ids import utc_now
    from chalicelib.services import inbound as service

    elsewhere = inbound.received(reply, s3=("someone-elses-bucket", "inbound/x"))
    event = client.events.generate_sqs_event(message_bodies=[elsewhere], queue_name="deskmail-inbound-dev")
    store = InboundMailStore(boto3.client("s3"), "deskmail-inbound-dev")
    outcome = service.handle(event, None, runtime.table(), runtime.mailer(), settings(), utc_now, 0, store)
    assert outcome == {"batchItemFailures": []}  # not retried: it can never be read; kept raw for inspection
    assert len(api.comments(ticket["id"])) == 1
