"""Issue 9: undeliverable addresses, the recipient check, the delivery-problems inbox and the reputation guard."""

from datetime import UTC, datetime

import pytest

from chalicelib import runtime
from chalicelib.adapters import dynamo
from tests import ses_payloads as ses
from tests.helpers import Api, customer_comment, feed, message_ids, open_ticket, people


@pytest.fixture
def api(client):
    return Api(client)


def reply(api, ticket_id, who, public=True):
    api.ok("post", f"/tickets/{ticket_id}/comments", {"author_id": who["agent"]["id"], "body": "Hi", "public": public})
    return api.comments(ticket_id)[-1]


def rows(comment):
    return {r["email"]: r for r in comment["delivery"]["recipients"]}


def hard_bounce(client, comment, address, destination=None):
    mid = message_ids(comment)[address]
    feed(client, ses.bounce(mid, destination or [address], [ses.hard_bounce_recipient(address)]))


def test_hard_bounced_address_gets_no_further_notification_and_says_why(client, api):
    who = people(api)
    ticket = open_ticket(api, who, cc=())
    hard_bounce(client, api.comments(ticket["id"])[0], "rita@example.com")
    user = api.ok("get", f"/users/{who['requester']['id']}")
    assert user["deliverability"]["state"] == "undeliverable"
    assert user["deliverability"]["smtp_status"] == "5.1.1" and user["deliverability"]["since"]
    comment = reply(api, ticket["id"], who)
    rita = rows(comment)["rita@example.com"]
    assert rita["status"] == "not_sent" and rita["message_id"] is None
    assert rita["failure"]["category"] == "address_undeliverable" and rita["failure"]["smtp_status"] == "5.1.1"
    assert "undeliverable" in rita["failure"]["reason"]
    events = api.ok("get", f"/tickets/{ticket['id']}/events")["events"]
    held = [e for e in events if e["type"] == "email_notification_not_sent"]
    assert held and held[-1]["recipients"][0]["category"] == "address_undeliverable"


def test_reset_or_address_fix_restores_sending(client, api):
    who = people(api)
    ticket = open_ticket(api, who, cc=())
    hard_bounce(client, api.comments(ticket["id"])[0], "rita@example.com")
    assert rows(reply(api, ticket["id"], who))["rita@example.com"]["status"] == "not_sent"
    reset = api.ok("post", f"/users/{who['requester']['id']}/deliverability/reset", {})
    assert reset["deliverability"]["state"] == "ok"
    assert rows(reply(api, ticket["id"], who))["rita@example.com"]["status"] == "sent"
    # Bounces again; this time the agent fixes the typo instead.
    hard_bounce(client, api.comments(ticket["id"])[-1], "rita@example.com")
    assert rows(reply(api, ticket["id"], who))["rita@example.com"]["status"] == "not_sent"
    api.ok("patch", f"/users/{who['requester']['id']}", {"email": "rita@example.org"})
    assert rows(reply(api, ticket["id"], who))["rita@example.org"]["status"] == "sent"


def test_three_transient_bounces_within_the_window_make_an_address_undeliverable(client, api):
    who = people(api)
    ticket = open_ticket(api, who, cc=())
    full = {
        "emailAddress": "rita@example.com",
        "action": "failed",
        "status": "4.2.2",
        "diagnosticCode": "smtp; 452 4.2.2 Mailbox full",
    }
    for attempt in range(3):
        comment = api.comments(ticket["id"])[-1]
        assert rows(comment)["rita@example.com"]["status"] == "sent", attempt
        mid = message_ids(comment)["rita@example.com"]
        feed(client, ses.bounce(mid, ["rita@example.com"], [full], "Transient", "MailboxFull"))
        reply(api, ticket["id"], who)
    assert rows(api.comments(ticket["id"])[-1])["rita@example.com"]["status"] == "not_sent"
    assert api.ok("get", f"/users/{who['requester']['id']}")["deliverability"]["reason"] == "transient_bounce"


