"""Shared fixtures: an in-process moto AWS with deskmail's table and SES identity, and Chalice's test client."""

from __future__ import annotations

import json
import os

import pytest

from tests.tokens import sign_in_with_test_keys

STAGE_ENV = json.load(open(os.path.join(os.path.dirname(__file__), "..", ".chalice", "config.json")))["stages"]["dev"][
    "environment_variables"
]

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "deskmail",
        "POWERTOOLS_METRICS_NAMESPACE": "Deskmail",
        "POWERTOOLS_DEV": "false",
        **STAGE_ENV,
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)

# Longest first, so that under pytest-xdist neither worker is left running one of them alone at the end (the live
# fuzz alone is about 280 s of `make test`'s 790 s on two workers; the browser tests are one group on one worker).
LONGEST_FIRST = ("tests/reliability/test_live_fuzzing.py", "tests/browser/", "tests/reliability/test_api_fuzzing.py")


def pytest_collection_modifyitems(session, config, items) -> None:
    def rank(item) -> int:
        return next((n for n, prefix in enumerate(LONGEST_FIRST) if item.nodeid.startswith(prefix)), len(LONGEST_FIRST))

    items.sort(key=rank)  # stable: the rest keep their order


@pytest.fixture
def aws():
    """moto in-process, with the stage's table, a verified sending domain and the configuration set."""
    import boto3
    from moto import mock_aws

    from chalicelib import runtime
    from chalicelib.naming import table_definition
    from deskmail_local import moto_fidelity

    moto_fidelity.apply()  # SES's 50-recipient limit counted per address, as SES does
    with mock_aws():
        runtime.reset()
        sign_in_with_test_keys(STAGE_ENV["DESKMAIL_AUTH_ISSUER"])
        boto3.client("dynamodb").create_table(**table_definition(STAGE_ENV["DESKMAIL_TABLE_NAME"]))
        ses = boto3.client("sesv2")
        ses.create_email_identity(EmailIdentity="deskmail.example.com")
        ses.create_configuration_set(ConfigurationSetName=STAGE_ENV["DESKMAIL_CONFIGURATION_SET"])
        boto3.client("s3").create_bucket(Bucket=STAGE_ENV["DESKMAIL_ATTACHMENTS_BUCKET"])
        yield
        runtime.reset()


@pytest.fixture
def client(aws):
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="dev") as test_client:
        yield test_client
