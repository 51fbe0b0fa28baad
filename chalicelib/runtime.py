"""One set of AWS clients and adapters per Lambda container, created on first use (tests swap them)."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING

from chalicelib.adapters.dynamo import DeskmailTable
from chalicelib.config import settings

if TYPE_CHECKING:  # the SES-side adapters are imported when first created: the feedback function never needs them
    from chalicelib.adapters.dns import SpfLookup
    from chalicelib.adapters.files import S3FileStore
    from chalicelib.adapters.identity import CognitoDirectory
    from chalicelib.adapters.inbound_store import InboundMailStore
    from chalicelib.adapters.ses import SesMailer
    from chalicelib.adapters.ses_account import SesIdentities, SuppressionList


@lru_cache(maxsize=1)
def _session():
    import boto3  # boto3 is in the Lambda runtime; imported here so a cold start pays for it only once, when used

    return boto3.session.Session()


@lru_cache(maxsize=1)
def table() -> DeskmailTable:
    from botocore.config import Config

    client = _session().client(
        "dynamodb", region_name=settings().region, config=Config(retries={"mode": "standard", "max_attempts": 5})
    )
    return DeskmailTable(client, settings().table_name)


@lru_cache(maxsize=1)
def mailer() -> SesMailer:
    from chalicelib.adapters.ses import SesMailer

    return SesMailer(_session().client("sesv2", region_name=settings().region), files())


@lru_cache(maxsize=1)
def files() -> S3FileStore:
    """The attachments bucket (DESKMAIL_ATTACHMENTS_BUCKET). Signature v4: objects encrypted with KMS can only be
    fetched through SigV4-presigned URLs. Regional virtual-hosted URLs (https://<bucket>.s3.<region>.amazonaws.com):
    botocore's default names the global endpoint, which redirects a browser's POST outside us-east-1, and the
    page's CSP allows exactly this one origin (DESKMAIL_ATTACHMENTS_ORIGIN, set by the stack). A local endpoint
    (AWS_ENDPOINT_URL, moto) keeps its path-style URLs."""
    from botocore.config import Config

    from chalicelib.adapters.files import S3FileStore

    client = _session().client(
        "s3",
        region_name=settings().region,
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "virtual", "us_east_1_regional_endpoint": "regional"},
        ),
    )
    return S3FileStore(client, settings().attachments_bucket, settings().attachments_kms_key)


@lru_cache(maxsize=1)
def suppression_list() -> SuppressionList:
    """SES's account-level list, or the local stack's own one when DESKMAIL_SUPPRESSION_BACKEND=local."""
    from chalicelib.adapters import ses_account

    return ses_account.suppression_list(os.environ, lambda: mailer().client)


@lru_cache(maxsize=1)
def ses_identities() -> SesIdentities:
    from chalicelib.adapters.ses_account import SesIdentities

    return SesIdentities(mailer().client)


@lru_cache(maxsize=1)
def spf_lookup() -> SpfLookup:
    from chalicelib.adapters.dns import SpfLookup

    return SpfLookup()


@lru_cache(maxsize=1)
def inbound_store() -> InboundMailStore:
    from chalicelib.adapters.inbound_store import InboundMailStore

    return InboundMailStore(_session().client("s3", region_name=settings().region), settings().inbound_bucket)


def reset() -> None:
    """Forget the cached clients and settings (tests, after changing the environment)."""
    from chalicelib import auth
    from chalicelib.config import auth_settings
    from chalicelib.config import settings as cached_settings

    for cached in (
        _session,
        table,
        mailer,
        cached_settings,
        suppression_list,
        ses_identities,
        spf_lookup,
        inbound_store,
        files,
    ):
        cached.cache_clear()
    for cached in (directory, auth_settings):
        cached.cache_clear()
    auth.use_verifier(None)


@lru_cache(maxsize=1)
def directory() -> CognitoDirectory:
    """The Cognito user pool agents sign in with (DESKMAIL_COGNITO_USER_POOL_ID / _CLIENT_ID)."""
    from chalicelib.adapters.identity import CognitoDirectory
    from chalicelib.config import auth_settings

    config = auth_settings()
    client = _session().client("cognito-idp", region_name=config.region)
    return CognitoDirectory(client, config.user_pool_id, config.client_id)
