"""The adapter's own DynamoDB marshalling (written for speed) equals boto3's TypeSerializer and reads back."""

from __future__ import annotations

import random
import string

import pytest
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from chalicelib.adapters import dynamo

ALPHABET = string.ascii_letters + string.digits + "#:@. -_é€\u2028"


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randrange(0, 12)))


def _value(rng: random.Random, depth: int = 0):
    """A value of the plain shapes deskmail stores: str, int, bool, None, and lists and maps of them, nested."""
    choice = rng.randrange(8 if depth < 3 else 5)
    if choice == 0:
        return _text(rng)
    if choice == 1:
        return rng.choice([0, 1, -1, 7, 2**31, -(2**40), rng.randrange(-(10**12), 10**12)])
    if choice == 2:
        return rng.choice([True, False])
    if choice == 3:
        return None
    if choice == 4:
        return _text(rng) or "x"
    if choice == 5:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
    return {_text(rng) or "k": _value(rng, depth + 1) for _ in range(rng.randrange(0, 5))}


def _attributes(rng: random.Random) -> dict:
    attributes = {"PK": f"TICKET#{_text(rng)}", "SK": f"EV#{_text(rng)}", "email": rng.choice([None, "a@b.example"])}
    attributes.update({f"a{n}": _value(rng) for n in range(rng.randrange(0, 10))})
    return attributes


SEEDS = range(300)


@pytest.mark.parametrize("seed", SEEDS)
def test_a_value_marshals_as_boto3s_type_serializer_marshals_it(seed):
    value = _value(random.Random(seed))
    assert dynamo._marshal(value) == TypeSerializer().serialize(value)


@pytest.mark.parametrize("seed", SEEDS)
def test_an_item_is_its_attributes_serialized_none_left_out_but_email(seed):
    attributes = _attributes(random.Random(seed))
    serializer = TypeSerializer()
    expected = {key: serializer.serialize(value) for key, value in attributes.items() if value is not None}
    expected["email"] = serializer.serialize(attributes["email"])
    assert dynamo.to_item(attributes) == expected


@pytest.mark.parametrize("seed", SEEDS)
def test_an_item_reads_back_as_it_was_written_and_as_type_deserializer_reads_it(seed):
    attributes = _attributes(random.Random(seed))
    item = dynamo.to_item(attributes)
    stored = {key: value for key, value in attributes.items() if value is not None or key == "email"}
    assert dynamo.from_item(item) == stored
    deserializer = TypeDeserializer()
    # boto3 reads numbers as Decimal; equal in value to the ints deskmail gets back.
    assert {key: deserializer.deserialize(value) for key, value in item.items()} == stored


def test_a_value_of_a_type_dynamodb_cannot_hold_is_refused():
    with pytest.raises(TypeError):
        dynamo.to_item({"PK": "x", "SK": "y", "when": object()})


def _failure(rng: random.Random) -> dict | None:
    """A failure record as the classifier writes it (strings, ints, bools, None), sometimes none."""
    if rng.randrange(3) == 0:
        return None
    keys = ["category", "permanent", "smtp_status", "smtp_code", "diagnostic", "bounce_type", "occurred_at", "x"]
    return {key: rng.choice([_text(rng), None, True, False, 550, _value(rng)]) for key in rng.sample(keys, 5)}


@pytest.mark.parametrize("seed", SEEDS)
def test_an_outcome_wire_item_is_the_outcome_item_marshalled(seed):
    from chalicelib.domain.model import Notification, OutcomeEvent

    rng = random.Random(seed)
    notification = Notification(_text(rng), _text(rng), _text(rng), _text(rng), _text(rng), _text(rng), (), "")
    event = OutcomeEvent(
        _text(rng),
        rng.choice([_text(rng), "a@b.example", ""]),
        _text(rng),
        _text(rng),
        _text(rng),
        _failure(rng),
        rng.choice([None, {}, {"smtp_response": _text(rng)}, {"a": _value(rng)}]),
    )
    assert dynamo.outcome_wire_item(notification, event) == dynamo.to_item(dynamo.outcome_item(notification, event))


@pytest.mark.parametrize("seed", range(50))
def test_an_outcome_wire_item_of_untyped_values_is_still_the_outcome_item_marshalled(seed):
    from chalicelib.domain.model import Notification, OutcomeEvent

    rng = random.Random(seed)
    notification = Notification(_text(rng), _text(rng), _text(rng), _text(rng), _text(rng), None, (), "")
    event = OutcomeEvent(_text(rng), rng.choice([None, 7, "x"]), _text(rng), _text(rng), _text(rng), None, None)
    assert dynamo.outcome_wire_item(notification, event) == dynamo.to_item(dynamo.outcome_item(notification, event))


def test_write_owned_items_stores_a_wire_item_as_it_stores_its_attributes_one_put_for_two_owners():
    from bench.fake_dynamo import FakeDeskmailClient
    from chalicelib.domain.model import Notification, OutcomeEvent

    notification = Notification("n1", "t1", "c1", "tr", "Trigger", "m1", (), "2026-01-01T00:00:00.000Z")
    event = OutcomeEvent("e1", "a@b.example", "bounce", "bounced", "2026-01-02T00:00:00.000Z", {"category": "x"})
    stored = []
    for build in (dynamo.outcome_item, dynamo.outcome_wire_item):
        client = FakeDeskmailClient()
        table = dynamo.DeskmailTable(client, "t")
        groups = [("r1", [build(notification, event)]), ("r2", [build(notification, event)])]
        assert table.write_owned_items(groups) == {}
        stored.append(client.items)
    assert stored[0] == stored[1] == {("TICKET#t1", "C#c1#N#n1#E#e1"): dynamo.outcome_wire_item(notification, event)}
