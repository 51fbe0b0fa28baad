"""How Cognito's answers to the sign-in calls become deskmail's: the caller's mistakes 400/401, an outage 503."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ParamValidationError, ReadTimeoutError

from chalicelib import auth
from chalicelib.adapters.identity import CognitoDirectory
from chalicelib.errors import InvalidInput
from chalicelib.services import agents

SIGN_IN = {"username": "nia@deskmail.example.com", "password": "Some-Passw0rd"}
NEW_PASSWORD = {"username": "nia@deskmail.example.com", "session": "s" * 40, "new_password": "Chosen-Passw0rd"}
REFRESH = {"refresh_token": "r" * 40}
CALLS = [(agents.sign_in, SIGN_IN), (agents.new_password, NEW_PASSWORD), (agents.refresh, REFRESH)]


class FailingClient:
    def __init__(self, error):
        self.error = error
        self.calls = 0

    def _fail(self, **_kwargs):
        self.calls += 1
        raise self.error

    initiate_auth = respond_to_auth_challenge = _fail


def client_error(code, message="Cognito says no"):
    return ClientError({"Error": {"Code": code, "Message": message}}, "InitiateAuth")


def answer(error, call, body):
    client = FailingClient(error)
    try:
        call(CognitoDirectory(client, "us-east-1_pool", "client"), body)
    except (auth.Unauthenticated, auth.IdentityProviderUnavailable, InvalidInput) as refusal:
        assert client.calls == 1
        return type(refusal)
    raise AssertionError("no refusal")


@pytest.mark.parametrize("call, body", CALLS)
@pytest.mark.parametrize(
    "code",
    [
        "NotAuthorizedException",
        "UserNotFoundException",
        "UserNotConfirmedException",
        "PasswordResetRequiredException",
        "CodeMismatchException",
        "ExpiredCodeException",
    ],
)
def test_a_refused_credential_is_a_401(call, body, code):
    assert answer(client_error(code), call, body) is auth.Unauthenticated


@pytest.mark.parametrize("code", ["InvalidPasswordException", "InvalidParameterException"])
def test_cognito_judging_the_new_password_is_a_400_and_elsewhere_a_401(code):
    assert answer(client_error(code), agents.new_password, NEW_PASSWORD) is InvalidInput
    assert answer(client_error(code), agents.sign_in, SIGN_IN) is auth.Unauthenticated
    assert answer(client_error(code), agents.refresh, REFRESH) is auth.Unauthenticated


def test_an_unknown_session_is_a_401():
    assert answer(client_error("ResourceNotFoundException"), agents.new_password, NEW_PASSWORD) is auth.Unauthenticated


def test_a_malformed_parameter_caught_by_botocore_is_a_401():
    assert answer(ParamValidationError(report="Session too short"), agents.new_password, NEW_PASSWORD) is (
        auth.Unauthenticated
    )


OUTAGES = [
    client_error("TooManyRequestsException"),
    client_error("InternalErrorException"),
    EndpointConnectionError(endpoint_url="https://cognito-idp.us-east-1.amazonaws.com"),
    ReadTimeoutError(endpoint_url="https://cognito-idp.us-east-1.amazonaws.com"),
]


@pytest.mark.parametrize(
    "call, body, error",
    [(call, body, error) for call, body in CALLS for error in OUTAGES]
    # On sign-in and refresh a missing resource is the pool or app client itself: a misconfiguration.
    + [
        (call, body, client_error("ResourceNotFoundException"))
        for call, body in CALLS
        if call is not agents.new_password
    ],
)
def test_only_an_outage_or_misconfiguration_is_a_503(call, body, error):
    assert answer(error, call, body) is auth.IdentityProviderUnavailable
