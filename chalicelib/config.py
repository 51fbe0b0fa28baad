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
