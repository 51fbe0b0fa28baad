"""Issue 7 through the API: diagnostics, the suppression list, resend and typo suggestions."""

import json
from dataclasses import replace

import dns.exception
import pytest

from chalicelib import runtime
from chalicelib.adapters.dns import SpfLookup
from chalicelib.adapters.ses_account import SesIdentities
from tests import ses_payloads as ses
from tests.dns_fakes import (
    HEALTHY_IDENTITY,
    NO_MAIL_FROM_IDENTITY,
    SPF_OK,
    FakeIdentities,
    FakeResolver,
    TxtRecord,
)
from tests.helpers import Api, feed, open_ticket, people, sent_messages

CHECKS = ["email_address", "triggers", "deliveries", "suppression", "sending_domain"]


@pytest.fixture
def api(client, monkeypatch):
    # The local stack's suppression list (moto has none); SES identity and DNS answers are stand-ins.
    monkeypatch.setenv("DESKMAIL_SUPPRESSION_BACKEND", "local")
    runtime.suppression_list.cache_clear()
    monkeypatch.setattr(runtime, "ses_identities", lambda: FakeIdentities(HEALTHY_IDENTITY))
    monkeypatch.setattr(runtime, "spf_lookup", lambda: SpfLookup(FakeResolver(SPF_OK)))
    return Api(client)


def diagnose(api, ticket_id, user_id, locale=None):
    suffix = f"&locale={locale}" if locale else ""
    checks = api.ok("get", f"/tickets/{ticket_id}/diagnostics?user_id={user_id}{suffix}")["checks"]
    assert [check["check"] for check in checks] == CHECKS
    return {check["check"]: check for check in checks}


def comment(api, ticket_id, author, body="On my way.", public=True):
    return api.ok("post", f"/tickets/{ticket_id}/comments", {"author_id": author["id"], "body": body, "public": public})


def message_to(api, ticket_id, email, index=-1):
    rows = [r for c in api.comments(ticket_id) for r in (c["delivery"] or {}).get("recipients", [])]
    return [r for r in rows if r["email"] == email][index]["message_id"]


def test_every_check_ok_for_a_delivered_requester(api, client):
    who = people(api)
    ticket = open_ticket(api, who, cc=())
    comment(api, ticket["id"], who["agent"])
    message_id = message_to(api, ticket["id"], "rita@example.com")
    feed(client, ses.delivery(message_id, ["rita@example.com"]))

    checks = diagnose(api, ticket["id"], who["requester"]["id"])

    assert {name: check["status"] for name, check in checks.items()} == dict.fromkeys(CHECKS, "ok")
    assert "rita@example.com" in checks["email_address"]["detail"]
    assert "2 of 2 comments" in checks["triggers"]["detail"]
    assert "spam or junk" in checks["deliveries"]["detail"] and "spam or junk" in checks["deliveries"]["fix"]
    assert [d["status"] for d in checks["deliveries"]["deliveries"]] == ["sent", "delivered"]
    assert checks["sending_domain"]["spf_domain"] == "mail.deskmail.example.com"
    assert checks["sending_domain"]["spf_includes_amazonses"] is True
    assert all(check["detail"] and check["fix"] for check in checks.values())


def test_no_address_is_a_problem_and_nothing_was_sent(api):
    who = people(api)
    ticket = open_ticket(api, who, cc=("nomail",))
    comment(api, ticket["id"], who["agent"])

    checks = diagnose(api, ticket["id"], who["nomail"]["id"])

    assert checks["email_address"]["status"] == "problem"
    assert checks["email_address"]["fix"].startswith("Add their email address")
    assert checks["triggers"]["status"] == "ok"  # the trigger did include her
    assert checks["deliveries"]["status"] == "problem"
    assert checks["deliveries"]["deliveries"][0]["status"] == "not_sent"
    assert checks["suppression"]["status"] == "unknown"


