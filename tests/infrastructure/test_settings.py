"""Stage settings from CDK context: cdk.json's defaults are a valid dev stage, mistakes stop synth early."""

from __future__ import annotations

import aws_cdk as cdk
import pytest

from infrastructure.deskmail_cdk import context_defaults
from infrastructure.stacks.settings import SettingsError, StageSettings


def settings(**overrides) -> StageSettings:
    app = cdk.App(context={**context_defaults(), **overrides})
    return StageSettings.from_context(app.node)


def test_cdk_json_defaults_describe_the_dev_stage():
    dev = settings()
    assert dev.stage == "dev"
    assert dev.sender_address == "support@deskmail.example.com"
    assert dev.deletion_protection is False
    assert dev.alarm_email == ""
    # Inbound: a rule for the sender's address (not its whole domain), created but not activated (one active set
    # per account and region).
    assert dev.inbound_recipients == ("support@deskmail.example.com",)
    assert dev.api_timeout_seconds < 29
    assert dev.powertools_metrics_namespace == "Deskmail/dev"
    assert dev.activate_receipt_rule_set is False
    # The app's own defaults (chalicelib/config.py, chalicelib/domain/rate_limit.py).
    assert (dev.transient_bounce_threshold, dev.transient_bounce_window_days) == (3, 7)
    assert (dev.max_notifications_per_10_minutes, dev.max_notifications_per_hour) == (10, 25)


PROD = {"stage": "prod", "alarm_email": "oncall@example.com", "inbound_recipients": "support@deskmail.example.com"}


def test_prod_tables_are_protected_unless_explicitly_not():
    assert settings(**PROD).deletion_protection is True
    assert settings(**PROD, deletion_protection="false").deletion_protection is False
    assert settings(stage="dev", deletion_protection="true").deletion_protection is True


def test_command_line_context_arrives_as_strings():
    s = settings(feedback_batch_size="25", log_retention_days="90", inbound_max_concurrency="7")
    assert (s.feedback_batch_size, s.log_retention_days, s.inbound_max_concurrency) == (25, 90, 7)
    s = settings(activate_receipt_rule_set="true", inbound_recipients="Help@Deskmail.example.com, .replies.example.com")
    assert s.activate_receipt_rule_set is True
    assert s.inbound_recipients == ("help@deskmail.example.com", ".replies.example.com")
    assert settings(activate_receipt_rule_set="false").activate_receipt_rule_set is False


def test_inbound_recipients_from_cdk_json_are_a_list():
    assert settings(inbound_recipients=["support@deskmail.example.com"]).inbound_recipients == (
        "support@deskmail.example.com",
    )


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"sender": "Support <support@other.example>"}, "sender_domain"),
        ({"sender": "no address"}, "no email address"),
        ({"log_retention_days": 10}, "log_retention_days"),
        ({"feedback_batch_size": "many"}, "integer"),
        ({"feedback_batch_size": 50, "feedback_batching_window_seconds": 0}, "batching window"),
        ({"feedback_max_concurrency": 1}, "feedback_max_concurrency"),
        ({"inbound_max_concurrency": 1}, "inbound_max_concurrency"),
        ({"inbound_batch_size": 0}, "inbound_batch_size"),
        ({"inbound_batching_window_seconds": 301}, "inbound_batching_window_seconds"),
        ({"inbound_recipients": ["not a domain"]}, "inbound_recipients"),
        ({"inbound_recipients": "@example.com"}, "inbound_recipients"),
        ({"transient_bounce_threshold": 0}, "transient_bounce_threshold"),
        ({"max_notifications_per_hour": "0"}, "max_notifications_per_hour"),
        ({"attachment_retention_days": 30}, "attachment_retention_days"),
        ({"download_url_template": "http://x.example/files/{token}"}, "download_url_template"),
    ],
)
def test_mistakes_are_reported_before_synth(overrides, message):
    with pytest.raises(SettingsError, match=message):
        settings(**overrides)


@pytest.mark.parametrize(
    "missing, message",
    [
        ({"alarm_email": ""}, "stage prod requires alarm_email:"),
        ({"inbound_recipients": []}, "stage prod requires inbound_recipients:"),
        ({"alarm_email": "", "inbound_recipients": ""}, "stage prod requires alarm_email and inbound_recipients:"),
    ],
)
def test_prod_requires_an_alarm_address_and_inbound_recipients(missing, message):
    with pytest.raises(SettingsError, match=message):
        settings(**{**PROD, **missing})


def test_prod_metrics_namespace_differs_from_devs():
    assert settings(**PROD).powertools_metrics_namespace == "Deskmail/prod"
    assert settings(**PROD, powertools_metrics_namespace="Acme").powertools_metrics_namespace == "Acme"


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"api_timeout_seconds": 29}, "below API Gateway's 29 s"),
        ({"api_timeout_seconds": 0}, "api_timeout_seconds"),
        ({"waf_requests_per_5_minutes_per_ip": 10}, "waf_requests_per_5_minutes_per_ip"),
        ({"mail_from_subdomain": "a.b"}, "mail_from_subdomain"),
    ],
)
def test_edge_settings_are_checked(overrides, message):
    with pytest.raises(SettingsError, match=message):
        settings(**overrides)


def test_mfa_is_required_in_prod_and_optional_elsewhere_unless_set():
    assert settings(**PROD).cognito_mfa == "required"
    assert settings().cognito_mfa == "optional"
    assert settings(cognito_mfa="required").cognito_mfa == "required"
    assert settings(**PROD).cognito_threat_protection is True
    assert settings().cognito_threat_protection is False


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"cognito_mfa": "sometimes"}, "cognito_mfa"),
        ({"first_admin_email": "not-an-address"}, "first_admin_email"),
        ({"cognito_refresh_token_days": 0}, "cognito_refresh_token_days"),
    ],
)
def test_sign_in_settings_are_checked(overrides, message):
    with pytest.raises(SettingsError, match=message):
        settings(**overrides)
