"""Holds notifications to an address that a ticket has already emailed too often: the brake on email loops.

A customer's auto-responder that does not say it is one can answer every notification with a "reply" that
becomes a comment, which notifies again. Counting what each address received from one ticket lately, and
holding anything over the limit, ends such a loop after a handful of messages whatever the other side does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.ids import format_timestamp

RATE_LIMITED = "rate_limited"


@dataclass(frozen=True)
class Window:
    seconds: int
    max_notifications: int


DEFAULT_WINDOWS = (Window(600, 10), Window(3600, 25))

# Environment variables that override the defaults (a positive integer each).
ENV_PER_10_MINUTES = "DESKMAIL_MAX_NOTIFICATIONS_PER_10_MINUTES"
ENV_PER_HOUR = "DESKMAIL_MAX_NOTIFICATIONS_PER_HOUR"


def windows_from(environ: Mapping[str, str]) -> tuple[Window, ...]:
    def limit(name: str, default: int) -> int:
        value = (environ.get(name) or "").strip()
        if not value:
            return default
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"{name} must be a positive integer, not {value!r}")
        return int(value)

    return (
        Window(600, limit(ENV_PER_10_MINUTES, DEFAULT_WINDOWS[0].max_notifications)),
        Window(3600, limit(ENV_PER_HOUR, DEFAULT_WINDOWS[1].max_notifications)),
    )


def _parse(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def window_start(now: str, windows: tuple[Window, ...]) -> str:
    """The oldest send that can still count: what a recipient's thread keeps of its sends starts there."""
    return format_timestamp(_parse(now) - timedelta(seconds=max(window.seconds for window in windows)))


@dataclass(frozen=True)
class Hold:
    """Why one address gets no more notifications from this ticket for now."""

    address: str
    sent: int
    window: Window

    @property
    def minutes(self) -> int:
        return self.window.seconds // 60


class SendCounter:
    """Recent sends per address on one ticket, kept current as a unit of work sends more."""

    def __init__(self, now: str, windows: tuple[Window, ...], recent_sends: Iterable[tuple[str, str]] = ()):
        self.now = _parse(now)
        self.windows = windows
        self._sends: dict[str, list[datetime]] = {}
        for address, sent_at in recent_sends:
            self.record(address, sent_at)

    def record(self, address: str, sent_at: str) -> None:
        self._sends.setdefault(address.lower(), []).append(_parse(sent_at))

    def hold(self, address: str) -> Hold | None:
        """A Hold when one more email to the address would go over a window's limit."""
        times = self._sends.get(address.lower(), [])
        for window in sorted(self.windows, key=lambda w: w.seconds):
            since = self.now - timedelta(seconds=window.seconds)
            sent = sum(1 for moment in times if moment > since)
            if sent >= window.max_notifications:
                return Hold(address.lower(), sent, window)
        return None
