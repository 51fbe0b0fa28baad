"""Inbound email whatever a sender puts in it (NUL, lone surrogates, U+2028, megabytes): the reply becomes a comment,
cleaned, and the record never fails (SQS would retry it into the dead-letter queue and the reply would be lost)."""

import base64
import json

import boto3
import pytest

from tests import inbound_payloads as inbound
from tests.helpers import Api, open_ticket, people

TABLE = "deskmail-dev"


def raw_mime(ticket_id, subject="Re: Printer on fire", sender="Rita Requester <rita@example.com>", body="Thanks."):
    """Bytes as a mail client (or an attacker) sends them: no EmailMessage checks in the way."""
    return (
        f"From: {sender}\r\nTo: {inbound.SUPPORT}\r\nSubject: {subject}\r\n"
        f"References: <ticket-{ticket_id}@deskmail.example.com>\r\nMessage-ID: <x@mail.example.com>\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode("utf-8", "surrogatepass")


def notification(ticket_id, raw: bytes, subject_header=None):
    """An SNS-wrapped Received notification carrying `raw` (Base64) — the JSON is written by hand where it must hold
    a lone surrogate escape such as \\ud800."""
    body = json.loads(inbound.received(inbound.mime(references=f"<ticket-{ticket_id}@deskmail.example.com>")))
    message = json.loads(body["Message"])
    message["receipt"]["action"]["encoding"] = "BASE64"
    message["content"] = base64.b64encode(raw).decode()
    message["mail"]["headers"] = []
    if subject_header is not None:
        message["mail"]["commonHeaders"]["subject"] = subject_header
    body["Message"] = json.dumps(message)
    return json.dumps(body)


def all_strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from all_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from all_strings(item)


HOSTILE = {
    "nul in the body": dict(body="Hello\x00 world"),
    "only a nul": dict(body="\x00"),
    "a lone surrogate in the body": dict(body="caf\ud800 ok"),
    "U+2028 in the body": dict(body="Hi\u2028there"),
    "nul in the subject, no body": dict(subject="Re: x\x00y", body=""),
    "U+2028 and NEL in the name": dict(sender="Rita\u2028Requester\u0085 <rita@example.com>"),
    "a lone surrogate in the name": dict(sender="Ri\udc00ta <rita@example.com>"),
    "a huge body of 4-byte characters": dict(body="𝕏" * 200_000),
    "a huge body of HTML-escaped characters": dict(body="&" * 300_000),
    "a huge subject": dict(subject="s" * 100_000, body=""),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_reply_becomes_one_clean_comment_and_the_record_succeeds(client, case):
    api = Api(client)
    who = people(api)
    ticket = open_ticket(api, who, cc=())

    body = notification(ticket["id"], raw_mime(ticket["id"], **HOSTILE[case]))
    assert inbound.feed_inbound(client, body) == {"batchItemFailures": []}
    assert inbound.feed_inbound(client, body) == {"batchItemFailures": []}  # a redelivery: still one comment

    comments = api.comments(ticket["id"])
    assert len(comments) == 2, case
    reply = comments[1]
    assert reply["author_id"] == who["requester"]["id"]
    assert reply["body"].strip() and len(reply["body"].encode()) <= 32_000
    stored = boto3.client("dynamodb").query(
        TableName=TABLE,
        KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": f"TICKET#{ticket['id']}"}},
    )["Items"]
    for text in all_strings(stored):
        assert "\x00" not in text and not any("\ud800" <= c <= "\udfff" for c in text), (case, text[:80])
    events = api.events(ticket["id"])
    for event in events:
        assert not any(c in str(event.get("subject", "")) + str(event.get("from", "")) for c in "\r\n\u2028\u0085")


def test_a_lone_surrogate_in_the_notification_s_own_subject_and_content_is_cleaned(client):
    api = Api(client)
    who = people(api)
    ticket = open_ticket(api, who, cc=())
    body = notification(ticket["id"], raw_mime(ticket["id"], body="plain body"), subject_header="sub\udfff")
    message = json.loads(json.loads(body)["Message"])
    message["receipt"]["action"]["encoding"] = "UTF8"
    message["content"] = raw_mime(ticket["id"], body="plain \ud800 body").decode("utf-8", "surrogatepass")
    wrapped = json.loads(body)
    wrapped["Message"] = json.dumps(message)  # "\ud800" travels as a JSON escape, as SNS could deliver it

    assert inbound.feed_inbound(client, json.dumps(wrapped)) == {"batchItemFailures": []}
    assert api.comments(ticket["id"])[1]["body"] == "plain \ufffd body"


def test_eight_bit_garbage_is_read_with_replacement_characters(client):
    api = Api(client)
    who = people(api)
    ticket = open_ticket(api, who, cc=())
    raw = raw_mime(ticket["id"], body="caf-E9 -FF-FE body").replace(b"-E9 -FF-FE", b"\xe9 \xff\xfe")
    raw = raw.replace(b"Subject: Re", b"Subject: \xe9\xff Re")

    assert inbound.feed_inbound(client, notification(ticket["id"], raw)) == {"batchItemFailures": []}
    assert "body" in api.comments(ticket["id"])[1]["body"]
