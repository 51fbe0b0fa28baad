"""deskmail's production stack: data, SES feedback and inbound pipelines, reputation alarms, secret, and the Chalice
app with least privilege."""

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
    aws_ses_actions as ses_actions,
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

from chalicelib.adapters.ses_account import BACKEND_ENV as SUPPRESSION_BACKEND_ENV
from chalicelib.domain.rate_limit import ENV_PER_10_MINUTES, ENV_PER_HOUR
from chalicelib.naming import TABLE_INDEXES, TABLE_KEY, TTL_ATTRIBUTE, resource_names
from infrastructure.stacks.settings import StageSettings

REPO_ROOT = Path(__file__).resolve().parents[2]

# The Chalice handler that consumes SES feedback (app.py) and the logical ids `chalice package` gives it.
FEEDBACK_FUNCTION = "HandleSesFeedback"
FEEDBACK_EVENT = f"Events.{FEEDBACK_FUNCTION}SqsEventSource.Properties"
# The handler that turns inbound replies into comments (app.handle_inbound_email).
INBOUND_FUNCTION = "HandleInboundEmail"
INBOUND_EVENT = f"Events.{INBOUND_FUNCTION}SqsEventSource.Properties"
REST_API = "RestAPI"

# Official Powertools layer (Powertools 3.37.0 for python3.11 x86_64); the layer version is context.
POWERTOOLS_LAYER = "arn:aws:lambda:{region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python311-x86_64:{version}"

# SES events that deskmail records on a notification (configuration-set event destination).
SES_EVENT_TYPES = ["SEND", "REJECT", "BOUNCE", "COMPLAINT", "DELIVERY", "DELIVERY_DELAY"]

# Feedback notifications of the identity itself: they arrive even for mail sent without the configuration set.
IDENTITY_NOTIFICATION_TYPES = ["Bounce", "Complaint"]

# The rates app.publish_reputation emits (Powertools metrics, unit Percent, 0-100) and the levels at which SES puts
# an account under review (chalicelib/domain/reputation.py: 5 % bounces, 0.1 % complaints).
REPUTATION_WINDOWS = ("24h", "7d")
REPUTATION_REVIEW_PERCENT = {"BounceRate": 5.0, "ComplaintRate": 0.1}

