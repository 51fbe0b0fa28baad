"""deskmail's settings, read once from the environment and checked with a clear error."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache


class ConfigurationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Settings:
    stage: str
    table_name: str
    sender: str
    configuration_set: str
    feedback_queue: str
    default_locale: str
    region: str
    transient_bounce_threshold: int = 3
    transient_bounce_window_days: int = 7
    # Where a notification's "View ticket" link points: {ticket_id} and {reference} are filled in (a portal URL).
    ticket_url_template: str = "https://support.example.com/tickets/{ticket_id}"
    inbound_bucket: str = ""  # DESKMAIL_INBOUND_BUCKET: where the receipt rule's S3 action stores inbound mail
    # Attachments (issue 18): the private, KMS-encrypted bucket and the limits (see the README's "Attachments").
    attachments_bucket: str = ""  # DESKMAIL_ATTACHMENTS_BUCKET
    attachments_kms_key: str = ""  # DESKMAIL_ATTACHMENTS_KMS_KEY: a KMS key id/ARN; "" uses the bucket's aws/s3 key
    attachment_max_bytes: int = 25 * 1024 * 1024  # one file
    attachment_max_count: int = 10  # files on one comment
    attachment_max_total_bytes: int = 40 * 1024 * 1024  # all files of one comment together
    # Raw bytes a notification carries inline; the rest goes as download links. Base64 makes 10 MB about 13.7 MB
    # on the wire: well under SES's 40 MB and the ~20-25 MB that Gmail and Outlook accept.
    attachment_inline_budget: int = 10 * 1000 * 1000
    upload_expires_seconds: int = 15 * 60  # how long a presigned POST may be used
    download_expires_seconds: int = 5 * 60  # a presigned GET (the agent's download, a link's redirect)
    download_link_days: int = 7  # an emailed download link works this long
    # Where an emailed download link points: the API's public GET /files/{token}.
    download_url_template: str = "https://support.example.com/files/{token}"

    @property
    def sender_domain(self) -> str:
        return self.sender.rsplit("@", 1)[-1].strip(" >").lower()


def _required(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is not set (see .chalice/config.json)")
    return value


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings(
        stage=os.environ.get("DESKMAIL_STAGE", "dev"),
        table_name=_required("DESKMAIL_TABLE_NAME"),
        sender=_required("DESKMAIL_SENDER"),
        configuration_set=_required("DESKMAIL_CONFIGURATION_SET"),
        feedback_queue=os.environ.get("DESKMAIL_FEEDBACK_QUEUE", ""),
        default_locale=os.environ.get("DESKMAIL_DEFAULT_LOCALE", "en"),
        region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        transient_bounce_threshold=_positive_int("DESKMAIL_TRANSIENT_BOUNCE_THRESHOLD", 3),
        transient_bounce_window_days=_positive_int("DESKMAIL_TRANSIENT_BOUNCE_WINDOW_DAYS", 7),
        ticket_url_template=_url_template("DESKMAIL_TICKET_URL_TEMPLATE"),
        inbound_bucket=os.environ.get("DESKMAIL_INBOUND_BUCKET", "").strip(),
        attachments_bucket=os.environ.get("DESKMAIL_ATTACHMENTS_BUCKET", "").strip(),
        attachments_kms_key=os.environ.get("DESKMAIL_ATTACHMENTS_KMS_KEY", "").strip(),
        attachment_max_bytes=_positive_int("DESKMAIL_ATTACHMENT_MAX_BYTES", Settings.attachment_max_bytes),
        attachment_max_count=_positive_int("DESKMAIL_ATTACHMENT_MAX_COUNT", Settings.attachment_max_count),
        attachment_max_total_bytes=_positive_int(
            "DESKMAIL_ATTACHMENT_MAX_TOTAL_BYTES", Settings.attachment_max_total_bytes
        ),
        attachment_inline_budget=_positive_int("DESKMAIL_ATTACHMENT_INLINE_BUDGET", Settings.attachment_inline_budget),
        upload_expires_seconds=_positive_int("DESKMAIL_UPLOAD_EXPIRES_SECONDS", Settings.upload_expires_seconds),
        download_expires_seconds=_positive_int("DESKMAIL_DOWNLOAD_EXPIRES_SECONDS", Settings.download_expires_seconds),
        download_link_days=_positive_int("DESKMAIL_DOWNLOAD_LINK_DAYS", Settings.download_link_days),
        download_url_template=_download_template("DESKMAIL_DOWNLOAD_URL_TEMPLATE"),
    )


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigurationError(f"environment variable {name} must be a positive integer, not {raw!r}")
    return int(raw)


def _url_template(name: str) -> str:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return Settings.ticket_url_template
    if not raw.startswith(("https://", "http://")) or "{ticket_id}" not in raw and "{reference}" not in raw:
        raise ConfigurationError(f"environment variable {name} must be an http(s) URL with {{ticket_id}}, not {raw!r}")
    return raw


def _download_template(name: str) -> str:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return Settings.download_url_template
    if not raw.startswith(("https://", "http://")) or "{token}" not in raw:
        raise ConfigurationError(f"environment variable {name} must be an http(s) URL with {{token}}, not {raw!r}")
    return raw


# ---- sign-in ------------------------------------------------------------------------------------------------------

COGNITO_ISSUER_PREFIX = "https://cognito-idp."
DEFAULT_ROLE_CLAIM = "cognito:groups"


@dataclass(frozen=True)
class AuthSettings:
    """Which identity provider's access tokens the API accepts (see the README's "Sign-in")."""

    issuer: str
    jwks_url: str
    audience: str
    role_claim: str = DEFAULT_ROLE_CLAIM
    user_pool_id: str = ""
    client_id: str = ""
    region: str = "us-east-1"

    @property
    def is_cognito(self) -> bool:
        # Cognito access tokens carry client_id and token_use instead of aud; other OIDC issuers carry aud.
        return self.issuer.startswith(COGNITO_ISSUER_PREFIX) and ".amazonaws.com/" in self.issuer


@lru_cache(maxsize=1)
def auth_settings() -> AuthSettings:
    issuer = _required("DESKMAIL_AUTH_ISSUER").rstrip("/")
    if not issuer.startswith("https://"):
        raise ConfigurationError(f"DESKMAIL_AUTH_ISSUER must be an https:// URL, not {issuer!r}")
    client_id = os.environ.get("DESKMAIL_COGNITO_CLIENT_ID", "").strip()
    audience = os.environ.get("DESKMAIL_AUTH_AUDIENCE", "").strip() or client_id
    if not audience:
        raise ConfigurationError("set DESKMAIL_AUTH_AUDIENCE (the app client id, or the OIDC audience)")
    return AuthSettings(
        issuer=issuer,
        jwks_url=os.environ.get("DESKMAIL_AUTH_JWKS_URL", "").strip() or f"{issuer}/.well-known/jwks.json",
        audience=audience,
        role_claim=os.environ.get("DESKMAIL_AUTH_ROLE_CLAIM", "").strip() or DEFAULT_ROLE_CLAIM,
        user_pool_id=os.environ.get("DESKMAIL_COGNITO_USER_POOL_ID", "").strip(),
        client_id=client_id or audience,
        region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
    )
