"""The sender's bounce and complaint rates beside the levels at which SES reviews or pauses an account."""

from __future__ import annotations

from dataclasses import dataclass

# SES's published thresholds: an account is put under review at 5 % bounces or 0.1 % complaints, and sending
# may be paused at 10 % and 0.5 %.
BOUNCE_REVIEW, BOUNCE_PAUSE = 0.05, 0.10
COMPLAINT_REVIEW, COMPLAINT_PAUSE = 0.001, 0.005

OK = "ok"
WARNING = "warning"
AT_RISK = "at-risk"


@dataclass(frozen=True)
class Window:
    name: str
    sent: int
    bounces: int
    complaints: int

    @property
    def bounce_rate(self) -> float:
        return self.bounces / self.sent if self.sent else 0.0

    @property
    def complaint_rate(self) -> float:
        return self.complaints / self.sent if self.sent else 0.0

    @property
    def state(self) -> str:
        if self.bounce_rate >= BOUNCE_PAUSE or self.complaint_rate >= COMPLAINT_PAUSE:
            return AT_RISK
        if self.bounce_rate >= BOUNCE_REVIEW or self.complaint_rate >= COMPLAINT_REVIEW:
            return WARNING
        return OK

    def as_dict(self) -> dict:
        return {
            "window": self.name,
            "sent": self.sent,
            "bounces": self.bounces,
            "complaints": self.complaints,
            "bounce_rate": round(self.bounce_rate, 6),
            "complaint_rate": round(self.complaint_rate, 6),
            "state": self.state,
        }


def overall_state(windows: list[Window]) -> str:
    order = [OK, WARNING, AT_RISK]
    return max((window.state for window in windows), key=order.index, default=OK)


def thresholds() -> dict:
    return {
        "bounce": {"review": BOUNCE_REVIEW, "pause": BOUNCE_PAUSE},
        "complaint": {"review": COMPLAINT_REVIEW, "pause": COMPLAINT_PAUSE},
    }