def test_inactive_trigger_and_private_comment_are_problems(api):
    who = people(api)
    ticket = open_ticket(api, who, cc=())
    api.admin().ok("patch", "/triggers/notify-requester-ccs-comment", {"active": False})
    comment(api, ticket["id"], who["agent"], "Public, but the trigger is off.")
    api.admin().ok("patch", "/triggers/notify-requester-ccs-comment", {"active": True})
    comment(api, ticket["id"], who["agent"], "Internal note.", public=False)

    check = diagnose(api, ticket["id"], who["requester"]["id"])["triggers"]

    assert check["status"] == "problem"
    assert "1 of 3 comments" in check["detail"]
    reasons = [[m["reason"] for m in c["missed"]] for c in check["comments"]]
    assert reasons == [[], ["inactive"], ["private_comment"]]
    assert "was inactive" in check["detail"] and "was private" in check["detail"]
    assert "public comment" in check["fix"]

    api.admin().ok("patch", "/triggers/notify-requester-received", {"active": False})
    now_off = diagnose(api, ticket["id"], who["requester"]["id"])["triggers"]
    assert now_off["inactive_triggers"] == [
        {"id": "notify-requester-received", "title": "Notify requester of received request"}
    ]
    assert "Activate" in now_off["fix"]


def test_someone_outside_the_ticket_is_told_so(api):
    who = people(api)
    ticket = open_ticket(api, who, cc=())

    check = diagnose(api, ticket["id"], who["cc"]["id"])["triggers"]

    assert check["status"] == "problem" and "not the requester, a CC or the assignee" in check["detail"]


def test_bounce_suppression_and_domain_problems(api, client, monkeypatch):
    who = people(api)
    carl = api.user("Carl Typo", "carl@gmial.com")
    who["cc"] = carl
    ticket = open_ticket(api, who)
    comment(api, ticket["id"], who["agent"])
    message_id = message_to(api, ticket["id"], "carl@gmial.com")
    feed(client, ses.bounce(message_id, ["carl@gmial.com"], [ses.hard_bounce_recipient("carl@gmial.com")]))
    runtime.suppression_list().put("carl@gmial.com", "BOUNCE")
    monkeypatch.setattr(runtime, "ses_identities", lambda: SesIdentities(runtime.mailer().client))  # moto
    monkeypatch.setattr(runtime, "spf_lookup", lambda: SpfLookup(FakeResolver({})))

    checks = diagnose(api, ticket["id"], carl["id"])

    assert checks["deliveries"]["status"] == "problem"
    assert "bounced" in checks["deliveries"]["detail"]
    assert "Did you mean carl@gmail.com?" in checks["deliveries"]["fix"]
    assert checks["suppression"]["status"] == "problem"
    assert (
        checks["suppression"]["reason"] == "BOUNCE"
        and "DELETE /suppressions/carl@gmial.com" in checks["suppression"]["fix"]
    )
    domain = checks["sending_domain"]
    assert domain["status"] == "problem"
    assert domain["dkim_status"] == "NOT_STARTED" and "DKIM" in domain["detail"]
    # No custom MAIL FROM domain: SPF is checked on amazonses.com, so the domain's missing SPF is no alarm...
    assert domain["spf_record"] is None and domain["spf_matters"] is False and "SPF record" not in domain["detail"]
    assert domain["envelope_domain"] == "amazonses.com"
    # ... but the missing DMARC record is, with the large mailbox providers' requirements.
    assert domain["dmarc_record"] is None and "no DMARC record" in domain["detail"]
    assert "Gmail and Yahoo" in domain["detail"] and "v=DMARC1; p=none" in domain["fix"]


def test_spf_without_amazonses_is_a_problem_and_unreachable_dns_unknown(api, monkeypatch):
    who = people(api)
    ticket = open_ticket(api, who, cc=())
    wrong = {"mail.deskmail.example.com": [TxtRecord("v=spf1 include:_spf.google.com ~all")]}
    monkeypatch.setattr(runtime, "spf_lookup", lambda: SpfLookup(FakeResolver(wrong)))
    check = diagnose(api, ticket["id"], who["requester"]["id"])["sending_domain"]
    assert check["status"] == "problem" and "does not include amazonses.com" in check["detail"]

    unreachable = {
        "mail.deskmail.example.com": dns.exception.Timeout,
        "_dmarc.deskmail.example.com": dns.exception.Timeout,
    }
    monkeypatch.setattr(runtime, "spf_lookup", lambda: SpfLookup(FakeResolver(unreachable)))
    check = diagnose(api, ticket["id"], who["requester"]["id"])["sending_domain"]
    assert check["status"] == "unknown" and check["spf_record"] is None


