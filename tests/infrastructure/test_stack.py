"""What the synthesized production template must contain: one test per promise of infrastructure/README.md."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match

from chalicelib.naming import TABLE_INDEXES, TTL_ATTRIBUTE, resource_names
from tests.infrastructure.stage_context import CONTEXT

NAMES = resource_names("prod")
FEEDBACK_EVENT = "HandleSesFeedbackSqsEventSource"


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


# --- SNS topic ----------------------------------------------------------------------------------------------------


def test_feedback_topic_uses_a_cmk_whose_policy_lets_ses_of_this_account_use_it(template, resources):
    messaging_key = key_of(resources, "deskmail prod: SES feedback")
    template.has_resource_properties(
        "AWS::SNS::Topic",
        {"TopicName": NAMES["feedback_topic"], "KmsMasterKeyId": {"Fn::GetAtt": [messaging_key, "Arn"]}},
    )
    statements = resources[messaging_key]["Properties"]["KeyPolicy"]["Statement"]
    ses = [s for s in statements if s.get("Principal") == {"Service": "ses.amazonaws.com"}]
    assert len(ses) == 1
    assert set(ses[0]["Action"]) == {"kms:GenerateDataKey", "kms:Decrypt"}
    assert ses[0]["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    # SNS may decrypt for delivery to the queue, but only for our topic (feature flag in cdk.json).
    sns = [s for s in statements if s.get("Principal") == {"Service": "sns.amazonaws.com"}]
    assert sns and all("aws:SourceArn" in json.dumps(s.get("Condition", {})) for s in sns)


def test_topic_policy_lets_only_ses_of_this_account_publish(resources):
    topic = ref(resources, "AWS::SNS::Topic", TopicName=NAMES["feedback_topic"])
    policies = [
        r for r in resources.values() if r["Type"] == "AWS::SNS::TopicPolicy" and r["Properties"]["Topics"] == [topic]
    ]
    assert len(policies) == 1
    allows = [s for s in policies[0]["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert allows, "SES needs an Allow"
    for statement in allows:
        assert statement["Principal"] == {"Service": "ses.amazonaws.com"}
        assert statement["Action"] == "sns:Publish"
        conditions = {key.lower(): value for block in statement["Condition"].values() for key, value in block.items()}
        assert conditions["aws:sourceaccount"] == {"Ref": "AWS::AccountId"}
        source_arns = json.dumps(conditions["aws:sourcearn"])
        assert "configuration-set/" in source_arns or ":identity/" in source_arns
    identity_statement = json.dumps(allows)
    assert ":identity/mail.example.org" in identity_statement
    assert ":configuration-set/" in identity_statement


# --- SQS queue, DLQ, alarm --------------------------------------------------------------------------------------


def test_queue_is_subscribed_to_the_topic_with_the_sns_envelope(template, resources):
    template.has_resource_properties(
        "AWS::SNS::Subscription",
        {
            "Protocol": "sqs",
            "TopicArn": ref(resources, "AWS::SNS::Topic", TopicName=NAMES["feedback_topic"]),
            "Endpoint": arn_of(resources, "AWS::SQS::Queue", QueueName=NAMES["feedback_queue"]),
            "RawMessageDelivery": False,
        },
    )
    # Created only once the queue policy admits the topic, or the first notifications would be lost.
    subscription = only(resources, "AWS::SNS::Subscription", Protocol="sqs")[1]
    assert subscription["DependsOn"] == [logical_id_of_queue_policy(resources, NAMES["feedback_queue"])]


def logical_id_of_queue_policy(resources: dict, queue_name: str) -> str:
    queue = ref(resources, "AWS::SQS::Queue", QueueName=queue_name)
    return logical_id(resources, "AWS::SQS::QueuePolicy", Queues=[queue])


def test_feedback_queue_is_encrypted_redrives_after_5_and_outlasts_six_handler_timeouts(resources):
    messaging_key = key_of(resources, "deskmail prod: SES feedback")
    _, queue = only(resources, "AWS::SQS::Queue", QueueName=NAMES["feedback_queue"])
    properties = queue["Properties"]
    assert properties["KmsMasterKeyId"] == {"Fn::GetAtt": [messaging_key, "Arn"]}
    assert properties["RedrivePolicy"] == {
        "deadLetterTargetArn": arn_of(resources, "AWS::SQS::Queue", QueueName=NAMES["dead_letter_queue"]),
        "maxReceiveCount": 5,
    }
    handler_timeout = functions(resources)["HandleSesFeedback"]["Properties"]["Timeout"]
    assert handler_timeout == CONTEXT["lambda_timeout_seconds"]
    assert properties["VisibilityTimeout"] >= 6 * handler_timeout


def test_dead_letter_queue_is_encrypted_and_keeps_messages_14_days(resources):
    _, dlq = only(resources, "AWS::SQS::Queue", QueueName=NAMES["dead_letter_queue"])
    assert dlq["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert "KmsMasterKeyId" in dlq["Properties"]


def test_queues_refuse_plain_http(resources):
    for policy in (r for r in resources.values() if r["Type"] == "AWS::SQS::QueuePolicy"):
        denies = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
        assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in denies)


def test_alarm_fires_on_any_visible_message_in_the_dlq_and_notifies_the_alarm_topic(template, resources):
    alarm_topic = [
        i
        for i, r in resources.items()
        if r["Type"] == "AWS::SNS::Topic" and r["Properties"].get("TopicName") != NAMES["feedback_topic"]
    ]
    assert len(alarm_topic) == 1
    assert "KmsMasterKeyId" in resources[alarm_topic[0]]["Properties"]
    template.has_resource_properties(
        "AWS::SNS::Subscription",
        {"Protocol": "email", "Endpoint": CONTEXT["alarm_email"], "TopicArn": {"Ref": alarm_topic[0]}},
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
                        "Fn::GetAtt": [
                            logical_id(resources, "AWS::SQS::Queue", QueueName=NAMES["dead_letter_queue"]),
                            "QueueName",
                        ]
                    },
                }
            ],
            "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": 0,
            "EvaluationPeriods": 1,
            "AlarmActions": [{"Ref": alarm_topic[0]}],
        },
    )


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
    calls = [r for r in resources.values() if r["Type"] == "Custom::AWS"]
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


# --- Lambda functions, event source mapping, API --------------------------------------------------------------


def test_sqs_mapping_reads_the_real_queue_and_reports_partial_batch_failures(resources):
    event = functions(resources)["HandleSesFeedback"]["Properties"]["Events"][FEEDBACK_EVENT]
    assert event["Type"] == "SQS"
    assert event["Properties"] == {
        "Queue": arn_of(resources, "AWS::SQS::Queue", QueueName=NAMES["feedback_queue"]),
        "BatchSize": CONTEXT["feedback_batch_size"],
        "MaximumBatchingWindowInSeconds": CONTEXT["feedback_batching_window_seconds"],
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "ScalingConfig": {"MaximumConcurrency": CONTEXT["feedback_max_concurrency"]},
    }


def test_functions_run_with_our_role_the_powertools_layer_tracing_and_our_log_group(resources):
    role = arn_of(resources, "AWS::IAM::Role", Description="deskmail prod Lambda functions")
    log_group = ref(resources, "AWS::Logs::LogGroup", LogGroupName="/aws/lambda/deskmail-prod")
    assert set(functions(resources)) >= {"APIHandler", "HandleSesFeedback"}
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
        "DESKMAIL_SENDER": CONTEXT["sender"],
        "DESKMAIL_CONFIGURATION_SET": ref(resources, "AWS::SES::ConfigurationSet"),
        "DESKMAIL_DEFAULT_LOCALE": "en",
        "DESKMAIL_JWT_SECRET_ARN": ref(resources, "AWS::SecretsManager::Secret"),
        "POWERTOOLS_SERVICE_NAME": "deskmail",
        "POWERTOOLS_METRICS_NAMESPACE": "Deskmail",
        "POWERTOOLS_LOG_LEVEL": CONTEXT["powertools_log_level"],
    }
    for name, function in functions(resources).items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert {key: variables.get(key) for key in expected} == expected, name


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
        "FeedbackQueue",
        "MessagingKeyForQueue",
        "SendAsDeskmailOnly",
        "IdentityDiagnostics",
        "SuppressionList",
        "JwtSigningKey",
        "XRay",
    }
    table = arn_of(resources, "AWS::DynamoDB::Table")
    assert statements["Table"]["Resource"] == [table] + [
        {"Fn::Join": ["", [table, f"/index/{index}"]]} for index in TABLE_INDEXES
    ]
    assert statements["FeedbackQueue"]["Resource"] == arn_of(
        resources, "AWS::SQS::Queue", QueueName=NAMES["feedback_queue"]
    )
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
    # Nobody writes to the table's stream, scans it or deletes it.
    assert not {"dynamodb:Scan", "dynamodb:DeleteTable"} & set(statements["Table"]["Action"])
    # No role managed by AWS on our functions (the CDK custom-resource helper keeps AWSLambdaBasicExecutionRole).
    assert "ManagedPolicyArns" not in resources[role]["Properties"]
