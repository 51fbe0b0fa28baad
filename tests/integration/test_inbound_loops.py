"""Issue 7's loop protection: inbound replies, an auto-reply storm, and the per-address rate limit."""

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
