"""Time-ordered identifiers and timestamps: ids sort by creation, so keys sort by time without an index."""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from datetime import UTC, datetime

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
_lock = threading.Lock()
_last = [0, 0]


def _encode(number: int, length: int) -> str:
    chars = []
    for _ in range(length):
        number, rest = divmod(number, 32)
        chars.append(_ALPHABET[rest])
    return "".join(reversed(chars))


def new_id() -> str:
    """A 26-character, lowercase ULID: 48 bits of milliseconds then 80 bits that only grow within a millisecond."""
    with _lock:
        millis = int(time.time() * 1000)
        if millis <= _last[0]:
            millis = _last[0]
            _last[1] += 1
        else:
            _last[0] = millis
            _last[1] = int.from_bytes(os.urandom(10), "big") >> 1
        return _encode(millis, 10) + _encode(_last[1], 16)


def stable_id(*parts: object) -> str:
    """The same parts always give the same id: replays of one SES notification write the same keys."""
    # A list, not a generator, and strings as they are: a third of the call's CPU, the same digest.
    text = "\x1f".join([part if type(part) is str else "" if part is None else str(part) for part in parts])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def stable_ordered_id(timestamp: str, *parts: object) -> str:
    """A new_id-shaped id that sorts by `timestamp` (ISO 8601) and is the same for the same timestamp and parts: a
    record a retry must write again under the same key, in a collection ordered by id."""
    moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    millis = int(moment.timestamp() * 1000)
    digest = int(hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).hexdigest(), 16) >> (256 - 80)
    return _encode(millis, 10) + _encode(digest, 16)


def utc_now() -> str:
    return format_timestamp(datetime.now(UTC))


def format_timestamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    utc = moment.astimezone(UTC)
    # Every field by hand, not strftime: its %Y does not pad years below 1000 on Linux ("1-01-01"), and such a key
    # would sort after "2026-…" and break anything that slices the string (the fuzzer's time bounds reach year 1);
    # one f-string is also a third of strftime's cost (every feedback invocation stamps its batch with one).
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}"
        f".{utc.microsecond // 1000:03d}Z"
    )


_CANONICAL = re.compile(r"\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z")


def normalize_timestamp(value: str | None, default: str) -> str:
    """SES timestamps come as ISO 8601, sometimes with a space before the offset: make them sortable strings."""
    if not value:
        return default
    if _CANONICAL.fullmatch(value):
        return value  # SES's usual form is already ours: skip the datetime round trip (hot path)
    text = value.strip().replace(" +", "+").replace(" -", "-")
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        return format_timestamp(datetime.fromisoformat(text))
    except (ValueError, OverflowError):
        return default
