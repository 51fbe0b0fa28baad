"""The SES account adapter against the real SESv2 API shapes (botocore Stubber), and the local suppression list."""

from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber

from chalicelib.adapters.ses_account import (
    LocalSuppressionList,
    SesIdentities,
    SesSuppressionList,
    SuppressedDestination,
    suppression_list,
)


@pytest.fixture
def sesv2():
    client = boto3.client("sesv2", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def test_get_suppressed_destination(sesv2):
    client, stubber = sesv2
    stubber.add_response(
        "get_suppressed_destination",
        {
            "SuppressedDestination": {
                "EmailAddress": "carl@exmaple.com",
                "Reason": "BOUNCE",
                "LastUpdateTime": datetime(2026, 11, 23, 8, 0, tzinfo=UTC),
                "Attributes": {"MessageId": "0100018c-aaaa", "FeedbackId": "0100018c-bbbb"},
            }
        },
        {"EmailAddress": "carl@exmaple.com"},
    )
    stubber.add_client_error(
        "get_suppressed_destination", "NotFoundException", "not on the list", 404, {"EmailAddress": "rita@example.com"}
    )

    suppressions = SesSuppressionList(client)
    assert suppressions.get("carl@exmaple.com") == SuppressedDestination(
        "carl@exmaple.com", "BOUNCE", "2026-11-23T08:00:00.000Z"
    )
    assert suppressions.get("rita@example.com") is None


def test_delete_and_put_suppressed_destination(sesv2):
    client, stubber = sesv2
    stubber.add_response("delete_suppressed_destination", {}, {"EmailAddress": "carl@exmaple.com"})
    stubber.add_client_error(
        "delete_suppressed_destination", "NotFoundException", "not on the list", 404, {"EmailAddress": "x@example.com"}
    )
    stubber.add_response("put_suppressed_destination", {}, {"EmailAddress": "x@example.com", "Reason": "COMPLAINT"})

    suppressions = SesSuppressionList(client)
    assert suppressions.delete("carl@exmaple.com") is True
    assert suppressions.delete("x@example.com") is False
    suppressions.put("x@example.com", "COMPLAINT")


def test_other_errors_are_not_swallowed(sesv2):
    client, stubber = sesv2
    stubber.add_client_error("get_suppressed_destination", "TooManyRequestsException", "slow down", 429)

    with pytest.raises(client.exceptions.TooManyRequestsException):
        SesSuppressionList(client).get("carl@exmaple.com")


def test_get_email_identity(sesv2):
    client, stubber = sesv2
    stubber.add_response(
        "get_email_identity",
        {
            "IdentityType": "DOMAIN",
            "FeedbackForwardingStatus": True,
            "VerifiedForSendingStatus": True,
            "DkimAttributes": {"SigningEnabled": True, "Status": "SUCCESS", "Tokens": ["a", "b", "c"]},
            "MailFromAttributes": {
                "MailFromDomain": "mail.deskmail.example.com",
                "MailFromDomainStatus": "SUCCESS",
                "BehaviorOnMxFailure": "USE_DEFAULT_VALUE",
            },
            "Policies": {},
            "Tags": [],
            "VerificationStatus": "SUCCESS",
        },
        {"EmailIdentity": "deskmail.example.com"},
    )
    stubber.add_client_error("get_email_identity", "NotFoundException", "unknown", 404, {"EmailIdentity": "x.test"})

    identities = SesIdentities(client)
    identity = identities.get("deskmail.example.com")
    assert identity.exists and identity.verified and identity.dkim_status == "SUCCESS"
    assert (identity.mail_from_domain, identity.mail_from_status) == ("mail.deskmail.example.com", "SUCCESS")
    assert not identities.get("x.test").exists


def test_local_suppression_list_has_the_same_behaviour(tmp_path):
    for suppressions in (LocalSuppressionList(), LocalSuppressionList(str(tmp_path / "suppressed.json"))):
        assert suppressions.get("carl@exmaple.com") is None
        suppressions.put("Carl@exmaple.com", "BOUNCE")
        entry = suppressions.get("carl@exmaple.com")
        assert entry is not None and entry.reason == "BOUNCE" and entry.last_update
        assert suppressions.delete("carl@exmaple.com") is True
        assert suppressions.delete("carl@exmaple.com") is False
        with pytest.raises(ValueError):
            suppressions.put("x@example.com", "SPITE")


def test_the_local_file_is_shared_between_instances(tmp_path):
    path = str(tmp_path / "suppressed.json")
    LocalSuppressionList(path).put("carl@exmaple.com", "COMPLAINT")

    assert LocalSuppressionList(path).get("carl@exmaple.com").reason == "COMPLAINT"


def test_backend_selection():
    made = []
    assert isinstance(suppression_list({"DESKMAIL_SUPPRESSION_BACKEND": "local"}, made.append), LocalSuppressionList)
    assert isinstance(suppression_list({}, lambda: "client"), SesSuppressionList)
    with pytest.raises(ValueError):
        suppression_list({"DESKMAIL_SUPPRESSION_BACKEND": "carrier-pigeon"}, lambda: None)
