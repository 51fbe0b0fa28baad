"""next_page tokens: every page of a listing can be read, and a token the API did not issue is a 400.

Regression tests for two defects the fuzzing work turned up by hand: page 2 of GET /tickets?tag= was always
refused (the token check compared the base-table PK of a GSI key with the tag), and a token with extra or
missing key attributes was let through to DynamoDB, which answers ValidationException (a 500) in AWS; moto
accepts such keys, so these assert the 400 the API now gives before any call.
"""

from __future__ import annotations

import base64
import json

import pytest

from tests.helpers import Api, open_ticket, people

FAILURE_TAG = "system_email_notification_failure"


def token(key) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


@pytest.fixture
def api(client):
    return Api(client)


def test_every_page_of_tagged_tickets_can_be_read(api):
    who = people(api)
    tagged = []
    for n in range(23):  # a page is 20
        ticket = open_ticket(api, who, cc=(), subject=f"T{n}")
        api.ok("put", f"/tickets/{ticket['id']}/tags", {"tags": [FAILURE_TAG]})
        tagged.append(ticket["id"])
    first = api.ok("get", f"/tickets?tag={FAILURE_TAG}")
    assert len(first["tickets"]) == 20 and first["next_page"]
    second = api.ok("get", f"/tickets?tag={FAILURE_TAG}&next_page={first['next_page']}")
    listed = [t["id"] for t in first["tickets"] + second["tickets"]]
    assert sorted(listed) == sorted(tagged) and len(set(listed)) == 23


def test_tokens_the_api_did_not_issue_are_refused_before_dynamodb_sees_them(api):
    who = people(api)
    ticket_id = open_ticket(api, who)["id"]
    pk = f"TICKET#{ticket_id}"
    refused = {
        "conversation, extra attribute": (
            f"/tickets/{ticket_id}/comments",
            {"PK": pk, "SK": "C#x", "extra": "y"},
        ),
        "conversation, no sort key": (f"/tickets/{ticket_id}/comments", {"PK": pk}),
        "conversation, another ticket": (f"/tickets/{ticket_id}/comments", {"PK": "TICKET#other", "SK": "C#x"}),
        "tagged, a base-table key": (f"/tickets?tag={FAILURE_TAG}", {"PK": f"TAG#{FAILURE_TAG}", "SK": "x"}),
        "tagged, index key only": (
            f"/tickets?tag={FAILURE_TAG}",
            {"GSI1PK": f"TAG#{FAILURE_TAG}", "GSI1SK": "2026#x"},
        ),
        "tagged, another tag": (
            f"/tickets?tag={FAILURE_TAG}",
            {"GSI1PK": "TAG#other", "GSI1SK": "2026#x", "PK": pk, "SK": f"TAG#{FAILURE_TAG}"},
        ),
        "tagged, extra attribute": (
            f"/tickets?tag={FAILURE_TAG}",
            {"GSI1PK": f"TAG#{FAILURE_TAG}", "GSI1SK": "2026#x", "PK": pk, "SK": f"TAG#{FAILURE_TAG}", "z": "q"},
        ),
    }
    for name, (path, key) in refused.items():
        separator = "&" if "?" in path else "?"
        status, body = api.get(f"{path}{separator}next_page={token(key)}")
        assert (status, body["Code"]) == (400, "BadRequestError"), name


def test_every_page_of_the_delivery_failures_inbox_can_be_read(client, api):
    """Page 2 of GET /delivery-failures was refused: its GSI2 token was checked against the base-table key."""
    from tests import ses_payloads as ses
    from tests.helpers import feed, message_ids

    who = people(api)
    ccs = [api.user(f"Cc {n}", f"cc{n}@example.com") for n in range(30)]
    ticket = api.ok(
        "post",
        "/tickets",
        {
            "subject": "Many bounces",
            "requester_id": who["requester"]["id"],
            "cc_ids": [cc["id"] for cc in ccs],
            "comment": {"author_id": who["requester"]["id"], "body": "Hello", "public": True},
        },
    )
    api.ok("post", f"/tickets/{ticket['id']}/comments", {"author_id": who["agent"]["id"], "body": "Hi", "public": True})
    comment = api.comments(ticket["id"])[-1]
    addresses = sorted(message_ids(comment))
    assert len(addresses) == 31
    (message_id,) = set(message_ids(comment).values())
    feed(client, ses.bounce(message_id, addresses, [ses.hard_bounce_recipient(address) for address in addresses]))
    listed, page_token, pages = [], None, 0
    while True:
        page = api.ok("get", "/delivery-failures" + (f"?next_page={page_token}" if page_token else ""))
        listed += [row["email"] for row in page["failures"]]
        pages += 1
        page_token = page.get("next_page")
        if not page_token:
            break
    assert pages >= 2 and sorted(listed) == addresses


def test_every_page_of_the_events_log_can_be_read_and_a_foreign_token_is_refused(api):
    who = people(api)
    ticket_id = open_ticket(api, who, cc=())["id"]
    for n in range(60):  # two events each (the tag added, then removed): past one page of 100
        api.ok("put", f"/tickets/{ticket_id}/tags", {"tags": [f"t{n}"]})
    events = api.events(ticket_id)
    first = api.ok("get", f"/tickets/{ticket_id}/events")
    assert len(first["events"]) == 100 and first["next_page"]
    assert len(events) > 100 and len({event["id"] for event in events}) == len(events)
    assert [event["occurred_at"] for event in events] == sorted(event["occurred_at"] for event in events)
    other = open_ticket(api, who, cc=())["id"]
    assert api.get(f"/tickets/{other}/events?next_page={first['next_page']}")[0] == 400


def test_a_reversed_time_range_lists_no_failures_rather_than_failing(api):
    """since after until within one month: DynamoDB refuses BETWEEN with reversed bounds (found by the live fuzz)."""
    status, page = api.get("/delivery-failures?since=2026-11-20T00:00:00Z&until=2026-11-10T00:00:00Z")
    assert (status, page) == (200, {"failures": [], "next_page": None})


@pytest.mark.parametrize("bound", ["since", "until"])
def test_time_bounds_at_the_edges_of_the_calendar_are_answered(api, bound):
    """Year 1 was formatted "1-01-01…" (strftime does not pad it): a bound that sorts after every real time."""
    for moment in ("0001-01-01T00:00:00Z", "0999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"):
        status, page = api.get(f"/delivery-failures?{bound}={moment}")
        assert status == 200 and page["failures"] == [], (moment, status, page)
