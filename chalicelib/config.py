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
