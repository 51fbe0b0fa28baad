"""Per-stage settings read from CDK context (cdk.json defaults, `-c key=value` overrides), checked once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from constructs import Node

# The only retention periods CloudWatch Logs accepts.
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)


# What an SES receipt rule accepts as a recipient: a domain (example.com, .example.com for its subdomains) or an
# address in one.
_DOMAIN = r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
_RECIPIENT = re.compile(rf"[^@\s]+@{_DOMAIN}|\.?{_DOMAIN}")


# API Gateway REST APIs end an integration after 29 s; the API function must finish first.
API_GATEWAY_TIMEOUT_SECONDS = 29


class SettingsError(ValueError):
    pass


def _recipients(value: object) -> tuple[str, ...]:
    """A list from cdk.json, or a comma-separated string from `-c inbound_recipients=a,b`."""
    if value is None:
        return ()
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return tuple(str(item).strip().lower() for item in items if str(item).strip())


def _validate_sqs_mapping(queue: str, batch_size: int, window_seconds: int, max_concurrency: int) -> None:
    if not 1 <= batch_size <= 10_000:
        raise SettingsError(f"{queue}_batch_size must be between 1 and 10000")
    if batch_size > 10 and window_seconds < 1:
        raise SettingsError("SQS needs a batching window of at least 1 s for batches above 10")
    if not 0 <= window_seconds <= 300:
        raise SettingsError(f"{queue}_batching_window_seconds must be between 0 and 300")
    if not 2 <= max_concurrency <= 1000:
        raise SettingsError(f"{queue}_max_concurrency must be between 2 and 1000 (SQS ScalingConfig)")


@dataclass(frozen=True)
class StageSettings:
    stage: str
    sender: str
    sender_domain: str
    default_locale: str
    alarm_email: str
    log_retention_days: int
    lambda_timeout_seconds: int
    lambda_memory_mb: int
    feedback_batch_size: int
    feedback_batching_window_seconds: int
    feedback_max_concurrency: int
    inbound_batch_size: int
    inbound_batching_window_seconds: int
    inbound_max_concurrency: int
    inbound_recipients: tuple[str, ...]
    activate_receipt_rule_set: bool
    transient_bounce_threshold: int
    transient_bounce_window_days: int
    max_notifications_per_10_minutes: int
    max_notifications_per_hour: int
    api_throttle_rate: int
    api_throttle_burst: int
    api_send_throttle_rate: int
    api_send_throttle_burst: int
    api_timeout_seconds: int
    waf_requests_per_5_minutes_per_ip: int
    mail_from_subdomain: str
    inbound_mail_retention_days: int
    attachment_retention_days: int
    download_url_template: str
    first_admin_email: str
    cognito_mfa: str
    cognito_threat_protection: bool
    cognito_refresh_token_days: int
    powertools_layer_version: int
    powertools_service_name: str
    powertools_metrics_namespace: str
    powertools_log_level: str
    deletion_protection: bool

    @property
    def sender_address(self) -> str:
        """The bare address of DESKMAIL_SENDER: what SES compares with ses:FromAddress."""
        return parseaddr(self.sender)[1].lower()

    @property
    def is_production(self) -> bool:
        return self.stage == "prod"

    @classmethod
    def from_context(cls, node: Node) -> StageSettings:
        def get(key: str) -> Any:
            value = node.try_get_context(key)
            if value is None:
                raise SettingsError(f"CDK context {key!r} is missing (see cdk.json)")
            return value

        # `-c key=value` on the command line always arrives as a string.
        def integer(key: str) -> int:
            try:
                return int(get(key))
            except (TypeError, ValueError) as exc:
                raise SettingsError(f"CDK context {key!r} must be an integer") from exc

        def flag(key: str, default: bool) -> bool:
            value = node.try_get_context(key)
            if value is None or value == "":
                return default
            return str(value).strip().lower() in ("1", "true", "yes")

        stage = str(get("stage"))
        sender_domain = str(get("sender_domain")).lower()
        sender = str(get("sender"))
        alarm_email = str(node.try_get_context("alarm_email") or "").strip()
        inbound_recipients = _recipients(node.try_get_context("inbound_recipients"))
        if stage == "prod":
            # Production settings are required, not defaulted: alarms without an address notify nobody, and a
            # receipt rule for a guessed address takes (or misses) someone's mail.
            missing = [
                key
                for key, value in (("alarm_email", alarm_email), ("inbound_recipients", inbound_recipients))
                if not value
            ]
            if missing:
                raise SettingsError(
                    "stage prod requires " + " and ".join(missing) + ": pass them with -c (e.g. "
                    "-c alarm_email=oncall@example.com -c inbound_recipients=support@example.com); see "
                    "infrastructure/README.md, 'Production settings'"
                )
        settings = cls(
            stage=stage,
            sender=sender,
            sender_domain=sender_domain,
            default_locale=str(get("default_locale")),
            alarm_email=alarm_email,
            log_retention_days=integer("log_retention_days"),
            lambda_timeout_seconds=integer("lambda_timeout_seconds"),
            lambda_memory_mb=integer("lambda_memory_mb"),
            feedback_batch_size=integer("feedback_batch_size"),
            feedback_batching_window_seconds=integer("feedback_batching_window_seconds"),
            feedback_max_concurrency=integer("feedback_max_concurrency"),
            inbound_batch_size=integer("inbound_batch_size"),
            inbound_batching_window_seconds=integer("inbound_batching_window_seconds"),
            inbound_max_concurrency=integer("inbound_max_concurrency"),
            # The receipt rule's recipients: outside prod, the sender's own address (replies go to it), never the
            # whole domain, whose other mail is not deskmail's to take.
            inbound_recipients=inbound_recipients or (parseaddr(sender)[1].lower(),),
            # Only one receipt rule set can be active per account and region: activating ours is opt-in.
            activate_receipt_rule_set=flag("activate_receipt_rule_set", False),
            transient_bounce_threshold=integer("transient_bounce_threshold"),
            transient_bounce_window_days=integer("transient_bounce_window_days"),
            max_notifications_per_10_minutes=integer("max_notifications_per_10_minutes"),
            max_notifications_per_hour=integer("max_notifications_per_hour"),
            api_throttle_rate=integer("api_throttle_rate"),
            api_throttle_burst=integer("api_throttle_burst"),
            api_send_throttle_rate=integer("api_send_throttle_rate"),
            api_send_throttle_burst=integer("api_send_throttle_burst"),
            api_timeout_seconds=integer("api_timeout_seconds"),
            waf_requests_per_5_minutes_per_ip=integer("waf_requests_per_5_minutes_per_ip"),
            mail_from_subdomain=str(get("mail_from_subdomain")).lower(),
            inbound_mail_retention_days=integer("inbound_mail_retention_days"),
            attachment_retention_days=integer("attachment_retention_days"),
            # Emailed download links: https://<api or custom domain>/api/files/{token}; empty: the app's default.
            download_url_template=str(node.try_get_context("download_url_template") or "").strip(),
            # The deploy creates the first admin (Cognito emails a temporary password); empty: none (README).
            first_admin_email=str(node.try_get_context("first_admin_email") or "").strip().lower(),
            # TOTP second factor: required in prod unless the operator says otherwise.
            cognito_mfa=str(node.try_get_context("cognito_mfa") or ("required" if stage == "prod" else "optional")),
            cognito_threat_protection=flag("cognito_threat_protection", stage == "prod"),
            cognito_refresh_token_days=integer("cognito_refresh_token_days"),
            powertools_layer_version=integer("powertools_layer_version"),
            powertools_service_name=str(get("powertools_service_name")),
            # "{stage}" in the namespace keeps dev's and prod's metrics (and the alarms on them) apart.
            powertools_metrics_namespace=str(get("powertools_metrics_namespace")).replace("{stage}", stage),
            powertools_log_level=str(get("powertools_log_level")),
            # Production tables are protected unless the operator explicitly says otherwise.
            deletion_protection=flag("deletion_protection", stage == "prod"),
        )
        settings.validate()
        return settings

    def validate(self) -> None:
        if not self.sender_address or "@" not in self.sender_address:
            raise SettingsError(f"sender {self.sender!r} has no email address")
        if self.sender_address.rsplit("@", 1)[1] != self.sender_domain:
            raise SettingsError(f"sender {self.sender!r} is not in sender_domain {self.sender_domain!r}")
        for queue in ("feedback", "inbound"):
            _validate_sqs_mapping(
                queue,
                getattr(self, f"{queue}_batch_size"),
                getattr(self, f"{queue}_batching_window_seconds"),
                getattr(self, f"{queue}_max_concurrency"),
            )
        if len(self.inbound_recipients) > 100:
            raise SettingsError("inbound_recipients: an SES receipt rule takes at most 100 recipients")
        for recipient in self.inbound_recipients:
            if not _RECIPIENT.fullmatch(recipient):
                raise SettingsError(f"inbound_recipients: {recipient!r} is neither a domain nor an email address")
        for key in (
            "transient_bounce_threshold",
            "transient_bounce_window_days",
            "max_notifications_per_10_minutes",
            "max_notifications_per_hour",
        ):
            if getattr(self, key) < 1:
                raise SettingsError(f"{key} must be a positive integer (the app refuses anything else)")
        if not 1 <= self.lambda_timeout_seconds <= 900:
            raise SettingsError("lambda_timeout_seconds must be between 1 and 900 (Lambda's limit)")
        if not 1 <= self.api_timeout_seconds <= API_GATEWAY_TIMEOUT_SECONDS - 1:
            raise SettingsError(
                f"api_timeout_seconds must be below API Gateway's {API_GATEWAY_TIMEOUT_SECONDS} s integration timeout "
                "(the client would get a 504 while the request, and its email, still runs)"
            )
        if not 100 <= self.waf_requests_per_5_minutes_per_ip <= 2_000_000_000:
            raise SettingsError("waf_requests_per_5_minutes_per_ip must be between 100 and 2e9 (WAF's limits)")
        if not re.fullmatch(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?", self.mail_from_subdomain):
            raise SettingsError("mail_from_subdomain must be one DNS label, e.g. 'bounce'")
        if self.cognito_mfa not in ("optional", "required"):
            raise SettingsError("cognito_mfa must be 'optional' or 'required'")
        if self.first_admin_email and not re.fullmatch(rf"[^@\s]+@{_DOMAIN}", self.first_admin_email):
            raise SettingsError(f"first_admin_email {self.first_admin_email!r} is not an email address")
        if not 1 <= self.cognito_refresh_token_days <= 3650:
            raise SettingsError("cognito_refresh_token_days must be between 1 and 3650 (Cognito's limit)")
        if not 1 <= self.inbound_mail_retention_days <= 3650:
            raise SettingsError("inbound_mail_retention_days must be between 1 and 3650")
        # Above the Standard-IA transition (ATTACHMENT_INFREQUENT_ACCESS_DAYS): S3 refuses an expiration before it.
        if not 31 <= self.attachment_retention_days <= 3650:
            raise SettingsError("attachment_retention_days must be between 31 and 3650")
        if self.download_url_template and not (
            self.download_url_template.startswith("https://") and "{token}" in self.download_url_template
        ):
            raise SettingsError("download_url_template must be an https:// URL with {token}")
        if self.log_retention_days not in LOG_RETENTION_DAYS:
            raise SettingsError(f"log_retention_days must be one of CloudWatch's values {LOG_RETENTION_DAYS}")
