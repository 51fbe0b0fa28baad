"""Issue 12, finding 3 and its class: bodies that used to cost a 500 (deep nesting, lone surrogates) and their
relatives (NaN, huge numbers, duplicate keys, invalid UTF-8, a wrong Content-Type) get a 4xx JSON error and
leave nothing behind."""

from __future__ import annotations

import json

import pytest

from tests.helpers import Api, people, signed_in_agent
from tests.reliability.scenario import table_items

NESTED_1000 = "[" * 1000 + "]" * 1000  # 2 KB: issue 12's reproduction


@pytest.fixture
def api(client):
    return Api(client)


TOKEN = {}


@pytest.fixture(autouse=True)
def signed_in(client):
    """One agent per test, registered before the test reads the table."""
    TOKEN["value"] = signed_in_agent()[1]


def post_raw(client, path, body, content_type="application/json", method="post"):
    headers = {"Authorization": f"Bearer {TOKEN['value']}"}
    if content_type:
        headers["Content-Type"] = content_type
    response = getattr(client.http, method)(path, headers=headers, body=body)
    return response.status_code, json.loads(response.body)


USER = '{"name": "Rita", "role": "end-user"%s}'
HOSTILE_BODIES = [
    (NESTED_1000, "nested deeper than 32"),
    ('{"name": ' + "[" * 900 + "]" * 900 + ', "role": "end-user"}', "nested deeper than 32"),
    ("[" * 33 + "]" * 33, "nested deeper than 32"),
    ('{"name": "\\ud800", "role": "end-user"}', "'name'"),
    (USER % ', "x": "\\udfff"', "lone surrogate"),
    (USER % ', "\\ud800": 1', "lone surrogate"),
    (USER % ', "x": NaN', "NaN"),
    (USER % ', "x": Infinity', "Infinity"),
    (USER % ', "x": -Infinity', "-Infinity"),
    (USER % ', "x": 1e999', "too large"),
    (USER % (', "x": ' + "9" * 5000), "too large"),
    ('{"name": "Rita", "role": "end-user", "name": "Eve"}', "'name' twice"),
    (b'{"name": "\xff\xfe", "role": "end-user"}', "UTF-8"),
    ('{"name": "Rita", "role": "end-user"', "not valid JSON"),
    ("nope", "not valid JSON"),
]


@pytest.mark.parametrize(("body", "expected"), HOSTILE_BODIES)
def test_hostile_json_is_a_400_naming_the_problem_and_stores_nothing(client, body, expected):
    before = table_items()
    status, payload = post_raw(client, "/users", body)
    assert status == 400 and payload["Code"] == "BadRequestError", (status, payload)
    assert expected in payload["Message"], payload
    assert table_items() == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/tickets"),
        ("post", "/tickets/01jd2x7r9m8v3k4q5w6e7t8y9z/comments"),
        ("put", "/tickets/01jd2x7r9m8v3k4q5w6e7t8y9z/tags"),
        ("post", "/delivery-failures/resolve"),
        ("post", "/tickets/01jd2x7r9m8v3k4q5w6e7t8y9z/comments/01jd2x7r9m8v3k4q5w6e7t8y9z/resend"),
    ],
)
def test_every_route_with_a_body_refuses_deep_nesting_and_surrogates(client, method, path):
    for body in (NESTED_1000, '{"x": "\\ud800"}'):
        status, payload = post_raw(client, path, body, method=method)
        assert status == 400 and payload["Message"], (path, status, payload)


def test_a_wrong_content_type_is_a_415_json_error(client):
    status, payload = post_raw(client, "/users", '{"name": "Rita", "role": "end-user"}', "text/plain")
    assert status == 415 and payload["Code"] == "UnsupportedMediaType", payload


def test_the_limits_leave_ordinary_bodies_alone(api, client):
    who = people(api)
    body = {
        "subject": "Ünïcode 漢字 \U0001f600 fine",
        "requester_id": who["requester"]["id"],
        "cc_ids": [who["cc"]["id"]],
        "comment": {"author_id": who["requester"]["id"], "body": "Two\nlines, 3.5 and 10**18", "public": True},
    }
    status, payload = post_raw(client, "/tickets", json.dumps(body, ensure_ascii=False).encode())
    assert status == 201, payload
    status, payload = post_raw(client, "/users", '{"name": "Nina", "role": "end-user", "x": 1.5, "y": 123456789}', None)
    assert status == 201, payload


def test_the_messages_follow_the_agent_s_language(client):
    headers = {"Authorization": f"Bearer {TOKEN['value']}", "Content-Type": "application/json", "Accept-Language": "de"}
    response = client.http.post("/users", headers=headers, body=NESTED_1000)
    assert response.status_code == 400
    assert json.loads(response.body)["Message"] == "Der Anfragetext ist tiefer als 32 Ebenen verschachtelt."


# Within the 65,536 characters a comment may have, yet once too large for DynamoDB's 400 KB item when the
# notification's text and HTML (escaped) were kept in the outbox entry: these were 500s, then 400s. The email is now
# its own compressed MAIL# item, so they are stored whole and sent.
LARGEST_COMMENTS = ["𝕏" * 65536, "&" * 40000 + "𝕏" * 25536]


@pytest.mark.parametrize("text", LARGEST_COMMENTS, ids=["4-byte", "escaped-in-html"])
def test_the_largest_comments_are_stored_whole_and_sent(api, client, text):
    who = people(api)
    ticket = api.ok(
        "post",
        "/tickets",
        {
            "subject": "Printer on fire",
            "requester_id": who["requester"]["id"],
            "comment": {"author_id": who["requester"]["id"], "body": "It smokes.", "public": True},
        },
    )
    from tests.helpers import sent_messages

    sent = len(sent_messages())
    status, payload = post_raw(
        client, f"/tickets/{ticket['id']}/comments", json.dumps({"body": text, "public": True}).encode()
    )
    assert status == 201, (status, payload)
    (stored,) = [c for c in api.comments(ticket["id"]) if c["id"] == payload["id"]]
    assert stored["body"] == text
    assert len(sent_messages()) > sent  # the requester is told, the whole text in the email


def test_an_item_too_large_to_store_is_refused_before_any_write():
    from bench.fake_dynamo import FakeDeskmailClient
    from chalicelib.adapters.dynamo import DeskmailTable, ItemTooLarge

    client = FakeDeskmailClient()
    table = DeskmailTable(client, "deskmail-test")
    small = {"PK": "TICKET#1", "SK": "C#1", "body": "fine"}
    huge = {"PK": "TICKET#1", "SK": "C#2", "body": "𝕏" * 100_001}  # 400,004 bytes of UTF-8
    with pytest.raises(ItemTooLarge):
        table.write_items([small, huge])
    with pytest.raises(ItemTooLarge):
        table.write_together([small, huge])
    assert client.items == {}  # nothing of either unit was written


def test_the_item_size_follows_dynamodb_s_count():
    from chalicelib.adapters.dynamo import item_size, to_item

    # Names and values in UTF-8; a number about half its digits; a map or list 3 bytes plus 1 per element.
    assert item_size(to_item({"PK": "é", "n": 12345, "m": {"a": "xy"}, "l": ["a", "b"], "t": True})) == (
        2 + 2 + 1 + 4 + 1 + (3 + 1 + 1 + 2) + 1 + (3 + 2 + 2) + 1 + 1
    )