def test_diagnostics_are_localized(api):
    who = people(api)
    ticket = open_ticket(api, who, cc=("nomail",))

    checks = diagnose(api, ticket["id"], who["nomail"]["id"], locale="de")

    assert "keine E-Mail-Adresse" in checks["email_address"]["detail"]


def test_diagnostics_input_errors(api):
    who = people(api)
    ticket = open_ticket(api, who, cc=())

    assert api.get(f"/tickets/{ticket['id']}/diagnostics")[0] == 400
    assert api.get(f"/tickets/{ticket['id']}/diagnostics?user_id=01jd2x7r9m8v3k4q5w6e7t8y9z")[0] == 404
    assert api.get(f"/tickets/01jd2x7r9m8v3k4q5w6e7t8y9z/diagnostics?user_id={who['agent']['id']}")[0] == 404


# ---- the suppression list ----------------------------------------------------------------------------------------


def test_suppression_lookup_and_removal_recorded_on_the_tickets(api, client):
    who = people(api)
    first = open_ticket(api, who)
    second = open_ticket(api, who, cc=(), subject="Scanner jammed")
    elsewhere = open_ticket(api, {**who, "requester": who["cc"]}, cc=(), subject="Not Rita's")

    assert api.ok("get", "/suppressions/rita@example.com") == {
        "email": "rita@example.com",
        "suppressed": False,
        "reason": None,
        "last_update": None,
    }
    runtime.suppression_list().put("rita@example.com", "COMPLAINT")
    listed = api.ok("get", "/suppressions/rita%40example.com")
    assert listed["suppressed"] is True and listed["reason"] == "COMPLAINT" and listed["last_update"]

    response = client.http.delete(
        "/suppressions/Rita@Example.com", headers={"Authorization": f"Bearer {api.admin().token}"}
    )
    assert response.status_code == 200, response.body
    removed = json.loads(response.body)
    assert removed["suppressed"] is False and removed["removed"] is True
    assert removed["tickets"] == sorted([first["id"], second["id"]])
    assert api.ok("get", "/suppressions/rita@example.com")["suppressed"] is False

    events = api.ok("get", f"/tickets/{first['id']}/events?locale=fr")["events"]
    (event,) = [e for e in events if e["type"] == "suppression_removed"]
    assert event["email"] == "rita@example.com" and event["previous_reason"] == "COMPLAINT"
    assert event["user_ids"] == [who["requester"]["id"]] and event["by"] == api.admin().me.id
    assert (event["agent_id"], event["agent_name"]) == (api.admin().me.id, api.admin().me.name)
    assert event["description"] == "Adresse e-mail retirée de la liste de suppression"
    assert not [
        e for e in api.ok("get", f"/tickets/{elsewhere['id']}/events")["events"] if e["type"] == "suppression_removed"
    ]

    again = client.http.delete(
        "/suppressions/rita@example.com", headers={"Authorization": f"Bearer {api.admin().token}"}
    )
    assert again.status_code == 404
    assert api.get("/suppressions/not-an-address")[0] == 400


# ---- resend ---------------------------------------------------------------------------------------------------------