def test_recipient_check_matches_what_a_real_send_then_does(client, api):
    who = people(api)
    ticket = open_ticket(api, who, cc=("cc", "nomail"))
    hard_bounce(client, reply(api, ticket["id"], who), "carl@example.com", ["rita@example.com", "carl@example.com"])
    api.admin().ok("patch", "/triggers/notify-assignee-comment", {"active": False})
    check = api.ok(
        "post",
        f"/tickets/{ticket['id']}/recipient-check",
        {"comment": {"public": True, "author_id": who["requester"]["id"]}},
    )
    will = {r["user_id"] for r in check["will_email"]}
    wont = {r["user_id"]: r["reason"]["category"] for r in check["will_not_email"]}
    assert will == set()
    assert wont == {
        who["cc"]["id"]: "address_undeliverable",
        who["nomail"]["id"]: "no_address",
        who["agent"]["id"]: "trigger_inactive",
    }
    customer_comment(ticket["id"], who["requester"]["id"], "x")
    actual = {r["user_id"]: r for r in api.comments(ticket["id"])[-1]["delivery"]["recipients"]}
    assert set(actual) == {who["cc"]["id"], who["nomail"]["id"]}
    assert {uid: r["failure"]["category"] for uid, r in actual.items()} == {
        who["cc"]["id"]: "address_undeliverable",
        who["nomail"]["id"]: "no_address",
    }
    # And an agent reply: the requester would get it, the bounced CC not.
    check = api.ok(
        "post",
        f"/tickets/{ticket['id']}/recipient-check",
        {"comment": {"public": True, "author_id": who["agent"]["id"]}},
    )
    assert {r["user_id"] for r in check["will_email"]} == {who["requester"]["id"]}
    sent = rows(reply(api, ticket["id"], who))
    assert {r["user_id"] for r in sent.values() if r["status"] == "sent"} == {who["requester"]["id"]}
    assert api.post(f"/tickets/{ticket['id']}/recipient-check", {"comment": {"public": "yes"}})[0] == 400


def count_calls():
    calls = []
    runtime.table().client.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
    return calls


def test_inbox_lists_failures_across_tickets_without_a_scan_and_resolves_them(client, api):
    tickets = []
    for n in range(3):
        who = people(api, f"i{n}.example")
        ticket = open_ticket(api, who, cc=())
        hard_bounce(client, api.comments(ticket["id"])[0], f"rita@i{n}.example")
        tickets.append(ticket["id"])
    calls = count_calls()
    inbox = api.ok("get", "/delivery-failures")
    # The signed-in agent's record (GetItem), one Query per monthly bucket the page walks (a short page walks all
    # of the inbox's 90 days: at most 4, whatever the volume), and one BatchGetItem of the open rows' "delivered"
    # markers to see whether a later delivery closed them (whatever the number of rows).
    buckets = len(dynamo.failure_buckets(None, None, datetime.now(UTC)))
    assert "Scan" not in calls and calls == ["GetItem"] + ["Query"] * buckets + ["BatchGetItem"]
    assert [row["ticket_id"] for row in inbox["failures"]] == tickets[::-1]
    assert all(row["status"] == "open" and row["category"] == "invalid_address" for row in inbox["failures"])
    assert inbox["failures"][0]["reason"] and inbox["failures"][0]["email"] == "rita@i2.example"
    assert api.ok("get", "/delivery-failures?category=mailbox_full")["failures"] == []
    assert api.ok("get", "/delivery-failures?since=2030-01-01T00:00:00Z")["failures"] == []
    assert len(api.ok("get", "/delivery-failures?until=2030-01-01T00:00:00Z")["failures"]) == 3
    assert api.get("/delivery-failures?category=nonsense")[0] == 400
    assert api.get("/delivery-failures?since=yesterday")[0] == 400
    done = api.ok(
        "post", "/delivery-failures/resolve", {"ids": [inbox["failures"][0]["id"], inbox["failures"][1]["id"]]}
    )
    assert len(done["resolved"]) == 2
    open_rows = api.ok("get", "/delivery-failures?status=open")["failures"]
    assert [row["ticket_id"] for row in open_rows] == [tickets[0]]
    resolved = api.ok("get", "/delivery-failures?status=resolved")["failures"]
    assert {(row["resolved_by"], row["resolved_by_name"]) for row in resolved} == {(who["agent"]["id"], "Ada Agent")}
    assert api.post("/delivery-failures/resolve", {"ids": ["nope|EV#x"]})[0] == 404
    assert api.post("/delivery-failures/resolve", {"ids": []})[0] == 400


