"""deskmail's production stack: data, SES feedback pipeline, secret, and the Chalice app with least privilege."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import (
    aws_cloudwatch as cloudwatch,
)
from aws_cdk import (
    aws_cloudwatch_actions as cloudwatch_actions,
)
from aws_cdk import (
    aws_dynamodb as dynamodb,
)
from aws_cdk import (
    aws_iam as iam,
)
from aws_cdk import (
    aws_kms as kms,
)
from aws_cdk import (
    aws_logs as logs,
)
from aws_cdk import (
    aws_secretsmanager as secretsmanager,
)
from aws_cdk import (
    aws_ses as ses,
)
from aws_cdk import (
    aws_sns as sns,
)
from aws_cdk import (
    aws_sns_subscriptions as subscriptions,
)
from aws_cdk import (
    aws_sqs as sqs,
)
from aws_cdk import (
    custom_resources as cr,
)
from cdk_nag import NagPackSuppression, NagSuppressions
from chalice.cdk import Chalice
from constructs import Construct

from chalicelib.naming import TABLE_INDEXES, TABLE_KEY, TTL_ATTRIBUTE, resource_names
from infrastructure.stacks.settings import StageSettings

REPO_ROOT = Path(__file__).resolve().parents[2]

# The Chalice handler that consumes SES feedback (app.py) and the logical ids `chalice package` gives it.
FEEDBACK_FUNCTION = "HandleSesFeedback"
FEEDBACK_EVENT = f"Events.{FEEDBACK_FUNCTION}SqsEventSource.Properties"
REST_API = "RestAPI"

# Official Powertools layer (Powertools 3.37.0 for python3.11 x86_64); the layer version is context.
POWERTOOLS_LAYER = "arn:aws:lambda:{region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python311-x86_64:{version}"

# SES events that deskmail records on a notification (configuration-set event destination).
SES_EVENT_TYPES = ["SEND", "REJECT", "BOUNCE", "COMPLAINT", "DELIVERY", "DELIVERY_DELAY"]

# Feedback notifications of the identity itself: they arrive even for mail sent without the configuration set.
IDENTITY_NOTIFICATION_TYPES = ["Bounce", "Complaint"]

# Why each checkov check is skipped on the resources it does not fit (see infrastructure/README.md).
LAMBDA_CHECKOV_SKIPS = [
    {
        "id": "CKV_AWS_117",
        "comment": "No VPC: the functions reach only AWS APIs; a VPC would add NAT cost and cold starts.",
    },
    {"id": "CKV_AWS_116", "comment": "Async failures land in the SQS feedback DLQ; API functions are synchronous."},
    {
        "id": "CKV_AWS_115",
        "comment": "Reserved concurrency can break deploys on small accounts; SQS ScalingConfig and API throttling "
        "bound the load.",
    },
    {
        "id": "CKV_AWS_173",
        "comment": "Environment holds names and ARNs only (the signing key is in Secrets Manager); "
        "Lambda encrypts it at rest.",
    },
]

# The function CDK creates once per stack for AwsCustomResource (the SES identity notification calls).
AWS_CUSTOM_RESOURCE_PROVIDER = "AWS679f53fac002430cb0da5b7982bd2287"
CUSTOM_RESOURCE_CHECKOV_SKIPS = [
    {"id": "CKV_AWS_117", "comment": "CDK's deploy-time helper calls only the SES API; no VPC needed."},
    {"id": "CKV_AWS_116", "comment": "Invoked synchronously by CloudFormation, which reports its failures."},
    {"id": "CKV_AWS_115", "comment": "Runs a few times per deployment; a concurrency limit buys nothing."},
]


class DeskmailStack(cdk.Stack):
    def __init__(self, scope: Construct, construct_id: str, *, settings: StageSettings, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        self.names = resource_names(settings.stage)
        retain = cdk.RemovalPolicy.RETAIN if settings.is_production else cdk.RemovalPolicy.DESTROY

        self._keys(retain)
        self._table(retain)
        self._feedback_pipeline()
        self._log_groups(retain)
        self._email_sending()
        self._jwt_secret(retain)
        self._function_role()
        self._chalice_app()
        self._outputs()

    # --- Encryption keys ------------------------------------------------------------------------------------------

    def _keys(self, retain: cdk.RemovalPolicy) -> None:
        # Two customer-managed keys ($1/month each): the messaging key's policy must admit AWS services
        # (SES, SNS, CloudWatch) that the data key never needs to trust.
        self.messaging_key = kms.Key(
            self,
            "MessagingKey",
            description=f"deskmail {self.settings.stage}: SES feedback topic, queue and DLQ",
            enable_key_rotation=True,
            removal_policy=retain,
        )
        self.messaging_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="SesPublishesToEncryptedTopic",
                principals=[iam.ServicePrincipal("ses.amazonaws.com")],
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=["*"],  # in a key policy "*" means this key
                conditions={"StringEquals": {"aws:SourceAccount": self.account}},
            )
        )
        self.messaging_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublishToEncryptedTopic",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": self.account}},
            )
        )
        # The table holds customer email addresses and ticket text: a CMK keeps its use visible in CloudTrail and
        # lets the key policy, not only IAM, decide who can read it.
        self.data_key = kms.Key(
            self,
            "DataKey",
            description=f"deskmail {self.settings.stage}: table, JWT secret, log groups",
            enable_key_rotation=True,
            removal_policy=retain,
        )
        self.data_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchLogsEncryptsDeskmailLogGroups",
                principals=[iam.ServicePrincipal(f"logs.{self.region}.amazonaws.com")],
                actions=[
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncryptFrom",
                    "kms:ReEncryptTo",
                    "kms:GenerateDataKey",
                    "kms:DescribeKey",
                ],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": self.format_arn(
                            service="logs",
                            resource="log-group",
                            resource_name="*",
                            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                        )
                    }
                },
            )
        )

    # --- DynamoDB ------------------------------------------------------------------------------------------------

    def _table(self, retain: cdk.RemovalPolicy) -> None:
        string = dynamodb.AttributeType.STRING
        self.table = dynamodb.Table(
            self,
            "Table",
            table_name=self.names["table"],
            partition_key=dynamodb.Attribute(name=TABLE_KEY[0], type=string),
            sort_key=dynamodb.Attribute(name=TABLE_KEY[1], type=string),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=self.settings.deletion_protection,
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.data_key,
            time_to_live_attribute=TTL_ATTRIBUTE,
            removal_policy=retain,
        )
        for index, (pk, sk) in TABLE_INDEXES.items():
            self.table.add_global_secondary_index(
                index_name=index,
                partition_key=dynamodb.Attribute(name=pk, type=string),
                sort_key=dynamodb.Attribute(name=sk, type=string),
                projection_type=dynamodb.ProjectionType.ALL,
            )

    # --- SES feedback: topic -> queue -> handler, with a DLQ and its alarm ----------------------------------------

    def _feedback_pipeline(self) -> None:
        s = self.settings
        self.configuration_set_arn = self.format_arn(
            service="ses", resource="configuration-set", resource_name=self.names["configuration_set"]
        )
        self.identity_arn = self.format_arn(service="ses", resource="identity", resource_name=s.sender_domain)

        self.feedback_topic = sns.Topic(
            self,
            "FeedbackTopic",
            topic_name=self.names["feedback_topic"],
            master_key=self.messaging_key,
            enforce_ssl=True,
        )
        # Only SES of this account, and only for our configuration set or sending identity, may publish.
        self.feedback_topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlySesOfThisAccountPublishes",
                principals=[iam.ServicePrincipal("ses.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.feedback_topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": self.account},
                    "ArnLike": {"aws:SourceArn": [self.configuration_set_arn, self.identity_arn]},
                },
            )
        )

        self.dead_letter_queue = sqs.Queue(
            self,
            "FeedbackDeadLetterQueue",
            queue_name=self.names["dead_letter_queue"],
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.messaging_key,
            retention_period=cdk.Duration.days(14),  # SQS's maximum: time to find and replay a poison message
            enforce_ssl=True,
        )
        self.feedback_queue = sqs.Queue(
            self,
            "FeedbackQueue",
            queue_name=self.names["feedback_queue"],
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.messaging_key,
            # AWS's rule for Lambda event sources: at least 6x the function timeout, so retries of a slow batch
            # never see a message reappear while it is still being processed.
            visibility_timeout=cdk.Duration.seconds(6 * s.lambda_timeout_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=5, queue=self.dead_letter_queue),
            enforce_ssl=True,
        )
        # Written out rather than SqsSubscription: that one lets SNS use the key for any topic, and its
        # topic-scoped variant makes key -> topic -> key a dependency cycle. Here the key statement names the
        # topic by its ARN string (known from naming.py), so nothing refers back to the topic resource.
        topic_arn = self.format_arn(service="sns", resource=self.names["feedback_topic"])
        self.messaging_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="SnsDeliversToEncryptedQueue",
                principals=[iam.ServicePrincipal("sns.amazonaws.com")],
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=["*"],
                conditions={"ArnEquals": {"aws:SourceArn": topic_arn}},
            )
        )
        queue_policy = self.feedback_queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid="FeedbackTopicDelivers",
                principals=[iam.ServicePrincipal("sns.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[self.feedback_queue.queue_arn],
                conditions={"ArnEquals": {"aws:SourceArn": self.feedback_topic.topic_arn}},
            )
        )
        subscription = sns.Subscription(
            self,
            "FeedbackSubscription",
            topic=self.feedback_topic,
            protocol=sns.SubscriptionProtocol.SQS,
            endpoint=self.feedback_queue.queue_arn,
            # Not raw delivery: the handler parses the SNS envelope, as the local stack delivers it.
            raw_message_delivery=False,
        )
        # SNS delivers as soon as it subscribes: the queue must already accept it.
        subscription.node.add_dependency(queue_policy.policy_dependable)

        alarm = cloudwatch.Alarm(
            self,
            "FeedbackDeadLetterAlarm",
            alarm_description="SES feedback messages failed 5 times and wait in the DLQ",
            metric=self.dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=cdk.Duration.minutes(1), statistic="Maximum"
            ),
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        if s.alarm_email:
            alarm_topic = sns.Topic(self, "AlarmTopic", master_key=self.messaging_key, enforce_ssl=True)
            alarm_topic.add_subscription(subscriptions.EmailSubscription(s.alarm_email))
            alarm.add_alarm_action(cloudwatch_actions.SnsAction(alarm_topic))
            alarm.add_ok_action(cloudwatch_actions.SnsAction(alarm_topic))

    # --- SES: configuration set, identity, feedback notifications -----------------------------------------------

    def _email_sending(self) -> None:
        s = self.settings
        self.configuration_set = ses.ConfigurationSet(
            self,
            "ConfigurationSet",
            configuration_set_name=self.names["configuration_set"],
            reputation_metrics=True,
            sending_enabled=True,
        )
        ses.ConfigurationSetEventDestination(
            self,
            "FeedbackEventDestination",
            configuration_set=self.configuration_set,
            destination=ses.EventDestination.sns_topic(self.feedback_topic),
            events=[ses.EmailSendingEvent(event) for event in SES_EVENT_TYPES],
        )

        self.identity = ses.EmailIdentity(
            self,
            "SenderIdentity",
            identity=ses.Identity.domain(s.sender_domain),  # Easy DKIM: publish the CNAMEs from the outputs
            configuration_set=self.configuration_set,
        )

        # SES has no CloudFormation property for an identity's feedback topics: set them with the SES API.
        policy = cr.AwsCustomResourcePolicy.from_statements(
            [
                iam.PolicyStatement(
                    actions=["ses:SetIdentityNotificationTopic"],
                    resources=[self.identity_arn],
                )
            ]
        )
        for notification in IDENTITY_NOTIFICATION_TYPES:
            call = cr.AwsSdkCall(
                service="SES",
                action="setIdentityNotificationTopic",
                parameters={
                    "Identity": s.sender_domain,
                    "NotificationType": notification,
                    "SnsTopic": self.feedback_topic.topic_arn,
                },
                physical_resource_id=cr.PhysicalResourceId.of(f"{s.sender_domain}-{notification}-feedback"),
            )
            # Without SnsTopic the call removes the topic: what a stack deletion should do.
            unset = cr.AwsSdkCall(
                service="SES",
                action="setIdentityNotificationTopic",
                parameters={"Identity": s.sender_domain, "NotificationType": notification},
            )
            notification_topics = cr.AwsCustomResource(
                self,
                f"Identity{notification}Notifications",
                on_create=call,
                on_update=call,
                on_delete=unset,
                policy=policy,
                install_latest_aws_sdk=False,  # the runtime's SDK has the call; no download at deploy time
                log_group=self.custom_resource_logs,
            )
            # SES refuses a topic for an identity it does not know yet.
            notification_topics.node.add_dependency(self.identity)
        # CDK's shared function behind every AwsCustomResource of the stack (a fixed id, created above).
        provider_function = self.node.find_child(AWS_CUSTOM_RESOURCE_PROVIDER)
        NagSuppressions.add_resource_suppressions(
            provider_function,
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM4",
                    reason="CDK's AwsCustomResource helper role: AWSLambdaBasicExecutionRole only lets it write logs.",
                    applies_to=[
                        "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
                    ],
                )
            ],
            apply_to_children=True,
        )
        provider = provider_function.node.default_child
        provider.add_metadata("checkov", {"skip": CUSTOM_RESOURCE_CHECKOV_SKIPS})
        # CDK itself adds a DependsOn on the provider's role that a GetAtt already implies.
        provider.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})

    # --- Secrets --------------------------------------------------------------------------------------------------

    def _jwt_secret(self, retain: cdk.RemovalPolicy) -> None:
        self.jwt_secret = secretsmanager.Secret(
            self,
            "JwtSigningKey",
            secret_name=f"deskmail/{self.settings.stage}/jwt-signing-key",
            description="Signing key for deskmail agent tokens (read by the API authorizer)",
            encryption_key=self.data_key,
            generate_secret_string=secretsmanager.SecretStringGenerator(password_length=64, exclude_punctuation=True),
            removal_policy=retain,
        )
        NagSuppressions.add_resource_suppressions(
            self.jwt_secret,
            [
                NagPackSuppression(
                    id="AwsSolutions-SMG4",
                    reason="Rotating needs the authorizer to accept the old and new key for a while; "
                    "until it does, rotate by hand (infrastructure/README.md).",
                )
            ],
        )

    # --- Log groups -----------------------------------------------------------------------------------------------

    def _log_groups(self, retain: cdk.RemovalPolicy) -> None:
        # One group for all of deskmail's functions (Lambda LoggingConfig), so retention and encryption are ours
        # and the role needs no logs:CreateLogGroup.
        self.function_logs = self._log_group("FunctionLogs", f"/aws/lambda/deskmail-{self.settings.stage}", retain)
        self.custom_resource_logs = self._log_group(
            "CustomResourceLogs", f"/aws/lambda/deskmail-{self.settings.stage}-custom-resources", retain
        )
        self.access_logs = self._log_group("ApiAccessLogs", f"/aws/apigateway/deskmail-{self.settings.stage}", retain)

    def _log_group(self, construct_id: str, name: str, retain: cdk.RemovalPolicy) -> logs.LogGroup:
        group = logs.LogGroup(
            self, construct_id, log_group_name=name, encryption_key=self.data_key, removal_policy=retain
        )
        # Retention is a number of days from context; the L2 only takes its enum.
        group.node.default_child.retention_in_days = self.settings.log_retention_days
        return group

    # --- The functions' role: least privilege, written out ------------------------------------------------------

    def _function_role(self) -> None:
        s = self.settings
        self.function_role = iam.Role(
            self,
            "FunctionRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"deskmail {s.stage} Lambda functions",
        )
        table_resources = [self.table.table_arn] + [f"{self.table.table_arn}/index/{index}" for index in TABLE_INDEXES]
        statements = [
            iam.PolicyStatement(
                sid="Logs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"{self.function_logs.log_group_arn}:log-stream:*", self.function_logs.log_group_arn],
            ),
            iam.PolicyStatement(
                sid="Table",
                actions=[
                    "dynamodb:GetItem",
                    "dynamodb:BatchGetItem",
                    "dynamodb:Query",
                    "dynamodb:PutItem",
                    "dynamodb:UpdateItem",
                    "dynamodb:DeleteItem",
                    "dynamodb:BatchWriteItem",
                    "dynamodb:ConditionCheckItem",
                    "dynamodb:DescribeTable",
                ],
                resources=table_resources,
            ),
            iam.PolicyStatement(
                sid="DataKeyForTableAndSecret",
                actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                resources=[self.data_key.key_arn],
            ),
            iam.PolicyStatement(
                sid="FeedbackQueue",
                actions=[
                    "sqs:ReceiveMessage",
                    "sqs:DeleteMessage",
                    "sqs:ChangeMessageVisibility",
                    "sqs:GetQueueAttributes",
                    "sqs:GetQueueUrl",
                ],
                resources=[self.feedback_queue.queue_arn],
            ),
            iam.PolicyStatement(
                sid="MessagingKeyForQueue",
                actions=["kms:Decrypt"],
                resources=[self.messaging_key.key_arn],
            ),
            iam.PolicyStatement(
                sid="SendAsDeskmailOnly",
                actions=["ses:SendEmail", "ses:SendRawEmail"],
                resources=[self.identity_arn, self.configuration_set_arn],
                conditions={"StringEquals": {"ses:FromAddress": s.sender_address}},
            ),
            iam.PolicyStatement(
                sid="IdentityDiagnostics",
                actions=["ses:GetEmailIdentity"],
                resources=[self.identity_arn],
            ),
            iam.PolicyStatement(
                sid="SuppressionList",
                actions=["ses:GetSuppressedDestination", "ses:DeleteSuppressedDestination"],
                resources=["*"],  # AWS requires it: these actions have no resource type
            ),
            iam.PolicyStatement(
                sid="JwtSigningKey",
                actions=["secretsmanager:GetSecretValue"],
                resources=[self.jwt_secret.secret_arn],
            ),
            iam.PolicyStatement(
                sid="XRay",
                actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                resources=["*"],  # AWS requires it: X-Ray has no resource-level permissions
            ),
        ]
        for statement in statements:
            self.function_role.add_to_policy(statement)
        NagSuppressions.add_resource_suppressions(
            self.function_role,
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason="Lambda names its log streams at run time; the grant stays inside deskmail's log group.",
                    applies_to=[f"Resource::<{self._logical_id(self.function_logs)}.Arn>:log-stream:*"],
                ),
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason="ses:Get/DeleteSuppressedDestination and X-Ray writes have no resource type: "
                    "AWS requires '*'.",
                    applies_to=["Resource::*"],
                ),
            ],
            apply_to_children=True,
        )

    # --- The Chalice app ------------------------------------------------------------------------------------------

    def _chalice_app(self) -> None:
        s = self.settings
        layer = POWERTOOLS_LAYER.format(region=self.region, version=s.powertools_layer_version)
        environment = {
            "DESKMAIL_STAGE": s.stage,
            "DESKMAIL_TABLE_NAME": self.table.table_name,
            # A plain string, not the queue's token: Chalice exports the environment before importing app.py, and the
            # decorator's queue name lands in an Fn::Sub where a token breaks synth. Same value (naming.py).
            "DESKMAIL_FEEDBACK_QUEUE": self.names["feedback_queue"],
            "DESKMAIL_SENDER": s.sender,
            "DESKMAIL_CONFIGURATION_SET": self.configuration_set.configuration_set_name,
            "DESKMAIL_DEFAULT_LOCALE": s.default_locale,
            "DESKMAIL_JWT_SECRET_ARN": self.jwt_secret.secret_arn,
            # Powertools reads its settings from these variables (docs: "Environment variables").
            "POWERTOOLS_SERVICE_NAME": s.powertools_service_name,
            "POWERTOOLS_METRICS_NAMESPACE": s.powertools_metrics_namespace,
            "POWERTOOLS_LOG_LEVEL": s.powertools_log_level,
        }
        self.chalice = Chalice(
            self,
            "App",
            source_dir=str(REPO_ROOT),
            stage_config={
                "api_gateway_stage": "api",
                "environment_variables": environment,
                "lambda_timeout": s.lambda_timeout_seconds,
                "lambda_memory_size": s.lambda_memory_mb,
                "layers": [layer],
                "xray": True,
                # The role below is ours: no policy generated from reading the code, no role made by Chalice.
                "autogen_policy": False,
                "manage_iam_role": False,
                "iam_role_arn": self.function_role.role_arn,
            },
        )

        feedback = self.chalice.get_resource(FEEDBACK_FUNCTION)
        # Point the mapping at the real queue (the decorator only knows a name) and report partial failures.
        feedback.add_property_override(f"{FEEDBACK_EVENT}.Queue", self.feedback_queue.queue_arn)
        feedback.add_property_override(f"{FEEDBACK_EVENT}.BatchSize", s.feedback_batch_size)
        feedback.add_property_override(
            f"{FEEDBACK_EVENT}.MaximumBatchingWindowInSeconds", s.feedback_batching_window_seconds
        )
        feedback.add_property_override(f"{FEEDBACK_EVENT}.FunctionResponseTypes", ["ReportBatchItemFailures"])
        feedback.add_property_override(
            f"{FEEDBACK_EVENT}.ScalingConfig", {"MaximumConcurrency": s.feedback_max_concurrency}
        )

        for function in self._chalice_functions():
            function.add_property_override("LoggingConfig", {"LogGroup": self.function_logs.log_group_name})
            function.add_metadata("checkov", {"skip": LAMBDA_CHECKOV_SKIPS})
            # The role's policy (not only the role) must exist before the SQS mapping is created.
            function.node.add_dependency(self.function_role.node.find_child("DefaultPolicy"))

        api = self.chalice.get_resource(REST_API)
        api.add_property_override("TracingEnabled", True)
        api.add_property_override(
            "MethodSettings",
            [
                {
                    "ResourcePath": "/*",
                    "HttpMethod": "*",
                    "ThrottlingRateLimit": s.api_throttle_rate,
                    "ThrottlingBurstLimit": s.api_throttle_burst,
                    "MetricsEnabled": True,
                }
            ],
        )
        api.add_property_override(
            "AccessLogSetting",
            {"DestinationArn": self.access_logs.log_group_arn, "Format": json.dumps(ACCESS_LOG_FORMAT)},
        )
        api.add_metadata(
            "checkov",
            {"skip": [{"id": "CKV_AWS_120", "comment": "Responses are per agent and change often: nothing to cache."}]},
        )

    def _logical_id(self, construct: Construct) -> str:
        return self.resolve(construct.node.default_child.logical_id)

    def _chalice_functions(self) -> list[cdk.CfnResource]:
        return [
            child
            for child in self.chalice.sam_template.node.children
            if isinstance(child, cdk.CfnResource) and child.cfn_resource_type == "AWS::Serverless::Function"
        ]

    def _outputs(self) -> None:
        cdk.CfnOutput(self, "TableName", value=self.table.table_name)
        cdk.CfnOutput(self, "FeedbackTopicArn", value=self.feedback_topic.topic_arn)
        cdk.CfnOutput(self, "FeedbackQueueUrl", value=self.feedback_queue.queue_url)
        cdk.CfnOutput(self, "ConfigurationSetName", value=self.configuration_set.configuration_set_name)
        cdk.CfnOutput(self, "JwtSecretArn", value=self.jwt_secret.secret_arn)
        for i, record in enumerate(self.identity.dkim_records, start=1):
            cdk.CfnOutput(self, f"DkimCname{i}", value=f"{record.name} CNAME {record.value}")


# API Gateway access log line: enough to trace a request to its Lambda logs and X-Ray trace.
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "integrationLatency": "$context.integrationLatency",
    "xrayTraceId": "$context.xrayTraceId",
    "principalId": "$context.authorizer.principalId",
}
