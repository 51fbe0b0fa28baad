"""A realistic mixed SQS batch for the reliability tests: two tickets, four SES messages, ten notifications."""

from __future__ import annotations

import json
import re

import boto3

from tests import ses_payloads as ses
from tests.helpers import Api, message_ids, open_ticket, people

TABLE = "deskmail-dev"
RITA, CARL = "rita@example.com", "carl@example.com"


def two_tickets_with_replies(api: Api) -> dict[str, dict[str, str]]:
    """Per ticket, the SES message id of the opening notification and of the agent's reply (To Rita, Cc Carl)."""
    who = people(api)
    sent = {}
    for name in ("A", "B"):
        ticket = open_ticket(api, who, subject=f"Printer {name} on fire")
        api.ok(
            "post", f"/tickets/{ticket['id']}/comments", {"author_id": who["agent"]["id"], "body": "Hi", "public": True}
        )
        opening, reply = api.comments(ticket["id"])[:2]
        sent[name] = {
            "ticket_id": ticket["id"],
            "opening": message_ids(opening)[RITA],
            "reply": message_ids(reply)[RITA],
        }
    return sent


def mixed_batch(sent: dict[str, dict[str, str]]) -> list[tuple[str, str]]:
    """Ten (kind, SQS body) pairs: deliveries, bounces, complaints and delays, two failures tagging each ticket.

    Fixed feedback ids and timestamps, so the very same bodies can be fed to two runs and compared.
    """
    a, b = sent["A"], sent["B"]
    both = [RITA, CARL]
    return [
        ("delivery", ses.delivery(a["opening"], [RITA], timestamp=ses.at(3))),
        (
            "bounce",
            ses.bounce(
                a["reply"], both, [ses.hard_bounce_recipient(CARL)], feedback_id="fb-a-carl", timestamp=ses.at(5)
            ),
        ),
        ("delay", ses.delay(a["reply"], both, [RITA], timestamp=ses.at(2))),
        ("delivery", ses.delivery(b["opening"], [RITA], timestamp=ses.at(3))),
        ("complaint", ses.complaint(a["reply"], both, [RITA], timestamp=ses.at(60))),
        (
            "bounce",
            ses.bounce(
                a["opening"],
                [RITA],
                [
                    {
                        "emailAddress": RITA,
                        "action": "failed",
                        "status": "4.2.2",
                        "diagnosticCode": "smtp; 452 4.2.2 Mailbox full",
                    }
                ],
                "Transient",
                "MailboxFull",
                feedback_id="fb-a-rita",
                timestamp=ses.at(7),
            ),
        ),
        (
            "bounce",
            ses.bounce(
                b["reply"],
                both,
                [ses.hard_bounce_recipient(RITA), ses.hard_bounce_recipient(CARL)],
                feedback_id="fb-b-both",
                timestamp=ses.at(5),
            ),
        ),
        ("delay", ses.delay(b["reply"], both, [CARL], timestamp=ses.at(2))),
        ("complaint", ses.complaint(b["opening"], [RITA], [RITA], timestamp=ses.at(90))),
        ("delivery", ses.delivery(a["reply"], both, [RITA], timestamp=ses.at(9))),
    ]


def feed(client, bodies: list[str]) -> tuple[dict, dict]:
    """Invokes the real handler the way Lambda does; returns (partial-batch response, event)."""
    event = ses.sqs_event(bodies)
    return client.lambda_.invoke("handle_ses_feedback", event).payload, event


def failed_bodies(response: dict, event: dict) -> list[str]:
    """The bodies SQS would redeliver: the records named in batchItemFailures, in their original order."""
    failed = {failure["itemIdentifier"] for failure in response["batchItemFailures"]}
    return [record["body"] for record in event["Records"] if record["messageId"] in failed]


def table_items() -> list[dict]:
    """Every item in key order, the reputation counter shards summed per day (see _counters_summed)."""
    return sorted(_counters_summed(raw_table_items()), key=lambda item: (item["PK"]["S"], item["SK"]["S"]))


def raw_table_items() -> list[dict]:
    """Every item, raw, in key order (a Scan is fine in a test, never on a request path)."""
    items, kwargs = [], {"TableName": TABLE}
    client = boto3.client("dynamodb")
    while True:
        page = client.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return sorted(items, key=lambda item: (item["PK"]["S"], item["SK"]["S"]))
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _counters_summed(items: list[dict]) -> list[dict]:
    """Reputation counter shards (REP#{day}#{shard}, picked at random) as one item per day: their sums must converge,
    not which shard a write landed on."""
    others, days = [], {}
    for item in items:
        counter = re.fullmatch(r"(REP#\d{4}-\d{2}-\d{2})(#\d+)?", item["PK"]["S"])
        if not counter:
            others.append(item)
            continue
        day = days.setdefault(counter[1], {"PK": {"S": counter[1]}, "SK": item["SK"]})
        for name, value in item.items():
            if name not in ("PK", "SK", "expires_at"):
                day[name] = {"N": str(int(day.get(name, {"N": "0"})["N"]) + int(value["N"]))}
    return others + list(days.values())


def restore_table(items: list[dict]) -> None:
    """Puts the table back to exactly these items (deletes the others)."""
    client = boto3.client("dynamodb")
    keep = {(item["PK"]["S"], item["SK"]["S"]) for item in items}
    for item in raw_table_items():
        if (item["PK"]["S"], item["SK"]["S"]) not in keep:
            client.delete_item(TableName=TABLE, Key={"PK": item["PK"], "SK": item["SK"]})
    for item in items:
        client.put_item(TableName=TABLE, Item=item)


def item_keys(items: list[dict]) -> set[tuple[str, str]]:
    return {(item["PK"]["S"], item["SK"]["S"]) for item in items}


def describe_difference(expected: list[dict], actual: list[dict]) -> str:
    """Which keys are missing, extra or different: a readable assertion message instead of two long lists."""
    by_key = {(i["PK"]["S"], i["SK"]["S"]): i for i in actual}
    wanted = {(i["PK"]["S"], i["SK"]["S"]): i for i in expected}
    lines = [f"missing {key}" for key in wanted.keys() - by_key.keys()]
    lines += [f"extra {key}: {json.dumps(by_key[key])[:300]}" for key in by_key.keys() - wanted.keys()]
    lines += [
        f"different {key}: expected {json.dumps(wanted[key])[:300]} got {json.dumps(by_key[key])[:300]}"
        for key in wanted.keys() & by_key.keys()
        if wanted[key] != by_key[key]
    ]
    return "\n".join(sorted(lines))
