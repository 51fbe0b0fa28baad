"""AWS calls per SES notification processed, and Query calls per conversation page, counted on moto-backed clients.

botocore announces every API call as the event "before-call.<service>.<Operation>": a handler registered on the
clients the service uses counts them, and reads the BatchWriteItem requests to size the items written.
"""

from __future__ import annotations

import math
import os
from collections import Counter
from contextlib import contextmanager

from bench import workload
from bench.environment import service_logs_silenced
from tests import ses_payloads as ses

BATCH_SIZE = 10
BATCHES_PER_KIND = 5
# Batch sizes whose DynamoDB round trips are reported (Lambda's SQS batch size is 10; 1,000 is an SQS maximum
# with a batching window, and 1 a quiet queue).
ROUND_TRIP_BATCH_SIZES = (1, 10, 1000)


class CallCounter:
    """Counts calls by operation; records the size of every item a BatchWriteItem or PutItem puts."""

    def __init__(self):
        self.calls: Counter[str] = Counter()
        self.item_sizes: list[int] = []
        self.index_puts = 0  # items that carry GSI1 keys: each also writes the index (more WRU)
        self.read_keys = 0

    def __call__(self, event_name: str, **kwargs):
        self.calls[event_name.rsplit(".", 1)[-1]] += 1

    def inspect_request(self, params: dict, model, **kwargs):
        """provide-client-params: the API parameters as the caller gave them (before-call sees serialized bytes)."""
        if model.name == "BatchWriteItem":
            for requests in params["RequestItems"].values():
                puts = [r["PutRequest"]["Item"] for r in requests if "PutRequest" in r]
                self.item_sizes += [item_size(item) for item in puts]
                self.index_puts += sum("GSI1PK" in item for item in puts)
        elif model.name == "PutItem":
            self.item_sizes.append(item_size(params["Item"]))
            self.index_puts += "GSI1PK" in params["Item"]
        elif model.name == "BatchGetItem":
            self.read_keys += sum(len(request["Keys"]) for request in params["RequestItems"].values())

    def reset(self):
        self.calls.clear()
        self.item_sizes.clear()
        self.index_puts = 0
        self.read_keys = 0


def item_size(item: dict) -> int:
    """An item's size as DynamoDB bills it: attribute names plus values (strings in UTF-8, numbers ~1 byte/2 digits)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict) -> int:
    ((kind, data),) = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "N":
        return math.ceil(len(data.lstrip("-").replace(".", "")) / 2) + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + _value_size(element) for element in data)
    if kind == "M":
        return 3 + sum(len(name.encode()) + 1 + _value_size(element) for name, element in data.items())
    if kind == "SS":
        return sum(len(element.encode()) for element in data)
    raise TypeError(kind)


def write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


@contextmanager
def counting(*clients):
    counter = CallCounter()
    for client in clients:
        client.meta.events.register("before-call.*.*", counter)
        client.meta.events.register("provide-client-params.*.*", counter.inspect_request)
    try:
        yield counter
    finally:
        for client in clients:
            client.meta.events.unregister("before-call.*.*", counter)
            client.meta.events.unregister("provide-client-params.*.*", counter.inspect_request)


def _moto_world():
    """moto in-process with deskmail's table and sending identity; the Chalice test client on the real app."""
    import boto3
    from moto import mock_aws

    from chalicelib import runtime
    from chalicelib.naming import table_definition
    from tests.tokens import sign_in_with_test_keys

    mock = mock_aws()
    mock.start()
    runtime.reset()
    settings = runtime.settings()
    sign_in_with_test_keys(os.environ["DESKMAIL_AUTH_ISSUER"])  # the API's routes need a signed-in agent
    boto3.client("dynamodb").create_table(**table_definition(settings.table_name))
    ses = boto3.client("sesv2")
    ses.create_email_identity(EmailIdentity="deskmail.example.com")
    ses.create_configuration_set(ConfigurationSetName=settings.configuration_set)
    return mock


