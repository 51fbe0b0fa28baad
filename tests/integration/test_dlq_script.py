"""scripts.dlq on the local stack's kind of AWS (a moto server): list, show and redrive a dead-letter queue."""

from __future__ import annotations

import io
import json

import boto3
import pytest
from botocore.stub import Stubber

from scripts import dlq
from tests import ses_payloads as ses


@pytest.fixture
def local_stack(tmp_path, monkeypatch):
    """A moto server with the feedback queue and its DLQ (maxReceiveCount 5), and the stack.json naming them."""
    from moto.server import ThreadedMotoServer

    for name in ("AWS_ENDPOINT_URL", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    # Port 0: the kernel picks a free port as the server binds it. A port probed free and bound later can be taken
    # in between (by another xdist worker), and ThreadedMotoServer.start() then waits forever for its thread.
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    sqs = boto3.client(
        "sqs", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t"
    )
    dead_letter = sqs.create_queue(QueueName="deskmail-feedback-dlq-dev")["QueueUrl"]
    dead_letter_arn = sqs.get_queue_attributes(QueueUrl=dead_letter, AttributeNames=["QueueArn"])["Attributes"]
    queue = sqs.create_queue(
        QueueName="deskmail-feedback-dev",
        Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_letter_arn["QueueArn"], "maxReceiveCount": "5"})
        },
    )["QueueUrl"]
    stack = tmp_path / "stack.json"
    stack.write_text(
        json.dumps(
            {
                "aws_endpoint_url": endpoint,
                "region": "us-east-1",
                "feedback_queue_url": queue,
                "dead_letter_queue_url": dead_letter,
                "inbound_queue_url": queue,
                "inbound_dead_letter_queue_url": dead_letter,
            }
        )
    )
    yield {"sqs": sqs, "queue": queue, "dead_letter": dead_letter, "stack": str(stack)}
    server.stop()


def run(*argv) -> list[dict]:
    out = io.StringIO()
    assert dlq.main(list(argv), out=out) == 0
    decoder, text, documents, position = json.JSONDecoder(), out.getvalue(), [], 0
    while position < len(text.rstrip()):
        document, position = decoder.raw_decode(text, position)
        documents.append(document)
        while position < len(text) and text[position].isspace():
            position += 1
    return documents


def all_bodies(sqs, url) -> list[str]:
    bodies = []
    while True:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not messages:
            return sorted(bodies)
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])


def test_list_show_and_redrive_on_the_local_stack(local_stack):
    sqs, stack = local_stack["sqs"], local_stack["stack"]
    bounce = ses.bounce("0100-dead-1", ["rita@example.com"], [ses.hard_bounce_recipient("rita@example.com")])
    bodies = [bounce, "{not json", *(ses.delivery(f"0100-dead-{n}", ["carl@example.com"]) for n in range(2, 14))]
    for body in bodies:
        sqs.send_message(QueueUrl=local_stack["dead_letter"], MessageBody=body)

    header, *listed = run("list", "--queue", "feedback", "--stack", stack)
    assert header["messages"] == len(bodies)
    assert len(listed) == len(bodies)  # more than one receive's worth, each once
    by_ses_id = {line.get("ses_message_id"): line for line in listed}
    assert by_ses_id["0100-dead-1"]["type"] == "Bounce" and by_ses_id[None]["type"] == "unreadable"
    # Listing consumed nothing: every message is still there, visible.
    assert run("list", "--queue", "feedback", "--stack", stack)[0]["messages"] == len(bodies)

    shown, ses_part = run("show", by_ses_id["0100-dead-1"]["message_id"], "--queue", "feedback", "--stack", stack)
    assert shown["body"] == bounce
    assert ses_part["ses"]["bounce"]["bouncedRecipients"][0]["emailAddress"] == "rita@example.com"

    (result,) = run("redrive", "--queue", "feedback", "--stack", stack, "--max", "3")
    assert result == {"method": "copy", "moved": 3, "left_in_dead_letter_queue": len(bodies) - 3}
    (result,) = run("redrive", "--queue", "feedback", "--stack", stack)
    assert result["moved"] == len(bodies) - 3 and result["left_in_dead_letter_queue"] == 0
    assert all_bodies(sqs, local_stack["queue"]) == sorted(bodies)
    assert all_bodies(sqs, local_stack["dead_letter"]) == []


def test_show_of_a_message_not_there_says_so(local_stack):
    out = io.StringIO()
    assert dlq.main(["show", "nope", "--queue", "feedback", "--stack", local_stack["stack"]], out=out) == 1
    assert "no message nope" in out.getvalue()


def test_redrive_in_aws_starts_sqs_message_move_task():
    """moto has no message move tasks: the AWS path is checked against the API's shapes with botocore's Stubber."""
    sqs = boto3.client("sqs", region_name="us-east-1", aws_access_key_id="t", aws_secret_access_key="t")
    base = "https://sqs.us-east-1.amazonaws.com/123456789012"
    arn = "arn:aws:sqs:us-east-1:123456789012:"
    with Stubber(sqs) as stub:
        stub.add_response(
            "get_queue_url", {"QueueUrl": f"{base}/deskmail-inbound-prod"}, {"QueueName": "deskmail-inbound-prod"}
        )
        stub.add_response(
            "get_queue_url",
            {"QueueUrl": f"{base}/deskmail-inbound-dlq-prod"},
            {"QueueName": "deskmail-inbound-dlq-prod"},
        )
        for name in ("deskmail-inbound-dlq-prod", "deskmail-inbound-prod"):
            stub.add_response(
                "get_queue_attributes",
                {"Attributes": {"QueueArn": arn + name}},
                {"QueueUrl": f"{base}/{name}", "AttributeNames": ["QueueArn"]},
            )
        stub.add_response(
            "start_message_move_task",
            {"TaskHandle": "task-1"},
            {
                "SourceArn": arn + "deskmail-inbound-dlq-prod",
                "DestinationArn": arn + "deskmail-inbound-prod",
                "MaxNumberOfMessagesPerSecond": 50,
            },
        )
        stub.add_response(
            "get_queue_attributes",
            {"Attributes": {"ApproximateNumberOfMessages": "7"}},
            {"QueueUrl": f"{base}/deskmail-inbound-dlq-prod", "AttributeNames": ["ApproximateNumberOfMessages"]},
        )
        out = io.StringIO()
        argv = ["redrive", "--queue", "inbound", "--stage", "prod", "--per-second", "50"]
        assert dlq.main(argv, sqs=sqs, out=out) == 0
        stub.assert_no_pending_responses()
    assert json.loads(out.getvalue()) == {
        "method": "move-task",
        "task_handle": "task-1",
        "left_in_dead_letter_queue": 7,
    }
