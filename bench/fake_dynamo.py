"""An in-memory stand-in for the low-level DynamoDB client (the marshalled wire shapes), for CPU measurements.

It answers the calls DeskmailTable makes with dicts, so what is timed is deskmail's own work (parsing, deciding,
marshalling), not moto's or the network's.
"""

from __future__ import annotations

import re

from chalicelib.naming import INDEX_PROJECTIONS, TABLE_INDEXES


class FakeDeskmailClient:
    def __init__(self):
        self.items: dict[tuple[str, str], dict] = {}

    @staticmethod
    def _key(item: dict) -> tuple[str, str]:
        return item["PK"]["S"], item["SK"]["S"]

    def put_item(self, TableName: str, Item: dict, **kwargs) -> dict:  # noqa: N803 - boto3's parameter names
        self.items[self._key(Item)] = Item
        return {}

    def get_item(self, TableName: str, Key: dict, **kwargs) -> dict:  # noqa: N803
        item = self.items.get(self._key(Key))
        return {"Item": item} if item else {}

    def batch_write_item(self, RequestItems: dict, **kwargs) -> dict:  # noqa: N803
        for requests in RequestItems.values():
            for request in requests:
                if "PutRequest" in request:
                    self.put_item("", request["PutRequest"]["Item"])
                else:
                    self.items.pop(self._key(request["DeleteRequest"]["Key"]), None)
        return {"UnprocessedItems": {}}

    def update_item(self, TableName: str, Key: dict, **kwargs) -> dict:  # noqa: N803
        """Counter updates (ADD): taken, not applied: the CPU figures time deskmail's side of the call."""
        return {}

    def batch_get_item(self, RequestItems: dict, **kwargs) -> dict:  # noqa: N803
        responses = {}
        for table, request in RequestItems.items():
            found = (self.items.get(self._key(key)) for key in request["Keys"])
            responses[table] = [item for item in found if item]
        return {"Responses": responses, "UnprocessedKeys": {}}

    def transact_write_items(self, TransactItems: list[dict], **kwargs) -> dict:  # noqa: N803
        """All or none: a Put conditioned on attribute_not_exists(PK) that finds its item cancels the transaction
        (CancellationReasons in action order, as DynamoDB gives them); Puts are applied, counter Updates taken
        (as update_item: the CPU figures time deskmail's side of the call)."""
        reasons = []
        for action in TransactItems:
            put = action.get("Put")
            failed = (
                put is not None
                and self._key(put["Item"]) in self.items
                and "attribute_not_exists(PK)" in put.get("ConditionExpression", "")
            )
            reasons.append({"Code": "ConditionalCheckFailed" if failed else "None"})
        if any(reason["Code"] != "None" for reason in reasons):
            raise _TransactionCanceled(reasons)
        for action in TransactItems:
            if "Put" in action:
                self.items[self._key(action["Put"]["Item"])] = action["Put"]["Item"]
        return {}

    def query(self, TableName: str, ExpressionAttributeValues: dict, **kwargs) -> dict:  # noqa: N803
        """Base-table queries by partition (and SK prefix when the expression has one): enough for the handler."""
        pk = ExpressionAttributeValues[":pk"]["S"]
        prefix = ExpressionAttributeValues.get(":prefix", {}).get("S", "")
        items = [item for (p, s), item in sorted(self.items.items()) if p == pk and s.startswith(prefix)]
        return {"Items": items}


class _ConditionFailed(Exception):
    pass


class _TransactionCanceled(Exception):
    def __init__(self, reasons: list[dict]):
        super().__init__("Transaction cancelled")
        self.response = {"Error": {"Code": "TransactionCanceledException"}, "CancellationReasons": reasons}


class _Exceptions:
    ConditionalCheckFailedException = _ConditionFailed
    TransactionCanceledException = _TransactionCanceled


def item_bytes(item: dict) -> int:
    """DynamoDB's item size, near enough: attribute names plus values as stored (strings and numbers as text)."""

    def value_bytes(value: dict) -> int:
        ((kind, data),) = value.items()
        if kind in ("S", "N"):
            return len(data.encode("utf-8"))
        if kind == "B":
            return len(data)
        if kind == "M":
            return 3 + sum(len(k) + value_bytes(v) for k, v in data.items())
        if kind == "L":
            return 3 + sum(1 + value_bytes(v) for v in data)
        return 1

    return sum(len(name) + value_bytes(value) for name, value in item.items())


