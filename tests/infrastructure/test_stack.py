"""What the synthesized production template must contain: one test per promise of infrastructure/README.md."""

from __future__ import annotations

import json

import pytest
from aws_cdk.assertions import Match

from chalicelib.naming import TABLE_INDEXES, TTL_ATTRIBUTE, resource_names
from tests.infrastructure.stage_context import CONTEXT

NAMES = resource_names("prod")
INBOUND_DLQ = "deskmail-inbound-dlq-prod"
FEEDBACK_EVENT = "HandleSesFeedbackSqsEventSource"
INBOUND_EVENT = "HandleInboundEmailSqsEventSource"
RULE_SET = "deskmail-prod"
RULE = "deskmail-prod-inbound"
PIPELINE_TOPICS = (NAMES["feedback_topic"], NAMES["inbound_topic"])


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
        assert indexes[name]["Projection"] == {"ProjectionType": "ALL"}
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
    ses = [s for s in statements if s.get("Principal") == {"Service": "ses.amazonaws.com"}]
    assert len(ses) == 1
    assert set(ses[0]["Action"]) == {"kms:GenerateDataKey", "kms:Decrypt"}
    assert ses[0]["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
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
    assert subscription["Properties"] == {
        "Protocol": "sqs",
        "TopicArn": topic,
        "Endpoint": queue,
        "RawMessageDelivery": False,
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


@pytest.mark.parametrize("dlq_name", [NAMES["dead_letter_queue"], INBOUND_DLQ])
def test_dead_letter_queue_is_encrypted_and_keeps_messages_14_days(resources, dlq_name):
    messaging_key = key_of(resources, "deskmail prod: SES feedback")
    _, dlq = only(resources, "AWS::SQS::Queue", QueueName=dlq_name)
    assert dlq["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert dlq["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [messaging_key, "Arn"]}


def test_queues_refuse_plain_http(resources):
    policies = [r for r in resources.values() if r["Type"] == "AWS::SQS::QueuePolicy"]
    assert len(policies) == 4  # two queues, two DLQs
    for policy in policies:
        denies = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
        assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies)


def alarm_topic_id(resources: dict) -> str:
    topics = [
        i
        for i, r in resources.items()
        if r["Type"] == "AWS::SNS::Topic" and r["Properties"].get("TopicName") not in PIPELINE_TOPICS
    ]
    assert len(topics) == 1
    return topics[0]


@pytest.mark.parametrize("dlq_name", [NAMES["dead_letter_queue"], INBOUND_DLQ])
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
    "metric, threshold",
    [("BounceRate24h", 5), ("BounceRate7d", 5), ("ComplaintRate24h", 0.1), ("ComplaintRate7d", 0.1)],
)
def test_reputation_alarms_fire_at_the_ses_review_levels(resources, metric, threshold):
    # app.publish_reputation emits Powertools metrics (unit Percent, 0-100) every 15 minutes; SES reviews an account
    # at 5 % bounces or 0.1 % complaints.
    alarm_topic = alarm_topic_id(resources)
    _, alarm = only(resources, "AWS::CloudWatch::Alarm", MetricName=metric)
    properties = alarm["Properties"]
    assert {key: properties[key] for key in ("Namespace", "Dimensions", "Unit", "Statistic", "Threshold")} == {
        "Namespace": "Deskmail",  # POWERTOOLS_METRICS_NAMESPACE
        "Dimensions": [{"Name": "service", "Value": "deskmail"}],  # POWERTOOLS_SERVICE_NAME
        "Unit": "Percent",
        "Statistic": "Maximum",
        "Threshold": threshold,
    }
    assert properties["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert properties["Period"] >= 15 * 60  # at least one value per period
    assert properties["AlarmActions"] == properties["OKActions"] == [{"Ref": alarm_topic}]
    # A schedule that stopped running shows as missing data, not as a healthy rate.
    assert properties["TreatMissingData"] == "missing"


def test_every_alarm_notifies_the_alarm_topic(resources):
    alarm_topic = alarm_topic_id(resources)
    alarms = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert len(alarms) == 6  # two DLQs, four reputation rates
    assert all(alarm["AlarmActions"] == [{"Ref": alarm_topic}] for alarm in alarms)


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


def test_receipt_rule_publishes_whole_messages_in_utf8_to_the_inbound_topic(resources):
    rule_set_id, _ = only(resources, "AWS::SES::ReceiptRuleSet", RuleSetName=RULE_SET)
    rule_id, rule = only(resources, "AWS::SES::ReceiptRule")
    assert rule["Properties"] == {
        "RuleSetName": {"Ref": rule_set_id},
        "Rule": {
            "Name": RULE,
            "Enabled": True,
            "Recipients": CONTEXT["inbound_recipients"],
            "Actions": [
                {
                    "SNSAction": {
                        "Encoding": "UTF-8",
                        "TopicArn": ref(resources, "AWS::SNS::Topic", TopicName=NAMES["inbound_topic"]),
                    }
                }
            ],
            # The handler drops mail whose spam or virus verdict is FAIL: SES only adds verdicts when scanning.
            "ScanEnabled": True,
            "TlsPolicy": "Optional",
        },
    }
    # SES may publish (topic policy) before the rule exists.
    topic = ref(resources, "AWS::SNS::Topic", TopicName=NAMES["inbound_topic"])
    topic_policy = logical_id(resources, "AWS::SNS::TopicPolicy", Topics=[topic])
    assert rule["DependsOn"] == [topic_policy]


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


def test_functions_run_with_our_role_the_powertools_layer_tracing_and_our_log_group(resources):
    role = arn_of(resources, "AWS::IAM::Role", Description="deskmail prod Lambda functions")
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
        assert properties["Role"] == role, name
        assert properties["Runtime"] == "python3.11", name
        assert properties["Tracing"] == "Active", name
        assert properties["LoggingConfig"] == {"LogGroup": log_group}, name
        layers = json.dumps(properties["Layers"])
        assert ":017000801446:layer:AWSLambdaPowertoolsPythonV3-python311-x86_64:" in layers, name
    # Chalice made no role of its own (autogen_policy off, manage_iam_role off).
    assert "DefaultRole" not in resources


def test_stage_environment_comes_from_the_stack_resources(resources):
    expected = {
        "DESKMAIL_STAGE": "prod",
        "DESKMAIL_TABLE_NAME": ref(resources, "AWS::DynamoDB::Table"),
        "DESKMAIL_FEEDBACK_QUEUE": NAMES["feedback_queue"],
        "DESKMAIL_INBOUND_QUEUE": NAMES["inbound_queue"],
        "DESKMAIL_SENDER": CONTEXT["sender"],
        "DESKMAIL_CONFIGURATION_SET": ref(resources, "AWS::SES::ConfigurationSet"),
        "DESKMAIL_DEFAULT_LOCALE": "en",
        "DESKMAIL_JWT_SECRET_ARN": ref(resources, "AWS::SecretsManager::Secret"),
        "DESKMAIL_SUPPRESSION_BACKEND": "ses",
        "DESKMAIL_TRANSIENT_BOUNCE_THRESHOLD": str(CONTEXT["transient_bounce_threshold"]),
        "DESKMAIL_TRANSIENT_BOUNCE_WINDOW_DAYS": str(CONTEXT["transient_bounce_window_days"]),
        "DESKMAIL_MAX_NOTIFICATIONS_PER_10_MINUTES": str(CONTEXT["max_notifications_per_10_minutes"]),
        "DESKMAIL_MAX_NOTIFICATIONS_PER_HOUR": str(CONTEXT["max_notifications_per_hour"]),
        "POWERTOOLS_SERVICE_NAME": "deskmail",
        "POWERTOOLS_METRICS_NAMESPACE": "Deskmail",
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
    assert properties["MethodSettings"] == [
        {
            "ResourcePath": "/*",
            "HttpMethod": "*",
            "ThrottlingRateLimit": CONTEXT["api_throttle_rate"],
            "ThrottlingBurstLimit": CONTEXT["api_throttle_burst"],
            "MetricsEnabled": True,
        }
    ]
    access_logs = logical_id(resources, "AWS::Logs::LogGroup", LogGroupName="/aws/apigateway/deskmail-prod")
    assert properties["AccessLogSetting"]["DestinationArn"] == {"Fn::GetAtt": [access_logs, "Arn"]}
    assert "$context.requestId" in properties["AccessLogSetting"]["Format"]


def test_log_groups_keep_the_context_retention_and_are_encrypted(resources):
    groups = [r for r in resources.values() if r["Type"] == "AWS::Logs::LogGroup"]
    assert len(groups) == 3
    for group in groups:
        assert group["Properties"]["RetentionInDays"] == CONTEXT["log_retention_days"]
        assert "KmsKeyId" in group["Properties"]


def test_jwt_signing_key_is_a_generated_secret_under_the_data_key(template, resources):
    data_key = key_of(resources, "deskmail prod: table")
    template.has_resource_properties(
        "AWS::SecretsManager::Secret",
        {
            "Name": "deskmail/prod/jwt-signing-key",
            "KmsKeyId": {"Fn::GetAtt": [data_key, "Arn"]},
            "GenerateSecretString": Match.object_like({"PasswordLength": 64}),
        },
    )


# --- IAM -------------------------------------------------------------------------------------------------------------

# Actions AWS offers no resource type for: "Resource": "*" is the only way to grant them.
RESOURCE_STAR_ALLOWED = {
    "ses:GetSuppressedDestination",
    "ses:DeleteSuppressedDestination",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "ses:SetActiveReceiptRuleSet",
}

# The DynamoDB calls chalicelib/adapters/dynamo.py makes: conditional PutItem claims an inbound email, DeleteItem
# releases it, UpdateItem resolves a failure; the indexes are only queried.
TABLE_ACTIONS = {
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
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


def test_function_role_grants_exactly_the_documented_permissions(resources):
    role = logical_id(resources, "AWS::IAM::Role", Description="deskmail prod Lambda functions")
    policies = [
        r for r in resources.values() if r["Type"] == "AWS::IAM::Policy" and {"Ref": role} in r["Properties"]["Roles"]
    ]
    assert len(policies) == 1
    statements = {s["Sid"]: s for s in policies[0]["Properties"]["PolicyDocument"]["Statement"]}
    assert set(statements) == {
        "Logs",
        "Table",
        "DataKeyForTableAndSecret",
        "TableIndexes",
        "FeedbackQueue",
        "InboundQueue",
        "MessagingKeyForQueue",
        "SendAsDeskmailOnly",
        "IdentityDiagnostics",
        "SuppressionList",
        "JwtSigningKey",
        "XRay",
    }
    table = arn_of(resources, "AWS::DynamoDB::Table")
    assert statements["Table"]["Resource"] == table
    assert set(statements["Table"]["Action"]) == TABLE_ACTIONS
    assert statements["TableIndexes"]["Resource"] == [
        {"Fn::Join": ["", [table, f"/index/{index}"]]} for index in TABLE_INDEXES
    ]
    assert statements["TableIndexes"]["Action"] == "dynamodb:Query"
    for sid, queue_name in (("FeedbackQueue", NAMES["feedback_queue"]), ("InboundQueue", NAMES["inbound_queue"])):
        assert statements[sid]["Resource"] == arn_of(resources, "AWS::SQS::Queue", QueueName=queue_name)
        assert set(statements[sid]["Action"]) == {
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:ChangeMessageVisibility",
            "sqs:GetQueueAttributes",
            "sqs:GetQueueUrl",
        }
    assert statements["JwtSigningKey"] == {
        "Sid": "JwtSigningKey",
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": ref(resources, "AWS::SecretsManager::Secret"),
    }
    send = statements["SendAsDeskmailOnly"]
    assert send["Condition"] == {"StringEquals": {"ses:FromAddress": "support@mail.example.org"}}
    send_resources = json.dumps(send["Resource"])
    assert ":identity/mail.example.org" in send_resources and ":configuration-set/deskmail-prod" in send_resources
    assert statements["MessagingKeyForQueue"]["Action"] == "kms:Decrypt"
    # The SESv2 calls of chalicelib/adapters/ses_account.py: GetEmailIdentity on our identity only; the suppression
    # list calls have no resource type. PutSuppressedDestination is the local stack's only.
    assert statements["IdentityDiagnostics"]["Action"] == "ses:GetEmailIdentity"
    assert ":identity/mail.example.org" in json.dumps(statements["IdentityDiagnostics"]["Resource"])
    assert set(statements["SuppressionList"]["Action"]) == {
        "ses:GetSuppressedDestination",
        "ses:DeleteSuppressedDestination",
    }
    # Metrics go out as embedded metric format log lines: no cloudwatch:PutMetricData.
    granted = {action for statement in statements.values() for action in _as_list(statement["Action"])}
    assert not any(action.startswith("cloudwatch:") for action in granted)
    # No role managed by AWS on our functions (the CDK custom-resource helper keeps AWSLambdaBasicExecutionRole).
    assert "ManagedPolicyArns" not in resources[role]["Properties"]


# --- cdk.json's dev defaults: the optional parts stay off -----------------------------------------------------------


def test_dev_defaults_create_the_rule_set_for_the_sender_domain_without_activating_it(dev_resources):
    _, rule = only(dev_resources, "AWS::SES::ReceiptRule")
    assert rule["Properties"]["Rule"]["Recipients"] == ["deskmail.example.com"]
    assert rule["Properties"]["Rule"]["Name"] == "deskmail-dev-inbound"
    calls = [json.dumps(r["Properties"]) for r in dev_resources.values() if r["Type"] == "Custom::AWS"]
    assert len(calls) == 2 and not any("setActiveReceiptRuleSet" in call for call in calls)


def test_dev_defaults_keep_alarms_without_a_topic(dev_resources):
    alarms = [r["Properties"] for r in dev_resources.values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert len(alarms) == 6
    assert not any("AlarmActions" in alarm for alarm in alarms)
    topics = {r["Properties"].get("TopicName") for r in dev_resources.values() if r["Type"] == "AWS::SNS::Topic"}
    assert topics == {"deskmail-feedback-dev", "deskmail-inbound-dev"}


def test_dev_defaults_pass_cdk_nag(synthesized_dev):
    assert [m for m in synthesized_dev[3] if "ERROR" in m[0] or "WARN" in m[0]] == []
