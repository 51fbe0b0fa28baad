"""An in-memory stand-in for the low-level DynamoDB client (the marshalled wire shapes), for CPU measurements.

It answers the calls DeskmailTable makes with dicts, so what is timed is deskmail's own work (parsing, deciding,
marshalling), not moto's or the network's.
"""

from __future__ import annotations


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

    def batch_get_item(self, RequestItems: dict, **kwargs) -> dict:  # noqa: N803
        responses = {}
        for table, request in RequestItems.items():
            found = (self.items.get(self._key(key)) for key in request["Keys"])
            responses[table] = [item for item in found if item]
        return {"Responses": responses, "UnprocessedKeys": {}}

    def query(self, TableName: str, ExpressionAttributeValues: dict, **kwargs) -> dict:  # noqa: N803
        """Base-table queries by partition (and SK prefix when the expression has one): enough for the handler."""
        pk = ExpressionAttributeValues[":pk"]["S"]
        prefix = ExpressionAttributeValues.get(":prefix", {}).get("S", "")
        items = [item for (p, s), item in sorted(self.items.items()) if p == pk and s.startswith(prefix)]
        return {"Items": items}
