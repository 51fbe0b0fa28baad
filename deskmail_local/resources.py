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
    inbound_topic_arn: str
    inbound_queue_url: str
    inbound_queue_arn: str
    inbound_dead_letter_queue_url: str
    inbound_bucket: str = ""
    attachments_bucket: str = ""


def _queue_arn(sqs: Any, queue_url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def create_resources(clients: dict[str, Any], stage: str, sender_domain: str) -> Resources:
    """clients: boto3 clients against moto, by service name (dynamodb, sesv2, ses, sns, sqs, s3)."""
    names = resource_names(stage)
    clients["dynamodb"].create_table(**table_definition(names["table"]))

    # Never set identity notification topics: moto's identity feedback is canned and wrong (FIELD-NOTES); the
    # mailbox simulator publishes through the configuration set's event destination instead.
    clients["sesv2"].create_email_identity(EmailIdentity=sender_domain)

    sns, sqs = clients["sns"], clients["sqs"]
    feedback = _subscribed_queue(sns, sqs, names["feedback_topic"], names["feedback_queue"], names["dead_letter_queue"])
    # SES receipt rule -> SNS -> SQS -> handle_inbound_email. moto has no receipt rules that deliver anything: the
    # mailbox simulator publishes the "Received" notifications to this topic itself.
    inbound = _subscribed_queue(
        sns, sqs, names["inbound_topic"], names["inbound_queue"], names["inbound_dead_letter_queue"]
    )

    # The receipt rule's S3 action stores every inbound message here (inbound/{id}), as deployed.
    clients["s3"].create_bucket(Bucket=names["inbound_bucket"])
    # Comments' files (issue 18): private, KMS by default as deployed; the page uploads to it straight from the
    # browser (presigned POST), so moto must answer the page's origin (CORS: POST from the API's origin).
    clients["s3"].create_bucket(Bucket=names["attachments_bucket"])
    clients["s3"].put_bucket_encryption(
        Bucket=names["attachments_bucket"],
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}]
        },
    )
    clients["s3"].put_bucket_cors(
        Bucket=names["attachments_bucket"],
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedMethods": ["POST", "GET"],
                    "AllowedOrigins": ["*"],
                    "AllowedHeaders": ["*"],
                    "MaxAgeSeconds": 600,
                }
            ]
        },
    )

    ses = clients["ses"]
    ses.create_configuration_set(ConfigurationSet={"Name": names["configuration_set"]})
    ses.create_configuration_set_event_destination(
        ConfigurationSetName=names["configuration_set"],
        EventDestination={
            "Name": EVENT_DESTINATION_NAME,
            "Enabled": True,
            "MatchingEventTypes": MATCHING_EVENT_TYPES,
            "SNSDestination": {"TopicARN": feedback.topic_arn},
        },
    )
    return Resources(
        table_name=names["table"],
        sender_domain=sender_domain,
        configuration_set=names["configuration_set"],
        feedback_topic_arn=feedback.topic_arn,
        feedback_queue_url=feedback.queue_url,
        feedback_queue_arn=feedback.queue_arn,
        dead_letter_queue_url=feedback.dead_letter_queue_url,
        inbound_topic_arn=inbound.topic_arn,
        inbound_queue_url=inbound.queue_url,
        inbound_queue_arn=inbound.queue_arn,
        inbound_dead_letter_queue_url=inbound.dead_letter_queue_url,
        inbound_bucket=names["inbound_bucket"],
        attachments_bucket=names["attachments_bucket"],
    )


@dataclass(frozen=True)
class SubscribedQueue:
    topic_arn: str
    queue_url: str
    queue_arn: str
    dead_letter_queue_url: str


def _subscribed_queue(sns: Any, sqs: Any, topic_name: str, queue_name: str, dead_letter_name: str) -> SubscribedQueue:
    """An SNS topic, an SQS queue subscribed to it and the queue's dead-letter queue (maxReceiveCount 5)."""
    topic_arn = sns.create_topic(Name=topic_name)["TopicArn"]
    dead_letter_url = sqs.create_queue(QueueName=dead_letter_name)["QueueUrl"]
    queue_url = sqs.create_queue(
        QueueName=queue_name,
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
    return SubscribedQueue(topic_arn, queue_url, queue_arn, dead_letter_url)


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
