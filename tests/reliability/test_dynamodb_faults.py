"""DynamoDB faults in the middle of a feedback batch: the hit records are retried and the table converges.

A batch's records are decided first, then all their items are put, packed 25 to a BatchWriteItem (idempotent puts,
keys derived from the feedback); the address facts that count towards reputation (hard bounces, complaints) go in
one TransactWriteItems with the counters they add to, each only if it is new. These tests put a fault (throttling,
unprocessed items, a failed or timed-out write, a throttled read) in front of the moto-backed client, check that
exactly the records owning the items hit come back in batchItemFailures, feed those again as SQS would, and
compare the whole table with what a fault-free run of the same batch leaves.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from chalicelib import runtime
from chalicelib.adapters import dynamo
from chalicelib.adapters.dynamo import DeskmailTable
from tests.helpers import Api
from tests.reliability.scenario import (
    describe_difference,
    failed_bodies,
    feed,
    mixed_batch,
    restore_table,
    table_items,
    two_tickets_with_replies,
)

# The second record of the batch: Carl's hard bounce, the failure that adds the tag to ticket A.
TAGGING_BOUNCE = 2


def item_key(request: dict) -> tuple[str, str]:
    item = request["PutRequest"]["Item"]
    return item["PK"]["S"], item["SK"]["S"]


def client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"injected {code}"}}, operation)


class FaultyDynamoClient:
    """The moto-backed client, except that chosen calls answer with a fault (botocore's retries already spent).

    `faults` maps a 1-based call number of an operation ("batch_write_item", "batch_get_item") to a fault: a
    function (real client, request kwargs) -> response, which may raise.
    """

    def __init__(self, client, faults: dict[tuple[str, int], object]):
        self._client = client
        self._faults = faults
        self.calls: dict[str, int] = {}
        self.requests: dict[tuple[str, int], dict] = {}  # what each call was asked to do

    def __getattr__(self, name):
        return getattr(self._client, name)

    def _call(self, operation: str, **kwargs):
        self.calls[operation] = self.calls.get(operation, 0) + 1
        self.requests[(operation, self.calls[operation])] = kwargs
        fault = self._faults.get((operation, self.calls[operation]))
        if fault is None:
            return getattr(self._client, operation)(**kwargs)
        return fault(self._client, kwargs)

    def batch_write_item(self, **kwargs):
        return self._call("batch_write_item", **kwargs)

    def batch_get_item(self, **kwargs):
        return self._call("batch_get_item", **kwargs)

    def transact_write_items(self, **kwargs):
        return self._call("transact_write_items", **kwargs)


def raise_error(code: str, operation: str = "BatchWriteItem"):
    def fault(client, kwargs):
        raise client_error(code, operation)

    return fault


def written_then_timed_out(client, kwargs):
    """The write reached DynamoDB but the answer was lost: the caller cannot tell it apart from a failure."""
    client.batch_write_item(**kwargs)
    raise ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")


def unprocessed(left_out: str):
    """DynamoDB takes only part of the request and hands the rest back as UnprocessedItems."""

    def fault(client, kwargs):
        ((table, requests),) = kwargs["RequestItems"].items()
        if left_out == "all":
            kept, rest = [], requests
        elif left_out == "first":
            kept, rest = requests[1:], requests[:1]
        else:  # "last"
            kept, rest = requests[:-1], requests[-1:]
        if kept:
            client.batch_write_item(RequestItems={table: kept})
        return {"UnprocessedItems": {table: rest} if rest else {}}

    return fault


def unprocessed_keys_of(keys: set[tuple[str, str]]):
    """DynamoDB keeps handing back these items (throttled partition), whatever call they come in."""

    def fault(client, kwargs):
        if "TransactItems" in kwargs:  # a transaction names the items it could not take, and takes none
            hit = [
                "Put" in action and item_key({"PutRequest": action["Put"]}) in keys
                for action in kwargs["TransactItems"]
            ]
            if not any(hit):
                return client.transact_write_items(**kwargs)
            error = client_error("TransactionCanceledException", "TransactWriteItems")
            error.response["CancellationReasons"] = [{"Code": "ThrottlingError" if h else "None"} for h in hit]
            raise error
        ((table, requests),) = kwargs["RequestItems"].items()
        kept = [r for r in requests if item_key(r) not in keys]
        rest = [r for r in requests if item_key(r) in keys]
        if kept:
            client.batch_write_item(RequestItems={table: kept})
        return {"UnprocessedItems": {table: rest} if rest else {}}

    return fault


def every_write(fault, calls: int = 20) -> dict:
    """The fault on every BatchWriteItem and every TransactWriteItems (the counted facts') of the invocation."""
    return {
        (operation, n): fault for operation in ("batch_write_item", "transact_write_items") for n in range(1, calls + 1)
    }


def persistent(fault, call: int, attempts: int = 5) -> dict:
    """The fault on one record's write and on every retry the adapter makes of what is left (5 attempts)."""
    return {
        ("batch_write_item", call): fault,
        **{("batch_write_item", call + n): unprocessed("all") for n in range(1, attempts)},
    }


@pytest.fixture
def batch(client, monkeypatch):
    """The mixed batch, the table before it, the table a fault-free run of it leaves (then reset), and the keys
    each record (by 1-based position) writes: the same on every run, since keys derive from the feedback."""
    # These tests need the batch's puts in two BatchWriteItem requests, a full one and a short one (a fault in one
    # must spare the records of the other). The batch puts 23-24 items since "delivered" markers are written only on
    # tickets with failures, one request's worth at DynamoDB's 25: requests of 22 here. Checked below.
    monkeypatch.setattr(DeskmailTable, "BATCH_WRITE_LIMIT", 22)
    api = Api(client)
    bodies = [body for _, body in mixed_batch(two_tickets_with_replies(api))]
    before = table_items()
    groups: list[tuple[str, list[dict]]] = []
    real_write = DeskmailTable.write_owned_items

    requests = []
    real_chunks = DeskmailTable._owner_chunks

    def recording(self, owned):
        owned = list(owned)
        groups.extend(owned)
        return real_write(self, owned)

    def chunks(self, *args):
        found = real_chunks(self, *args)
        requests.extend(len(chunk) for chunk in found)
        return found

    monkeypatch.setattr(DeskmailTable, "write_owned_items", recording)
    monkeypatch.setattr(DeskmailTable, "_owner_chunks", chunks)
    response, event = feed(client, bodies)
    monkeypatch.setattr(DeskmailTable, "write_owned_items", real_write)
    monkeypatch.setattr(DeskmailTable, "_owner_chunks", real_chunks)
    assert response == {"batchItemFailures": []}
    assert len(requests) == 2 and requests[1] < requests[0], requests  # the premise above
    position = {record["messageId"]: n + 1 for n, record in enumerate(event["Records"])}
    keys_of: dict[int, list[tuple[str, str]]] = {n: [] for n in range(1, len(bodies) + 1)}
    for owner, items in groups:
        keys_of[position[owner]] += [dynamo.item_key(item) for item in items]  # attributes or wire form
    fault_free = table_items()
    restore_table(before)
    assert table_items() == before
    return {"bodies": bodies, "before": before, "fault_free": fault_free, "keys_of": keys_of}


def owners_of(batch, keys) -> list[int]:
    """The positions of the records that write any of these keys."""
    return sorted(n for n, owned in batch["keys_of"].items() if set(owned) & set(keys))


@pytest.fixture
def inject():
    """Installs a FaultyDynamoClient on the handler's table adapter (no real sleeps between its retries)."""
    table = runtime.table()
    real_client, real_sleep = table.client, table._sleep
    installed = []

    def install(faults):
        proxy = FaultyDynamoClient(real_client, faults)
        table.client, table._sleep = proxy, lambda seconds: None
        installed.append(proxy)
        return proxy

    def remove():
        table.client, table._sleep = real_client, real_sleep

    install.remove = remove
    yield install
    remove()


def run_with_fault_then_retry(client, batch, inject, faults):
    """Feeds the batch with the faults, then the failed records again without; returns the failed positions."""
    inject(faults)
    response, event = feed(client, batch["bodies"])
    inject.remove()
    positions = [
        n + 1
        for n, record in enumerate(event["Records"])
        if record["messageId"] in {f["itemIdentifier"] for f in response["batchItemFailures"]}
    ]
    halfway = table_items()
    retry = failed_bodies(response, event)
    if retry:
        assert feed(client, retry)[0] == {"batchItemFailures": []}
    return positions, halfway


REQUEST_FAULTS = {
    "ProvisionedThroughputExceededException": raise_error("ProvisionedThroughputExceededException"),
    "ThrottlingException": raise_error("ThrottlingException"),
    "InternalServerError": raise_error("InternalServerError"),
    "written, then the answer timed out": written_then_timed_out,
}


@pytest.mark.parametrize("request_number", [1, 2])
@pytest.mark.parametrize("fault", REQUEST_FAULTS.values(), ids=REQUEST_FAULTS.keys())
def test_a_failed_write_request_fails_only_the_records_in_it_and_the_table_converges(
    client, batch, inject, fault, request_number
):
    proxy = inject({("batch_write_item", request_number): fault})
    response, event = feed(client, batch["bodies"])
    inject.remove()
    request = proxy.requests[("batch_write_item", request_number)]
    in_request = [item_key(r) for requests in request["RequestItems"].values() for r in requests]
    failed = sorted(
        n + 1
        for n, record in enumerate(event["Records"])
        if record["messageId"] in {f["itemIdentifier"] for f in response["batchItemFailures"]}
    )
    assert failed == owners_of(batch, in_request)
    assert 0 < len(failed) < len(batch["bodies"])  # the other request's records are settled
    retry = failed_bodies(response, event)
    assert feed(client, retry)[0] == {"batchItemFailures": []}
    after = table_items()
    assert after == batch["fault_free"], describe_difference(batch["fault_free"], after)


def test_items_left_unprocessed_fail_only_their_own_record(client, batch, inject):
    # Carl's hard bounce outcome on ticket A: written by the tagging bounce alone.
    (outcome,) = [key for key in batch["keys_of"][TAGGING_BOUNCE] if "#E#" in key[1]]
    positions, _ = run_with_fault_then_retry(client, batch, inject, every_write(unprocessed_keys_of({outcome})))
    assert positions == [TAGGING_BOUNCE]
    after = table_items()
    assert after == batch["fault_free"], describe_difference(batch["fault_free"], after)


def test_unprocessed_items_that_a_retry_takes_are_not_a_failure(client, batch, inject):
    # DynamoDB hands back part of a request under load; the adapter's own retry (with backoff) settles it.
    proxy_faults = {("batch_write_item", 1): unprocessed("last"), ("batch_write_item", 2): unprocessed("first")}
    positions, _ = run_with_fault_then_retry(client, batch, inject, proxy_faults)
    assert positions == []
    assert table_items() == batch["fault_free"]


@pytest.mark.parametrize("which", ["first", "last"])
def test_a_half_applied_record_at_any_position_converges_after_its_retry(client, batch, inject, which):
    """Each record in turn is left half-written (one of its items never taken): exactly the records that write
    that item are retried, and the retry converges on the fault-free table."""
    for position in range(1, len(batch["bodies"]) + 1):
        restore_table(batch["before"])
        keys = batch["keys_of"][position]
        key = keys[0] if which == "first" else keys[-1]
        positions, halfway = run_with_fault_then_retry(client, batch, inject, every_write(unprocessed_keys_of({key})))
        assert positions == owners_of(batch, [key]), f"item {key} of record {position}: failed records {positions}"
        assert position in positions
        assert halfway != batch["fault_free"], f"record {position}: the fault changed nothing"
        after = table_items()
        assert after == batch["fault_free"], f"record {position}:\n" + describe_difference(batch["fault_free"], after)


def test_two_faults_in_one_batch(client, batch, inject):
    faults = {
        ("batch_write_item", 1): raise_error("ThrottlingException"),
        ("batch_write_item", 2): raise_error("ProvisionedThroughputExceededException"),
    }
    positions, _ = run_with_fault_then_retry(client, batch, inject, faults)
    assert positions == list(range(1, 11))
    after = table_items()
    assert after == batch["fault_free"], describe_difference(batch["fault_free"], after)


def unprocessed_keys(client, kwargs):
    return {"Responses": {}, "UnprocessedKeys": kwargs["RequestItems"]}


READ_FAULTS = {
    "ProvisionedThroughputExceededException": {
        ("batch_get_item", 1): raise_error("ProvisionedThroughputExceededException", "BatchGetItem")
    },
    "ThrottlingException": {("batch_get_item", 1): raise_error("ThrottlingException", "BatchGetItem")},
    "unprocessed keys on every retry": {("batch_get_item", n): unprocessed_keys for n in range(1, 6)},
    # Feedback without deskmail's message tags (an identity copy) names no ticket: its tag is a second read.
    "the tag read throttled": {("batch_get_item", 2): raise_error("ThrottlingException", "BatchGetItem")},
}


@pytest.mark.parametrize("faults", READ_FAULTS.values(), ids=READ_FAULTS.keys())
def test_a_failed_batch_read_fails_the_records_that_need_it_and_the_retry_converges(client, batch, inject, faults):
    """The batch read (one BatchGetItem of the MSG# lookups and tags) fails: nothing is written, every record
    retried."""
    positions, halfway = run_with_fault_then_retry(client, batch, inject, faults)
    assert positions == list(range(1, 11))
    assert halfway == batch["before"]
    after = table_items()
    assert after == batch["fault_free"], describe_difference(batch["fault_free"], after)
