"""The local stack's feedback worker: the SQS event Lambda builds, and deleting only what the handler did not fail."""

from __future__ import annotations

import threading

from deskmail_local.worker import QueueWorker, lambda_context, sqs_event

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:deskmail-feedback-dev"


def received(message_id: str, body: str = "{}") -> dict:
    """A message as SQS ReceiveMessage returns it (AttributeNames and MessageAttributeNames All)."""
    return {
        "MessageId": message_id,
        "ReceiptHandle": f"handle-{message_id}",
        "MD5OfBody": "99914b932bd37a50b983c5e7c90ae93b",
        "Body": body,
        "Attributes": {
            "SenderId": "AIDAIT2UOQQY3AUEKVGXU",
            "SentTimestamp": "1795421082415",
            "ApproximateReceiveCount": "1",
            "ApproximateFirstReceiveTimestamp": "1795421082421",
        },
        "MessageAttributes": {"origin": {"StringValue": "ses", "DataType": "String"}},
    }


def test_the_event_has_the_shape_lambda_builds():
    event = sqs_event([received("m1", '{"Type": "Notification"}')], QUEUE_ARN, "us-east-1")
    assert event == {
        "Records": [
            {
                "messageId": "m1",
                "receiptHandle": "handle-m1",
                "body": '{"Type": "Notification"}',
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1795421082415",
                    "SenderId": "AIDAIT2UOQQY3AUEKVGXU",
                    "ApproximateFirstReceiveTimestamp": "1795421082421",
                },
                "messageAttributes": {
                    "origin": {
                        "stringValue": "ses",
                        "binaryValue": None,
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": "String",
                    }
                },
                "md5OfBody": "99914b932bd37a50b983c5e7c90ae93b",
                "eventSource": "aws:sqs",
                "eventSourceARN": QUEUE_ARN,
                "awsRegion": "us-east-1",
            }
        ]
    }


def test_the_context_names_the_function_as_chalice_deploys_it():
    context = lambda_context("deskmail-dev-handle_ses_feedback", "us-east-1", "123456789012")
    assert context.function_name == "deskmail-dev-handle_ses_feedback"
    assert context.invoked_function_arn == (
        "arn:aws:lambda:us-east-1:123456789012:function:deskmail-dev-handle_ses_feedback"
    )
    assert context.memory_limit_in_mb == 256 and context.aws_request_id


class FakeSqs:
    def __init__(self, messages):
        self.messages = messages
        self.deleted: list[str] = []
        self.receive_requests: list[dict] = []

    def receive_message(self, **request):
        self.receive_requests.append(request)
        return {"Messages": self.messages}

    def delete_message_batch(self, QueueUrl, Entries):
        self.deleted += [entry["ReceiptHandle"] for entry in Entries]


def worker(sqs, handler) -> QueueWorker:
    return QueueWorker(sqs, "url", QUEUE_ARN, handler, "fn", "us-east-1", "123456789012", threading.Event())


def test_only_the_records_the_handler_did_not_fail_are_deleted():
    sqs = FakeSqs([received("m1"), received("m2"), received("m3")])
    calls = []

    def handler(event, context):
        calls.append((event, context))
        return {"batchItemFailures": [{"itemIdentifier": "m2"}]}

    assert worker(sqs, handler).poll_once() == 2
    assert sqs.deleted == ["handle-m1", "handle-m3"]
    assert [record["messageId"] for record in calls[0][0]["Records"]] == ["m1", "m2", "m3"]
    assert sqs.receive_requests[0]["MaxNumberOfMessages"] == 10
    assert sqs.receive_requests[0]["WaitTimeSeconds"] <= 2


def test_a_handler_that_raises_fails_the_whole_batch():
    sqs = FakeSqs([received("m1"), received("m2")])

    def handler(event, context):
        raise RuntimeError("boom")

    assert worker(sqs, handler).poll_once() == 0
    assert sqs.deleted == []


def test_an_empty_receive_invokes_nothing():
    sqs = FakeSqs([])
    assert worker(sqs, lambda event, context: 1 / 0).poll_once() == 0
