"""Issue 12, finding 2's "a retrying client then creates duplicates": the Idempotency-Key header.

The same key and body return the first response without writing or sending anything again; the same key with
another body is a 422; keys are per caller and expire after 24 hours; a request that failed before committing
frees its key, one that committed keeps it even if it crashed before answering.
"""

from __future__ import annotations

import json
import time

import pytest

from chalicelib import runtime
from chalicelib.services import idempotency
from tests.helpers import Api, people, sent_messages, signed_in_agent
from tests.reliability.scenario import table_items
from tests.reliability.test_outbox import fails, open_ticket_body


@pytest.fixture
def api(client):
    return Api(client)


@pytest.fixture
def who(api):
    return people(api)


TOKENS: dict[str, tuple] = {}


@pytest.fixture(autouse=True)
def fresh_agents():
    TOKENS.clear()  # each test has its own table: its agents are registered anew


def token(name: str) -> str:
    if name not in TOKENS:
        TOKENS[name] = signed_in_agent(name=name)
    return TOKENS[name][1]


def agent_user(name: str) -> str:
    """The principal an Idempotency-Key belongs to: the signed-in agent's deskmail user id."""
    token(name)
    user = TOKENS[name][0]
    return user.id if hasattr(user, "id") else user["id"]


def post(client, path, body, key, subject="test-agent"):
    headers = {
        "Authorization": f"Bearer {token(subject)}",
        "Content-Type": "application/json",
        "Idempotency-Key": key,
    }
    response = client.http.post(path, headers=headers, body=json.dumps(body))
    return response.status_code, json.loads(response.body), response.headers


def tickets():
    return [item for item in table_items() if item["SK"]["S"] == "TICKET"]


def test_a_retried_ticket_returns_the_first_response_and_creates_nothing_more(client, who):
    first = post(client, "/tickets", open_ticket_body(who), "k-1")
    before = table_items()
    again = post(client, "/tickets", open_ticket_body(who), "k-1")
    assert first[0] == again[0] == 201 and first[1] == again[1]
    assert again[2].get("Idempotent-Replayed") == "true"
    assert table_items() == before and len(tickets()) == 1 and len(sent_messages()) == 1


def test_the_same_key_with_another_body_is_a_422(client, who):
    assert post(client, "/tickets", open_ticket_body(who), "k-2")[0] == 201
    body = {**open_ticket_body(who), "subject": "Another printer"}
    status, payload, _ = post(client, "/tickets", body, "k-2")
    assert status == 422 and payload["Code"] == "UnprocessableEntityError" and "different request" in payload["Message"]
    status, _, _ = post(client, f"/tickets/{tickets()[0]['PK']['S'][7:]}/comments", {}, "k-2")
    assert status == 422  # another route is another request too
    assert len(tickets()) == 1


def test_keys_are_per_caller(client, who):
    assert post(client, "/tickets", open_ticket_body(who), "shared", subject="agent-a")[0] == 201
    assert post(client, "/tickets", open_ticket_body(who), "shared", subject="agent-b")[0] == 201
    assert len(tickets()) == 2


def test_comments_and_resends_are_not_duplicated_either(client, api, who):
    ticket = api.ok("post", "/tickets", open_ticket_body(who))
    comment = {"author_id": agent_user("test-agent"), "body": "On my way", "public": True}
    first = post(client, f"/tickets/{ticket['id']}/comments", comment, "c-1")
    again = post(client, f"/tickets/{ticket['id']}/comments", comment, "c-1")
    assert first[:2] == again[:2] and first[0] == 201
    assert len(api.comments(ticket["id"])) == 2
    path = f"/tickets/{ticket['id']}/comments/{first[1]['id']}/resend"
    sent = len(sent_messages())
    resent = post(client, path, {"user_ids": [who["requester"]["id"]]}, "r-1")
    assert post(client, path, {"user_ids": [who["requester"]["id"]]}, "r-1")[:2] == resent[:2]
    assert resent[0] == 201 and len(sent_messages()) == sent + 1


def test_a_refused_request_frees_its_key_for_the_corrected_one(client, who):
    status, _, _ = post(client, "/tickets", {**open_ticket_body(who), "subject": "a\r\nBcc: x@y.z"}, "k-3")
    assert status == 400
    assert post(client, "/tickets", {**open_ticket_body(who), "subject": "fixed"}, "k-3")[0] == 201


@pytest.mark.parametrize("key", ["", "x" * 256, "clé", "a b", "a\tb"])
def test_a_malformed_key_is_a_400(client, who, key):
    status, payload, _ = post(client, "/tickets", open_ticket_body(who), key)
    assert status == 400 and "Idempotency-Key" in payload["Message"]
    assert tickets() == []


def test_a_crash_after_the_commit_keeps_the_key_so_a_retry_cannot_duplicate(client, who):
    from tests.reliability.test_outbox import FaultyClient

    table = runtime.table()
    real = table.client
    table.client = FaultyClient(real, {("update_item", 1): fails()})  # the outbox claim after the commit
    try:
        status, _, _ = post(client, "/tickets", open_ticket_body(who), "k-4")
    finally:
        table.client = real
    assert status == 500 and len(tickets()) == 1
    status, payload, _ = post(client, "/tickets", open_ticket_body(who), "k-4")
    assert status == 409 and "look the result up" in payload["Message"]
    assert len(tickets()) == 1


def test_a_key_in_progress_is_a_409_and_an_expired_lease_or_record_can_be_taken_over(client, who):
    now = int(time.time())
    fingerprint = idempotency.fingerprint("POST", ["/tickets", {}], open_ticket_body(who))
    claim = idempotency.begin(runtime.table(), agent_user("test-agent"), "k-5", fingerprint, now)
    assert isinstance(claim, idempotency.Claim)
    status, payload, _ = post(client, "/tickets", open_ticket_body(who), "k-5")
    assert status == 409 and "in progress" in payload["Message"]
    later = idempotency.begin(
        runtime.table(), agent_user("test-agent"), "k-5", fingerprint, now + idempotency.LEASE_SECONDS + 1
    )
    assert isinstance(later, idempotency.Claim) and later.owner != claim.owner
    assert post(client, "/tickets", open_ticket_body(who), "k-6")[0] == 201
    (record,) = [i for i in table_items() if i["SK"]["S"] == "IDEM" and i.get("state", {}).get("S") == "completed"]
    assert int(record["expires_at"]["N"]) - now in range(24 * 3600 - 5, 24 * 3600 + 60)
