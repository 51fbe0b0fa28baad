"""Shared fixtures: an in-process moto AWS with deskmail's table and SES identity, and Chalice's test client."""

from __future__ import annotations

import json
import os

import pytest

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
        _sign_in_with_test_keys()
        boto3.client("dynamodb").create_table(**table_definition(STAGE_ENV["DESKMAIL_TABLE_NAME"]))
        ses = boto3.client("sesv2")
        ses.create_email_identity(EmailIdentity="deskmail.example.com")
        ses.create_configuration_set(ConfigurationSetName=STAGE_ENV["DESKMAIL_CONFIGURATION_SET"])
        yield
        runtime.reset()


def _sign_in_with_test_keys():
    """The dev stage's user pool on moto (same ids as .chalice/config.json) and a verifier reading the test JWKS."""
    import boto3

    from chalicelib import auth
    from chalicelib.config import auth_settings
    from deskmail_local import cognito
    from tests.tokens import FakeJwksFetcher

    cognito.use_reproducible_ids()
    pool = cognito.create_pool(boto3.client("cognito-idp"), "us-east-1")
    assert pool.issuer == STAGE_ENV["DESKMAIL_AUTH_ISSUER"], "moto's pool id changed: update .chalice/config.json"
    auth.use_verifier(auth.TokenVerifier(auth_settings(), fetch=FakeJwksFetcher()))


@pytest.fixture
def client(aws):
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="dev") as test_client:
        yield test_client