def test_a_later_delivery_to_the_same_user_resolves_the_row(client, api):
    who = people(api)
    ticket = open_ticket(api, who, cc=())
    first = api.comments(ticket["id"])[0]
    full = {
        "emailAddress": "rita@example.com",
        "action": "failed",
        "status": "4.2.2",
        "diagnosticCode": "smtp; 452 4.2.2 Mailbox full",
    }
    feed(
        client,
        ses.bounce(message_ids(first)["rita@example.com"], ["rita@example.com"], [full], "Transient", "MailboxFull"),
    )
    assert api.ok("get", "/delivery-failures?status=open")["failures"][0]["ticket_id"] == ticket["id"]
    later = reply(api, ticket["id"], who)
    feed(client, ses.delivery(message_ids(later)["rita@example.com"], ["rita@example.com"], timestamp=ses.at(30)))
    assert api.ok("get", "/delivery-failures?status=open")["failures"] == []
    (row,) = api.ok("get", "/delivery-failures?status=resolved")["failures"]
    assert row["resolved_by"] == "delivery"
    # Only the reply, sent once the ticket carried the failure tag, left a "delivered" marker.
    rita = (ticket["id"], who["requester"]["id"])
    assert runtime.table().last_deliveries([rita])[rita] > ses.at(0)


def test_deliveries_on_a_ticket_without_failures_write_no_delivered_marker(client, api):
    who = people(api)
    ticket = open_ticket(api, who, cc=())
    first = api.comments(ticket["id"])[0]
    feed(client, ses.delivery(message_ids(first)["rita@example.com"], ["rita@example.com"]))
    (recipient,) = api.comments(ticket["id"])[0]["delivery"]["recipients"]
    assert recipient["status"] == "delivered"  # the outcome is recorded
    assert runtime.table().last_deliveries([(ticket["id"], who["requester"]["id"])]) == {}


def test_reputation_matches_a_hand_count(client, api):
    # 8 recipients get mail: 2 hard bounces, 1 complaint, 1 transient bounce (not counted), 4 delivered.
    sent = 0
    for n in range(4):
        who = people(api, f"r{n}.example")
        ticket = open_ticket(api, who)
        comment = reply(api, ticket["id"], who)
        sent += 1 + 2  # the creation notification to the requester, then the reply to requester + CC
        destination = [f"rita@r{n}.example", f"carl@r{n}.example"]
        mid = message_ids(comment)[destination[0]]
        if n < 2:
            feed(client, ses.bounce(mid, destination, [ses.hard_bounce_recipient(destination[1])]))
        elif n == 2:
            feed(client, ses.complaint(mid, destination, [destination[0]]))
        else:
            full = {"emailAddress": destination[1], "action": "failed", "status": "4.2.2", "diagnosticCode": "x"}
            feed(client, ses.bounce(mid, destination, [full], "Transient", "MailboxFull"))
    report = api.ok("get", "/reputation")
    day, week = report["windows"]
    assert (day["window"], week["window"]) == ("24h", "7d")
    for window in (day, week):
        assert (window["sent"], window["bounces"], window["complaints"]) == (sent, 2, 1)
        assert window["bounce_rate"] == pytest.approx(2 / sent, abs=1e-6)
        assert window["complaint_rate"] == pytest.approx(1 / sent, abs=1e-6)
    # 2/12 bounces is above the 10 % pause level.
    assert report["state"] == "at-risk" and day["state"] == "at-risk"
    assert report["thresholds"]["bounce"] == {"review": 0.05, "pause": 0.10}


def test_inbox_time_bounds_out_of_range_are_a_400(api):
    # Found by the fuzzer: valid ISO 8601 that leaves datetime's range once converted to UTC.
    status, payload = api.get("/delivery-failures?until=0001-01-01T00%3A00%3A00%2B00%3A10")
    assert status == 400 and "until" in payload["Message"]
