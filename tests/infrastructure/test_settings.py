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


def test_prod_tables_are_protected_unless_explicitly_not():
    assert settings(stage="prod").deletion_protection is True
    assert settings(stage="prod", deletion_protection="false").deletion_protection is False
    assert settings(stage="dev", deletion_protection="true").deletion_protection is True


def test_command_line_context_arrives_as_strings():
    s = settings(feedback_batch_size="25", log_retention_days="90")
    assert (s.feedback_batch_size, s.log_retention_days) == (25, 90)


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"sender": "Support <support@other.example>"}, "sender_domain"),
        ({"sender": "no address"}, "no email address"),
        ({"log_retention_days": 10}, "log_retention_days"),
        ({"feedback_batch_size": "many"}, "integer"),
        ({"feedback_batch_size": 50, "feedback_batching_window_seconds": 0}, "batching window"),
        ({"feedback_max_concurrency": 1}, "feedback_max_concurrency"),
    ],
)
def test_mistakes_are_reported_before_synth(overrides, message):
    with pytest.raises(SettingsError, match=message):
        settings(**overrides)