def feedback_calls() -> dict:
    """Calls per notification, by kind of SES event and for mixed batches, through app.handle_ses_feedback."""
    from chalice.test import Client

    from app import app
    from chalicelib import runtime

    notifications = workload.recorded_notifications(400)
    runtime.table().write_items(workload.items_for(notifications))
    results: dict = {"by_kind": {}, "body_bytes": []}
    with Client(app, stage_name="dev") as client, counting(runtime.table().client) as counter:
        for label, kinds in [*((kind, (kind,)) for kind in workload.KINDS), ("mixed", workload.KINDS)]:
            counter.reset()
            bodies = workload.bodies(kinds, notifications, BATCH_SIZE * BATCHES_PER_KIND)
            results["body_bytes"] += [len(body.encode()) for body in bodies]
            with service_logs_silenced():
                for start in range(0, len(bodies), BATCH_SIZE):
                    response = client.lambda_.invoke(
                        "handle_ses_feedback", ses.sqs_event(bodies[start : start + BATCH_SIZE])
                    ).payload
                    assert response == {"batchItemFailures": []}, response
            processed = len(bodies)
            reads = counter.calls["BatchGetItem"] + counter.calls["GetItem"] + counter.calls["Query"]
            writes = counter.calls["BatchWriteItem"] + counter.calls["PutItem"]
            results["by_kind"][label] = {
                "notifications": processed,
                "calls_by_operation": dict(sorted(counter.calls.items())),
                "reads_per_notification": reads / processed,
                "writes_per_notification": writes / processed,
                "scans": counter.calls["Scan"],
                "read_keys_per_notification": counter.read_keys / processed,
                "items_per_notification": len(counter.item_sizes) / processed,
                "write_units_per_notification": sum(write_units(s) for s in counter.item_sizes) / processed,
                "index_puts_per_notification": counter.index_puts / processed,
                "item_bytes_mean": sum(counter.item_sizes) / max(1, len(counter.item_sizes)),
                "item_bytes_max": max(counter.item_sizes, default=0),
            }
        results["round_trips_by_batch_size"] = round_trips(client, notifications, counter)
    results["round_trips_per_batch_of_10"] = results["round_trips_by_batch_size"][10]["round_trips_per_batch"]
    return results


def round_trips(client, notifications, counter, sizes=ROUND_TRIP_BATCH_SIZES) -> dict:
    """DynamoDB calls per invocation of the feedback handler, for mixed batches of each size."""
    results = {}
    for size in sizes:
        batches = max(1, 20 // size)
        bodies = workload.bodies(workload.KINDS, notifications, batches * size)
        counter.reset()
        with service_logs_silenced():
            for start in range(0, len(bodies), size):
                response = client.lambda_.invoke("handle_ses_feedback", ses.sqs_event(bodies[start : start + size]))
                assert response.payload == {"batchItemFailures": []}, response.payload
        calls = sum(counter.calls.values())
        results[size] = {
            "batches": batches,
            "round_trips_per_batch": calls / batches,
            "calls_by_operation": dict(sorted(counter.calls.items())),
            "items_per_batch": len(counter.item_sizes) / batches,
        }
    return results


def conversation_calls(comment_counts=(1, 10, 20)) -> dict:
    """Query calls for one GET /tickets/{id}/comments page, for tickets with 1, 10 and 20 comments."""
    from chalice.test import Client

    from app import app
    from chalicelib import runtime
    from tests.helpers import Api, open_ticket, people

    results = {}
    with Client(app, stage_name="dev") as client:
        api = Api(client)
        who = people(api)
        for comments in comment_counts:
            ticket = open_ticket(api, who)  # the opening comment is the first
            for n in range(comments - 1):
                api.ok(
                    "post",
                    f"/tickets/{ticket['id']}/comments",
                    {"author_id": who["agent"]["id"], "body": f"Update {n}", "public": True},
                )
            with counting(runtime.table().client) as counter:
                page = api.ok("get", f"/tickets/{ticket['id']}/comments")
            assert len(page["comments"]) == comments and page["next_page"] is None
            results[comments] = {
                "queries_per_page": counter.calls["Query"],
                "calls_by_operation": dict(sorted(counter.calls.items())),
            }
    return results


def measure() -> dict:
    mock = _moto_world()
    try:
        return {"feedback": feedback_calls(), "conversation": conversation_calls()}
    finally:
        mock.stop()
