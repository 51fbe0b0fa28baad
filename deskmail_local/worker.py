"""The local stand-in for Lambda's SQS event source mapping: long-polls a queue (the feedback queue, the inbound
queue) and hands each batch to the very handler Lambda runs for it (app.handle_ses_feedback,
app.handle_inbound_email), then deletes what the partial batch response did not name."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("deskmail_local.worker")

BATCH_SIZE = 10
WAIT_SECONDS = 1  # short, so Ctrl-C stops the worker at once


@dataclass(frozen=True)
class LambdaContext:
    """The attributes of Lambda's context object that the handler and Powertools read."""

    function_name: str
    invoked_function_arn: str
    aws_request_id: str
    memory_limit_in_mb: int = 256
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = "local"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def lambda_context(function_name: str, region: str, account_id: str) -> LambdaContext:
    return LambdaContext(
        function_name=function_name,
        invoked_function_arn=f"arn:aws:lambda:{region}:{account_id}:function:{function_name}",
        aws_request_id=str(uuid.uuid4()),
        log_group_name=f"/aws/lambda/{function_name}",
    )


def _lambda_message_attributes(attributes: dict) -> dict:
    # SQS's API says StringValue/DataType, Lambda's event says stringValue/dataType and always has the list fields.
    return {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": value.get("StringListValues", []),
            "binaryListValues": value.get("BinaryListValues", []),
            "dataType": value.get("DataType"),
        }
        for name, value in attributes.items()
    }


def sqs_event(messages: list[dict], queue_arn: str, region: str) -> dict:
    """The event Lambda builds from received SQS messages."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": {
                    name: message.get("Attributes", {}).get(name, "")
                    for name in (
                        "ApproximateReceiveCount",
                        "SentTimestamp",
                        "SenderId",
                        "ApproximateFirstReceiveTimestamp",
                    )
                },
                "messageAttributes": _lambda_message_attributes(message.get("MessageAttributes", {})),
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for message in messages
        ]
    }


class QueueWorker:
    """One thread per queue: receive up to ten, invoke, delete the successes; failures come back after the visibility
    timeout and, after maxReceiveCount receives, move to the dead-letter queue (moto applies the redrive policy).
    `name` says which queue in thread names and log lines ("feedback", "inbound")."""

    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        queue_arn: str,
        handler: Callable[[dict, Any], Any],
        function_name: str,
        region: str,
        account_id: str,
        stop: threading.Event,
        name: str = "feedback",
        invocation_lock: threading.Lock | None = None,
    ):
        self.name = name
        # Lambda runs each function in its own process; here the handlers share one Powertools logger (its Lambda
        # context keys are module state), so workers that share this lock never invoke at the same time.
        self.invocation_lock = invocation_lock or threading.Lock()
        self.sqs = sqs
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.handler = handler
        self.function_name = function_name
        self.region = region
        self.account_id = account_id
        self.stop = stop
        self.thread = threading.Thread(target=self._run, name=f"{name}-worker", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def join(self, timeout: float | None = None) -> None:
        self.thread.join(timeout)

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                self.poll_once()
            except Exception:  # keep polling, as the event source mapping does; the traceback says what broke
                log.exception("%s worker: receiving or deleting failed", self.name)
                self.stop.wait(1)

    def poll_once(self) -> int:
        """One receive and one invocation; returns how many records were handled successfully."""
        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=BATCH_SIZE,
            WaitTimeSeconds=WAIT_SECONDS,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return 0
        event = sqs_event(messages, self.queue_arn, self.region)
        try:
            with self.invocation_lock:
                response = self.handler(event, lambda_context(self.function_name, self.region, self.account_id))
        except Exception:
            # A failed invocation fails the whole batch: nothing is deleted, SQS redelivers every record.
            log.exception("%s handler raised; all %d records will be retried", self.name, len(messages))
            return 0
        failed = {item["itemIdentifier"] for item in (response or {}).get("batchItemFailures", [])}
        done = [message for message in messages if message["MessageId"] not in failed]
        if done:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(index), "ReceiptHandle": m["ReceiptHandle"]} for index, m in enumerate(done)],
            )
        if failed:
            log.info("%s worker: %d of %d records failed; SQS retries them", self.name, len(failed), len(messages))
        return len(done)