# The DynamoDB calls the app makes on the base table (chalicelib/adapters/dynamo.py); the indexes only get Query.
TABLE_ACTIONS = [
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
]
# What a Lambda SQS event source mapping needs on its queue.
QUEUE_CONSUMER_ACTIONS = [
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:ChangeMessageVisibility",
    "sqs:GetQueueAttributes",
    "sqs:GetQueueUrl",
]

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

        self.alarms: list[cloudwatch.Alarm] = []
        self.topic_policies: dict[str, iam.AddToResourcePolicyResult] = {}
        self.sns_delivery_topic_arns: list[str] = []

        self._keys(retain)
        self._table(retain)
        self._feedback_pipeline()
        self._log_groups(retain)
        self._email_sending()
        self._inbound_pipeline()
        self._sns_delivers_to_encrypted_queues()
        self._reputation_alarms()
        self._alarm_notifications()
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
            description=f"deskmail {self.settings.stage}: SES feedback and inbound topics, queues, DLQs; alarms",
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
        # Only SES of this account, and only for our configuration set or sending identity, may publish.
        self.feedback_topic, self.feedback_queue, self.dead_letter_queue = self._topic_to_queue(
            "Feedback",
            topic_name=self.names["feedback_topic"],
            queue_name=self.names["feedback_queue"],
            dead_letter_queue_name=self.names["dead_letter_queue"],
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
        publishers: list[str],
        dlq_alarm_description: str,
    ) -> tuple[sns.Topic, sqs.Queue, sqs.Queue]:
        """SES -> encrypted topic -> encrypted queue (SNS envelope) with a DLQ and its alarm."""
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

        dead_letter_queue = sqs.Queue(
            self,
            f"{prefix}DeadLetterQueue",
            queue_name=dead_letter_queue_name,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.messaging_key,
            retention_period=cdk.Duration.days(14),  # SQS's maximum: time to find and replay a poison message
            enforce_ssl=True,
        )
        queue = sqs.Queue(
            self,
            f"{prefix}Queue",
            queue_name=queue_name,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.messaging_key,
            # AWS's rule for Lambda event sources: at least 6x the function timeout, so retries of a slow batch
            # never see a message reappear while it is still being processed.
            visibility_timeout=cdk.Duration.seconds(6 * self.settings.lambda_timeout_seconds),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=5, queue=dead_letter_queue),
            enforce_ssl=True,
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
        )
        # SNS delivers as soon as it subscribes: the queue must already accept it.
        subscription.node.add_dependency(queue_policy.policy_dependable)

        self.alarms.append(
            cloudwatch.Alarm(
                self,
                f"{prefix}DeadLetterAlarm",
                alarm_description=dlq_alarm_description,
                metric=dead_letter_queue.metric_approximate_number_of_messages_visible(
                    period=cdk.Duration.minutes(1), statistic="Maximum"
                ),
                threshold=0,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
        )
        return topic, queue, dead_letter_queue

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
        self.receipt_rule_set_name = f"deskmail-{s.stage}"
        self.receipt_rule_name = f"deskmail-{s.stage}-inbound"
        receipt_rule_arn = self.format_arn(
            service="ses",
            resource="receipt-rule-set",
            resource_name=f"{self.receipt_rule_set_name}:receipt-rule/{self.receipt_rule_name}",
        )
        self.inbound_topic, self.inbound_queue, self.inbound_dead_letter_queue = self._topic_to_queue(
            "Inbound",
            topic_name=self.names["inbound_topic"],
            queue_name=self.names["inbound_queue"],
            dead_letter_queue_name=self.names["inbound_dead_letter_queue"],
            publishers=[receipt_rule_arn],
            dlq_alarm_description="Inbound emails (customer replies) failed 5 times and wait in the DLQ",
        )

        self.receipt_rule_set = ses.ReceiptRuleSet(
            self, "InboundRuleSet", receipt_rule_set_name=self.receipt_rule_set_name
        )
        rule = self.receipt_rule_set.add_rule(
            "Inbound",
            receipt_rule_name=self.receipt_rule_name,
            recipients=list(s.inbound_recipients),
            # The whole message in the notification (up to 150 KB), UTF-8: what the handler parses.
            actions=[ses_actions.Sns(topic=self.inbound_topic, encoding=ses_actions.EmailEncoding.UTF8)],
            # The handler reads the spam and virus verdicts to drop such mail (loop protection and abuse).
            scan_enabled=True,
            # Optional, as for sending: a help desk cannot refuse a customer's reply because their server lacks TLS.
            tls_policy=ses.TlsPolicy.OPTIONAL,
            enabled=True,
        )
        # SES must be allowed to publish before the rule exists.
        rule.node.add_dependency(self.topic_policies["Inbound"].policy_dependable)

        if s.activate_receipt_rule_set:
            self._activate_receipt_rule_set(rule)

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
        for rate, review_percent in REPUTATION_REVIEW_PERCENT.items():
            for window in REPUTATION_WINDOWS:
                metric = cloudwatch.Metric(
                    namespace=s.powertools_metrics_namespace,
                    metric_name=f"{rate}{window}",
                    dimensions_map={"service": s.powertools_service_name},  # Powertools' default dimension
                    statistic="Maximum",
                    unit=cloudwatch.Unit.PERCENT,
                    # Published every 15 minutes: an hour holds four values, so one late run does not flap it.
                    period=cdk.Duration.hours(1),
                )
                self.alarms.append(
                    cloudwatch.Alarm(
                        self,
                        f"{rate}{window}Alarm",
                        alarm_description=f"{rate} over {window} at or above {review_percent:g} %: the level at which "
                        "SES puts the account under review (app.publish_reputation)",
                        metric=metric,
                        threshold=review_percent,
                        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                        evaluation_periods=1,
                        # No value means the scheduled function did not run: shown as INSUFFICIENT_DATA, not OK.
                        treat_missing_data=cloudwatch.TreatMissingData.MISSING,
                    )
                )

    def _alarm_notifications(self) -> None:
        if not self.settings.alarm_email:
            return
        alarm_topic = sns.Topic(self, "AlarmTopic", master_key=self.messaging_key, enforce_ssl=True)
        alarm_topic.add_subscription(subscriptions.EmailSubscription(self.settings.alarm_email))
        for alarm in self.alarms:
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
        index_arns = [f"{self.table.table_arn}/index/{index}" for index in TABLE_INDEXES]
        statements = [
            iam.PolicyStatement(
                sid="Logs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[f"{self.function_logs.log_group_arn}:log-stream:*", self.function_logs.log_group_arn],
            ),
            # Exactly the calls chalicelib/adapters/dynamo.py makes (conditional PutItem for inbound claims,
            # DeleteItem to release one, UpdateItem to resolve a failure); TTL deletes need no grant.
            iam.PolicyStatement(
                sid="Table",
                actions=TABLE_ACTIONS,
                resources=[self.table.table_arn],
            ),
            iam.PolicyStatement(
                sid="TableIndexes",
                actions=["dynamodb:Query"],
                resources=index_arns,
            ),
            iam.PolicyStatement(
                sid="DataKeyForTableAndSecret",
                actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                resources=[self.data_key.key_arn],
            ),
            iam.PolicyStatement(
                sid="FeedbackQueue",
                actions=QUEUE_CONSUMER_ACTIONS,
                resources=[self.feedback_queue.queue_arn],
            ),
            iam.PolicyStatement(
                sid="InboundQueue",
                actions=QUEUE_CONSUMER_ACTIONS,
                resources=[self.inbound_queue.queue_arn],
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
            "DESKMAIL_INBOUND_QUEUE": self.names["inbound_queue"],
            "DESKMAIL_SENDER": s.sender,
            "DESKMAIL_CONFIGURATION_SET": self.configuration_set.configuration_set_name,
            "DESKMAIL_DEFAULT_LOCALE": s.default_locale,
            "DESKMAIL_JWT_SECRET_ARN": self.jwt_secret.secret_arn,
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
        cdk.CfnOutput(self, "InboundTopicArn", value=self.inbound_topic.topic_arn)
        cdk.CfnOutput(self, "InboundQueueUrl", value=self.inbound_queue.queue_url)
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
