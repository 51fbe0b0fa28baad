"""deskmail's production stack: data, SES feedback and inbound pipelines, alarms, the Cognito user pool, and the
Chalice app with one least-privilege role per function."""

from __future__ import annotations

import ast
import contextlib
import json
from pathlib import Path

import aws_cdk as cdk
import jsii
from aws_cdk import (
    aws_cloudwatch as cloudwatch,
)
from aws_cdk import (
    aws_cloudwatch_actions as cloudwatch_actions,
)
from aws_cdk import (
    aws_cognito as cognito,
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
    aws_s3 as s3,
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
    aws_wafv2 as wafv2,
)
from aws_cdk import (
    custom_resources as cr,
)
from cdk_nag import NagPackSuppression, NagSuppressions
from chalice.cdk import Chalice
from constructs import Construct

from chalicelib.adapters.ses_account import BACKEND_ENV as SUPPRESSION_BACKEND_ENV
from chalicelib.domain.rate_limit import ENV_PER_10_MINUTES, ENV_PER_HOUR
from chalicelib.naming import (
    ATTACHMENT_OBJECT_PREFIX,
    INBOUND_OBJECT_PREFIX,
    INDEX_PROJECTIONS,
    TABLE_INDEXES,
    TABLE_KEY,
    TTL_ATTRIBUTE,
    attachments_bucket_name,
    inbound_bucket_name,
    resource_names,
)
from infrastructure.stacks.permissions import API_FUNCTION as API_FUNCTION_NAME
from infrastructure.stacks.permissions import APP_CALLS, S3_CALLS
from infrastructure.stacks.settings import StageSettings

REPO_ROOT = Path(__file__).resolve().parents[2]

# The Chalice handler that consumes SES feedback (app.py) and the logical ids `chalice package` gives it.
FEEDBACK_FUNCTION = "HandleSesFeedback"
FEEDBACK_EVENT = f"Events.{FEEDBACK_FUNCTION}SqsEventSource.Properties"
# The handler that turns inbound replies into comments (app.handle_inbound_email).
INBOUND_FUNCTION = "HandleInboundEmail"
INBOUND_EVENT = f"Events.{INBOUND_FUNCTION}SqsEventSource.Properties"
REST_API = "RestAPI"
API_FUNCTION = "APIHandler"
API_STAGE = "api"

# Every function's runtime (python3.11 is deprecated by Lambda on 2027-06-30). Chalice packages for the Python that runs
# synth; _lambda_runtime() makes it package (and download wheels) for this one instead.
LAMBDA_RUNTIME = "python3.13"
LAMBDA_ARCHITECTURE = "x86_64"
# Official Powertools layer for that runtime and architecture (Powertools 3.37.0); the layer version is context.
POWERTOOLS_LAYER = (
    "arn:aws:lambda:{region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-"
    + LAMBDA_RUNTIME.replace(".", "")
    + "-"
    + LAMBDA_ARCHITECTURE
    + ":{version}"
)

# SES events that deskmail records on a notification (configuration-set event destination).
SES_EVENT_TYPES = ["SEND", "REJECT", "BOUNCE", "COMPLAINT", "DELIVERY", "DELIVERY_DELAY"]

# Feedback notifications of the identity itself: they arrive even for mail sent without the configuration set.
IDENTITY_NOTIFICATION_TYPES = ["Bounce", "Complaint"]

# The rates app.publish_reputation emits (Powertools metrics, unit Percent, 0-100). SES puts an account under review
# at 5 % bounces or 0.1 % complaints (chalicelib/domain/reputation.py): the alarms fire at half of that, while there
# is still time to act.
REPUTATION_WINDOWS = ("24h", "7d")
REPUTATION_REVIEW_PERCENT = {"BounceRate": 5.0, "ComplaintRate": 0.1}
REPUTATION_ALARM_PERCENT = {"BounceRate": 2.5, "ComplaintRate": 0.05}
# SES's own account-level rates (AWS/SES, no dimension) are fractions 0-1, not percent (SES developer guide,
# "Creating reputation monitoring alarms using CloudWatch").
SES_REPUTATION_ALARM_FRACTION = {"Reputation.BounceRate": 0.025, "Reputation.ComplaintRate": 0.0005}

# A message older than this in a pipeline queue means its consumer stopped (a mapping disabled, a permission lost):
# retries of one message take at most 5 receives x the visibility timeout, far less than an hour.
QUEUE_AGE_ALARM_SECONDS = 3600
# The API's latency alarm: p95 over 5 minutes, three periods in a row.
API_LATENCY_ALARM_MS = 5000

# Routes that send email (and cost SES reputation when abused): their own, lower throttle. Only those app.py really
# declares get one (API Gateway refuses a method setting for a missing method).
SENDING_ROUTES = [
    ("/tickets", "POST"),
    ("/tickets/{ticket_id}/comments", "POST"),
    ("/tickets/{ticket_id}/comments/{comment_id}/resend", "POST"),
]

# Attachments are read mostly in the days after they are sent: Standard-IA after a month halves their storage price
# (S3 does not transition objects under 128 KB, whose IA minimum size would cost more). Expiry: a setting.
ATTACHMENT_INFREQUENT_ACCESS_DAYS = 30
# A deleted or replaced file can be restored this long (versioning), then it is gone.
ATTACHMENT_NONCURRENT_DAYS = 7
# How long the browser may cache the bucket's CORS answer (preflights are rare: the upload is a simple request).
ATTACHMENT_CORS_MAX_AGE_SECONDS = 3000

# What a Lambda SQS event source mapping needs on its queue.
QUEUE_CONSUMER_ACTIONS = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
]


@contextlib.contextmanager
def _lambda_runtime(runtime: str):
    """Chalice picks the Lambda runtime (and the ABI of the wheels it downloads, e.g. cp313) from the Python running
    it (chalice.config.Config.lambda_python_version); synth runs on the development Python, so say it explicitly."""
    from chalice import config as chalice_config

    original = chalice_config.Config.lambda_python_version
    chalice_config.Config.lambda_python_version = property(lambda self: runtime)  # type: ignore[method-assign]
    try:
        yield
    finally:
        chalice_config.Config.lambda_python_version = original  # type: ignore[method-assign]


def cfn_name(function_name: str) -> str:
    """Chalice's logical id style: handle_ses_feedback -> HandleSesFeedback."""
    return "".join(part[:1].upper() + part[1:] for part in function_name.split("_"))