def test_resend_refused_while_the_bounced_address_is_unchanged_then_sent_after_the_fix(api, client):
    who = people(api)
    who["cc"] = carl = api.user("Carl Typo", "carl@gmial.com")
    ticket = open_ticket(api, who)
    reply = comment(api, ticket["id"], who["agent"])
    message_id = message_to(api, ticket["id"], "carl@gmial.com")
    feed(client, ses.bounce(message_id, ["carl@gmial.com"], [ses.hard_bounce_recipient("carl@gmial.com")]))

    failure = [r for r in api.comments(ticket["id"])[1]["delivery"]["recipients"] if r["user_id"] == carl["id"]][0][
        "failure"
    ]
    assert failure["suggestion"] == "carl@gmail.com"
    assert failure["remedy"].endswith("Did you mean carl@gmail.com?")
    italian = [r for r in api.comments(ticket["id"], "it")[1]["delivery"]["recipients"] if r["user_id"] == carl["id"]]
    assert italian[0]["failure"]["remedy"].endswith("Intendevi carl@gmail.com?")

    path = f"/tickets/{ticket['id']}/comments/{reply['id']}/resend"
    status, body = api.post(path, {"user_ids": [carl["id"]]})
    assert status == 409 and "carl@gmial.com hard-bounced" in body["Message"]

    api.ok("patch", f"/users/{carl['id']}", {"email": "carl@gmail.com"})
    before = len(sent_messages())
    result = api.ok("post", path, {"user_ids": [carl["id"]]})

    (notification,) = result["notifications"]
    assert notification["trigger"] == {"id": "resend", "title": "Resend by agent"}
    assert notification["message_id"] and notification["message_id"] != message_id
    assert [m["destinations"] for m in sent_messages()[before:]] == [["carl@gmail.com"]]
    rows = api.comments(ticket["id"])[1]["delivery"]["recipients"]
    assert [(r["email"], r["status"]) for r in rows if r["user_id"] == carl["id"]] == [
        ("carl@gmial.com", "bounced"),
        ("carl@gmail.com", "sent"),
    ]
    assert rows[-1]["message_id"] == notification["message_id"]
    # People, not rows: Carl's bounced attempt points at the resend that replaced it, and he is counted once.
    delivery = api.comments(ticket["id"])[1]["delivery"]
    old = next(r for r in rows if r["user_id"] == carl["id"] and r["status"] == "bounced")
    assert old["superseded_by"] == {
        "email": "carl@gmail.com",
        "message_id": notification["message_id"],
        "status": "sent",
        "sent_at": rows[-1]["sent_at"],
    }
    assert rows[-1]["superseded_by"] is None
    assert delivery["people"] == len({r["user_id"] for r in rows}) and delivery["scope"] == "none"
    events = api.ok("get", f"/tickets/{ticket['id']}/events")["events"]
    resent = [e for e in events if e["type"] == "email_notification_sent" and e["trigger"]["id"] == "resend"]
    assert [e["message_id"] for e in resent] == [notification["message_id"]]
    assert (resent[0]["agent_id"], resent[0]["agent_name"]) == (who["agent"]["id"], "Ada Agent")


def test_resend_input_rules(api):
    who = people(api)
    ticket = open_ticket(api, who, cc=())
    note = comment(api, ticket["id"], who["agent"], "Internal.", public=False)
    path = f"/tickets/{ticket['id']}/comments/{note['id']}/resend"

    assert api.post(path, {"user_ids": []})[0] == 400
    assert api.post(path, {"user_ids": [who["cc"]["id"]]})[0] == 400  # not on the ticket
    assert api.post(path, {"user_ids": [who["requester"]["id"]]})[0] == 400  # private comment, end-user
    assert (
        api.post(
            f"/tickets/{ticket['id']}/comments/01jd2x7r9m8v3k4q5w6e7t8y9z/resend", {"user_ids": [who["agent"]["id"]]}
        )[0]
        == 404
    )
    assert (
        api.ok("post", path, {"user_ids": [who["agent"]["id"]]})["notifications"][0]["recipients"][0]["status"]
        == "sent"
    )


def sending_domain(api, monkeypatch, identity, zone):
    who = people(api)
    ticket = open_ticket(api, who, cc=())
    monkeypatch.setattr(runtime, "ses_identities", lambda: FakeIdentities(identity))
    monkeypatch.setattr(runtime, "spf_lookup", lambda: SpfLookup(FakeResolver(zone)))
    return diagnose(api, ticket["id"], who["requester"]["id"])["sending_domain"]


def test_without_custom_mail_from_dmarc_passes_through_dkim_and_spf_is_no_alarm(api, monkeypatch):
    zone = {"_dmarc.deskmail.example.com": [TxtRecord("v=DMARC1; p=reject")]}  # no SPF record at all

    check = sending_domain(api, monkeypatch, NO_MAIL_FROM_IDENTITY, zone)

    assert check["status"] == "ok"
    assert (check["dkim_aligned"], check["spf_aligned"], check["dmarc_passes"]) == (True, False, True)
    assert "passes through DKIM" in check["detail"] and "does not matter" in check["detail"]


