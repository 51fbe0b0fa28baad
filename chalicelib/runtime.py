"""One set of AWS clients and adapters per Lambda container, created on first use (tests swap them)."""

from __future__ import annotations

from functools import lru_cache

from chalicelib.adapters.dynamo import DeskmailTable
from chalicelib.adapters.ses import SesMailer
from chalicelib.config import settings


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
    return SesMailer(_session().client("sesv2", region_name=settings().region))


def reset() -> None:
    """Forget the cached clients and settings (tests, after changing the environment)."""
    from chalicelib.config import settings as cached_settings

    for cached in (_session, table, mailer, cached_settings):
        cached.cache_clear()
