"""What the synthesized production template must contain: one test per promise of infrastructure/README.md."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from aws_cdk.assertions import Match

from chalicelib.naming import (
    ATTACHMENT_OBJECT_PREFIX,
    INBOUND_OBJECT_PREFIX,
    INDEX_PROJECTIONS,
    TABLE_INDEXES,
    TTL_ATTRIBUTE,
    resource_names,
)
from tests.infrastructure.stage_context import CONTEXT

REPO_ROOT = Path(__file__).resolve().parents[2]
NAMES = resource_names("prod")
INBOUND_DLQ = "deskmail-inbound-dlq-prod"
FEEDBACK_EVENT = "HandleSesFeedbackSqsEventSource"
INBOUND_EVENT = "HandleInboundEmailSqsEventSource"
RULE_SET = "deskmail-prod"
# The bucket name carries the account id (bucket names are global): a token in an account-agnostic template.
INBOUND_BUCKET = {"Fn::Join": ["", ["deskmail-inbound-prod-", {"Ref": "AWS::AccountId"}]]}
RULE = "deskmail-prod-inbound"
ATTACHMENTS_BUCKET = {"Fn::Join": ["", ["deskmail-attachments-prod-", {"Ref": "AWS::AccountId"}]]}
# The roles name the attachments objects by the bucket's name, never its token (no dependency on the bucket).
ATTACHMENT_OBJECTS = {
    "Fn::Join": [
        "",
        [
            "arn:",
            {"Ref": "AWS::Partition"},
            ":s3:::deskmail-attachments-prod-",
            {"Ref": "AWS::AccountId"},
            f"/{ATTACHMENT_OBJECT_PREFIX}*",
        ],
    ]
}
PIPELINE_TOPICS = (NAMES["feedback_topic"], NAMES["inbound_topic"])
DELIVERY_DLQ = {
    NAMES["feedback_topic"]: NAMES["feedback_delivery_dead_letter_queue"],
    NAMES["inbound_topic"]: NAMES["inbound_delivery_dead_letter_queue"],
}
ALL_DLQS = (
    NAMES["dead_letter_queue"],
    INBOUND_DLQ,
    NAMES["feedback_delivery_dead_letter_queue"],
    NAMES["inbound_delivery_dead_letter_queue"],
    NAMES["schedule_dead_letter_queue"],
)
SCHEDULED = ("PublishReputation", "SweepOutbox")


def only(resources: dict, resource_type: str, **where) -> tuple[str, dict]:
    """The single resource of a type (optionally with matching top-level properties)."""
    found = [
        (logical_id, resource)
        for logical_id, resource in resources.items()
        if resource["Type"] == resource_type
        and all(resource["Properties"].get(key) == value for key, value in where.items())
    ]
    assert len(found) == 1, f"expected one {resource_type} {where}, found {[i for i, _ in found]}"
    return found[0]


def logical_id(resources: dict, resource_type: str, **where) -> str:
    return only(resources, resource_type, **where)[0]


def ref(resources: dict, resource_type: str, **where) -> dict:
    return {"Ref": logical_id(resources, resource_type, **where)}


def arn_of(resources: dict, resource_type: str, **where) -> dict:
    return {"Fn::GetAtt": [logical_id(resources, resource_type, **where), "Arn"]}


def key_of(resources: dict, description_start: str) -> str:
    keys = [
        i
        for i, r in resources.items()
        if r["Type"] == "AWS::KMS::Key" and r["Properties"]["Description"].startswith(description_start)
    ]
    assert len(keys) == 1
    return keys[0]


def functions(resources: dict) -> dict[str, dict]:
    return {i: r for i, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}


# --- DynamoDB ---------------------------------------------------------------------------------------------------


def test_table_is_on_demand_with_pitr_cmk_ttl_and_the_naming_module_indexes(template, resources):
    data_key = key_of(resources, "deskmail prod: table")
    template.has_resource_properties(
        "AWS::DynamoDB::Table",
        {
            "TableName": NAMES["table"],
            "BillingMode": "PAY_PER_REQUEST",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {
                "SSEEnabled": True,
                "SSEType": "KMS",
                "KMSMasterKeyId": {"Fn::GetAtt": [data_key, "Arn"]},
            },
            "TimeToLiveSpecification": {"AttributeName": TTL_ATTRIBUTE, "Enabled": True},
            "KeySchema": [
                {"AttributeName": "PK", "KeyType": "HASH"},
                {"AttributeName": "SK", "KeyType": "RANGE"},
            ],
        },
    )
    _, table = only(resources, "AWS::DynamoDB::Table")
    indexes = {index["IndexName"]: index for index in table["Properties"]["GlobalSecondaryIndexes"]}
    assert set(indexes) == set(TABLE_INDEXES)
    for name, (pk, sk) in TABLE_INDEXES.items():
        assert indexes[name]["KeySchema"] == [
            {"AttributeName": pk, "KeyType": "HASH"},
            {"AttributeName": sk, "KeyType": "RANGE"},
        ]
        assert indexes[name]["Projection"] == {"ProjectionType": INDEX_PROJECTIONS[name]}
    assert INDEX_PROJECTIONS["GSI3"] == "KEYS_ONLY"  # the outbox queue: its state changes write nothing there
    attributes = table["Properties"]["AttributeDefinitions"]
    assert all(attribute["AttributeType"] == "S" for attribute in attributes)


def test_prod_table_and_keys_survive_deletion(template, resources):
    template.has_resource(
        "AWS::DynamoDB::Table",
        {
            "Properties": {"DeletionProtectionEnabled": True},
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
        },
    )
    for key in (r for r in resources.values() if r["Type"] == "AWS::KMS::Key"):
        assert key["DeletionPolicy"] == "Retain"
        assert key["Properties"]["EnableKeyRotation"] is True


# --- SNS topics ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("topic_name", PIPELINE_TOPICS)
def test_pipeline_topics_use_a_cmk_whose_policy_lets_ses_of_this_account_use_it(template, resources, topic_name):
    messaging_key = key_of(resources, "deskmail prod: SES feedback")
    template.has_resource_properties(
        "AWS::SNS::Topic",
        {"TopicName": topic_name, "KmsMasterKeyId": {"Fn::GetAtt": [messaging_key, "Arn"]}},
    )
    statements = resources[messaging_key]["Properties"]["KeyPolicy"]["Statement"]
    ses = [s for s in statements if s.get("Sid") == "SesPublishesToEncryptedTopic"]
    assert len(ses) == 1
    assert ses[0]["Principal"] == {"Service": "ses.amazonaws.com"}
    assert set(ses[0]["Action"]) == {"kms:GenerateDataKey", "kms:Decrypt"}
    assert ses[0]["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    # SNS may decrypt for delivery to the queues, but only on behalf of our two topics.
    sns = [s for s in statements if s.get("Principal") == {"Service": "sns.amazonaws.com"}]
    assert len(sns) == 1
    source_arns = sns[0]["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert len(source_arns) == 2
    assert all(f':{name}"' in json.dumps(source_arns) for name in PIPELINE_TOPICS)


def topic_policy_allows(resources: dict, topic_name: str) -> list[dict]:
    topic = ref(resources, "AWS::SNS::Topic", TopicName=topic_name)
    policies = [
        r for r in resources.values() if r["Type"] == "AWS::SNS::TopicPolicy" and r["Properties"]["Topics"] == [topic]
    ]
    assert len(policies) == 1
    statements = policies[0]["Properties"]["PolicyDocument"]["Statement"]
    # Plain-HTTP publishing is refused.
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
    )
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert allows, "SES needs an Allow"
    for statement in allows:
        assert statement["Principal"] == {"Service": "ses.amazonaws.com"}
        assert statement["Action"] == "sns:Publish"
        conditions = {key.lower(): value for block in statement["Condition"].values() for key, value in block.items()}
        assert conditions["aws:sourceaccount"] == {"Ref": "AWS::AccountId"}
        assert "aws:sourcearn" in conditions
    return allows


def test_feedback_topic_policy_lets_only_ses_of_this_account_publish_for_our_identity_or_configuration_set(
    resources,
):
    for statement in topic_policy_allows(resources, NAMES["feedback_topic"]):
        source_arns = json.dumps(statement["Condition"])
        assert "configuration-set/" in source_arns or ":identity/" in source_arns
    identity_statement = json.dumps(topic_policy_allows(resources, NAMES["feedback_topic"]))
    assert ":identity/mail.example.org" in identity_statement
    assert ":configuration-set/" in identity_statement


def test_inbound_topic_policy_lets_only_our_receipt_rule_publish(resources):
    allows = topic_policy_allows(resources, NAMES["inbound_topic"])
    assert len(allows) == 1
    assert allows[0]["Condition"]["ArnLike"]["aws:SourceArn"] == [
        {
            "Fn::Join": [
                "",
                [
                    "arn:",
                    {"Ref": "AWS::Partition"},
                    ":ses:",
                    {"Ref": "AWS::Region"},
                    ":",
                    {"Ref": "AWS::AccountId"},
                    f":receipt-rule-set/{RULE_SET}:receipt-rule/{RULE}",
                ],
            ]
        }
    ]


# --- SQS queues, DLQs, alarms -----------------------------------------------------------------------------------

PIPELINES = [
    # (topic, queue, DLQ, handler)
    (NAMES["feedback_topic"], NAMES["feedback_queue"], NAMES["dead_letter_queue"], "HandleSesFeedback"),
    (NAMES["inbound_topic"], NAMES["inbound_queue"], INBOUND_DLQ, "HandleInboundEmail"),
]


@pytest.mark.parametrize("topic_name, queue_name, dlq_name, handler", PIPELINES)
def test_queue_is_subscribed_to_its_topic_with_the_sns_envelope(resources, topic_name, queue_name, dlq_name, handler):
    topic = ref(resources, "AWS::SNS::Topic", TopicName=topic_name)
    queue = arn_of(resources, "AWS::SQS::Queue", QueueName=queue_name)
    _, subscription = only(resources, "AWS::SNS::Subscription", TopicArn=topic)
    delivery_dlq = arn_of(resources, "AWS::SQS::Queue", QueueName=DELIVERY_DLQ[topic_name])
    assert subscription["Properties"] == {
        "Protocol": "sqs",
        "TopicArn": topic,
        "Endpoint": queue,
        "RawMessageDelivery": False,
        # What SNS cannot deliver (a queue policy or KMS mistake) goes to a DLQ of its own, not into the void.
        "RedrivePolicy": {"deadLetterTargetArn": delivery_dlq},
    }
    # Created only once the queue policy admits the topic, or the first notifications would be lost.
    policy_id = logical_id_of_queue_policy(resources, queue_name)
    assert subscription["DependsOn"] == [policy_id]
    delivers = [s for s in resources[policy_id]["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert len(delivers) == 1
    assert {key: value for key, value in delivers[0].items() if key != "Sid"} == {
        "Effect": "Allow",
        "Principal": {"Service": "sns.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": queue,
        "Condition": {"ArnEquals": {"aws:SourceArn": topic}},
    }


def logical_id_of_queue_policy(resources: dict, queue_name: str) -> str:
    queue = ref(resources, "AWS::SQS::Queue", QueueName=queue_name)
    return logical_id(resources, "AWS::SQS::QueuePolicy", Queues=[queue])


@pytest.mark.parametrize("topic_name, queue_name, dlq_name, handler", PIPELINES)
def test_queue_is_encrypted_redrives_after_5_and_outlasts_six_handler_timeouts(
    resources, topic_name, queue_name, dlq_name, handler
):
    messaging_key = key_of(resources, "deskmail prod: SES feedback")
    _, queue = only(resources, "AWS::SQS::Queue", QueueName=queue_name)
    properties = queue["Properties"]
    assert properties["KmsMasterKeyId"] == {"Fn::GetAtt": [messaging_key, "Arn"]}
    assert properties["RedrivePolicy"] == {
        "deadLetterTargetArn": arn_of(resources, "AWS::SQS::Queue", QueueName=dlq_name),
        "maxReceiveCount": 5,
    }
    handler_timeout = functions(resources)[handler]["Properties"]["Timeout"]
    assert handler_timeout == CONTEXT["lambda_timeout_seconds"]
    assert properties["VisibilityTimeout"] >= 6 * handler_timeout


@pytest.mark.parametrize("dlq_name", ALL_DLQS)
def test_dead_letter_queue_is_encrypted_keeps_messages_14_days_and_survives_a_prod_stack_deletion(resources, dlq_name):
    messaging_key = key_of(resources, "deskmail prod: SES feedback")
    _, dlq = only(resources, "AWS::SQS::Queue", QueueName=dlq_name)
    assert dlq["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert dlq["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [messaging_key, "Arn"]}
    assert dlq["DeletionPolicy"] == dlq["UpdateReplacePolicy"] == "Retain"


def test_dev_dead_letter_queues_go_with_the_stack(dev_resources):
    dlqs = [
        r for r in dev_resources.values() if r["Type"] == "AWS::SQS::Queue" and "dlq" in r["Properties"]["QueueName"]
    ]
    assert len(dlqs) == len(ALL_DLQS)
    assert {r.get("DeletionPolicy") for r in dlqs} == {"Delete"}


@pytest.mark.parametrize("queue_name", [NAMES["feedback_queue"], NAMES["inbound_queue"]])
def test_pipeline_queues_keep_messages_14_days_not_the_default_4(resources, queue_name):
    _, queue = only(resources, "AWS::SQS::Queue", QueueName=queue_name)
    assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600


def test_queues_refuse_plain_http(resources):
    policies = [r for r in resources.values() if r["Type"] == "AWS::SQS::QueuePolicy"]
    assert len(policies) == 2 + len(ALL_DLQS)  # two pipeline queues and every DLQ
    for policy in policies:
        denies = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
        assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies)


@pytest.mark.parametrize("topic_name", PIPELINE_TOPICS)
def test_delivery_dlq_admits_only_its_topic(resources, topic_name):
    topic = ref(resources, "AWS::SNS::Topic", TopicName=topic_name)
    dlq = arn_of(resources, "AWS::SQS::Queue", QueueName=DELIVERY_DLQ[topic_name])
    policy_id = logical_id_of_queue_policy(resources, DELIVERY_DLQ[topic_name])
    allows = [s for s in resources[policy_id]["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert [(s["Principal"], s["Action"], s["Resource"], s["Condition"]) for s in allows] == [
        ({"Service": "sns.amazonaws.com"}, "sqs:SendMessage", dlq, {"ArnEquals": {"aws:SourceArn": topic}})
    ]


def alarms(resources: dict) -> dict[str, dict]:
    return {
        r["Properties"]["AlarmName"]: r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
    }


def alarm(resources: dict, construct_id: str) -> dict:
    return alarms(resources)[f"deskmail-prod-{construct_id}"]


def alarm_topic_id(resources: dict) -> str:
    topics = [
        i
        for i, r in resources.items()
        if r["Type"] == "AWS::SNS::Topic" and r["Properties"].get("TopicName") not in PIPELINE_TOPICS
    ]
    assert len(topics) == 1
    return topics[0]


def test_alarm_topic_policy_lets_cloudwatch_alarms_of_this_account_publish_and_still_refuses_plain_http(resources):
    # enforce_ssl gives the topic an explicit policy, replacing SNS's default one: without an Allow for CloudWatch,
    # every alarm action fails silently.
    topic = {"Ref": alarm_topic_id(resources)}
    (policy,) = [
        r for r in resources.values() if r["Type"] == "AWS::SNS::TopicPolicy" and r["Properties"]["Topics"] == [topic]
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
    )
    (allow,) = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert allow["Action"] == "sns:Publish"
    assert allow["Resource"] == topic
    assert allow["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert ":alarm:*" in json.dumps(allow["Condition"]["ArnLike"]["aws:SourceArn"])
    # The topic's key lets CloudWatch encrypt what it publishes.
    messaging_key = key_of(resources, "deskmail prod: SES feedback")
    assert resources[alarm_topic_id(resources)]["Properties"]["KmsMasterKeyId"] == {
        "Fn::GetAtt": [messaging_key, "Arn"]
    }
    key_statements = resources[messaging_key]["Properties"]["KeyPolicy"]["Statement"]
    (cloudwatch,) = [s for s in key_statements if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}]
    assert set(cloudwatch["Action"]) == {"kms:GenerateDataKey", "kms:Decrypt"}
    assert ":alarm:*" in json.dumps(cloudwatch["Condition"]["ArnLike"])


@pytest.mark.parametrize("dlq_name", ALL_DLQS)
def test_alarm_fires_on_any_visible_message_in_each_dlq_and_notifies_the_alarm_topic(template, resources, dlq_name):
    alarm_topic = alarm_topic_id(resources)
    assert "KmsMasterKeyId" in resources[alarm_topic]["Properties"]
    template.has_resource_properties(
        "AWS::SNS::Subscription",
        {"Protocol": "email", "Endpoint": CONTEXT["alarm_email"], "TopicArn": {"Ref": alarm_topic}},
    )
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/SQS",
            "MetricName": "ApproximateNumberOfMessagesVisible",
            "Dimensions": [
                {
                    "Name": "QueueName",
                    "Value": {
                        "Fn::GetAtt": [logical_id(resources, "AWS::SQS::Queue", QueueName=dlq_name), "QueueName"]
                    },
                }
            ],
            "Statistic": "Maximum",
            "Period": 60,
            "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": 0,
            "EvaluationPeriods": 1,
            "AlarmActions": [{"Ref": alarm_topic}],
            "OKActions": [{"Ref": alarm_topic}],
        },
    )


@pytest.mark.parametrize(
    "prefix, queue_name", [("Feedback", NAMES["feedback_queue"]), ("Inbound", NAMES["inbound_queue"])]
)
def test_pipeline_queue_alarms_when_its_oldest_message_waits_over_an_hour(resources, prefix, queue_name):
    # A mapping that stopped polling never moves messages to the DLQ: their age is the only sign.
    properties = alarm(resources, f"{prefix}QueueAgeAlarm")
    assert properties["Namespace"] == "AWS/SQS"
    assert properties["MetricName"] == "ApproximateAgeOfOldestMessage"
    assert properties["Dimensions"] == [
        {
            "Name": "QueueName",
            "Value": {"Fn::GetAtt": [logical_id(resources, "AWS::SQS::Queue", QueueName=queue_name), "QueueName"]},
        }
    ]
    assert (properties["Statistic"], properties["ComparisonOperator"], properties["Threshold"]) == (
        "Maximum",
        "GreaterThanThreshold",
        3600,
    )
    # Far beyond a message's own retries (5 receives x the visibility timeout), far below the 14-day retention.
    visibility = only(resources, "AWS::SQS::Queue", QueueName=queue_name)[1]["Properties"]["VisibilityTimeout"]
    assert 5 * visibility < properties["Threshold"] < 14 * 24 * 3600


@pytest.mark.parametrize(
    "prefix, topic_name", [("Feedback", NAMES["feedback_topic"]), ("Inbound", NAMES["inbound_topic"])]
)
def test_failed_sns_deliveries_alarm(resources, prefix, topic_name):
    properties = alarm(resources, f"{prefix}NotificationsFailedAlarm")
    assert (properties["Namespace"], properties["MetricName"], properties["Statistic"]) == (
        "AWS/SNS",
        "NumberOfNotificationsFailed",
        "Sum",
    )
    assert properties["Dimensions"] == [
        {
            "Name": "TopicName",
            "Value": {"Fn::GetAtt": [logical_id(resources, "AWS::SNS::Topic", TopicName=topic_name), "TopicName"]},
        }
    ]
    assert (properties["ComparisonOperator"], properties["Threshold"]) == ("GreaterThanThreshold", 0)


@pytest.mark.parametrize(
    "metric, threshold, review_level",
    [
        ("BounceRate24h", 2.5, 5),
        ("BounceRate7d", 2.5, 5),
        ("ComplaintRate24h", 0.05, 0.1),
        ("ComplaintRate7d", 0.05, 0.1),
    ],
)
def test_reputation_alarms_fire_before_the_ses_review_levels_and_on_missing_data(
    resources, metric, threshold, review_level
):
    # app.publish_reputation emits Powertools metrics (unit Percent, 0-100) every 15 minutes; SES reviews an account
    # at 5 % bounces or 0.1 % complaints: the alarms fire at half of that.
    alarm_topic = alarm_topic_id(resources)
    _, found = only(resources, "AWS::CloudWatch::Alarm", MetricName=metric)
    properties = found["Properties"]
    assert {key: properties[key] for key in ("Namespace", "Dimensions", "Unit", "Statistic", "Threshold")} == {
        "Namespace": "Deskmail/prod",  # POWERTOOLS_METRICS_NAMESPACE, per stage
        "Dimensions": [{"Name": "service", "Value": "deskmail"}],  # POWERTOOLS_SERVICE_NAME
        "Unit": "Percent",
        "Statistic": "Maximum",
        "Threshold": threshold,
    }
    assert threshold < review_level
    assert properties["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert properties["Period"] >= 15 * 60  # at least one value per period
    assert properties["AlarmActions"] == properties["OKActions"] == [{"Ref": alarm_topic}]
    # A schedule that stopped running shows as missing data, and that is itself notified.
    assert properties["TreatMissingData"] == "missing"
    assert properties["InsufficientDataActions"] == [{"Ref": alarm_topic}]


@pytest.mark.parametrize("metric, threshold", [("Reputation.BounceRate", 0.025), ("Reputation.ComplaintRate", 0.0005)])
def test_ses_account_level_reputation_alarms_fire_before_the_review_levels(resources, metric, threshold):
    # SES's own rates are fractions (0-1), account-wide, without dimensions.
    _, found = only(resources, "AWS::CloudWatch::Alarm", MetricName=metric)
    properties = found["Properties"]
    assert properties["Namespace"] == "AWS/SES"
    assert "Dimensions" not in properties
    assert properties["Threshold"] == threshold
    assert properties["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert properties["AlarmActions"] == [{"Ref": alarm_topic_id(resources)}]


def test_dev_and_prod_reputation_metrics_live_in_different_namespaces(resources, dev_resources):
    def namespaces(found):
        return {
            r["Properties"]["Namespace"]
            for r in found.values()
            if r["Type"] == "AWS::CloudWatch::Alarm"
            and r["Properties"].get("MetricName", "").startswith(("BounceRate", "ComplaintRate"))
        }

    assert namespaces(resources) == {"Deskmail/prod"}
    assert namespaces(dev_resources) == {"Deskmail/dev"}
    for found, namespace in ((resources, "Deskmail/prod"), (dev_resources, "Deskmail/dev")):
        for function in functions(found).values():
            assert function["Properties"]["Environment"]["Variables"]["POWERTOOLS_METRICS_NAMESPACE"] == namespace


def test_every_function_alarms_on_errors_and_throttles(resources):
    for function_id in functions(resources):
        for metric in ("Errors", "Throttles"):
            properties = alarm(resources, f"{function_id}{metric}Alarm")
            assert (properties["Namespace"], properties["MetricName"], properties["Statistic"]) == (
                "AWS/Lambda",
                metric,
                "Sum",
            )
            assert properties["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function_id}}]
            assert (properties["ComparisonOperator"], properties["Threshold"]) == ("GreaterThanThreshold", 0)


def test_api_alarms_on_5xx_and_latency_of_this_stages_api(resources):
    _, api = only(resources, "AWS::Serverless::Api")
    assert api["Properties"]["Name"] == "deskmail-prod"  # API Gateway's metrics are keyed by it
    dimensions = [{"Name": "ApiName", "Value": "deskmail-prod"}, {"Name": "Stage", "Value": "api"}]
    errors = alarm(resources, "Api5xxAlarm")
    assert (errors["Namespace"], errors["MetricName"], errors["Statistic"], errors["Threshold"]) == (
        "AWS/ApiGateway",
        "5XXError",
        "Sum",
        0,
    )
    assert errors["Dimensions"] == dimensions
    latency = alarm(resources, "ApiLatencyAlarm")
    assert (
        latency["MetricName"],
        latency["ExtendedStatistic"],
        latency["Threshold"],
        latency["EvaluationPeriods"],
    ) == (
        "Latency",
        "p95",
        5000,
        3,
    )
    assert latency["Dimensions"] == dimensions


def test_every_alarm_notifies_the_alarm_topic_and_names_its_runbook_section(resources):
    alarm_topic = alarm_topic_id(resources)
    found = alarms(resources)
    # Per pipeline: DLQ, delivery DLQ, queue age, failed notifications; the schedule DLQ; four deskmail reputation
    # rates and SES's two; Errors and Throttles per function; the API's 5xx and latency.
    assert len(found) == 2 * 4 + 1 + 4 + 2 + 2 * len(functions(resources)) + 2
    readme = (REPO_ROOT / "infrastructure" / "README.md").read_text()
    for name, properties in found.items():
        assert properties["AlarmActions"] == properties["OKActions"] == [{"Ref": alarm_topic}], name
        construct_id = name.removeprefix("deskmail-prod-")
        assert f"Runbook: infrastructure/README.md, '{construct_id}'" in properties["AlarmDescription"]
        runbook_id = construct_id
        for function_id in functions(resources):
            runbook_id = runbook_id.replace(function_id, "<Function>")
        assert f"`{runbook_id}`" in readme, f"no runbook entry for {runbook_id}"


# --- SES -----------------------------------------------------------------------------------------------------------


def test_configuration_set_sends_every_tracked_event_type_to_the_topic(template, resources):
    template.has_resource_properties("AWS::SES::ConfigurationSet", {"Name": NAMES["configuration_set"]})
    template.has_resource_properties(
        "AWS::SES::ConfigurationSetEventDestination",
        {
            "ConfigurationSetName": ref(resources, "AWS::SES::ConfigurationSet"),
            "EventDestination": {
                "Enabled": True,
                "MatchingEventTypes": Match.array_equals(
                    ["send", "reject", "bounce", "complaint", "delivery", "deliveryDelay"]
                ),
                "SnsDestination": {"TopicARN": ref(resources, "AWS::SNS::Topic", TopicName=NAMES["feedback_topic"])},
            },
        },
    )


def test_sending_domain_is_a_dkim_identity_using_the_configuration_set(template, resources):
    template.has_resource_properties(
        "AWS::SES::EmailIdentity",
        {
            "EmailIdentity": CONTEXT["sender_domain"],
            "ConfigurationSetAttributes": {"ConfigurationSetName": ref(resources, "AWS::SES::ConfigurationSet")},
        },
    )
    _, identity = only(resources, "AWS::SES::EmailIdentity")
    assert identity["Properties"].get("DkimAttributes", {}).get("SigningEnabled", True) is True


def test_sending_domain_has_a_custom_mail_from_domain_and_its_dns_records_in_the_outputs(resources, template):
    # SPF then passes for our own domain, aligned with From (DMARC); until the records resolve SES uses its own.
    _, identity = only(resources, "AWS::SES::EmailIdentity")
    mail_from = f"{CONTEXT['mail_from_subdomain']}.{CONTEXT['sender_domain']}"
    assert identity["Properties"]["MailFromAttributes"] == {
        "MailFromDomain": mail_from,
        "BehaviorOnMxFailure": "USE_DEFAULT_VALUE",
    }
    outputs = template.to_json()["Outputs"]
    assert json.dumps(outputs["MailFromMxRecord"]["Value"]).startswith(
        f'{{"Fn::Join": ["", ["{mail_from} MX 10 feedback-smtp.'
    )
    assert outputs["MailFromSpfRecord"]["Value"] == f'{mail_from} TXT "v=spf1 include:amazonses.com ~all"'


def test_ses_feedback_emails_are_turned_off_after_the_notification_topics_and_back_on_at_deletion(resources):
    calls = {
        i: r
        for i, r in resources.items()
        if r["Type"] == "Custom::AWS"
        and "setIdentityFeedbackForwardingEnabled" in json.dumps(r["Properties"]["Create"])
    }
    ((call_id, call),) = calls.items()
    for phase, enabled in (("Create", False), ("Update", False), ("Delete", True)):
        parameters = json.loads(call["Properties"][phase])["parameters"]
        assert parameters == {"Identity": CONTEXT["sender_domain"], "ForwardingEnabled": enabled}, phase
    # SES refuses to turn forwarding off before both notification topics are set.
    topic_calls = [
        i
        for i, r in resources.items()
        if r["Type"] == "Custom::AWS" and "setIdentityNotificationTopic" in json.dumps(r["Properties"]["Create"])
    ]
    assert set(topic_calls) <= set(call["DependsOn"])


def test_kms_key_statements_for_aws_services_are_limited_to_our_resources(resources):
    messaging_key = key_of(resources, "deskmail prod: SES feedback")
    statements = resources[messaging_key]["Properties"]["KeyPolicy"]["Statement"]
    (ses,) = [s for s in statements if s.get("Sid") == "SesPublishesToEncryptedTopic"]
    source_arns = json.dumps(ses["Condition"]["ArnLike"]["aws:SourceArn"])
    # The configuration set and identity (feedback) and the receipt rule (inbound), nothing wider.
    assert ":configuration-set/deskmail-prod" in source_arns
    assert ":identity/mail.example.org" in source_arns
    assert f":receipt-rule-set/{RULE_SET}:receipt-rule/{RULE}" in source_arns
    assert "*" not in source_arns
    data_key = key_of(resources, "deskmail prod: table")
    statements = resources[data_key]["Properties"]["KeyPolicy"]["Statement"]
    (logs,) = [
        s
        for s in statements
        if s.get("Principal") == {"Service": {"Fn::Join": ["", ["logs.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}}
    ]
    log_groups = json.dumps(logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"])
    assert "*" not in log_groups
    names = {r["Properties"]["LogGroupName"] for r in resources.values() if r["Type"] == "AWS::Logs::LogGroup"}
    assert all(f":log-group:{name}" in log_groups for name in names)
    assert len(logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]) == len(names)


def test_identity_bounce_and_complaint_notifications_go_to_the_topic(resources):
    topic_id = logical_id(resources, "AWS::SNS::Topic", TopicName=NAMES["feedback_topic"])
    calls = [
        r
        for r in resources.values()
        if r["Type"] == "Custom::AWS" and "setIdentityNotificationTopic" in json.dumps(r["Properties"]["Create"])
    ]
    assert len(calls) == 2
    seen = set()
    for call in calls:
        create = json.dumps(call["Properties"]["Create"])
        assert "setIdentityNotificationTopic" in create
        assert topic_id in create
        assert CONTEXT["sender_domain"] in create
        seen |= {kind for kind in ("Bounce", "Complaint") if f'\\"NotificationType\\":\\"{kind}\\"' in create}
        # Deleting the stack detaches the topic instead of leaving SES pointing at nothing.
        assert "SnsTopic" not in call["Properties"]["Delete"]
    assert seen == {"Bounce", "Complaint"}


def test_receipt_rule_stores_each_message_in_the_bucket_and_notifies_the_inbound_topic(resources):
    rule_set_id, _ = only(resources, "AWS::SES::ReceiptRuleSet", RuleSetName=RULE_SET)
    rule_id, rule = only(resources, "AWS::SES::ReceiptRule")
    bucket = logical_id(resources, "AWS::S3::Bucket", BucketName=INBOUND_BUCKET)
    assert rule["Properties"] == {
        "RuleSetName": {"Ref": rule_set_id},
        "Rule": {
            "Name": RULE,
            "Enabled": True,
            "Recipients": CONTEXT["inbound_recipients"],
            # ONE action: mail of any size (the SNS action stops at 150 KB); the topic gets bucket and key.
            "Actions": [
                {
                    "S3Action": {
                        "BucketName": {"Ref": bucket},
                        "ObjectKeyPrefix": INBOUND_OBJECT_PREFIX,
                        "TopicArn": ref(resources, "AWS::SNS::Topic", TopicName=NAMES["inbound_topic"]),
                    }
                }
            ],
            # The handler drops mail whose spam or virus verdict is FAIL: SES only adds verdicts when scanning.
            "ScanEnabled": True,
            "TlsPolicy": "Optional",
        },
    }
    # SES checks it may write (bucket policy) and publish (topic policy) when the rule is created.
    topic = ref(resources, "AWS::SNS::Topic", TopicName=NAMES["inbound_topic"])
    topic_policy = logical_id(resources, "AWS::SNS::TopicPolicy", Topics=[topic])
    bucket_policy = logical_id(resources, "AWS::S3::BucketPolicy", Bucket={"Ref": bucket})
    assert sorted(rule["DependsOn"]) == sorted([topic_policy, bucket_policy])


def test_inbound_bucket_is_private_kms_encrypted_versioned_access_logged_and_expires_mail(resources):
    bucket_id, bucket = only(resources, "AWS::S3::Bucket", BucketName=INBOUND_BUCKET)
    properties = bucket["Properties"]
    messaging_key = key_of(resources, "deskmail prod: SES feedback")
    assert properties["BucketEncryption"] == {
        "ServerSideEncryptionConfiguration": [
            {
                "BucketKeyEnabled": True,
                "ServerSideEncryptionByDefault": {
                    "SSEAlgorithm": "aws:kms",
                    "KMSMasterKeyID": {"Fn::GetAtt": [messaging_key, "Arn"]},
                },
            }
        ]
    }
    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    assert properties["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    log_bucket = properties["LoggingConfiguration"]["DestinationBucketName"]
    assert log_bucket != {"Ref": bucket_id} and resources[log_bucket["Ref"]]["Type"] == "AWS::S3::Bucket"
    (rule,) = properties["LifecycleConfiguration"]["Rules"]
    assert rule["Prefix"] == INBOUND_OBJECT_PREFIX
    assert rule["ExpirationInDays"] == CONTEXT["inbound_mail_retention_days"]
    assert rule["Status"] == "Enabled"
    assert bucket["DeletionPolicy"] == "Retain"


def test_only_our_receipt_rule_may_put_objects_and_only_under_the_prefix_over_tls(resources):
    bucket = logical_id(resources, "AWS::S3::Bucket", BucketName=INBOUND_BUCKET)
    _, policy = only(resources, "AWS::S3::BucketPolicy", Bucket={"Ref": bucket})
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
    )
    (allow,) = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "ses.amazonaws.com"}
    assert allow["Action"] == "s3:PutObject"
    assert allow["Resource"] == {"Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, f"/{INBOUND_OBJECT_PREFIX}*"]]}
    conditions = allow["Condition"]["StringEquals"]
    assert conditions["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert json.dumps(conditions["aws:SourceArn"]).endswith(f':receipt-rule-set/{RULE_SET}:receipt-rule/{RULE}"]]}}')
    # SES writes through S3 under the bucket's KMS key: the key lets it only via S3, for this bucket.
    messaging_key = key_of(resources, "deskmail prod: SES feedback")
    (kms,) = [
        s
        for s in resources[messaging_key]["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Sid") == "SesStoresInboundMailInTheBucket"
    ]
    assert kms["Principal"] == {"Service": "ses.amazonaws.com"}
    assert kms["Condition"]["StringEquals"]["kms:ViaService"] == {
        "Fn::Join": ["", ["s3.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]
    }
    assert ":s3:::deskmail-inbound-prod-" in json.dumps(kms["Condition"]["ArnEquals"])


def test_only_the_inbound_function_knows_the_bucket(resources):
    for name, function in functions(resources).items():
        variables = function["Properties"]["Environment"]["Variables"]
        if name == "HandleInboundEmail":
            bucket = logical_id(resources, "AWS::S3::Bucket", BucketName=INBOUND_BUCKET)
            assert variables["DESKMAIL_INBOUND_BUCKET"] == {"Ref": bucket}
        else:
            assert "DESKMAIL_INBOUND_BUCKET" not in variables, name


# --- Attachments (issue 18) ------------------------------------------------------------------------------------


def test_attachments_bucket_is_private_tls_only_kms_encrypted_with_its_own_rotating_key(resources):
    bucket_id, bucket = only(resources, "AWS::S3::Bucket", BucketName=ATTACHMENTS_BUCKET)
    properties = bucket["Properties"]
    key = key_of(resources, "deskmail prod: attachments")
    assert resources[key]["Properties"]["EnableKeyRotation"] is True
    assert properties["BucketEncryption"] == {
        "ServerSideEncryptionConfiguration": [
            {
                "BucketKeyEnabled": True,
                "ServerSideEncryptionByDefault": {
                    "SSEAlgorithm": "aws:kms",
                    "KMSMasterKeyID": {"Fn::GetAtt": [key, "Arn"]},
                },
            }
        ]
    }
    assert properties["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    assert properties["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    # Server access logs go where the inbound bucket's go (SSE-S3: S3 cannot write logs under SSE-KMS).
    inbound = only(resources, "AWS::S3::Bucket", BucketName=INBOUND_BUCKET)[1]
    logging = properties["LoggingConfiguration"]
    assert logging["DestinationBucketName"] == inbound["Properties"]["LoggingConfiguration"]["DestinationBucketName"]
    assert logging["LogFilePrefix"] == "attachments-bucket/"
    assert bucket["DeletionPolicy"] == "Retain"

    _, policy = only(resources, "AWS::S3::BucketPolicy", Bucket={"Ref": bucket_id})
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert not [s for s in statements if s["Effect"] == "Allow"]  # IAM alone grants; the policy only refuses
    assert any(
        s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} and s["Action"] == "s3:*" for s in statements
    )
    denies = {s["Sid"]: s for s in statements if "Sid" in s}
    assert denies["DenyOtherEncryption"]["Condition"] == {
        "StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}
    }
    # Not "IfExists": a put naming only "aws:kms" would get the AWS-managed aws/s3 key, so every put names ours.
    assert denies["DenyOtherKeys"]["Condition"] == {
        "StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": {"Fn::GetAtt": [key, "Arn"]}}
    }
    assert denies["DenyCustomerProvidedKeys"]["Condition"] == {
        "Null": {"s3:x-amz-server-side-encryption-customer-algorithm": "false"}
    }
    assert {s["Action"] for s in denies.values()} == {"s3:PutObject"}


def test_attachments_expire_after_the_retention_move_to_infrequent_access_and_leave_no_uploads_behind(resources):
    _, bucket = only(resources, "AWS::S3::Bucket", BucketName=ATTACHMENTS_BUCKET)
    rules = {rule["Id"]: rule for rule in bucket["Properties"]["LifecycleConfiguration"]["Rules"]}
    retention = rules["AttachmentRetention"]
    assert retention["Prefix"] == ATTACHMENT_OBJECT_PREFIX and retention["Status"] == "Enabled"
    assert retention["ExpirationInDays"] == CONTEXT["attachment_retention_days"]
    assert retention["Transitions"] == [{"StorageClass": "STANDARD_IA", "TransitionInDays": 30}]
    assert retention["NoncurrentVersionExpiration"] == {"NoncurrentDays": 7}
    # Whole bucket: an upload the browser never finished is gone after a day.
    assert rules["CleanUp"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    assert rules["CleanUp"]["ExpiredObjectDeleteMarker"] is True and "Prefix" not in rules["CleanUp"]


def test_attachments_cors_lets_only_the_page_origin_post(resources):
    _, bucket = only(resources, "AWS::S3::Bucket", BucketName=ATTACHMENTS_BUCKET)
    (rule,) = bucket["Properties"]["CorsConfiguration"]["CorsRules"]
    assert rule["AllowedMethods"] == ["POST"]
    assert rule["AllowedOrigins"] == [
        {
            "Fn::Join": [
                "",
                [
                    "https://",
                    {"Ref": "RestAPI"},
                    ".execute-api.",
                    {"Ref": "AWS::Region"},
                    ".",
                    {"Ref": "AWS::URLSuffix"},
                ],
            ]
        }
    ]
    # The API itself answers no CORS preflight: the page is served from the API's own origin.
    paths = resources["RestAPI"]["Properties"]["DefinitionBody"]["paths"]
    assert not [path for path, methods in paths.items() if "options" in methods]


def test_each_function_reaches_attachments_only_as_far_as_it_must(resources):
    key = key_of(resources, "deskmail prod: attachments")
    api = role_policy(resources, "APIHandler")
    # Presigned uploads and downloads are signed with the API's role: S3 checks PutObject/GetObject on it.
    assert sorted(_as_list(api["AttachmentObjects"]["Action"])) == ["s3:GetObject", "s3:PutObject"]
    assert api["AttachmentObjects"]["Resource"] == ATTACHMENT_OBJECTS
    assert api["AttachmentsKey"] == {
        "Sid": "AttachmentsKey",
        "Effect": "Allow",
        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
        "Resource": {"Fn::GetAtt": [key, "Arn"]},
    }
    # The inbound handler stores a reply's files and, like the outbox sweep, reads files it attaches inline.
    inbound = role_policy(resources, "HandleInboundEmail")
    assert sorted(_as_list(inbound["AttachmentObjects"]["Action"])) == ["s3:GetObject", "s3:PutObject"]
    assert inbound["AttachmentObjects"]["Resource"] == ATTACHMENT_OBJECTS
    assert inbound["AttachmentsKey"]["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    sweep = role_policy(resources, "SweepOutbox")
    assert sweep["AttachmentObjects"]["Action"] == "s3:GetObject"
    assert sweep["AttachmentObjects"]["Resource"] == ATTACHMENT_OBJECTS
    assert sweep["AttachmentsKey"]["Action"] == "kms:Decrypt"
    for name in ("HandleSesFeedback", "PublishReputation"):
        statements = role_policy(resources, name)
        assert "AttachmentObjects" not in statements and "AttachmentsKey" not in statements, name
        assert key not in json.dumps(statements), name


def test_the_functions_that_touch_files_know_the_bucket_the_writers_the_key_and_the_page_its_origin(resources):
    origin = {
        "Fn::Join": [
            "",
            [
                "https://deskmail-attachments-prod-",
                {"Ref": "AWS::AccountId"},
                ".s3.",
                {"Ref": "AWS::Region"},
                ".",
                {"Ref": "AWS::URLSuffix"},
            ],
        ]
    }
    key = {"Fn::GetAtt": [key_of(resources, "deskmail prod: attachments"), "Arn"]}
    for name, function in functions(resources).items():
        variables = function["Properties"]["Environment"]["Variables"]
        if name in ("APIHandler", "HandleInboundEmail", "SweepOutbox"):
            assert variables["DESKMAIL_ATTACHMENTS_BUCKET"] == ATTACHMENTS_BUCKET, name
            assert variables["DESKMAIL_DOWNLOAD_URL_TEMPLATE"] == CONTEXT["download_url_template"], name
        else:
            assert "DESKMAIL_ATTACHMENTS_BUCKET" not in variables, name
        # Only writers name the key (the bucket policy refuses a put without it).
        assert variables.get("DESKMAIL_ATTACHMENTS_KMS_KEY") == (
            key if name in ("APIHandler", "HandleInboundEmail") else None
        ), name
        assert ("DESKMAIL_ATTACHMENTS_ORIGIN" in variables) == (name == "APIHandler"), name
    assert (
        functions(resources)["APIHandler"]["Properties"]["Environment"]["Variables"]["DESKMAIL_ATTACHMENTS_ORIGIN"]
        == origin
    )


def test_receipt_rule_set_is_activated_only_when_asked_and_deactivated_on_delete(resources):
    calls = {
        i: r
        for i, r in resources.items()
        if r["Type"] == "Custom::AWS" and "setActiveReceiptRuleSet" in json.dumps(r["Properties"]["Create"])
    }
    assert len(calls) == 1
    (activation,) = calls.values()
    properties = activation["Properties"]
    for phase in ("Create", "Update"):
        call = json.loads(properties[phase])
        assert (call["service"], call["action"], call["parameters"]) == (
            "SES",
            "setActiveReceiptRuleSet",
            {"RuleSetName": RULE_SET},
        )
    # No RuleSetName: deactivates, since SES refuses to delete the active set.
    assert json.loads(properties["Delete"])["parameters"] == {}
    rule_id = logical_id(resources, "AWS::SES::ReceiptRule")
    assert rule_id in activation["DependsOn"]
    # Its grant: only this action (it has no resource type, hence "*").
    policies = [r for i, r in resources.items() if r["Type"] == "AWS::IAM::Policy" and i in activation["DependsOn"]]
    assert [
        statement["Action"] for policy in policies for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ] == ["ses:SetActiveReceiptRuleSet"]


def test_outputs_name_the_inbound_resources_and_the_mx_record(template):
    outputs = template.to_json()["Outputs"]
    assert {"InboundTopicArn", "InboundQueueUrl", "ReceiptRuleSetName", "InboundMxRecord"} <= set(outputs)
    mx = outputs["InboundMxRecord"]
    assert mx["Value"] == {"Fn::Join": ["", ["10 inbound-smtp.", {"Ref": "AWS::Region"}, ".amazonaws.com"]]}
    assert mx["Description"].endswith("mail.example.org, replies.example.org")


# --- Lambda functions, event source mapping, API --------------------------------------------------------------


@pytest.mark.parametrize(
    "handler, event_name, queue_name, prefix",
    [
        ("HandleSesFeedback", FEEDBACK_EVENT, NAMES["feedback_queue"], "feedback"),
        ("HandleInboundEmail", INBOUND_EVENT, NAMES["inbound_queue"], "inbound"),
    ],
)
def test_sqs_mapping_reads_the_real_queue_and_reports_partial_batch_failures(
    resources, handler, event_name, queue_name, prefix
):
    # Both handlers return Powertools' process_partial_response (batchItemFailures).
    events = functions(resources)[handler]["Properties"]["Events"]
    assert list(events) == [event_name]
    assert events[event_name]["Type"] == "SQS"
    assert events[event_name]["Properties"] == {
        "Queue": arn_of(resources, "AWS::SQS::Queue", QueueName=queue_name),
        "BatchSize": CONTEXT[f"{prefix}_batch_size"],
        "MaximumBatchingWindowInSeconds": CONTEXT[f"{prefix}_batching_window_seconds"],
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "ScalingConfig": {"MaximumConcurrency": CONTEXT[f"{prefix}_max_concurrency"]},
    }


def test_reputation_is_published_every_15_minutes(resources):
    events = functions(resources)["PublishReputation"]["Properties"]["Events"]
    assert [event["Type"] for event in events.values()] == ["Schedule"]
    assert [event["Properties"]["Schedule"] for event in events.values()] == ["rate(15 minutes)"]


def scheduled_functions(resources: dict) -> dict[str, dict]:
    return {
        name: function
        for name, function in functions(resources).items()
        if any(event["Type"] == "Schedule" for event in function["Properties"].get("Events", {}).values())
    }


def test_every_scheduled_function_sends_a_failed_run_to_the_schedule_dlq(resources):
    # EventBridge invokes asynchronously: after Lambda's two retries a failing run would be dropped.
    scheduled = scheduled_functions(resources)
    assert "PublishReputation" in scheduled
    assert set(scheduled) <= set(SCHEDULED)
    dlq = arn_of(resources, "AWS::SQS::Queue", QueueName=NAMES["schedule_dead_letter_queue"])
    for name, function in scheduled.items():
        assert function["Properties"]["EventInvokeConfig"] == {
            "MaximumRetryAttempts": 2,
            "DestinationConfig": {"OnFailure": {"Type": "SQS", "Destination": dlq}},
        }, name
    # Only the scheduled ones: the others are invoked synchronously (API) or by SQS mappings.
    for name, function in functions(resources).items():
        if name not in scheduled:
            assert "EventInvokeConfig" not in function["Properties"], name


def test_api_function_times_out_before_api_gateway_and_the_others_use_the_context_timeout(resources):
    for name, function in functions(resources).items():
        timeout = function["Properties"]["Timeout"]
        if name == "APIHandler":
            assert timeout == CONTEXT["api_timeout_seconds"] < 29
        else:
            assert timeout == CONTEXT["lambda_timeout_seconds"], name


def test_functions_run_with_our_role_the_powertools_layer_tracing_and_our_log_group(resources):
    log_group = ref(resources, "AWS::Logs::LogGroup", LogGroupName="/aws/lambda/deskmail-prod")
    assert set(functions(resources)) == {
        "APIHandler",
        "HandleSesFeedback",
        "HandleInboundEmail",
        "PublishReputation",
        "SweepOutbox",
    }
    for name, function in functions(resources).items():
        properties = function["Properties"]
        # Its own role (tests/infrastructure/test_roles.py checks what each allows).
        role = properties["Role"]["Fn::GetAtt"][0]
        assert resources[role]["Type"] == "AWS::IAM::Role", name
        # python3.11 is deprecated by Lambda on 2027-06-30.
        assert properties["Runtime"] == "python3.13", name
        assert properties["Architectures"] == ["x86_64"], name
        assert properties["Tracing"] == "Active", name
        assert properties["LoggingConfig"] == {"LogGroup": log_group}, name
        layers = json.dumps(properties["Layers"])
        # The official layer built for that runtime and architecture.
        assert ":017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-x86_64:" in layers, name
    # Chalice made no role of its own (autogen_policy off, manage_iam_role off).
    assert "DefaultRole" not in resources


def test_the_lambda_package_holds_no_binary_built_for_another_python(resources, template_path):
    # Chalice downloads wheels for the runtime it packages for (cp313 here, not the cp311 that runs synth): a
    # compiled wheel for 3.11 would fail to import on 3.13.
    keys = {f["Properties"]["CodeUri"]["Key"] for f in functions(resources).values()}
    assert len(keys) == 1
    package = zipfile.ZipFile(template_path.parent / f"asset.{keys.pop()}")
    names = package.namelist()
    assert "app.py" in names and any(name.startswith("chalicelib/") for name in names)
    for name in names:
        if name.endswith(".so"):
            assert "cpython-313" in name or ".abi3." in name, name
        if name.endswith(".dist-info/WHEEL"):
            tags = [
                line.split(":", 1)[1].strip()
                for line in package.read(name).decode().splitlines()
                if line.startswith("Tag:")
            ]
            assert tags, name
            for tag in tags:
                python, abi, platform = tag.split("-")
                assert (abi, platform) == ("none", "any") or python == "cp313" or abi == "abi3", (name, tag)
                # cp311-abi3 (cryptography) is the stable ABI from 3.11 on: it imports on 3.13. A cp311-cp311 is not.
                assert abi == "abi3" or "cp311" not in tag, (name, tag)


def test_stage_environment_comes_from_the_stack_resources(resources):
    expected = {
        "DESKMAIL_STAGE": "prod",
        "DESKMAIL_TABLE_NAME": ref(resources, "AWS::DynamoDB::Table"),
        "DESKMAIL_FEEDBACK_QUEUE": NAMES["feedback_queue"],
        "DESKMAIL_INBOUND_QUEUE": NAMES["inbound_queue"],
        "DESKMAIL_SENDER": CONTEXT["sender"],
        "DESKMAIL_CONFIGURATION_SET": ref(resources, "AWS::SES::ConfigurationSet"),
        "DESKMAIL_DEFAULT_LOCALE": "en",
        "DESKMAIL_SUPPRESSION_BACKEND": "ses",
        "DESKMAIL_TRANSIENT_BOUNCE_THRESHOLD": str(CONTEXT["transient_bounce_threshold"]),
        "DESKMAIL_TRANSIENT_BOUNCE_WINDOW_DAYS": str(CONTEXT["transient_bounce_window_days"]),
        "DESKMAIL_MAX_NOTIFICATIONS_PER_10_MINUTES": str(CONTEXT["max_notifications_per_10_minutes"]),
        "DESKMAIL_MAX_NOTIFICATIONS_PER_HOUR": str(CONTEXT["max_notifications_per_hour"]),
        "POWERTOOLS_SERVICE_NAME": "deskmail",
        "POWERTOOLS_METRICS_NAMESPACE": "Deskmail/prod",
        "POWERTOOLS_LOG_LEVEL": CONTEXT["powertools_log_level"],
    }
    for name, function in functions(resources).items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert {key: variables.get(key) for key in expected} == expected, name
        # Local-only settings never reach AWS.
        assert not {"DESKMAIL_JWT_SECRET", "DESKMAIL_ALLOW_RESERVED_DOMAINS", "DESKMAIL_LOCAL_SUPPRESSION_FILE"} & set(
            variables
        ), name


def test_api_stage_is_throttled_traced_and_access_logged(resources):
    _, api = only(resources, "AWS::Serverless::Api")
    properties = api["Properties"]
    assert properties["TracingEnabled"] is True
    stage_wide, *per_route = properties["MethodSettings"]
    assert stage_wide == {
        "ResourcePath": "/*",
        "HttpMethod": "*",
        "ThrottlingRateLimit": CONTEXT["api_throttle_rate"],
        "ThrottlingBurstLimit": CONTEXT["api_throttle_burst"],
        "MetricsEnabled": True,
    }
    # The routes that send email get a lower limit of their own; each names a method the API really has.
    paths = properties["DefinitionBody"]["paths"]
    assert {(s["ResourcePath"], s["HttpMethod"]) for s in per_route} == {
        ("/~1tickets", "POST"),
        ("/~1tickets~1{ticket_id}~1comments", "POST"),
        ("/~1tickets~1{ticket_id}~1comments~1{comment_id}~1resend", "POST"),
    }
    for setting in per_route:
        assert setting["HttpMethod"].lower() in paths[setting["ResourcePath"][1:].replace("~1", "/")]
        assert (setting["ThrottlingRateLimit"], setting["ThrottlingBurstLimit"]) == (
            CONTEXT["api_send_throttle_rate"],
            CONTEXT["api_send_throttle_burst"],
        )
    access_logs = logical_id(resources, "AWS::Logs::LogGroup", LogGroupName="/aws/apigateway/deskmail-prod")
    assert properties["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": [access_logs, "Arn"]}
    log_format = json.loads(properties["AccessLogSetting"]["Format"])
    # Enough to answer a 5xx or latency alarm from the log: which part failed, and how long each took.
    for variable in (
        "$context.requestId",
        "$context.status",
        "$context.error.message",
        "$context.error.responseType",
        "$context.integration.error",
        "$context.integration.status",
        "$context.responseLatency",
        "$context.integrationLatency",
        "$context.wafResponseCode",
    ):
        assert variable in log_format.values(), variable


def test_a_waf_web_acl_with_a_per_ip_rate_rule_guards_the_api_stage(resources):
    acl_id, acl = only(resources, "AWS::WAFv2::WebACL")
    properties = acl["Properties"]
    assert properties["Scope"] == "REGIONAL"
    assert properties["DefaultAction"] == {"Allow": {}}
    rules = {rule["Name"]: rule for rule in properties["Rules"]}
    assert rules["RatePerIp"]["Action"] == {"Block": {}}
    assert rules["RatePerIp"]["Statement"]["RateBasedStatement"] == {
        "AggregateKeyType": "IP",
        "Limit": CONTEXT["waf_requests_per_5_minutes_per_ip"],
    }
    assert {"AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesAmazonIpReputationList"} <= set(rules)
    _, association = only(resources, "AWS::WAFv2::WebACLAssociation")
    assert association["Properties"]["WebACLArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    # SAM's reference to the stage it creates (a dependency on it, too).
    assert association["Properties"]["ResourceArn"] == {
        "Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${RestAPI}/stages/${RestAPI.Stage}"
    }
    _, logging = only(resources, "AWS::WAFv2::LoggingConfiguration")
    assert logging["Properties"]["ResourceArn"] == {"Fn::GetAtt": [acl_id, "Arn"]}
    assert ":log-group:aws-waf-logs-deskmail-prod" in json.dumps(logging["Properties"]["LogDestinationConfigs"])


def test_log_groups_keep_the_context_retention_and_are_encrypted(resources):
    groups = [r for r in resources.values() if r["Type"] == "AWS::Logs::LogGroup"]
    assert len(groups) == 4  # functions, custom resources, API access, WAF
    for group in groups:
        assert group["Properties"]["RetentionInDays"] == CONTEXT["log_retention_days"]
        assert "KmsKeyId" in group["Properties"]


def test_no_shared_secret_signing_key_exists_in_aws(resources):
    # Tokens come from the user pool (RS256, verified against its JWKS): nothing signs with a shared secret.
    assert not [r for r in resources.values() if r["Type"] == "AWS::SecretsManager::Secret"]
    for function in functions(resources).values():
        variables = function["Properties"]["Environment"]["Variables"]
        assert not {"DESKMAIL_JWT_SECRET", "DESKMAIL_JWT_SECRET_ARN"} & set(variables)


# --- Sign-in: Cognito ------------------------------------------------------------------------------------------------


def test_user_pool_has_a_strong_password_policy_totp_mfa_threat_protection_and_deletion_protection(resources):
    _, pool = only(resources, "AWS::Cognito::UserPool")
    properties = pool["Properties"]
    assert properties["UserPoolName"] == "deskmail-prod"
    policy = properties["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] >= 12
    assert all(policy[k] for k in ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols"))
    # Admins invite agents; nobody signs up alone.
    assert properties["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    # TOTP only; prod requires it by default.
    assert properties["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert properties["MfaConfiguration"] == "ON"
    assert properties["UserPoolAddOns"] == {"AdvancedSecurityMode": "ENFORCED"}
    assert properties["DeletionProtection"] == "ACTIVE"
    assert pool["DeletionPolicy"] == "Retain"


def test_dev_user_pool_makes_mfa_optional_and_can_be_deleted(dev_resources):
    _, pool = only(dev_resources, "AWS::Cognito::UserPool")
    assert pool["Properties"]["MfaConfiguration"] == "OPTIONAL"
    assert pool["Properties"]["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert pool["Properties"].get("DeletionProtection", "INACTIVE") == "INACTIVE"


def test_user_pool_has_the_two_role_groups(resources):
    pool = ref(resources, "AWS::Cognito::UserPool")
    groups = {r["Properties"]["GroupName"]: r for r in resources.values() if r["Type"] == "AWS::Cognito::UserPoolGroup"}
    assert set(groups) == {"admins", "agents"}
    assert all(group["Properties"]["UserPoolId"] == pool for group in groups.values())


def test_page_client_has_no_secret_and_only_the_password_and_refresh_flows(resources):
    _, client = only(resources, "AWS::Cognito::UserPoolClient")
    properties = client["Properties"]
    assert properties["GenerateSecret"] is False
    assert sorted(properties["ExplicitAuthFlows"]) == ["ALLOW_REFRESH_TOKEN_AUTH", "ALLOW_USER_PASSWORD_AUTH"]
    assert properties["AllowedOAuthFlowsUserPoolClient"] is False
    assert properties["PreventUserExistenceErrors"] == "ENABLED"
    assert properties["EnableTokenRevocation"] is True
    assert properties["RefreshTokenValidity"] == CONTEXT["cognito_refresh_token_days"] * 24 * 60


def test_the_first_admin_comes_from_the_context_and_joins_the_admins_group(resources, dev_resources):
    email = CONTEXT["first_admin_email"].lower()
    _, user = only(resources, "AWS::Cognito::UserPoolUser")
    assert user["Properties"]["Username"] == email
    assert {"Name": "email", "Value": email} in user["Properties"]["UserAttributes"]
    assert user["Properties"]["DesiredDeliveryMediums"] == ["EMAIL"]
    _, membership = only(resources, "AWS::Cognito::UserPoolUserToGroupAttachment")
    assert (membership["Properties"]["GroupName"], membership["Properties"]["Username"]) == ("admins", email)
    assert {"FirstAdmin", "AdminsGroup"} <= set(membership["DependsOn"])
    # Without first_admin_email (cdk.json's default) no user is created.
    assert not [r for r in dev_resources.values() if r["Type"] == "AWS::Cognito::UserPoolUser"]


def test_api_function_verifies_the_pools_tokens_and_only_it_knows_the_pool(resources):
    pool = ref(resources, "AWS::Cognito::UserPool")
    client = ref(resources, "AWS::Cognito::UserPoolClient")
    issuer = {"Fn::Join": ["", ["https://cognito-idp.", {"Ref": "AWS::Region"}, ".amazonaws.com/", pool]]}
    jwks = {
        "Fn::Join": [
            "",
            ["https://cognito-idp.", {"Ref": "AWS::Region"}, ".amazonaws.com/", pool, "/.well-known/jwks.json"],
        ]
    }
    expected = {
        "DESKMAIL_AUTH_ISSUER": issuer,
        "DESKMAIL_AUTH_JWKS_URL": jwks,
        "DESKMAIL_AUTH_AUDIENCE": client,
        "DESKMAIL_AUTH_ROLE_CLAIM": "cognito:groups",
        "DESKMAIL_COGNITO_USER_POOL_ID": pool,
        "DESKMAIL_COGNITO_CLIENT_ID": client,
    }
    for name, function in functions(resources).items():
        variables = function["Properties"]["Environment"]["Variables"]
        if name == "APIHandler":
            assert {key: variables.get(key) for key in expected} == expected
        else:
            assert not set(expected) & set(variables), name


def test_api_role_manages_agents_in_this_pool_only(resources):
    statements = role_policy(resources, "APIHandler")
    assert statements["UserPool"]["Resource"] == arn_of(resources, "AWS::Cognito::UserPool")
    assert set(statements["UserPool"]["Action"]) == {
        "cognito-idp:AdminCreateUser",
        "cognito-idp:AdminAddUserToGroup",
        "cognito-idp:AdminRemoveUserFromGroup",
        "cognito-idp:AdminDisableUser",
        "cognito-idp:AdminUserGlobalSignOut",
        "cognito-idp:AdminEnableUser",
        "cognito-idp:AdminGetUser",
        "cognito-idp:InitiateAuth",
        "cognito-idp:RespondToAuthChallenge",
    }
    for function_id in functions(resources):
        if function_id != "APIHandler":
            assert "UserPool" not in role_policy(resources, function_id), function_id


# --- IAM -------------------------------------------------------------------------------------------------------------

# Actions AWS offers no resource type for: "Resource": "*" is the only way to grant them.
RESOURCE_STAR_ALLOWED = {
    "ses:GetSuppressedDestination",
    "ses:DeleteSuppressedDestination",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "ses:SetActiveReceiptRuleSet",
}


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _iam_allow_statements(resources: dict):
    for logical, resource in resources.items():
        documents = []
        if resource["Type"] == "AWS::IAM::Policy":
            documents.append(resource["Properties"]["PolicyDocument"])
        elif resource["Type"] in ("AWS::IAM::Role", "AWS::IAM::ManagedPolicy"):
            documents += [policy["PolicyDocument"] for policy in resource["Properties"].get("Policies", [])]
            if "PolicyDocument" in resource["Properties"]:
                documents.append(resource["Properties"]["PolicyDocument"])
        elif resource["Type"] in ("AWS::SNS::TopicPolicy", "AWS::SQS::QueuePolicy"):
            documents.append(resource["Properties"]["PolicyDocument"])
        for document in documents:
            for statement in document["Statement"]:
                if statement["Effect"] == "Allow":
                    yield logical, statement


def test_no_iam_allow_has_a_wildcard_action_or_resource_unless_aws_requires_it(resources):
    statements = list(_iam_allow_statements(resources))
    assert len(statements) >= 12
    for logical, statement in statements:
        actions = _as_list(statement["Action"])
        assert all("*" not in action for action in actions), (logical, actions)
        if "*" in _as_list(statement.get("Resource", [])):
            assert set(actions) <= RESOURCE_STAR_ALLOWED, (logical, statement)
        assert statement.get("Principal") not in ("*", {"AWS": "*"}), (logical, statement)


def role_policy(resources: dict, function_id: str) -> dict[str, dict]:
    role = functions(resources)[function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    (policy,) = [
        r for r in resources.values() if r["Type"] == "AWS::IAM::Policy" and {"Ref": role} in r["Properties"]["Roles"]
    ]
    # No role managed by AWS on our functions (the CDK custom-resource helper keeps AWSLambdaBasicExecutionRole).
    assert "ManagedPolicyArns" not in resources[role]["Properties"]
    return {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}


def test_api_role_grants_each_call_on_our_resources_only(resources):
    statements = role_policy(resources, "APIHandler")
    table = arn_of(resources, "AWS::DynamoDB::Table")
    assert statements["Table"]["Resource"] == table
    assert "dynamodb:Scan" not in statements["Table"]["Action"]
    assert statements["TableIndexes"]["Resource"] == [
        {"Fn::Join": ["", [table, f"/index/{index}"]]} for index in TABLE_INDEXES
    ]
    assert statements["TableIndexes"]["Action"] == "dynamodb:Query"
    send = statements["SendAsDeskmailOnly"]
    assert send["Action"] == "ses:SendEmail"
    assert send["Condition"] == {"StringEquals": {"ses:FromAddress": "support@mail.example.org"}}
    send_resources = json.dumps(send["Resource"])
    assert ":identity/mail.example.org" in send_resources and ":configuration-set/deskmail-prod" in send_resources
    assert statements["IdentityDiagnostics"]["Action"] == "ses:GetEmailIdentity"
    assert ":identity/mail.example.org" in json.dumps(statements["IdentityDiagnostics"]["Resource"])
    assert "JwtSigningKey" not in statements
    # Metrics go out as embedded metric format log lines: no cloudwatch:PutMetricData.
    granted = {a for statement in statements.values() for a in _as_list(statement["Action"])}
    assert not any(action.startswith("cloudwatch:") for action in granted)


def test_inbound_role_reads_only_stored_mail_and_its_own_queue(resources):
    statements = role_policy(resources, "HandleInboundEmail")
    bucket = logical_id(resources, "AWS::S3::Bucket", BucketName=INBOUND_BUCKET)
    assert statements["InboundMailObjects"]["Action"] == "s3:GetObject"
    assert statements["InboundMailObjects"]["Resource"] == {
        "Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, f"/{INBOUND_OBJECT_PREFIX}*"]]
    }
    assert statements["ConsumeQueue"]["Resource"] == arn_of(
        resources, "AWS::SQS::Queue", QueueName=NAMES["inbound_queue"]
    )
    assert statements["MessagingKey"]["Action"] == "kms:Decrypt"


def test_schedule_role_may_send_a_failed_run_to_the_schedule_dlq(resources):
    statements = role_policy(resources, "PublishReputation")
    assert statements["ScheduleDeadLetterQueue"] == {
        "Sid": "ScheduleDeadLetterQueue",
        "Effect": "Allow",
        "Action": "sqs:SendMessage",
        "Resource": arn_of(resources, "AWS::SQS::Queue", QueueName=NAMES["schedule_dead_letter_queue"]),
    }
    assert set(statements["MessagingKey"]["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey"}
    assert "SendAsDeskmailOnly" not in statements


# --- cdk.json's dev defaults: the optional parts stay off -----------------------------------------------------------


def test_dev_defaults_create_the_rule_set_for_the_sender_address_without_activating_it(dev_resources):
    # The sender's own address (replies go to it), not the whole domain, whose other mail is not deskmail's.
    _, rule = only(dev_resources, "AWS::SES::ReceiptRule")
    assert rule["Properties"]["Rule"]["Recipients"] == ["support@deskmail.example.com"]
    assert rule["Properties"]["Rule"]["Name"] == "deskmail-dev-inbound"
    calls = [json.dumps(r["Properties"]) for r in dev_resources.values() if r["Type"] == "Custom::AWS"]
    assert len(calls) == 3 and not any("setActiveReceiptRuleSet" in call for call in calls)


def test_dev_defaults_keep_alarms_without_a_topic(dev_resources, resources):
    found = [r["Properties"] for r in dev_resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert len(found) == len(alarms(resources))
    assert not any("AlarmActions" in alarm for alarm in found)
    topics = {r["Properties"].get("TopicName") for r in dev_resources.values() if r["Type"] == "AWS::SNS::Topic"}
    assert topics == {"deskmail-feedback-dev", "deskmail-inbound-dev"}


def test_dev_defaults_pass_cdk_nag(synthesized_dev):
    assert [m for m in synthesized_dev[3] if "ERROR" in m[0] or "WARN" in m[0]] == []
