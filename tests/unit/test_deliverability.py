from datetime import timedelta

from chalicelib.domain import deliverability as d

NOW = "2026-11-23T12:00:00.000Z"


def fact(kind, at, **extra):
    return {"kind": kind, "occurred_at": at, **extra}


def test_no_facts_is_ok():
    assert d.assess([], NOW).state == "ok"


def test_permanent_bounce_or_suppression_makes_it_undeliverable_with_since_and_code():
    state = d.assess(
        [
            fact(
                "permanent_bounce",
                "2026-11-20T10:00:00.000Z",
                category="invalid_address",
                smtp_status="5.1.1",
                smtp_code="550",
            )
        ],
        NOW,
    )
    assert (state.state, state.since, state.smtp_status, state.category) == (
        "undeliverable",
        "2026-11-20T10:00:00.000Z",
        "5.1.1",
        "invalid_address",
    )
    assert d.assess([fact("suppressed", "2026-11-20T10:00:00.000Z")], NOW).state == "undeliverable"


def test_complaint_makes_it_complained():
    assert d.assess([fact("complaint", "2026-11-22T10:00:00.000Z")], NOW).state == "complained"


def test_three_transient_bounces_in_seven_days_but_not_two_or_older_ones():
    recent = [fact("transient_bounce", f"2026-11-2{day}T10:00:00.000Z") for day in (2, 1, 0)]
    assert d.assess(recent, NOW).state == "undeliverable"
    assert d.assess(recent[:2], NOW).state == "ok"
    old = recent[:2] + [fact("transient_bounce", "2026-11-10T10:00:00.000Z")]
    assert d.assess(old, NOW).state == "ok"
    assert d.assess(recent[:2], NOW, d.Policy(transient_threshold=2)).state == "undeliverable"
    assert d.assess(old, NOW, d.Policy(transient_window=timedelta(days=30))).state == "undeliverable"


def test_a_reset_forgets_everything_before_it():
    facts = [fact("reset", "2026-11-21T00:00:00.000Z"), fact("permanent_bounce", "2026-11-20T10:00:00.000Z")]
    assert d.assess(facts, NOW).state == "ok"
    after = [fact("permanent_bounce", "2026-11-22T00:00:00.000Z")] + facts
    assert d.assess(after, NOW).state == "undeliverable"


def test_which_outcomes_are_facts_about_the_address():
    assert d.fact_for("bounced", {"category": "invalid_address", "permanent": True}) == "permanent_bounce"
    assert d.fact_for("bounced", {"category": "mailbox_full", "permanent": False}) == "transient_bounce"
    assert d.fact_for("bounced", {"category": "message_too_large", "permanent": False}) is None
    assert d.fact_for("bounced", {"category": "spam_or_policy", "permanent": True}) is None
    # "SES will not retry" is not "the address is dead": only an invalid address is.
    assert d.fact_for("bounced", {"category": "unknown", "permanent": True}) == "transient_bounce"
    assert d.fact_for("bounced", {"category": "mailbox_full", "permanent": True}) == "transient_bounce"
    assert d.fact_for("bounced", {"category": "temporary", "permanent": True}) == "transient_bounce"
    assert d.fact_for("bounced", {"category": "invalid_address", "permanent": False}) == "transient_bounce"
    assert d.fact_for("bounced", {"category": "suppressed", "permanent": True}) == "suppressed"
    assert d.fact_for("suppressed", {}) == "suppressed"
    assert d.fact_for("complained", {}) == "complaint"
    assert d.fact_for("delivered", None) is None
    assert d.fact_for("rejected", {"category": "spam_or_policy"}) is None
