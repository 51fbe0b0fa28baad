"""The per-address, per-ticket notification limit."""

import pytest

from chalicelib.domain import rate_limit
from chalicelib.domain.rate_limit import DEFAULT_WINDOWS, SendCounter, Window, window_start, windows_from
from chalicelib.ids import format_timestamp

NOW = "2026-11-23T10:00:00.000Z"


def minutes_ago(minutes: float) -> str:
    from datetime import datetime, timedelta

    moment = datetime.fromisoformat(NOW.replace("Z", "+00:00")) - timedelta(minutes=minutes)
    return format_timestamp(moment)


def test_the_eleventh_in_ten_minutes_is_held():
    counter = SendCounter(NOW, DEFAULT_WINDOWS, [("rita@example.com", minutes_ago(i / 2)) for i in range(9)])
    assert counter.hold("rita@example.com") is None  # 9 sent: the 10th may go

    counter.record("Rita@Example.com", NOW)
    hold = counter.hold("rita@example.com")
    assert hold is not None and hold.sent == 10 and hold.window.seconds == 600 and hold.minutes == 10
    assert counter.hold("carl@example.com") is None  # per address


def test_sends_older_than_the_window_do_not_count_for_it_but_do_for_the_hour():
    recent = [("rita@example.com", minutes_ago(11 + i)) for i in range(25)]  # 25 in the hour, none in 10 minutes
    hold = SendCounter(NOW, DEFAULT_WINDOWS, recent).hold("rita@example.com")

    assert hold is not None and hold.window.seconds == 3600 and hold.sent == 25
    assert SendCounter(NOW, DEFAULT_WINDOWS, recent[:24]).hold("rita@example.com") is None


def test_limits_come_from_the_environment():
    assert windows_from({}) == DEFAULT_WINDOWS
    assert windows_from({rate_limit.ENV_PER_10_MINUTES: "3", rate_limit.ENV_PER_HOUR: "7"}) == (
        Window(600, 3),
        Window(3600, 7),
    )
    with pytest.raises(ValueError):
        windows_from({rate_limit.ENV_PER_HOUR: "lots"})


def test_window_start_is_the_longest_window_back():
    assert window_start(NOW, DEFAULT_WINDOWS) == "2026-11-23T09:00:00.000Z"