@pytest.mark.parametrize(("policy", "words"), [("reject", "reject these messages"), ("quarantine", "to spam")])
def test_dmarc_that_will_fail_is_a_clear_alarm(api, monkeypatch, policy, words):
    failing_dkim = replace(NO_MAIL_FROM_IDENTITY, dkim_status="FAILED")
    zone = {"_dmarc.deskmail.example.com": [TxtRecord(f"v=DMARC1; p={policy}")]}

    check = sending_domain(api, monkeypatch, failing_dkim, zone)

    assert check["status"] == "problem" and check["dmarc_passes"] is False
    assert "DMARC will fail" in check["detail"] and words in check["detail"]
    assert "custom MAIL FROM domain" in check["fix"]


def test_custom_mail_from_spf_beyond_ten_lookups_is_a_problem(api, monkeypatch):
    includes = " ".join(f"include:s{i}.example.net" for i in range(11))
    zone = {
        "mail.deskmail.example.com": [TxtRecord(f"v=spf1 {includes} include:amazonses.com ~all")],
        "_dmarc.deskmail.example.com": [TxtRecord("v=DMARC1; p=none")],
        **{f"s{i}.example.net": [TxtRecord("v=spf1 ip4:192.0.2.0/24 ~all")] for i in range(11)},
    }

    check = sending_domain(api, monkeypatch, HEALTHY_IDENTITY, zone)

    assert check["status"] == "problem" and check["spf_lookups"] > 10
    assert "10 DNS lookups" in check["detail"] and check["spf_aligned"] is False and check["dkim_aligned"] is True


# ---- issue 16: what the API tells the agent about policy-blocked and suppressed recipients ----


def failure_of(api, ticket_id, email, locale=None):
    rows = [r for c in api.comments(ticket_id, locale) for r in (c["delivery"] or {}).get("recipients", [])]
    return [r for r in rows if r["email"] == email][-1]["failure"]


def test_a_policy_block_points_the_agent_at_the_sender_side_and_keeps_the_address(api, client):
    who = people(api)
    ticket = open_ticket(api, who, cc=())
    comment(api, ticket["id"], who["agent"])
    message_id = message_to(api, ticket["id"], "rita@example.com")
    blocked = ses.hard_bounce_recipient(
        "rita@example.com",
        status="5.1.0",
        diagnostic="smtp; 5.1.0 - Unknown address error 550-'5.7.1 Service unavailable; Client host [192.0.2.25] "
        "blocked using zen.spamhaus.org'",
    )
    feed(client, ses.bounce(message_id, ["rita@example.com"], [blocked]))

    failure = failure_of(api, ticket["id"], "rita@example.com")
    assert failure["category"] == "spam_or_policy" and failure["smtp_status"] == "5.7.1"
    assert "block list" in failure["reason"] and "The address is fine" in failure["remedy"]
    assert failure["suggestion"] is None
    german = failure_of(api, ticket["id"], "rita@example.com", locale="de")
    assert "Die Adresse ist in Ordnung" in german["remedy"]
    # The address is not marked undeliverable: the next comment is sent to it.
    comment(api, ticket["id"], who["agent"], body="Second try.")
    rows = [r for c in api.comments(ticket["id"]) for r in (c["delivery"] or {}).get("recipients", [])]
    latest = [r for r in rows if r["email"] == "rita@example.com"][-1]
    assert latest["status"] == "sent" and latest["message_id"] not in (None, message_id)


def test_a_suppressed_recipient_is_told_about_the_ses_list(api, client):
    who = people(api)
    ticket = open_ticket(api, who, cc=())
    comment(api, ticket["id"], who["agent"])
    message_id = message_to(api, ticket["id"], "rita@example.com")
    suppressed = ses.hard_bounce_recipient(
        "rita@example.com",
        diagnostic="Amazon SES did not send the message to this address because it is on the suppression list for "
        "your account.",
    )
    feed(client, ses.bounce(message_id, ["rita@example.com"], [suppressed], subtype="OnAccountSuppressionList"))

    failure = failure_of(api, ticket["id"], "rita@example.com")
    assert failure["category"] == "suppressed"
    assert "account's suppression list" in failure["reason"]
    assert "DELETE /suppressions/<address>" in failure["remedy"] and "typo" not in failure["remedy"]
