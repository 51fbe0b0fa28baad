from chalicelib.domain import delivery
from chalicelib.domain.model import Notification, OutcomeEvent, Recipient
from chalicelib.i18n import translations

EN = translations("en")


def notification(*emails, statuses=None):
    recipients = tuple(
        Recipient(f"u{i}", f"User {i}", email, "to" if i == 0 else "cc", (statuses or {}).get(email, "sent"))
        for i, email in enumerate(emails)
    )
    return Notification("n1", "t1", "c1", "trig", "Trigger", "ses-1", recipients, "2026-11-23T08:00:00.000Z")


def event(email, status, at, permanent=False, kind=None, category="invalid_address", event_id=None):
    failure = (
        None
        if status in ("delivered", "sent")
        else {"category": category, "permanent": permanent, "smtp_status": "5.1.1", "smtp_code": "550"}
    )
    return OutcomeEvent(event_id or f"{email}-{at}", email, kind or status, status, at, failure)


def statuses(deliveries):
    return {d.email: d.status for d in deliveries}


def test_one_recipient_failed_shows_reason_and_code():
    recipients = delivery.recipient_deliveries(notification("a@x.com"), [event("a@x.com", "bounced", "T1", True)])
    summary = delivery.summarize(recipients, EN)
    assert summary.scope == "one"
    assert summary.message == "The email address is invalid or does not exist (5.1.1)"


def test_all_of_several_failed():
    events = [event("a@x.com", "bounced", "T1", True), event("b@x.com", "suppressed", "T1", True, "bounce")]
    summary = delivery.summarize(delivery.recipient_deliveries(notification("a@x.com", "b@x.com"), events), EN)
    assert (summary.scope, summary.message) == ("all", "Delivery failed")


def test_some_failed():
    events = [event("a@x.com", "bounced", "T1", True), event("b@x.com", "delivered", "T1")]
    summary = delivery.summarize(delivery.recipient_deliveries(notification("a@x.com", "b@x.com"), events), EN)
    assert (summary.scope, summary.message) == ("some", "Delivery failed to some recipients")


def test_complained_and_not_sent_do_not_make_the_email_failed():
    n = notification("a@x.com", None, statuses={None: "not_sent"})
    recipients = delivery.recipient_deliveries(n, [event("a@x.com", "complained", "T1", True, category="complaint")])
    assert statuses(recipients) == {"a@x.com": "complained", None: "not_sent"}
    assert delivery.summarize(recipients, EN).scope == "none"


def test_rejected_counts_as_failed():
    n = notification("a@x.com", "b@x.com")
    recipients = delivery.recipient_deliveries(n, [event("a@x.com", "rejected", "T1", True)])
    assert delivery.summarize(recipients, EN).scope == "some"


def test_later_worse_outcome_wins_whatever_the_arrival_order():
    n = notification("a@x.com")
    delay = event("a@x.com", "delayed", "T1", category="temporary")
    delivered = event("a@x.com", "delivered", "T2")
    complaint = event("a@x.com", "complained", "T3", True, category="complaint")
    for events in ([delay, delivered], [delivered, delay]):
        assert statuses(delivery.recipient_deliveries(n, events)) == {"a@x.com": "delivered"}
    for events in ([delivered, complaint], [complaint, delivered]):
        assert statuses(delivery.recipient_deliveries(n, events)) == {"a@x.com": "complained"}


def test_permanent_bounce_beats_transient_in_either_order():
    n = notification("a@x.com")
    transient = event("a@x.com", "bounced", "T1", False, category="mailbox_full")
    permanent = event("a@x.com", "bounced", "T2", True, category="invalid_address")
    late_transient = event("a@x.com", "bounced", "T3", False, category="mailbox_full")
    for events in ([transient, permanent], [permanent, transient], [permanent, late_transient]):
        (result,) = delivery.recipient_deliveries(n, events)
        assert result.failure["category"] == "invalid_address"


def test_auto_reply_does_not_change_the_outcome():
    n = notification("a@x.com")
    events = [event("a@x.com", "delivered", "T1"), event("a@x.com", "delivered", "T2", kind="auto_reply")]
    (result,) = delivery.recipient_deliveries(n, events)
    assert result.status == "delivered"
    assert [e.kind for e in result.timeline] == ["delivered", "auto_reply"]


def test_a_comment_emailed_to_nobody_says_so_with_the_reasons():
    recipients = (
        Recipient("u0", "Nina", None, "to", "not_sent", {"category": "no_address"}),
        Recipient("u1", "Bea", "b@x.com", "cc", "not_sent", {"category": "address_undeliverable"}),
    )
    n = Notification("n1", "t1", "c1", "trig", "Trigger", None, recipients, "2026-11-23T08:00:00.000Z")
    summary = delivery.summarize(delivery.recipient_deliveries(n, []), EN)
    assert summary.scope == "not_sent"
    assert summary.message == (
        "Not sent to anyone: The user has no email address; "
        "Not sent: this address is marked undeliverable after earlier bounces"
    )
    assert delivery.summarize(delivery.recipient_deliveries(n, []), translations("it")).message.startswith(
        "Non inviato a nessuno: "
    )


def test_someone_not_sent_beside_someone_emailed_keeps_the_none_scope():
    n = notification("a@x.com", None, statuses={None: "not_sent"})
    assert delivery.summarize(delivery.recipient_deliveries(n, []), EN) == delivery.DeliverySummary("none", None)


def test_a_resend_replaces_the_earlier_failure_and_people_are_counted_once():
    first = notification("a@x.com", "b@x.com")
    resent = Notification(
        "n2",
        "t1",
        "c1",
        "resend",
        "Resend",
        "ses-2",
        (Recipient("u1", "User 1", "b@y.com", "cc"),),
        "2026-11-23T09:00:00.000Z",
    )
    rows = delivery.recipient_deliveries(
        first, [event("a@x.com", "delivered", "T1"), event("b@x.com", "bounced", "T1", True)]
    )
    rows += delivery.recipient_deliveries(resent, [event("b@y.com", "delivered", "T2")])
    assert [(r.email, r.status) for r in rows] == [
        ("a@x.com", "delivered"),
        ("b@x.com", "bounced"),
        ("b@y.com", "delivered"),
    ]
    assert delivery.summarize(rows, EN).scope == "none"
    assert [(r.user_id, r.email) for r in delivery.current_attempts(rows)] == [("u0", "a@x.com"), ("u1", "b@y.com")]
    assert {index: r.email for index, r in delivery.superseded_by(rows).items()} == {1: "b@y.com"}
    bounced_again = delivery.recipient_deliveries(resent, [event("b@y.com", "bounced", "T2", True)])
    assert delivery.summarize(rows[:2] + bounced_again, EN).scope == "some"
