"""Whether an address can still be emailed, from the facts SES reported about it (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.domain.classification import ADDRESS_COMPLAINED, ADDRESS_UNDELIVERABLE

OK = "ok"
UNDELIVERABLE = "undeliverable"
COMPLAINED = "complained"

# Facts recorded per address (newest first when read back).
FACT_PERMANENT_BOUNCE = "permanent_bounce"
FACT_TRANSIENT_BOUNCE = "transient_bounce"
FACT_SUPPRESSED = "suppressed"
FACT_COMPLAINT = "complaint"
FACT_RESET = "reset"

# The categories a recipient gets when deskmail itself holds the email back.
BLOCKED_UNDELIVERABLE = ADDRESS_UNDELIVERABLE
BLOCKED_COMPLAINED = ADDRESS_COMPLAINED


@dataclass(frozen=True)
class Policy:
    transient_threshold: int = 3
    transient_window: timedelta = timedelta(days=7)


@dataclass(frozen=True)
class AddressState:
    state: str
    since: str | None = None
    category: str | None = None
    smtp_status: str | None = None
    smtp_code: str | None = None
    fact: str | None = None

    @property
    def sendable(self) -> bool:
        return self.state == OK

    def as_dict(self) -> dict:
        return {
            "state": self.state,
            "since": self.since,
            "category": self.category,
            "smtp_status": self.smtp_status,
            "smtp_code": self.smtp_code,
            "reason": self.fact,
        }


# Categories that say nothing about the address: the message or the sender was the problem (a policy block
# points at the sending domain, its reputation or the content), or nothing failed at all.
_NOT_ABOUT_THE_ADDRESS = ("spam_or_policy", "message_too_large", "auto_reply")
# The only bounce that proves the address dead. "SES will not retry" (a Permanent bounce) is not enough: a full
# mailbox, a rate-limited mailbox or an unexplained hard bounce may clear, so they count as transient facts.
_DEAD_ADDRESS = "invalid_address"


def fact_for(status: str, failure: dict | None) -> str | None:
    """Which fact an outcome proves about its address; None when it says nothing about the address."""
    failure = failure or {}
    if status == "suppressed" or (status == "rejected" and failure.get("category") == "suppressed"):
        return FACT_SUPPRESSED
    if status == "complained":
        return FACT_COMPLAINT
    if status == "bounced":
        category = failure.get("category")
        if category in _NOT_ABOUT_THE_ADDRESS:
            return None
        if category == "suppressed":
            return FACT_SUPPRESSED
        if category == _DEAD_ADDRESS and failure.get("permanent"):
            return FACT_PERMANENT_BOUNCE
        return FACT_TRANSIENT_BOUNCE
    return None


def _parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment.replace("Z", "+00:00"))


def assess(facts_newest_first: list[dict], now: str, policy: Policy = Policy()) -> AddressState:
    """The address's state: facts older than the last reset do not count."""
    current = list(_until_reset(facts_newest_first))
    for fact in current:
        if fact["kind"] in (FACT_PERMANENT_BOUNCE, FACT_SUPPRESSED):
            return _state(UNDELIVERABLE, fact)
    for fact in current:
        if fact["kind"] == FACT_COMPLAINT:
            return _state(COMPLAINED, fact)
    window_start = _parse(now) - policy.transient_window
    transient = [f for f in current if f["kind"] == FACT_TRANSIENT_BOUNCE and _parse(f["occurred_at"]) >= window_start]
    if len(transient) >= policy.transient_threshold:
        return _state(UNDELIVERABLE, transient[0], since=transient[policy.transient_threshold - 1]["occurred_at"])
    return AddressState(OK)


def _until_reset(facts: list[dict]):
    for fact in facts:
        if fact["kind"] == FACT_RESET:
            return
        yield fact


def _state(state: str, fact: dict, since: str | None = None) -> AddressState:
    return AddressState(
        state=state,
        since=since or fact["occurred_at"],
        category=fact.get("category"),
        smtp_status=fact.get("smtp_status"),
        smtp_code=fact.get("smtp_code"),
        fact=fact["kind"],
    )


def blocked_category(state: AddressState) -> str:
    return BLOCKED_COMPLAINED if state.state == COMPLAINED else BLOCKED_UNDELIVERABLE