def app_functions(app_file: Path) -> dict[str, str]:
    """The Lambda functions app.py declares, by Chalice name: "api" (every route), "sqs", "schedule" or "other"."""
    tree = ast.parse(app_file.read_text())
    kinds = {"on_sqs_message": "sqs", "schedule": "schedule", "route": "api"}
    found: dict[str, str] = {}
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            call = decorator.func if isinstance(decorator, ast.Call) else decorator
            attribute = call.attr if isinstance(call, ast.Attribute) else getattr(call, "id", "")
            if attribute in ("route", "api"):
                found[API_FUNCTION_NAME] = "api"
            elif attribute in kinds or attribute in ("lambda_function", "on_sns_message", "on_s3_event"):
                found[node.name] = kinds.get(attribute, "other")
    return found


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
        "comment": "Environment holds names, ARNs and public sign-in settings only (no secret); "
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

        self.retain = retain
        # (alarm, whether INSUFFICIENT_DATA is itself news: a metric that must always arrive stopped arriving)
        self.alarms: list[tuple[cloudwatch.Alarm, bool]] = []
        self.topic_policies: dict[str, iam.AddToResourcePolicyResult] = {}
        self.sns_delivery_topic_arns: list[str] = []

        self._keys(retain)
        self._table(retain)
        self._feedback_pipeline()
        self._log_groups(retain)
        self._email_sending()
        self._custom_resource_provider_checks()
        self._inbound_pipeline()
        self._attachments(retain)
        self._sns_delivers_to_encrypted_queues()
        self._schedule_dead_letter_queue()
        self._reputation_alarms()
        self._user_pool(retain)
        self._function_roles()
        self._chalice_app()
        self._function_alarms()
        self._api_alarms()
        self._web_acl()
        self._alarm_notifications()
        self._outputs()

    # --- Encryption keys ------------------------------------------------------------------------------------------

    def _keys(self, retain: cdk.RemovalPolicy) -> None:
        # Two customer-managed keys ($1/month each): the messaging key's policy must admit AWS services
        # (SES, SNS, CloudWatch) that the data key never needs to trust.
        self.messaging_key = kms.Key(
            self,
            "MessagingKey",
            description=f"deskmail {self.settings.stage}: SES feedback and inbound topics, queues, DLQs; alarms",
            enable_key_rotation=True,
            removal_policy=retain,
        )
        s = self.settings
        # The SES resources that publish to our topics: the configuration set and identity (feedback) and the
        # receipt rule (inbound). Built from names, so the key refers to no resource that depends on it.
        self.configuration_set_arn = self.format_arn(
            service="ses", resource="configuration-set", resource_name=self.names["configuration_set"]
        )
        self.identity_arn = self.format_arn(service="ses", resource="identity", resource_name=s.sender_domain)
        self.receipt_rule_set_name = f"deskmail-{s.stage}"
        self.receipt_rule_name = f"deskmail-{s.stage}-inbound"
        self.receipt_rule_arn = self.format_arn(
            service="ses",
            resource="receipt-rule-set",
            resource_name=f"{self.receipt_rule_set_name}:receipt-rule/{self.receipt_rule_name}",
        )
        self.messaging_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="SesPublishesToEncryptedTopic",
                principals=[iam.ServicePrincipal("ses.amazonaws.com")],
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=["*"],  # in a key policy "*" means this key
                conditions={
                    "StringEquals": {"aws:SourceAccount": self.account},
                    "ArnLike": {
                        "aws:SourceArn": [self.configuration_set_arn, self.identity_arn, self.receipt_rule_arn]
                    },
                },
            )
        )
        self.messaging_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsPublishToEncryptedTopic",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=["*"],
                conditions={
                    "StringEquals": {"aws:SourceAccount": self.account},
                    "ArnLike": {"aws:SourceArn": self._alarm_arn_pattern()},
                },
            )
        )
        # The table holds customer email addresses and ticket text: a CMK keeps its use visible in CloudTrail and
        # lets the key policy, not only IAM, decide who can read it.
        self.data_key = kms.Key(
            self,
            "DataKey",
            description=f"deskmail {self.settings.stage}: table, log groups",
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
                # Only deskmail's own log groups of this stage (names from _log_groups), by encryption context.
                conditions={
                    "ArnEquals": {
                        "kms:EncryptionContext:aws:logs:arn": [
                            self.format_arn(
                                service="logs",
                                resource="log-group",
                                resource_name=name,
                                arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                            )
                            for name in self._log_group_names().values()
                        ]
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
                projection_type=dynamodb.ProjectionType(INDEX_PROJECTIONS[index]),
            )

    # --- SES feedback: topic -> queue -> handler, with a DLQ and its alarm ----------------------------------------

    def _feedback_pipeline(self) -> None:
        # Only SES of this account, and only for our configuration set or sending identity, may publish.
        self.feedback_topic, self.feedback_queue, self.dead_letter_queue = self._topic_to_queue(
            "Feedback",
            topic_name=self.names["feedback_topic"],
            queue_name=self.names["feedback_queue"],
            dead_letter_queue_name=self.names["dead_letter_queue"],
            delivery_dead_letter_queue_name=self.names["feedback_delivery_dead_letter_queue"],
            publishers=[self.configuration_set_arn, self.identity_arn],
            dlq_alarm_description="SES feedback messages failed 5 times and wait in the DLQ",
        )

    def _topic_to_queue(
        self,
        prefix: str,
        *,
        topic_name: str,
        queue_name: str,
        dead_letter_queue_name: str,
        delivery_dead_letter_queue_name: str,
        publishers: list[str],
        dlq_alarm_description: str,
    ) -> tuple[sns.Topic, sqs.Queue, sqs.Queue]:
        """SES -> encrypted topic -> encrypted queue (SNS envelope) with a DLQ, a delivery DLQ and their alarms."""
        topic = sns.Topic(
            self,
            f"{prefix}Topic",
            topic_name=topic_name,
            master_key=self.messaging_key,
            enforce_ssl=True,
        )
        # Only SES of this account, and only for the given SES resources (aws:SourceArn), may publish.
        self.topic_policies[prefix] = topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlySesOfThisAccountPublishes",
                principals=[iam.ServicePrincipal("ses.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": self.account},
                    "ArnLike": {"aws:SourceArn": publishers},
                },
            )
        )

        dead_letter_queue = self._dead_letter_queue(f"{prefix}DeadLetterQueue", dead_letter_queue_name)
        queue = sqs.Queue(
            self,
            f"{prefix}Queue",
            queue_name=queue_name,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.messaging_key,
            # AWS's rule for Lambda event sources: at least 6x the function timeout, so retries of a slow batch
            # never see a message reappear while it is still being processed.
            visibility_timeout=cdk.Duration.seconds(6 * self.settings.lambda_timeout_seconds),
            # SQS's maximum (the default is 4 days): a stopped consumer has two weeks, and the age alarm, before
            # anything expires unseen.
            retention_period=cdk.Duration.days(14),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=5, queue=dead_letter_queue),
            enforce_ssl=True,
        )
        # What SNS cannot deliver to the queue (a queue policy or KMS mistake) is kept here instead of dropped.
        delivery_dead_letter_queue = self._dead_letter_queue(
            f"{prefix}DeliveryDeadLetterQueue", delivery_dead_letter_queue_name
        )
        NagSuppressions.add_resource_suppressions(
            delivery_dead_letter_queue,
            [
                NagPackSuppression(
                    id="AwsSolutions-SQS3",
                    reason="It is a DLQ: the SNS subscription's redrive target (cdk-nag only recognises SQS "
                    "redrive targets).",
                )
            ],
        )
        # Written out rather than SqsSubscription: that one lets SNS use the key for any topic, and its
        # topic-scoped variant makes key -> topic -> key a dependency cycle. The key statement names the topics by
        # their ARN strings (known from naming.py), so nothing refers back to the topic resources.
        self.sns_delivery_topic_arns.append(self.format_arn(service="sns", resource=topic_name))
        queue_policy = queue.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"{prefix}TopicDelivers",
                principals=[iam.ServicePrincipal("sns.amazonaws.com")],
                actions=["sqs:SendMessage"],
                resources=[queue.queue_arn],
                conditions={"ArnEquals": {"aws:SourceArn": topic.topic_arn}},
            )
        )
        subscription = sns.Subscription(
            self,
            f"{prefix}Subscription",
            topic=topic,
            protocol=sns.SubscriptionProtocol.SQS,
            endpoint=queue.queue_arn,
            # Not raw delivery: the handler parses the SNS envelope, as the local stack delivers it.
            raw_message_delivery=False,
            # The redrive policy (CDK also lets the topic, and only it, send to this queue).
            dead_letter_queue=delivery_dead_letter_queue,
        )
        # SNS delivers as soon as it subscribes: the queue must already accept it.
        subscription.node.add_dependency(queue_policy.policy_dependable)

        self._alarm(
            f"{prefix}DeadLetterAlarm",
            description=dlq_alarm_description,
            metric=dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=cdk.Duration.minutes(1), statistic="Maximum"
            ),
            threshold=0,
        )
        self._alarm(
            f"{prefix}DeliveryDeadLetterAlarm",
            description=f"SNS could not deliver {prefix.lower()} notifications to {queue_name}: they wait in "
            f"{delivery_dead_letter_queue_name}",
            metric=delivery_dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=cdk.Duration.minutes(1), statistic="Maximum"
            ),
            threshold=0,
        )
        self._alarm(
            f"{prefix}QueueAgeAlarm",
            description=f"The oldest message in {queue_name} waits over {QUEUE_AGE_ALARM_SECONDS // 60} minutes: "
            "its consumer has stopped",
            metric=queue.metric_approximate_age_of_oldest_message(period=cdk.Duration.minutes(5), statistic="Maximum"),
            threshold=QUEUE_AGE_ALARM_SECONDS,
        )
        self._alarm(
            f"{prefix}NotificationsFailedAlarm",
            description=f"SNS failed to deliver notifications of {topic_name} to its queue",
            metric=topic.metric_number_of_notifications_failed(period=cdk.Duration.minutes(5), statistic="Sum"),
            threshold=0,
        )
        return topic, queue, dead_letter_queue

    def _dead_letter_queue(self, construct_id: str, name: str) -> sqs.Queue:
        return sqs.Queue(
            self,
            construct_id,
            queue_name=name,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.messaging_key,
            retention_period=cdk.Duration.days(14),  # SQS's maximum: time to find and replay a poison message
            enforce_ssl=True,
            # Kept when the production stack is deleted: what it holds is customers' mail and its feedback.
            removal_policy=self.retain,
        )

    def _alarm(
        self,
        construct_id: str,
        *,
        description: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluation_periods: int = 1,
        missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
        insufficient_data_is_news: bool = False,
    ) -> cloudwatch.Alarm:
        """An alarm every notification action reaches (see _alarm_notifications); the runbook names each id."""
        alarm = cloudwatch.Alarm(
            self,
            construct_id,
            alarm_name=f"deskmail-{self.settings.stage}-{construct_id}",
            alarm_description=f"{description}. Runbook: infrastructure/README.md, '{construct_id}'",
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=evaluation_periods,
            treat_missing_data=missing,
        )
        self.alarms.append((alarm, insufficient_data_is_news))
        return alarm

    def _sns_delivers_to_encrypted_queues(self) -> None:
        # SNS may use the messaging key to deliver to our encrypted queues, only on behalf of our topics.
        self.messaging_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="SnsDeliversToEncryptedQueue",
                principals=[iam.ServicePrincipal("sns.amazonaws.com")],
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=["*"],
                conditions={"ArnEquals": {"aws:SourceArn": self.sns_delivery_topic_arns}},
            )
        )

    # --- SES inbound: receipt rule set -> topic -> queue -> handler ------------------------------------------------

    def _inbound_pipeline(self) -> None:
        s = self.settings
        self.inbound_topic, self.inbound_queue, self.inbound_dead_letter_queue = self._topic_to_queue(
            "Inbound",
            topic_name=self.names["inbound_topic"],
            queue_name=self.names["inbound_queue"],
            dead_letter_queue_name=self.names["inbound_dead_letter_queue"],
            delivery_dead_letter_queue_name=self.names["inbound_delivery_dead_letter_queue"],
            publishers=[self.receipt_rule_arn],
            dlq_alarm_description="Inbound emails (customer replies) failed 5 times and wait in the DLQ",
        )

        bucket_policy = self._inbound_bucket()

        self.receipt_rule_set = ses.ReceiptRuleSet(
            self, "InboundRuleSet", receipt_rule_set_name=self.receipt_rule_set_name
        )
        rule = self.receipt_rule_set.add_rule(
            "Inbound",
            receipt_rule_name=self.receipt_rule_name,
            recipients=list(s.inbound_recipients),
            # ONE action: SES stores the whole message (up to 40 MB) and notifies the inbound topic with its bucket and
            # key (receipt.action.type "S3"); the SNS action's 150 KB limit bounced a phone photo.
            actions=[
                _S3Action(
                    bucket_name=self.inbound_bucket.bucket_name,
                    object_key_prefix=INBOUND_OBJECT_PREFIX,
                    topic_arn=self.inbound_topic.topic_arn,
                )
            ],
            # The handler reads the spam and virus verdicts to drop such mail (loop protection and abuse).
            scan_enabled=True,
            # Optional, as for sending: a help desk cannot refuse a customer's reply because their server lacks TLS.
            tls_policy=ses.TlsPolicy.OPTIONAL,
            enabled=True,
        )
        # SES checks that it may write and publish when the rule is created.
        rule.node.add_dependency(self.topic_policies["Inbound"].policy_dependable)
        rule.node.add_dependency(bucket_policy)

        if s.activate_receipt_rule_set:
            self._activate_receipt_rule_set(rule)

    def _inbound_bucket(self) -> Construct:
        """The private bucket the receipt rule writes each message to; returns its policy (SES needs it first)."""
        s = self.settings
        # S3 server access logs cannot be written under SSE-KMS: their bucket uses SSE-S3 and keeps them 90 days.
        self.access_log_bucket = s3.Bucket(
            self,
            "AccessLogBucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    expiration=cdk.Duration.days(90),
                    noncurrent_version_expiration=cdk.Duration.days(1),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
                )
            ],
            removal_policy=self.retain,
        )
        NagSuppressions.add_resource_suppressions(
            self.access_log_bucket,
            [
                NagPackSuppression(
                    id="AwsSolutions-S1",
                    reason="The access log bucket itself: logging its access would need another bucket, endlessly.",
                )
            ],
        )
        self.access_log_bucket.node.default_child.add_metadata(
            "checkov",
            {
                "skip": [
                    {
                        "id": "CKV_AWS_18",
                        "comment": "The access log bucket itself: its own access logs would need "
                        "another bucket, endlessly.",
                    },
                ]
            },
        )
        self.inbound_bucket = s3.Bucket(
            self,
            "InboundBucket",
            # Bucket names are global: the account id keeps ours unique (naming.py; the app reads it from the env).
            bucket_name=inbound_bucket_name(s.stage, self.account),
            # The messaging key (it already trusts SES, for this account's receipt rule only); a bucket key keeps
            # KMS requests to one per bucket and hour instead of one per message.
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.messaging_key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix="inbound-bucket/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireInboundMail",
                    prefix=INBOUND_OBJECT_PREFIX,
                    # The comment is in the table once handled; the raw message stays for reprocessing a while.
                    expiration=cdk.Duration.days(s.inbound_mail_retention_days),
                    noncurrent_version_expiration=cdk.Duration.days(1),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
                )
            ],
            removal_policy=self.retain,
        )
        # As SES documents for the S3 action: only SES, for this account and this receipt rule, may put objects, and
        # only under the prefix.
        self.inbound_bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OnlyOurReceiptRuleWrites",
                principals=[iam.ServicePrincipal("ses.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[self.inbound_bucket.arn_for_objects(f"{INBOUND_OBJECT_PREFIX}*")],
                conditions={
                    "StringEquals": {"aws:SourceAccount": self.account, "aws:SourceArn": self.receipt_rule_arn}
                },
            )
        )
        # SES writes through S3, and S3 asks KMS for the data key on SES's behalf: allowed only via S3, only for this
        # bucket (the bucket key's encryption context is the bucket ARN), only for this account.
        self.messaging_key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="SesStoresInboundMailInTheBucket",
                principals=[iam.ServicePrincipal("ses.amazonaws.com")],
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=["*"],
                conditions={
                    "StringEquals": {
                        "aws:SourceAccount": self.account,
                        "kms:ViaService": f"s3.{self.region}.amazonaws.com",
                    },
                    "ArnEquals": {"kms:EncryptionContext:aws:s3:arn": self._inbound_bucket_arn()},
                },
            )
        )
        return self.inbound_bucket.policy

    def _inbound_bucket_arn(self) -> str:
        # From the name, not the bucket's token: the key policy must not depend on the bucket the key encrypts.
        return f"arn:{self.partition}:s3:::{inbound_bucket_name(self.settings.stage, self.account)}"

    # --- Attachments: comments' files (issue 18) ---------------------------------------------------------------

    def _attachments(self, retain: cdk.RemovalPolicy) -> None:
        """The private bucket comments' files live in, under their own key; its CORS rule comes in _after_chalice."""
        s = self.settings
        # A key of their own: who may read customers' files (screenshots, invoices) is decided apart from who may
        # read the table; the key policy is CDK's default (this account's IAM decides), no service is trusted.
        self.attachments_key = kms.Key(
            self,
            "AttachmentsKey",
            description=f"deskmail {s.stage}: attachments bucket",
            enable_key_rotation=True,
            removal_policy=retain,
        )
        self.attachments_bucket_name = attachments_bucket_name(s.stage, self.account)
        self.attachments_bucket = s3.Bucket(
            self,
            "AttachmentsBucket",
            bucket_name=self.attachments_bucket_name,
            # A bucket key: S3 asks KMS for a data key about once per bucket and hour, not once per file.
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.attachments_key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            server_access_logs_bucket=self.access_log_bucket,
            server_access_logs_prefix="attachments-bucket/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="AttachmentRetention",
                    prefix=ATTACHMENT_OBJECT_PREFIX,
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=cdk.Duration.days(ATTACHMENT_INFREQUENT_ACCESS_DAYS),
                        )
                    ],
                    expiration=cdk.Duration.days(s.attachment_retention_days),
                    noncurrent_version_expiration=cdk.Duration.days(ATTACHMENT_NONCURRENT_DAYS),
                ),
                # Whole bucket: a multipart upload left unfinished (a closed tab) and the markers expiry leaves.
                s3.LifecycleRule(
                    id="CleanUp",
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(1),
                    expired_object_delete_marker=True,
                ),
            ],
            removal_policy=retain,
        )
        objects = self.attachments_bucket.arn_for_objects("*")
        # Every put must name this key: S3 encrypts a put that says only "aws:kms" with the AWS-managed aws/s3 key,
        # not the bucket's default. The app names it (DESKMAIL_ATTACHMENTS_KMS_KEY, in the presigned POST's fields
        # and on PutObject); another algorithm or a customer-provided key is refused too.
        self.attachments_bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenyOtherEncryption",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:PutObject"],
                resources=[objects],
                conditions={"StringNotEqualsIfExists": {"s3:x-amz-server-side-encryption": "aws:kms"}},
            )
        )
        self.attachments_bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenyOtherKeys",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:PutObject"],
                resources=[objects],
                conditions={
                    "StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": self.attachments_key.key_arn}
                },
            )
        )
        self.attachments_bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DenyCustomerProvidedKeys",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["s3:PutObject"],
                resources=[objects],
                conditions={"Null": {"s3:x-amz-server-side-encryption-customer-algorithm": "false"}},
            )
        )

    def _attachments_objects_arn(self) -> str:
        # From the name, not the bucket's token: the roles (and so the functions, and so the API the bucket's CORS
        # rule names) must not depend on the bucket.
        return f"arn:{self.partition}:s3:::{self.attachments_bucket_name}/{ATTACHMENT_OBJECT_PREFIX}*"

    def _attachments_origin(self) -> str:
        """The origin of the presigned POST and GET URLs (virtual-hosted, regional): the page's CSP allows it alone."""
        return f"https://{self.attachments_bucket_name}.s3.{self.region}.{self.url_suffix}"

    def _attachments_cors(self) -> None:
        # The page (served by the API) posts each file to the bucket's origin: S3 must let that one origin read the
        # answer. Only POST, only from the API's own origin; downloads are navigations and need no CORS.
        api_origin = f"https://{self.chalice.get_resource(REST_API).ref}.execute-api.{self.region}.{self.url_suffix}"
        self.attachments_bucket.node.default_child.cors_configuration = s3.CfnBucket.CorsConfigurationProperty(
            cors_rules=[
                s3.CfnBucket.CorsRuleProperty(
                    id="PagePostsUploads",
                    allowed_methods=["POST"],
                    allowed_origins=[api_origin],
                    allowed_headers=["*"],
                    max_age=ATTACHMENT_CORS_MAX_AGE_SECONDS,
                )
            ]
        )

    def _activate_receipt_rule_set(self, rule: ses.ReceiptRule) -> None:
        # One receipt rule set is active per account and region, and CloudFormation cannot activate one: an SES API
        # call does, on create/update; on delete (stack deletion or activation switched off) it deactivates the
        # active set, because SES refuses to delete an active set.
        activate = cr.AwsSdkCall(
            service="SES",
            action="setActiveReceiptRuleSet",
            parameters={"RuleSetName": self.receipt_rule_set_name},
            physical_resource_id=cr.PhysicalResourceId.of(f"{self.receipt_rule_set_name}-active"),
        )
        deactivate = cr.AwsSdkCall(service="SES", action="setActiveReceiptRuleSet", parameters={})
        activation = cr.AwsCustomResource(
            self,
            "ActivateInboundRuleSet",
            on_create=activate,
            on_update=activate,
            on_delete=deactivate,
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [
                    iam.PolicyStatement(
                        actions=["ses:SetActiveReceiptRuleSet"],
                        resources=["*"],  # AWS requires it: the action has no resource type
                    )
                ]
            ),
            install_latest_aws_sdk=False,
            log_group=self.custom_resource_logs,
        )
        # Activate the complete set; on deletion, deactivate before the set and its rule go.
        activation.node.add_dependency(rule)
        NagSuppressions.add_resource_suppressions(
            activation,
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason="ses:SetActiveReceiptRuleSet has no resource type: AWS requires '*'.",
                    applies_to=["Resource::*"],
                )
            ],
            apply_to_children=True,
        )

    # --- Alarms: DLQs and the sender's reputation -----------------------------------------------------------------

    def _reputation_alarms(self) -> None:
        s = self.settings
        for rate, alarm_percent in REPUTATION_ALARM_PERCENT.items():
            for window in REPUTATION_WINDOWS:
                metric = cloudwatch.Metric(
                    # Per stage ("Deskmail/prod"): dev's test traffic never moves prod's alarms.
                    namespace=s.powertools_metrics_namespace,
                    metric_name=f"{rate}{window}",
                    dimensions_map={"service": s.powertools_service_name},  # Powertools' default dimension
                    statistic="Maximum",
                    unit=cloudwatch.Unit.PERCENT,
                    # Published every 15 minutes: an hour holds four values, so one late run does not flap it.
                    period=cdk.Duration.hours(1),
                )
                self._alarm(
                    f"{rate}{window}Alarm",
                    description=f"deskmail's {rate} over {window} at or above {alarm_percent:g} % (SES reviews the "
                    f"account at {REPUTATION_REVIEW_PERCENT[rate]:g} %; app.publish_reputation)",
                    metric=metric,
                    threshold=alarm_percent,
                    comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                    # No value means the scheduled function did not run: INSUFFICIENT_DATA, and that is news.
                    missing=cloudwatch.TreatMissingData.MISSING,
                    insufficient_data_is_news=True,
                )
        for metric_name, fraction in SES_REPUTATION_ALARM_FRACTION.items():
            self._alarm(
                metric_name.replace("Reputation.", "SesAccount") + "Alarm",
                description=f"SES's own account-level {metric_name} at or above {fraction:g} "
                f"({fraction * 100:g} %; SES reviews at {REPUTATION_REVIEW_PERCENT[metric_name.split('.')[1]]:g} %)",
                metric=cloudwatch.Metric(
                    namespace="AWS/SES", metric_name=metric_name, statistic="Maximum", period=cdk.Duration.hours(1)
                ),
                threshold=fraction,
                comparison=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                # SES publishes these only once the account has bounces or complaints: no data is no problem.
                missing=cloudwatch.TreatMissingData.NOT_BREACHING,
            )

    def _schedule_dead_letter_queue(self) -> None:
        # Scheduled functions run asynchronously (EventBridge): after Lambda's two retries a failed run lands here.
        self.schedule_dead_letter_queue = self._dead_letter_queue(
            "ScheduleDeadLetterQueue", self.names["schedule_dead_letter_queue"]
        )
        self._alarm(
            "ScheduleDeadLetterAlarm",
            description="A scheduled function failed three times in a row; its event waits in "
            + self.names["schedule_dead_letter_queue"],
            metric=self.schedule_dead_letter_queue.metric_approximate_number_of_messages_visible(
                period=cdk.Duration.minutes(1), statistic="Maximum"
            ),
            threshold=0,
        )
        NagSuppressions.add_resource_suppressions(
            self.schedule_dead_letter_queue,
            [
                NagPackSuppression(
                    id="AwsSolutions-SQS3",
                    reason="It is a DLQ: the on-failure destination of the "
                    "scheduled functions (cdk-nag only recognises SQS redrive targets).",
                )
            ],
        )

    def _function_alarms(self) -> None:
        for function in self._chalice_functions():
            function_id = self.resolve(function.logical_id)
            dimensions = {"FunctionName": function.ref}
            for metric_name, meaning in (
                ("Errors", "raised (or timed out)"),
                ("Throttles", "was throttled (account or reserved concurrency exhausted)"),
            ):
                self._alarm(
                    f"{function_id}{metric_name}Alarm",
                    description=f"The {function_id} function {meaning} at least once in 5 minutes",
                    metric=cloudwatch.Metric(
                        namespace="AWS/Lambda",
                        metric_name=metric_name,
                        dimensions_map=dimensions,
                        statistic="Sum",
                        period=cdk.Duration.minutes(5),
                    ),
                    threshold=0,
                )

    def _api_alarms(self) -> None:
        dimensions = {"ApiName": self.api_name, "Stage": API_STAGE}
        self._alarm(
            "Api5xxAlarm",
            description="The API answered 5xx (the app never does on purpose: a crash, a timeout or a throttled "
            "integration)",
            metric=cloudwatch.Metric(
                namespace="AWS/ApiGateway",
                metric_name="5XXError",
                dimensions_map=dimensions,
                statistic="Sum",
                period=cdk.Duration.minutes(5),
            ),
            threshold=0,
        )
        self._alarm(
            "ApiLatencyAlarm",
            description=f"The API's p95 latency stayed above {API_LATENCY_ALARM_MS} ms for 15 minutes",
            metric=cloudwatch.Metric(
                namespace="AWS/ApiGateway",
                metric_name="Latency",
                dimensions_map=dimensions,
                statistic="p95",
                period=cdk.Duration.minutes(5),
            ),
            threshold=API_LATENCY_ALARM_MS,
            evaluation_periods=3,
        )

    def _web_acl(self) -> None:
        s = self.settings

        def visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
            return wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True,
                metric_name=f"deskmail-{s.stage}-{name}",
                sampled_requests_enabled=True,
            )

        def managed(name: str, priority: int) -> wafv2.CfnWebACL.RuleProperty:
            return wafv2.CfnWebACL.RuleProperty(
                name=name,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=name
                    )
                ),
                visibility_config=visibility(name),
            )

        self.web_acl = wafv2.CfnWebACL(
            self,
            "ApiWebAcl",
            name=f"deskmail-{s.stage}-api",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=visibility("api"),
            rules=[
                # Per client: one address cannot exhaust the stage-wide throttle for every agent.
                wafv2.CfnWebACL.RuleProperty(
                    name="RatePerIp",
                    priority=0,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            limit=s.waf_requests_per_5_minutes_per_ip, aggregate_key_type="IP"
                        )
                    ),
                    visibility_config=visibility("rate-per-ip"),
                ),
                # Known exploit payloads (Log4j and the like) and addresses AWS's threat intelligence flags; both
                # are cheap and rarely hit a real agent. The common rule set's 8 KB body limit would refuse long
                # comments, so it stays out.
                managed("AWSManagedRulesKnownBadInputsRuleSet", 1),
                managed("AWSManagedRulesAmazonIpReputationList", 2),
            ],
        )
        wafv2.CfnWebACLAssociation(
            self,
            "ApiWebAclAssociation",
            web_acl_arn=self.web_acl.attr_arn,
            # SAM's "<api>.Stage" reference: the stage SAM creates while transforming, and a dependency on it.
            resource_arn=cdk.Fn.sub(
                "arn:${AWS::Partition}:apigateway:${AWS::Region}::/restapis/${RestAPI}/stages/${RestAPI.Stage}"
            ),
        )
        logging = wafv2.CfnLoggingConfiguration(
            self,
            "ApiWebAclLogging",
            resource_arn=self.web_acl.attr_arn,
            log_destination_configs=[
                self.format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=self._log_group_names()["waf"],
                    arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
        )
        logging.node.add_dependency(self.waf_logs)

    def _alarm_notifications(self) -> None:
        if not self.settings.alarm_email:
            return
        alarm_topic = sns.Topic(self, "AlarmTopic", master_key=self.messaging_key, enforce_ssl=True)
        # enforce_ssl gives the topic an explicit policy, which replaces SNS's default one: without this statement
        # CloudWatch may not publish and every alarm action fails silently (only the alarm history shows it).
        alarm_topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="CloudWatchAlarmsOfThisAccountPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[alarm_topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": self.account},
                    "ArnLike": {"aws:SourceArn": self._alarm_arn_pattern()},
                },
            )
        )
        alarm_topic.add_subscription(subscriptions.EmailSubscription(self.settings.alarm_email))
        action = cloudwatch_actions.SnsAction(alarm_topic)
        for alarm, insufficient_data_is_news in self.alarms:
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)
            if insufficient_data_is_news:
                alarm.add_insufficient_data_action(action)

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

        self.mail_from_domain = f"{s.mail_from_subdomain}.{s.sender_domain}"
        self.identity = ses.EmailIdentity(
            self,
            "SenderIdentity",
            identity=ses.Identity.domain(s.sender_domain),  # Easy DKIM: publish the CNAMEs from the outputs
            configuration_set=self.configuration_set,
            # Our own MAIL FROM (envelope sender) domain, so SPF passes aligned with the From domain (DMARC); until
            # its MX and TXT records resolve, SES falls back to amazonses.com rather than refusing to send.
            mail_from_domain=self.mail_from_domain,
            mail_from_behavior_on_mx_failure=ses.MailFromBehaviorOnMxFailure.USE_DEFAULT_VALUE,
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
        self.notification_topic_calls: list[cr.AwsCustomResource] = []
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
            self.notification_topic_calls.append(notification_topics)
        self._feedback_forwarding_off()

    def _feedback_forwarding_off(self) -> None:
        # Bounces and complaints reach deskmail through the topic: SES's feedback emails to the sender's address
        # would only fill the support mailbox (and loop back in as inbound mail). SES allows turning them off only
        # once both notification topics are set, hence after those calls; on delete it turns them back on before
        # the topics are cleared (reverse order), as SES requires.
        def forwarding(enabled: bool) -> cr.AwsSdkCall:
            return cr.AwsSdkCall(
                service="SES",
                action="setIdentityFeedbackForwardingEnabled",
                parameters={"Identity": self.settings.sender_domain, "ForwardingEnabled": enabled},
                physical_resource_id=cr.PhysicalResourceId.of(f"{self.settings.sender_domain}-feedback-forwarding"),
            )

        forwarding_off = cr.AwsCustomResource(
            self,
            "IdentityFeedbackForwardingOff",
            on_create=forwarding(False),
            on_update=forwarding(False),
            on_delete=forwarding(True),
            policy=cr.AwsCustomResourcePolicy.from_statements(
                [
                    iam.PolicyStatement(
                        actions=["ses:SetIdentityFeedbackForwardingEnabled"], resources=[self.identity_arn]
                    )
                ]
            ),
            install_latest_aws_sdk=False,
            log_group=self.custom_resource_logs,
        )
        for call in self.notification_topic_calls:
            forwarding_off.node.add_dependency(call)

    def _custom_resource_provider_checks(self) -> None:
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

    # --- Sign-in: Cognito user pool (issue 13) -------------------------------------------------------------------

    def _user_pool(self, retain: cdk.RemovalPolicy) -> None:
        s = self.settings
        self.user_pool = cognito.UserPool(
            self,
            "UserPool",
            user_pool_name=f"deskmail-{s.stage}",
            # Admins invite agents (POST /agents -> AdminCreateUser); nobody signs up on their own.
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            sign_in_case_sensitive=False,
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            standard_attributes=cognito.StandardAttributes(
                email=cognito.StandardAttribute(required=True, mutable=True),
                fullname=cognito.StandardAttribute(required=False, mutable=True),
            ),
            password_policy=cognito.PasswordPolicy(
                min_length=14,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=cdk.Duration.days(3),
            ),
            # TOTP apps only (no SMS: no SNS spend, no SIM-swap risk); "required" makes every agent enrol.
            mfa=cognito.Mfa.REQUIRED if s.cognito_mfa == "required" else cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            # Threat protection (compromised credentials, risky sign-ins blocked) needs the Plus plan.
            feature_plan=cognito.FeaturePlan.PLUS if s.cognito_threat_protection else cognito.FeaturePlan.ESSENTIALS,
            standard_threat_protection_mode=(
                cognito.StandardThreatProtectionMode.FULL_FUNCTION if s.cognito_threat_protection else None
            ),
            user_invitation=cognito.UserInvitationConfig(
                email_subject="Your deskmail account",
                email_body="You have been invited to deskmail. Sign in with {username} and the temporary password "
                "{####} (valid 3 days); you will choose your own password.",
            ),
            deletion_protection=s.is_production,
            removal_policy=retain,
        )
        self.user_pool_groups = {}
        for group, role in (("admins", "admin"), ("agents", "agent")):
            self.user_pool_groups[group] = cognito.CfnUserPoolGroup(
                self,
                f"{group.capitalize()}Group",
                user_pool_id=self.user_pool.user_pool_id,
                group_name=group,
                description=f"deskmail role '{role}' (the token's cognito:groups claim)",
            )
        # The page signs in through the app's same-origin proxy routes: a public client (no secret) with the
        # password flow and refresh tokens; no hosted UI, no OAuth flows.
        self.user_pool_client = self.user_pool.add_client(
            "PageClient",
            user_pool_client_name=f"deskmail-{s.stage}-page",
            generate_secret=False,
            auth_flows=cognito.AuthFlow(user_password=True),
            disable_o_auth=True,
            prevent_user_existence_errors=True,
            enable_token_revocation=True,
            access_token_validity=cdk.Duration.hours(1),
            id_token_validity=cdk.Duration.hours(1),
            refresh_token_validity=cdk.Duration.days(s.cognito_refresh_token_days),
        )
        self.auth_issuer = f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool.user_pool_id}"
        if s.first_admin_email:
            # The first admin: Cognito emails a temporary password; the deskmail user is linked at first sign-in.
            admin = cognito.CfnUserPoolUser(
                self,
                "FirstAdmin",
                user_pool_id=self.user_pool.user_pool_id,
                username=s.first_admin_email,
                desired_delivery_mediums=["EMAIL"],
                user_attributes=[
                    cognito.CfnUserPoolUser.AttributeTypeProperty(name="email", value=s.first_admin_email),
                    cognito.CfnUserPoolUser.AttributeTypeProperty(name="email_verified", value="true"),
                ],
            )
            membership = cognito.CfnUserPoolUserToGroupAttachment(
                self,
                "FirstAdminIsAdmin",
                user_pool_id=self.user_pool.user_pool_id,
                group_name="admins",
                username=s.first_admin_email,
            )
            membership.node.add_dependency(admin)
            membership.node.add_dependency(self.user_pool_groups["admins"])
        suppressions = []
        if s.cognito_mfa != "required":
            suppressions.append(
                NagPackSuppression(
                    id="AwsSolutions-COG2",
                    reason="MFA is a setting (cognito_mfa): optional TOTP outside prod by default; prod should set "
                    "'required' (infrastructure/README.md, Sign-in).",
                )
            )
        if not s.cognito_threat_protection:
            for rule in ("AwsSolutions-COG3", "AwsSolutions-COG8"):
                suppressions.append(
                    NagPackSuppression(
                        id=rule,
                        reason="Threat protection needs the Plus feature plan (billed per user): on by default in "
                        "prod only (cognito_threat_protection).",
                    )
                )
        if suppressions:
            NagSuppressions.add_resource_suppressions(self.user_pool, suppressions)

    # --- Log groups -----------------------------------------------------------------------------------------------

    def _log_groups(self, retain: cdk.RemovalPolicy) -> None:
        # One group for all of deskmail's functions (Lambda LoggingConfig), so retention and encryption are ours
        # and the role needs no logs:CreateLogGroup.
        names = self._log_group_names()
        self.function_logs = self._log_group("FunctionLogs", names["functions"], retain)
        self.custom_resource_logs = self._log_group("CustomResourceLogs", names["custom_resources"], retain)
        self.access_logs = self._log_group("ApiAccessLogs", names["api_access"], retain)
        self.waf_logs = self._log_group("WafLogs", names["waf"], retain)

    def _log_group_names(self) -> dict[str, str]:
        stage = self.settings.stage
        return {
            "functions": f"/aws/lambda/deskmail-{stage}",
            "custom_resources": f"/aws/lambda/deskmail-{stage}-custom-resources",
            "api_access": f"/aws/apigateway/deskmail-{stage}",
            # WAF delivers only to log groups whose name starts with "aws-waf-logs-".
            "waf": f"aws-waf-logs-deskmail-{stage}",
        }

    def _alarm_arn_pattern(self) -> str:
        return self.format_arn(
            service="cloudwatch", resource="alarm", resource_name="*", arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME
        )

    def _log_group(self, construct_id: str, name: str, retain: cdk.RemovalPolicy) -> logs.LogGroup:
        group = logs.LogGroup(
            self, construct_id, log_group_name=name, encryption_key=self.data_key, removal_policy=retain
        )
        # Retention is a number of days from context; the L2 only takes its enum.
        group.node.default_child.retention_in_days = self.settings.log_retention_days
        return group

    # --- The functions' role: least privilege, written out ------------------------------------------------------

    def _function_roles(self) -> None:
        """One role per function app.py declares, allowing only that function's calls (permissions.APP_CALLS)."""
        self.function_roles: dict[str, iam.Role] = {}
        for name, kind in app_functions(REPO_ROOT / "app.py").items():
            if name not in APP_CALLS:
                raise ValueError(
                    f"app.py declares the Lambda function {name!r}, which infrastructure/stacks/permissions.py grants "
                    "nothing: add the calls it makes to APP_CALLS (tests/infrastructure/test_roles.py checks them)"
                )
            role = iam.Role(
                self,
                f"{cfn_name(name)}Role",
                assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
                description=f"deskmail {self.settings.stage} {name}",
            )
            for statement in self._statements(name, kind, APP_CALLS[name]):
                role.add_to_policy(statement)
            self._role_suppressions(role)
            self.function_roles[name] = role

    def _statements(self, name: str, kind: str, calls: frozenset[str]) -> list[iam.PolicyStatement]:
        s = self.settings
        unknown = {c for c in calls if c.split(":")[0] not in ("dynamodb", "ses", "s3", "cognito-idp")}
        if unknown:
            raise ValueError(
                f"{name}: no resource known for {sorted(unknown)} (infrastructure/stacks/deskmail_stack.py)"
            )
        statements = [
            iam.PolicyStatement(
                sid="Logs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"{self.function_logs.log_group_arn}:log-stream:*", self.function_logs.log_group_arn],
            ),
            iam.PolicyStatement(
                sid="XRay",
                actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                resources=["*"],  # AWS requires it: X-Ray has no resource-level permissions
            ),
        ]
        table_actions = sorted(c for c in calls if c.startswith("dynamodb:"))
        if table_actions:
            # TTL deletes need no grant; the indexes are only ever queried.
            statements.append(iam.PolicyStatement(sid="Table", actions=table_actions, resources=[self.table.table_arn]))
            if "dynamodb:Query" in calls:
                statements.append(
                    iam.PolicyStatement(
                        sid="TableIndexes",
                        actions=["dynamodb:Query"],
                        resources=[f"{self.table.table_arn}/index/{index}" for index in TABLE_INDEXES],
                    )
                )
        if table_actions:
            # The table is encrypted with the data key; DynamoDB uses it on the caller's behalf.
            statements.append(
                iam.PolicyStatement(
                    sid="DataKey",
                    actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                    resources=[self.data_key.key_arn],
                )
            )
        if "ses:SendEmail" in calls:
            statements.append(
                iam.PolicyStatement(
                    sid="SendAsDeskmailOnly",
                    actions=["ses:SendEmail"],
                    resources=[self.identity_arn, self.configuration_set_arn],
                    conditions={"StringEquals": {"ses:FromAddress": s.sender_address}},
                )
            )
        if "ses:GetEmailIdentity" in calls:
            statements.append(
                iam.PolicyStatement(
                    sid="IdentityDiagnostics", actions=["ses:GetEmailIdentity"], resources=[self.identity_arn]
                )
            )
        suppression = sorted(c for c in calls if c.endswith("SuppressedDestination"))
        if suppression:
            statements.append(
                iam.PolicyStatement(
                    sid="SuppressionList",
                    actions=suppression,
                    resources=["*"],  # AWS requires it: these actions have no resource type
                )
            )
        cognito = sorted(c for c in calls if c.startswith("cognito-idp:"))
        if cognito:
            statements.append(
                iam.PolicyStatement(sid="UserPool", actions=cognito, resources=[self.user_pool.user_pool_arn])
            )
        messaging_key_actions: set[str] = set()
        buckets = S3_CALLS.get(name, {})
        s3_calls = {c for c in calls if c.startswith("s3:")}
        if s3_calls != {c for bucket_calls in buckets.values() for c in bucket_calls}:
            raise ValueError(f"{name}: every S3 call needs its bucket in permissions.S3_CALLS, and only those")
        if "inbound" in buckets:
            statements.append(
                iam.PolicyStatement(
                    sid="InboundMailObjects",
                    actions=sorted(buckets["inbound"]),
                    resources=[self.inbound_bucket.arn_for_objects(f"{INBOUND_OBJECT_PREFIX}*")],
                )
            )
            messaging_key_actions.add("kms:Decrypt")
        if "attachments" in buckets:
            statements.append(
                iam.PolicyStatement(
                    sid="AttachmentObjects",
                    actions=sorted(buckets["attachments"]),
                    resources=[self._attachments_objects_arn()],
                )
            )
            # S3 uses the key with the caller's (or the presigned request's signer's) permissions: a data key to
            # write, Decrypt to read.
            key_actions = set()
            if "s3:PutObject" in buckets["attachments"]:
                key_actions.add("kms:GenerateDataKey")
            if "s3:GetObject" in buckets["attachments"]:
                key_actions.add("kms:Decrypt")
            statements.append(
                iam.PolicyStatement(
                    sid="AttachmentsKey", actions=sorted(key_actions), resources=[self.attachments_key.key_arn]
                )
            )
        queue = {"handle_ses_feedback": self.feedback_queue, "handle_inbound_email": self.inbound_queue}.get(name)
        if kind == "sqs":
            if queue is None:
                raise ValueError(f"{name}: an SQS handler without a queue in the stack")
            # What the event source mapping calls with the function's role.
            statements.append(
                iam.PolicyStatement(sid="ConsumeQueue", actions=QUEUE_CONSUMER_ACTIONS, resources=[queue.queue_arn])
            )
            messaging_key_actions.add("kms:Decrypt")
        if kind == "schedule":
            # Lambda delivers a failed scheduled run to its on-failure destination with the function's role.
            statements.append(
                iam.PolicyStatement(
                    sid="ScheduleDeadLetterQueue",
                    actions=["sqs:SendMessage"],
                    resources=[self.schedule_dead_letter_queue.queue_arn],
                )
            )
            messaging_key_actions |= {"kms:Decrypt", "kms:GenerateDataKey"}
        if messaging_key_actions:
            statements.append(
                iam.PolicyStatement(
                    sid="MessagingKey", actions=sorted(messaging_key_actions), resources=[self.messaging_key.key_arn]
                )
            )
        return statements

    def _role_suppressions(self, role: iam.Role) -> None:
        NagSuppressions.add_resource_suppressions(
            role,
            [
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason="Lambda names its log streams at run time; the grant stays inside deskmail's log group.",
                    applies_to=[f"Resource::<{self._logical_id(self.function_logs)}.Arn>:log-stream:*"],
                ),
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason="Inbound mail objects are named by SES message ids, known only when mail arrives; the "
                    "grant is GetObject under the inbound/ prefix of our bucket.",
                    applies_to=[f"Resource::<{self._logical_id(self.inbound_bucket)}.Arn>/{INBOUND_OBJECT_PREFIX}*"],
                ),
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason="Attachment objects are named by ids made when a file is attached; the grant stays under "
                    "the attachments/ prefix of our bucket.",
                    applies_to=[
                        "Resource::arn:<AWS::Partition>:s3:::"
                        + attachments_bucket_name(self.settings.stage, "<AWS::AccountId>")
                        + f"/{ATTACHMENT_OBJECT_PREFIX}*"
                    ],
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
            "DESKMAIL_INBOUND_QUEUE": self.names["inbound_queue"],
            "DESKMAIL_SENDER": s.sender,
            "DESKMAIL_CONFIGURATION_SET": self.configuration_set.configuration_set_name,
            "DESKMAIL_DEFAULT_LOCALE": s.default_locale,
            # The account's SES suppression list ("local" is the local stack's stand-in only).
            SUPPRESSION_BACKEND_ENV: "ses",
            "DESKMAIL_TRANSIENT_BOUNCE_THRESHOLD": str(s.transient_bounce_threshold),
            "DESKMAIL_TRANSIENT_BOUNCE_WINDOW_DAYS": str(s.transient_bounce_window_days),
            ENV_PER_10_MINUTES: str(s.max_notifications_per_10_minutes),
            ENV_PER_HOUR: str(s.max_notifications_per_hour),
            # Powertools reads its settings from these variables (docs: "Environment variables").
            "POWERTOOLS_SERVICE_NAME": s.powertools_service_name,
            "POWERTOOLS_METRICS_NAMESPACE": s.powertools_metrics_namespace,
            "POWERTOOLS_LOG_LEVEL": s.powertools_log_level,
        }
        with _lambda_runtime(LAMBDA_RUNTIME):
            self.chalice = self._chalice_construct(environment, layer)
        self._after_chalice()

    def _chalice_construct(self, environment: dict, layer: str) -> Chalice:
        s = self.settings
        return Chalice(
            self,
            "App",
            source_dir=str(REPO_ROOT),
            stage_config={
                "api_gateway_stage": API_STAGE,
                "environment_variables": environment,
                "lambda_timeout": s.lambda_timeout_seconds,
                "lambda_memory_size": s.lambda_memory_mb,
                "layers": [layer],
                "xray": True,
                # The role below is ours: no policy generated from reading the code, no role made by Chalice.
                "autogen_policy": False,
                "manage_iam_role": False,
                # The API's role; every other function gets its own below (Role overridden per function).
                "iam_role_arn": self.function_roles[API_FUNCTION_NAME].role_arn,
            },
        )

    def _after_chalice(self) -> None:
        s = self.settings
        # Sign-in: the API verifies the pool's RS256 access tokens (issuer, JWKS, audience = the page's client id, roles
        # from cognito:groups) and manages agents in the pool. No shared-secret (HS256) key exists in AWS.
        for key, value in {
            "DESKMAIL_AUTH_ISSUER": self.auth_issuer,
            "DESKMAIL_AUTH_JWKS_URL": f"{self.auth_issuer}/.well-known/jwks.json",
            "DESKMAIL_AUTH_AUDIENCE": self.user_pool_client.user_pool_client_id,
            "DESKMAIL_AUTH_ROLE_CLAIM": "cognito:groups",
            "DESKMAIL_COGNITO_USER_POOL_ID": self.user_pool.user_pool_id,
            "DESKMAIL_COGNITO_CLIENT_ID": self.user_pool_client.user_pool_client_id,
        }.items():
            self.chalice.add_environment_variable(key, value, API_FUNCTION)

        # Only the inbound handler reads stored mail (receipt.action.type "S3": bucketName/objectKey).
        self.chalice.add_environment_variable(
            "DESKMAIL_INBOUND_BUCKET", self.inbound_bucket.bucket_name, INBOUND_FUNCTION
        )

        # Attachments: the API presigns uploads and downloads; the inbound handler stores an emailed reply's files.
        # The name as a string, like the queues': a token would make the functions depend on the bucket.
        # Every function that reads or writes files (permissions.S3_CALLS; senders attach files inline) knows the
        # bucket; those that write name the key (the bucket policy refuses a put that does not).
        for name, buckets in S3_CALLS.items():
            if "attachments" not in buckets:
                continue
            function_id = API_FUNCTION if name == API_FUNCTION_NAME else cfn_name(name)
            file_settings = {"DESKMAIL_ATTACHMENTS_BUCKET": self.attachments_bucket_name}
            if "s3:PutObject" in buckets["attachments"]:
                file_settings["DESKMAIL_ATTACHMENTS_KMS_KEY"] = self.attachments_key.key_arn
            # Emailed download links point at the public GET /files/{token}; the API's own URL would be a
            # dependency cycle (the API depends on the function), so the address is a setting.
            if s.download_url_template:
                file_settings["DESKMAIL_DOWNLOAD_URL_TEMPLATE"] = s.download_url_template
            for key, value in file_settings.items():
                self.chalice.add_environment_variable(key, value, function_id)
        # The page's CSP allows this origin (and no other) besides its own for the upload (chalicelib/web).
        self.chalice.add_environment_variable("DESKMAIL_ATTACHMENTS_ORIGIN", self._attachments_origin(), API_FUNCTION)
        self._attachments_cors()

        # Point each mapping at the real queue (the decorator only knows a name) and report partial failures: both
        # handlers return Powertools' process_partial_response (batchItemFailures).
        for function_id, event, queue, batch_size, window, concurrency in (
            (
                FEEDBACK_FUNCTION,
                FEEDBACK_EVENT,
                self.feedback_queue,
                s.feedback_batch_size,
                s.feedback_batching_window_seconds,
                s.feedback_max_concurrency,
            ),
            (
                INBOUND_FUNCTION,
                INBOUND_EVENT,
                self.inbound_queue,
                s.inbound_batch_size,
                s.inbound_batching_window_seconds,
                s.inbound_max_concurrency,
            ),
        ):
            function = self.chalice.get_resource(function_id)
            function.add_property_override(f"{event}.Queue", queue.queue_arn)
            function.add_property_override(f"{event}.BatchSize", batch_size)
            function.add_property_override(f"{event}.MaximumBatchingWindowInSeconds", window)
            function.add_property_override(f"{event}.FunctionResponseTypes", ["ReportBatchItemFailures"])
            function.add_property_override(f"{event}.ScalingConfig", {"MaximumConcurrency": concurrency})

        for logical_id, resource in self._sam_functions().items():
            function = self.chalice.get_resource(logical_id)
            handler = resource["Properties"]["Handler"].split(".", 1)[1]
            role = self.function_roles[API_FUNCTION_NAME if handler == "app" else handler]
            function.add_property_override("Role", role.role_arn)
            function.add_property_override("LoggingConfig", {"LogGroup": self.function_logs.log_group_name})
            function.add_metadata("checkov", {"skip": LAMBDA_CHECKOV_SKIPS})
            # The role's policy (not only the role) must exist before the SQS mapping is created.
            function.node.add_dependency(role.node.find_child("DefaultPolicy"))

        # Below API Gateway's 29 s: a request either answers or fails while the client still listens. (Chalice's
        # per-function settings come only from .chalice/config.json, whose stages the construct does not use.)
        self.chalice.get_resource(API_FUNCTION).add_property_override("Timeout", s.api_timeout_seconds)

        # Scheduled functions run asynchronously: a run that still fails after Lambda's two retries goes to the
        # schedule DLQ (and its alarm) instead of vanishing. Every schedule app.py declares, whatever its name.
        for function in self._scheduled_functions():
            function.add_property_override(
                "EventInvokeConfig",
                {
                    "MaximumRetryAttempts": 2,
                    "DestinationConfig": {
                        "OnFailure": {"Type": "SQS", "Destination": self.schedule_dead_letter_queue.queue_arn}
                    },
                },
            )

        api = self.chalice.get_resource(REST_API)
        # Its own name per stage: API Gateway's metrics (and our alarms) are keyed by ApiName.
        self.api_name = f"deskmail-{s.stage}"
        api.add_property_override("Name", self.api_name)
        api.add_property_override("TracingEnabled", True)
        stage_wide = {
            "ResourcePath": "/*",
            "HttpMethod": "*",
            "ThrottlingRateLimit": s.api_throttle_rate,
            "ThrottlingBurstLimit": s.api_throttle_burst,
            "MetricsEnabled": True,
        }
        sending = [
            {
                # MethodSettings' encoding: "/" inside the path as "~1".
                "ResourcePath": "/" + path.replace("/", "~1"),
                "HttpMethod": method,
                "ThrottlingRateLimit": s.api_send_throttle_rate,
                "ThrottlingBurstLimit": s.api_send_throttle_burst,
                "MetricsEnabled": True,
            }
            for path, method in SENDING_ROUTES
            if method.lower() in self._api_paths().get(path, {})
        ]
        api.add_property_override("MethodSettings", [stage_wide, *sending])
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

    def _sam_functions(self) -> dict[str, dict]:
        """The functions `chalice package` wrote (logical id -> resource), read from its SAM template."""
        # The construct keeps its package directory private; the pinned chalice (1.34) writes sam.json there.
        template = json.loads((Path(self.chalice._sam_package_dir) / "sam.json").read_text())
        return {
            logical_id: resource
            for logical_id, resource in template["Resources"].items()
            if resource["Type"] == "AWS::Serverless::Function"
        }

    def _api_paths(self) -> dict[str, dict]:
        template = json.loads((Path(self.chalice._sam_package_dir) / "sam.json").read_text())
        return template["Resources"][REST_API]["Properties"]["DefinitionBody"]["paths"]

    def _scheduled_functions(self) -> list[cdk.CfnResource]:
        return [
            self.chalice.get_resource(logical_id)
            for logical_id, resource in self._sam_functions().items()
            if any(event["Type"] == "Schedule" for event in resource["Properties"].get("Events", {}).values())
        ]

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
        cdk.CfnOutput(self, "InboundTopicArn", value=self.inbound_topic.topic_arn)
        cdk.CfnOutput(self, "InboundQueueUrl", value=self.inbound_queue.queue_url)
        cdk.CfnOutput(self, "InboundBucketName", value=self.inbound_bucket.bucket_name)
        cdk.CfnOutput(self, "AttachmentsBucketName", value=self.attachments_bucket.bucket_name)
        cdk.CfnOutput(
            self,
            "ReceiptRuleSetName",
            value=self.receipt_rule_set.receipt_rule_set_name,
            description="Active only with -c activate_receipt_rule_set=true (one active set per account and region)",
        )
        # SES receives only for domains whose MX record points at it (and that are verified SES identities).
        inbound_domains = sorted(
            {"*" + r if r.startswith(".") else r.rsplit("@", 1)[-1] for r in self.settings.inbound_recipients}
        )
        cdk.CfnOutput(
            self,
            "InboundMxRecord",
            value=f"10 inbound-smtp.{self.region}.amazonaws.com",
            description="MX record to publish for: " + ", ".join(inbound_domains),
        )
        cdk.CfnOutput(self, "ConfigurationSetName", value=self.configuration_set.configuration_set_name)
        cdk.CfnOutput(self, "UserPoolId", value=self.user_pool.user_pool_id)
        cdk.CfnOutput(self, "UserPoolClientId", value=self.user_pool_client.user_pool_client_id)
        cdk.CfnOutput(self, "AuthIssuer", value=self.auth_issuer)
        cdk.CfnOutput(
            self,
            "MailFromMxRecord",
            value=f"{self.mail_from_domain} MX 10 feedback-smtp.{self.region}.amazonses.com",
            description="Custom MAIL FROM domain: publish this MX record",
        )
        cdk.CfnOutput(
            self,
            "MailFromSpfRecord",
            value=f'{self.mail_from_domain} TXT "v=spf1 include:amazonses.com ~all"',
            description="Custom MAIL FROM domain: publish this SPF record",
        )
        for i, record in enumerate(self.identity.dkim_records, start=1):
            cdk.CfnOutput(self, f"DkimCname{i}", value=f"{record.name} CNAME {record.value}")


