"""List, inspect and redrive deskmail's dead-letter queues (the feedback and the inbound pipeline).

    python -m scripts.dlq list    --queue feedback|inbound [--limit 50]
    python -m scripts.dlq show    --queue feedback|inbound MESSAGE_ID
    python -m scripts.dlq redrive --queue feedback|inbound [--max N | --per-second N] [--method auto|move-task|copy]
    python -m scripts.dlq status  --queue feedback|inbound          (AWS: the move tasks of that DLQ)

Where the queues are: `--stack FILE` (the local stack's description, by default $DESKMAIL_LOCAL_DIR/stack.json or
.local/stack.json when it exists) gives moto's endpoint and the queue URLs; otherwise `--stage` (default dev) names
them (chalicelib.naming) in the account and region of the usual AWS credentials.

Redrive in AWS is SQS's own StartMessageMoveTask: it moves every message back to the queue the messages came from
(at most --per-second a second if given; `status` follows it). moto (5.2) does not implement message move tasks,
so on the local stack the redrive receives each message from the DLQ, sends its body and attributes to the source
queue, then deletes it from the DLQ (`--method copy`; `auto` picks it whenever an endpoint URL is set).

Listing and showing receive the messages with a short visibility timeout and make them visible again at once:
nothing is consumed. `show` prints the whole body (an operator's tool: it names addresses, unlike the logs).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.naming import resource_names

QUEUES = {
    "feedback": ("feedback_queue", "dead_letter_queue"),
    "inbound": ("inbound_queue", "inbound_dead_letter_queue"),
}
STACK_KEYS = {
    "feedback": ("feedback_queue_url", "dead_letter_queue_url"),
    "inbound": ("inbound_queue_url", "inbound_dead_letter_queue_url"),
}
# Long enough to page through a DLQ without seeing a message twice; reset to 0 as soon as the listing is done.
PEEK_VISIBILITY_SECONDS = 30


@dataclass(frozen=True)
class Pipeline:
    sqs: Any
    queue_url: str
    dead_letter_url: str
    local: bool  # an endpoint URL (moto): no message move tasks

    def arn(self, url: str) -> str:
        return self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def default_stack_file() -> Path | None:
    directory = os.environ.get("DESKMAIL_LOCAL_DIR")
    candidate = Path(directory) / "stack.json" if directory else Path(".local") / "stack.json"
    return candidate if candidate.exists() else None


def pipeline(queue: str, stack_file: Path | None, stage: str, sqs: Any = None) -> Pipeline:
    import boto3

    if stack_file is not None:
        stack = json.loads(stack_file.read_text())
        queue_key, dead_letter_key = STACK_KEYS[queue]
        client = sqs or boto3.client(
            "sqs",
            endpoint_url=stack["aws_endpoint_url"],
            region_name=stack.get("region", "us-east-1"),
            aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
            aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        )
        return Pipeline(client, stack[queue_key], stack[dead_letter_key], local=True)
    client = sqs or boto3.client("sqs")
    names = resource_names(stage)
    queue_name, dead_letter_name = (names[key] for key in QUEUES[queue])
    return Pipeline(
        client,
        client.get_queue_url(QueueName=queue_name)["QueueUrl"],
        client.get_queue_url(QueueName=dead_letter_name)["QueueUrl"],
        local=bool(os.environ.get("AWS_ENDPOINT_URL")),
    )


def peek(pipe: Pipeline, limit: int) -> list[dict]:
    """Up to `limit` messages of the DLQ, left in it (made visible again before returning)."""
    seen: dict[str, dict] = {}
    try:
        while len(seen) < limit:
            response = pipe.sqs.receive_message(
                QueueUrl=pipe.dead_letter_url,
                MaxNumberOfMessages=min(10, limit - len(seen)),
                VisibilityTimeout=PEEK_VISIBILITY_SECONDS,
                WaitTimeSeconds=0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            batch = [m for m in response.get("Messages", []) if m["MessageId"] not in seen]
            if not batch:
                break
            seen.update((m["MessageId"], m) for m in batch)
    finally:
        _release(pipe, list(seen.values()))
    return list(seen.values())


def _release(pipe: Pipeline, messages: list[dict]) -> None:
    for start in range(0, len(messages), 10):
        entries = [
            {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
            for n, m in enumerate(messages[start : start + 10])
        ]
        pipe.sqs.change_message_visibility_batch(QueueUrl=pipe.dead_letter_url, Entries=entries)


def summary(message: dict) -> dict:
    """What a line of the listing says about one message: ids, times, size, and what SES reported in it."""
    attributes = message.get("Attributes", {})
    line: dict[str, Any] = {
        "message_id": message["MessageId"],
        "sent_at_ms": attributes.get("SentTimestamp"),
        "receive_count": attributes.get("ApproximateReceiveCount"),
        "bytes": len(message.get("Body", "").encode()),
    }
    document = ses_document(message.get("Body", ""))
    if isinstance(document, dict):
        mail = document.get("mail") if isinstance(document.get("mail"), dict) else {}
        line["type"] = document.get("eventType") or document.get("notificationType")
        line["ses_message_id"] = mail.get("messageId")
        line["source_format"] = "event" if "eventType" in document else "notification"
    else:
        line["type"] = "unreadable"
    return line


def ses_document(body: str) -> object:
    """The SES JSON inside the SNS envelope (or the raw body's JSON); None when it is not readable."""
    try:
        document = json.loads(body)
        if isinstance(document, dict) and isinstance(document.get("Message"), str):
            return json.loads(document["Message"])
        return document
    except (ValueError, RecursionError):
        return None


def find(pipe: Pipeline, message_id: str, limit: int = 1000) -> dict | None:
    return next((m for m in peek(pipe, limit) if m["MessageId"] == message_id), None)


def redrive(
    pipe: Pipeline, method: str = "auto", max_messages: int | None = None, per_second: int | None = None
) -> dict:
    """Moves DLQ messages back to their source queue: SQS's message move task in AWS, receive+send locally."""
    if method == "auto":
        method = "copy" if pipe.local else "move-task"
    if method == "move-task":
        request: dict[str, Any] = {
            "SourceArn": pipe.arn(pipe.dead_letter_url),
            "DestinationArn": pipe.arn(pipe.queue_url),
        }
        if per_second:
            request["MaxNumberOfMessagesPerSecond"] = per_second
        task = pipe.sqs.start_message_move_task(**request)
        return {"method": "move-task", "task_handle": task["TaskHandle"]}
    moved = 0
    while max_messages is None or moved < max_messages:
        wanted = 10 if max_messages is None else min(10, max_messages - moved)
        response = pipe.sqs.receive_message(
            QueueUrl=pipe.dead_letter_url,
            MaxNumberOfMessages=wanted,
            VisibilityTimeout=PEEK_VISIBILITY_SECONDS,
            WaitTimeSeconds=0,
            MessageAttributeNames=["All"],
        )
        messages = response.get("Messages", [])
        if not messages:
            break
        for message in messages:
            send: dict[str, Any] = {"QueueUrl": pipe.queue_url, "MessageBody": message["Body"]}
            if message.get("MessageAttributes"):
                send["MessageAttributes"] = message["MessageAttributes"]
            pipe.sqs.send_message(**send)
            # Deleted only once it is in the source queue: a crash in between duplicates, never loses (the
            # handlers are idempotent).
            pipe.sqs.delete_message(QueueUrl=pipe.dead_letter_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    return {"method": "copy", "moved": moved}


def status(pipe: Pipeline) -> list[dict]:
    return pipe.sqs.list_message_move_tasks(SourceArn=pipe.arn(pipe.dead_letter_url)).get("Results", [])


def depth(pipe: Pipeline) -> int:
    attributes = pipe.sqs.get_queue_attributes(
        QueueUrl=pipe.dead_letter_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def main(argv: list[str] | None = None, sqs: Any = None, out=sys.stdout) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.dlq", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["list", "show", "redrive", "status"])
    parser.add_argument("message_id", nargs="?", help="show: the SQS message id (from list)")
    parser.add_argument("--queue", choices=sorted(QUEUES), required=True)
    parser.add_argument("--stack", type=Path, default=None, help="the local stack's stack.json")
    parser.add_argument("--stage", default=os.environ.get("DESKMAIL_STAGE", "dev"))
    parser.add_argument("--limit", type=int, default=50)
    parser.add_argument("--max", type=int, default=None, dest="max_messages", help="copy: move at most this many")
    parser.add_argument("--per-second", type=int, default=None, help="move-task: MaxNumberOfMessagesPerSecond")
    parser.add_argument("--method", choices=["auto", "move-task", "copy"], default="auto")
    args = parser.parse_args(argv)
    stack_file = args.stack or default_stack_file()
    pipe = pipeline(args.queue, stack_file, args.stage, sqs=sqs)

    def emit(value: object) -> None:
        out.write(json.dumps(value, indent=2, default=str) + "\n")

    if args.command == "list":
        emit({"dead_letter_queue": pipe.dead_letter_url, "messages": depth(pipe)})
        for message in peek(pipe, args.limit):
            emit(summary(message))
    elif args.command == "show":
        if not args.message_id:
            parser.error("show needs a MESSAGE_ID (from list)")
        message = find(pipe, args.message_id)
        if message is None:
            emit({"error": f"no message {args.message_id} in {pipe.dead_letter_url}"})
            return 1
        emit({**summary(message), "attributes": message.get("Attributes", {}), "body": message.get("Body")})
        document = ses_document(message.get("Body", ""))
        if document is not None:
            emit({"ses": document})
    elif args.command == "redrive":
        result = redrive(pipe, args.method, args.max_messages, args.per_second)
        emit({**result, "left_in_dead_letter_queue": depth(pipe)})
    else:
        emit(status(pipe))
    return 0


if __name__ == "__main__":
    sys.exit(main())
