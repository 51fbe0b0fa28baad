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
        inbound_bucket=os.environ.get("DESKMAIL_INBOUND_BUCKET", "").strip(),
    )


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ConfigurationError(f"environment variable {name} must be a positive integer, not {raw!r}")
    return int(raw)
