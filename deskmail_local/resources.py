"""Creates, in moto, the AWS resources the production stack has, with the same names (chalicelib.naming)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from chalicelib.naming import resource_names, table_definition

# What the configuration set publishes to SNS (SES v1 API names), as in production.
MATCHING_EVENT_TYPES = ["send", "reject", "bounce", "complaint", "delivery", "deliveryDelay"]
EVENT_DESTINATION_NAME = "feedback-sns"
MAX_RECEIVE_COUNT = 5
# Short, so a record the handler failed comes back while you watch (production uses the Lambda timeout's multiple).
VISIBILITY_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class Resources:
    table_name: str
    sender_domain: str
    configuration_set: str
    feedback_topic_arn: str
    feedback_queue_url: str
    feedback_queue_arn: str
    dead_letter_queue_url: str


def _queue_arn(sqs: Any, queue_url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def create_resources(clients: dict[str, Any], stage: str, sender_domain: str) -> Resources:
    """clients: boto3 clients against moto, by service name (dynamodb, sesv2, ses, sns, sqs)."""
    names = resource_names(stage)
    clients["dynamodb"].create_table(**table_definition(names["table"]))

    # Never set identity notification topics: moto's identity feedback is canned and wrong (FIELD-NOTES); the
    # mailbox simulator publishes through the configuration set's event destination instead.
    clients["sesv2"].create_email_identity(EmailIdentity=sender_domain)

    sns, sqs = clients["sns"], clients["sqs"]
    topic_arn = sns.create_topic(Name=names["feedback_topic"])["TopicArn"]
    dead_letter_url = sqs.create_queue(QueueName=names["dead_letter_queue"])["QueueUrl"]
    queue_url = sqs.create_queue(
        QueueName=names["feedback_queue"],
        Attributes={
            "VisibilityTimeout": str(VISIBILITY_TIMEOUT_SECONDS),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": _queue_arn(sqs, dead_letter_url), "maxReceiveCount": str(MAX_RECEIVE_COUNT)}
            ),
        },
    )["QueueUrl"]
    queue_arn = _queue_arn(sqs, queue_url)
    sqs.set_queue_attributes(
        QueueUrl=queue_url, Attributes={"Policy": json.dumps(_topic_may_send(queue_arn, topic_arn))}
    )
    # Not raw delivery: the queue receives SNS envelopes, as the production subscription does.
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)

    ses = clients["ses"]
    ses.create_configuration_set(ConfigurationSet={"Name": names["configuration_set"]})
    ses.create_configuration_set_event_destination(
        ConfigurationSetName=names["configuration_set"],
        EventDestination={
            "Name": EVENT_DESTINATION_NAME,
            "Enabled": True,
            "MatchingEventTypes": MATCHING_EVENT_TYPES,
            "SNSDestination": {"TopicARN": topic_arn},
        },
    )
    return Resources(
        table_name=names["table"],
        sender_domain=sender_domain,
        configuration_set=names["configuration_set"],
        feedback_topic_arn=topic_arn,
        feedback_queue_url=queue_url,
        feedback_queue_arn=queue_arn,
        dead_letter_queue_url=dead_letter_url,
    )


def _topic_may_send(queue_arn: str, topic_arn: str) -> dict:
    """The queue policy production needs for the subscription (moto does not check it; kept for the same shape)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}},
            }
        ],
    }
