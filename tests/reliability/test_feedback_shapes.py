"""Per-record isolation, as a property: any shape of SNS envelope and SES document, hostile Unicode included, in a
batch with one good notification. The handler never raises, the good record is never failed or retried, and each
bad record is settled, kept whole, or retried alone (issue 12, finding 4 and its class)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import ses_payloads as ses
from tests.helpers import Api, message_ids, open_ticket, people

HOSTILE_TEXT = st.sampled_from(
    ["", "\x00", "\ud800", "a\udfffb", "\u2028", "x\r\nBcc: a@b.c", "=?utf-8?q?=0D=0A?=", "𝕏" * 50, "null", "[]"]
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20) | HOSTILE_TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)


def _paths(document, prefix=()):
    """Every key path of a JSON document, lists included."""
    if isinstance(document, dict):
        for key, value in document.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield (*prefix, index)
            yield from _paths(value, (*prefix, index))


@st.composite
def mutated(draw, document):
    """The document with a few values replaced by arbitrary JSON (or removed)."""
    document = json.loads(json.dumps(document))
    for _ in range(draw(st.integers(1, 4))):
        paths = list(_paths(document))
        if not paths:
            break
        *parent_path, last = draw(st.sampled_from(paths))
        parent = document
        for step in parent_path:
            parent = parent[step]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[last]
        else:
            parent[last] = draw(JSON_VALUES)
    return document


@st.composite
def bad_body(draw, message_id):
    destination = ["rita@example.com", "carl@example.com"]
    # No Reject: it rightly fails every recipient of the message, Carl included, and the check below is about him.
    kind = draw(st.sampled_from(["bounce", "complaint", "delivery", "delay"]))
    body = {
        "bounce": lambda: ses.bounce(message_id, destination, [ses.hard_bounce_recipient("rita@example.com")]),
        "complaint": lambda: ses.complaint(message_id, destination, ["rita@example.com"]),
        "delivery": lambda: ses.delivery(message_id, destination, ["rita@example.com"]),
        "delay": lambda: ses.delay(message_id, destination, ["rita@example.com"]),
    }[kind]()
    envelope = json.loads(body)
    layer = draw(st.sampled_from(["envelope", "message", "both", "raw-text"]))
    if layer == "raw-text":
        return draw(st.text(max_size=200) | HOSTILE_TEXT)
    if layer in ("message", "both"):
        message = json.loads(envelope["Message"])
        envelope["Message"] = draw(
            st.one_of(
                mutated(message).map(json.dumps),
                mutated(message),  # an object where SNS puts a string (moto's simulator does)
                JSON_VALUES,
            )
        )
    if layer in ("envelope", "both"):
        envelope = draw(mutated(envelope))
    return json.dumps(envelope)


def test_any_record_shape_fails_or_is_kept_alone_and_the_good_one_is_recorded(client):
    api = Api(client)
    who = people(api)
    ticket = open_ticket(api, who)
    api.ok("post", f"/tickets/{ticket['id']}/comments", {"author_id": who["agent"]["id"], "body": "Hi", "public": True})
    message_id = message_ids(api.comments(ticket["id"])[1])["carl@example.com"]
    good = ses.bounce(
        message_id, ["rita@example.com", "carl@example.com"], [ses.hard_bounce_recipient("carl@example.com")]
    )

    @settings(max_examples=40, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(bad=st.lists(bad_body(message_id), min_size=1, max_size=4), position=st.integers(0, 4))
    def batch(bad, position):
        bodies = list(bad)
        bodies.insert(min(position, len(bodies)), good)
        event = ses.sqs_event(bodies)
        response = client.lambda_.invoke("handle_ses_feedback", event).payload
        good_id = event["Records"][min(position, len(bad))]["messageId"]
        assert set(response) == {"batchItemFailures"}, response
        assert good_id not in {failure["itemIdentifier"] for failure in response["batchItemFailures"]}

    batch()
    reply = api.comments(ticket["id"])[1]["delivery"]
    carl = next(r for r in reply["recipients"] if r["email"] == "carl@example.com")
    assert carl["status"] == "bounced"