def write_units(item: dict | None) -> int:
    return max(1, -(-item_bytes(item) // 1024)) if item else 1


def _matches(item: dict, kwargs: dict, values: dict) -> bool:
    """FilterExpression of equalities and IN lists joined by AND ("#a = :v", "#a.#b = :v", "#a IN (:v, :w)")."""
    expression = kwargs.get("FilterExpression")
    if not expression:
        return True
    names = kwargs.get("ExpressionAttributeNames", {})
    for part in expression.split(" AND "):
        if " IN " in part:  # "#a IN (:v, :w)"
            path, _, listed = part.partition(" IN ")
            wanted = [values[p.strip()] for p in listed.strip().strip("()").split(",")]
        else:
            path, placeholder = (side.strip() for side in part.split("="))
            wanted = [values[placeholder]]
        value: dict | None = {"M": item}
        for name in path.strip().split("."):
            value = (value or {}).get("M", {}).get(names.get(name, name))
        if value not in wanted:
            return False
    return True


INDEXES = TABLE_INDEXES


def index_entry(index: str, item: dict | None) -> dict | None:
    """What an index holds of an item (None: the item is not in it): its keys and the table's, plus the projected
    attributes (all of them, or none for KEYS_ONLY)."""
    pk_name, sk_name = INDEXES[index]
    if not item or pk_name not in item:
        return None
    if INDEX_PROJECTIONS[index] == "ALL":
        return item
    return {name: item[name] for name in ("PK", "SK", pk_name, sk_name) if name in item}


FakeDeskmailClient.exceptions = _Exceptions  # boto3 clients name their error classes here


class RecordingDeskmailClient(FakeDeskmailClient):
    """The fake with the rest of the calls deskmail makes (UpdateItem, DeleteItem, index queries with pages), which
    records every write and read unit by (table or index, partition-key value): what the scale benchmark counts.

    Write units follow DynamoDB's rules: ceil(item KB) per put, update or delete, on the base table and on each index
    whose keys the item has (an index whose key changed takes a delete and a put). Reads: 0.5 unit per 4 KB,
    eventually consistent, summed over the items a Query or BatchGetItem returns (at least 0.5 per call).
    """

    exceptions = _Exceptions

    def __init__(self):
        super().__init__()
        self.writes: dict[tuple[str, str], float] = {}
        self.writes_by_type: dict[tuple[str, str], float] = {}  # (table or index, item type): units
        # The units since the caller last emptied these (one use-case call's, for the bench's bursts).
        self.window_writes: dict[tuple[str, str], float] = {}
        self.window_reads: dict[tuple[str, str], float] = {}
        self.reads: dict[tuple[str, str], float] = {}
        self.calls: dict[str, int] = {}
        self.partitions: dict[tuple[str, str], set[tuple[str, str]]] = {}  # (key attribute, value) -> item keys

    def _count(self, ledger: dict, where: str, pk: str, units: float) -> None:
        ledger[(where, pk)] = ledger.get((where, pk), 0) + units
        window = self.window_writes if ledger is self.writes else self.window_reads if ledger is self.reads else None
        if window is not None:
            window[(where, pk)] = window.get((where, pk), 0) + units

    # A transactional write costs two units per KB (DynamoDB's prepare and commit).
    _unit_factor = 1

    def _record_write(self, old: dict | None, new: dict | None) -> None:
        item = new or old or {}
        for name in ("PK", *(pk_name for pk_name, _ in INDEXES.values())):
            if old and name in old:
                self.partitions.get((name, old[name]["S"]), set()).discard(self._key(old))
            if new and name in new:
                self.partitions.setdefault((name, new[name]["S"]), set()).add(self._key(new))
        units = write_units(new or old) * self._unit_factor
        self._count(self.writes, "table", item["PK"]["S"], units)
        kind = item.get("type", {}).get("S") or item["PK"]["S"].split("#")[0]
        if kind == "event":  # events by what they say: a comment's, a notification's, a failure's
            kind = f"event {item.get('event_type', {}).get('S', '')}"
        self._count(self.writes_by_type, "table", kind, units)
        # DynamoDB's rules for an index: a put when the item enters it, a delete when it leaves, both when its index
        # key changes, one write when only projected attributes change, and none when neither does. Each is sized
        # by the index entry (keys only, or the whole item), not by the table item.
        for index, (pk_name, _) in INDEXES.items():
            before, after = index_entry(index, old), index_entry(index, new)
            if before is None and after is None:
                continue
            moved = before is not None and after is not None and before[pk_name] != after[pk_name]
            if before is not None and (after is None or moved):
                self._count_index(index, before[pk_name]["S"], kind, write_units(before) * self._unit_factor)
            if after is not None and (before is None or moved or before != after):
                self._count_index(index, after[pk_name]["S"], kind, write_units(after) * self._unit_factor)

    def _count_index(self, index: str, pk: str, kind: str, units: float) -> None:
        self._count(self.writes, index, pk, units)
        self._count(self.writes_by_type, index, kind, units)

    def _call(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def put_item(self, TableName: str, Item: dict, **kwargs) -> dict:  # noqa: N803
        if TableName:  # batch_write_item's puts come in with no name and are counted there
            self._call("PutItem")
        key = self._key(Item)
        if "ConditionExpression" in kwargs and key in self.items and "in_progress" not in str(kwargs):
            raise _ConditionFailed()
        self._record_write(self.items.get(key), Item)
        self.items[key] = Item
        return {}

    def batch_write_item(self, RequestItems: dict, **kwargs) -> dict:  # noqa: N803
        self._call("BatchWriteItem")
        for requests in RequestItems.values():
            for request in requests:
                if "PutRequest" in request:
                    self.put_item("", request["PutRequest"]["Item"])
                else:
                    key = self._key(request["DeleteRequest"]["Key"])
                    self._record_write(self.items.pop(key, None), None)
        return {"UnprocessedItems": {}}

    def transact_write_items(self, TransactItems: list[dict], **kwargs) -> dict:  # noqa: N803
        """Puts and Updates, all or none: a Put conditioned on attribute_not_exists(PK) that finds its item cancels
        the transaction (CancellationReasons in action order); each write counts twice its units."""
        self._call("TransactWriteItems")
        reasons = []
        for action in TransactItems:
            write = action.get("Put") or action.get("Update") or {}
            key = self._key(write["Item"]) if "Item" in write else self._key(write.get("Key") or {})
            condition = write.get("ConditionExpression", "")
            failed = ("attribute_not_exists(PK)" in condition and key in self.items) or (
                "attribute_exists(PK)" in condition.replace("attribute_not_exists(PK)", "") and key not in self.items
            )
            reasons.append({"Code": "ConditionalCheckFailed" if failed else "None"})
        if any(reason["Code"] != "None" for reason in reasons):
            raise _TransactionCanceled(reasons)
        calls = dict(self.calls)
        self._unit_factor = 2
        try:
            for action in TransactItems:
                if "Put" in action:
                    key = self._key(action["Put"]["Item"])
                    self._record_write(self.items.get(key), action["Put"]["Item"])
                    self.items[key] = action["Put"]["Item"]
                else:
                    update = {k: v for k, v in action["Update"].items() if k != "TableName"}
                    update.pop("ConditionExpression", None)
                    self.update_item("", **update)
        finally:
            self._unit_factor = 1
            self.calls = calls
        return {}

    def delete_item(self, TableName: str, Key: dict, **kwargs) -> dict:  # noqa: N803
        self._call("DeleteItem")
        old = self.items.pop(self._key(Key), None)
        if old is None and "ConditionExpression" in kwargs:
            raise _ConditionFailed()
        self._record_write(old, None)
        return {}

    def update_item(  # noqa: N803
        self, TableName: str, Key: dict, UpdateExpression: str, ExpressionAttributeValues: dict, **kwargs
    ) -> dict:
        """ADD, SET (plain or if_not_exists) and REMOVE clauses: the ones deskmail writes."""
        self._call("UpdateItem")
        key = self._key(Key)
        old = self.items.get(key)
        if old is None and "attribute_exists(PK)" in kwargs.get("ConditionExpression", ""):
            raise _ConditionFailed()
        names = kwargs.get("ExpressionAttributeNames", {})
        item = dict(old or Key)
        for clause in re.split(r"\s+(?=(?:ADD|SET|REMOVE)\s)", UpdateExpression.strip()):
            action, _, body = clause.partition(" ")
            for part in (p.strip() for p in re.split(r",(?![^(]*\))", body)):
                if action == "REMOVE":
                    item.pop(names.get(part, part), None)
                    continue
                target, value = re.split(r"\s*=\s*|\s+", part, maxsplit=1)
                target = names.get(target, target)
                if action == "ADD":
                    current = int(item.get(target, {"N": "0"})["N"])
                    item[target] = {"N": str(current + int(ExpressionAttributeValues[value.strip()]["N"]))}
                elif value.startswith("if_not_exists"):
                    placeholder = value.rstrip(")").split(",")[-1].strip()
                    item.setdefault(target, ExpressionAttributeValues[placeholder])
                else:
                    item[target] = ExpressionAttributeValues[value.strip()]
        self._record_write(old, item)
        self.items[key] = item
        return {}

    def get_item(self, TableName: str, Key: dict, **kwargs) -> dict:  # noqa: N803
        self._call("GetItem")
        item = self.items.get(self._key(Key))
        self._count(self.reads, "table", Key["PK"]["S"], max(0.5, -(-item_bytes(item or {}) // 4096) / 2))
        return {"Item": item} if item else {}

    def batch_get_item(self, RequestItems: dict, **kwargs) -> dict:  # noqa: N803
        self._call("BatchGetItem")
        responses = {}
        for table, request in RequestItems.items():
            found = []
            for key in request["Keys"]:
                item = self.items.get(self._key(key))
                self._count(self.reads, "table", key["PK"]["S"], max(0.5, -(-item_bytes(item or {}) // 4096) / 2))
                if item:
                    found.append(item)
            responses[table] = found
        return {"Responses": responses, "UnprocessedKeys": {}}

    def query(self, TableName: str, ExpressionAttributeValues: dict, **kwargs) -> dict:  # noqa: N803
        self._call("Query")
        values = ExpressionAttributeValues
        index = kwargs.get("IndexName")
        pk_name, sk_name = INDEXES[index] if index else ("PK", "SK")
        condition = kwargs["KeyConditionExpression"]
        pk = values[":pk"]["S"]

        def sort_matches(sort: str) -> bool:
            if "begins_with" in condition:
                return sort.startswith(values[":prefix"]["S"])
            if "BETWEEN" in condition:
                return values[":low"]["S"] <= sort <= values[":high"]["S"]
            if ">=" in condition:
                return sort >= values[":since"]["S"]
            if "< :before" in condition:
                return sort < values[":before"]["S"]
            return True

        matching = sorted(
            (
                (item[sk_name]["S"], item["PK"]["S"], item["SK"]["S"], item)
                for item in (self.items[key] for key in self.partitions.get((pk_name, pk), ()))
                if sk_name in item and sort_matches(item[sk_name]["S"])
            ),
            key=lambda row: row[:3],
            reverse=kwargs.get("ScanIndexForward") is False,
        )
        start = kwargs.get("ExclusiveStartKey")
        if start:
            position = (start[sk_name]["S"], start["PK"]["S"], start["SK"]["S"])
            matching = [
                row
                for row in matching
                if (row[:3] < position if kwargs.get("ScanIndexForward") is False else row[:3] > position)
            ]
        limit = kwargs.get("Limit")
        page = matching[:limit] if limit else matching
        page = [(*row[:3], index_entry(index, row[3]) if index else row[3]) for row in page]  # what the index holds
        size = sum(item_bytes(row[3]) for row in page)
        self._count(self.reads, index or "table", pk, max(0.5, -(-size // 4096) / 2))
        kept = [row[3] for row in page if _matches(row[3], kwargs, values)]  # a filter reads, then drops
        response: dict = {"Items": kept, "Count": len(kept)}
        if limit and len(matching) > limit:
            last = page[-1][3]
            response["LastEvaluatedKey"] = {name: last[name] for name in {"PK", "SK", pk_name, sk_name}}
        return response
