"""Issue 3 through the API: each language gets its own words for summaries, reasons, remedies and codes."""

import pytest

from tests import ses_payloads as ses
from tests.helpers import Api, feed, message_ids, open_ticket, people

SOME = {
    "en": "Delivery failed to some recipients",
    "it": "Recapito non riuscito per alcuni destinatari",
    "de": "Zustellung an einige Empfänger fehlgeschlagen",
    "es": "No se pudo entregar a algunos destinatarios",
    "fr": "Échec de la remise à certains destinataires",
}
ALL = {
    "en": "Delivery failed",
    "it": "Recapito non riuscito",
    "de": "Zustellung fehlgeschlagen",
    "es": "No se pudo entregar",
    "fr": "Échec de la remise",
}


@pytest.fixture
def bounced(client):
    """Two tickets: one comment bounced for one of two recipients, one for both."""
    api = Api(client)
    result = {}
    for name, domain, bounced in (("some", "one.example", ["carl"]), ("all", "two.example", ["rita", "carl"])):
        who = people(api, domain)
        ticket = open_ticket(api, who)
        comment = {"author_id": who["agent"]["id"], "body": "Hi", "public": True}
        api.ok("post", f"/tickets/{ticket['id']}/comments", comment)
        mid = message_ids(api.comments(ticket["id"])[1])[f"rita@{domain}"]
        destination = [f"rita@{domain}", f"carl@{domain}"]
        feed(client, ses.bounce(mid, destination, [ses.hard_bounce_recipient(f"{x}@{domain}") for x in bounced]))
        result[name] = ticket["id"]
    return api, result


def test_summaries_reasons_and_remedies_in_five_languages(bounced):
    api, tickets = bounced
    reasons, remedies = set(), set()
    for locale in SOME:
        some = api.comments(tickets["some"], locale=locale)[1]["delivery"]
        assert some["message"] == SOME[locale]
        assert api.comments(tickets["all"], locale=locale)[1]["delivery"]["message"] == ALL[locale]
        failure = next(r["failure"] for r in some["recipients"] if r["status"] == "bounced")
        reasons.add(failure["reason"])
        remedies.add(failure["remedy"])
    assert len(reasons) == 5 and len(remedies) == 5


def test_accept_language_with_q_values_picks_the_language(bounced):
    api, tickets = bounced
    status, body = api.get(f"/tickets/{tickets['all']}/comments", headers={"Accept-Language": "ja, de;q=0.8, it;q=0.9"})
    assert status == 200 and body["comments"][1]["delivery"]["message"] == ALL["it"]
    status, body = api.get(f"/tickets/{tickets['all']}/comments", headers={"Accept-Language": "ja, zh;q=0.5"})
    assert body["comments"][1]["delivery"]["message"] == ALL["en"]


def test_event_descriptions_are_localized(bounced):
    api, tickets = bounced
    english = api.ok("get", f"/tickets/{tickets['some']}/events")["events"]
    german = api.ok("get", f"/tickets/{tickets['some']}/events?locale=de")["events"]
    assert [e["type"] for e in english] == [e["type"] for e in german]
    assert all(a["description"] != b["description"] for a, b in zip(english, german, strict=True))


def test_smtp_code_reference(client):
    api = Api(client)
    code = api.ok("get", "/smtp-codes/5.1.1")
    assert code["code"] == "5.1.1" and code["kind"] == "enhanced" and code["permanent"] is True
    assert code["category"] == "invalid_address" and code["summary"] and code["remedy"]
    assert api.ok("get", "/smtp-codes/5.2.2?locale=fr")["summary"] != api.ok("get", "/smtp-codes/5.2.2")["summary"]
    basic = api.ok("get", "/smtp-codes/452")
    assert basic["kind"] == "basic" and basic["permanent"] is False
    assert api.get("/smtp-codes/5.9.9")[0] == 404
    for not_a_code in ("abc", "6.1.1", "5.1", "99999"):
        status, payload = api.get(f"/smtp-codes/{not_a_code}")
        assert status == 400 and "SMTP code" in payload["Message"]