# API Gateway access log line: enough to trace a request to its Lambda logs and X-Ray trace.
# Errors and latencies included: a 5xx alarm is answered from these lines (which part failed, how long it took).
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "extendedRequestId": "$context.extendedRequestId",
    "ip": "$context.identity.sourceIp",
    "userAgent": "$context.identity.userAgent",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "protocol": "$context.protocol",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "responseLatency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "integrationStatus": "$context.integration.status",
    "integrationError": "$context.integration.error",
    "errorMessage": "$context.error.message",
    "errorType": "$context.error.responseType",
    "wafResponseCode": "$context.wafResponseCode",
    "xrayTraceId": "$context.xrayTraceId",
    "principalId": "$context.authorizer.principalId",
}


@jsii.implements(ses.IReceiptRuleAction)
class _S3Action:
    """SES's S3 receipt action, written out: CDK's own adds a bucket statement with the older aws:Referer condition
    (and grants of its own); ours, with aws:SourceAccount and aws:SourceArn, is in _inbound_bucket."""

    def __init__(self, *, bucket_name: str, object_key_prefix: str, topic_arn: str) -> None:
        self.bucket_name = bucket_name
        self.object_key_prefix = object_key_prefix
        self.topic_arn = topic_arn

    def bind(self, rule: ses.IReceiptRule) -> ses.ReceiptRuleActionConfig:
        return ses.ReceiptRuleActionConfig(
            s3_action=ses.S3ActionConfig(
                bucket_name=self.bucket_name,
                object_key_prefix=self.object_key_prefix,
                topic_arn=self.topic_arn,
            )
        )
