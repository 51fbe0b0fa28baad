"""Per-trigger templates admins edit: listed per locale, validated on save (the line named), previewed unsent."""

from __future__ import annotations

import pytest

from tests.helpers import Api, open_ticket, people, sent_messages

TRIGGER = "notify-requester-ccs-comment"


@pytest.fixture
def api(client):
    return Api(client, role="admin")


def test_agents_may_not_read_edit_or_preview_templates(client):
    agent = Api(client)
    assert agent.get(f"/triggers/{TRIGGER}/templates")[0] == 403
    assert agent.put(f"/triggers/{TRIGGER}/templates/en", {"subject": "x", "body": "y"})[0] == 403
    assert agent.post(f"/triggers/{TRIGGER}/preview", {"ticket_id": "x", "user_id": "y"})[0] == 403


def test_every_locale_lists_the_catalogue_default_with_placeholders(api):
    listing = api.ok("get", f"/triggers/{TRIGGER}/templates")

    assert [t["locale"] for t in listing["templates"]] == ["en", "it", "de", "es", "fr"]
    by_locale = {t["locale"]: t for t in listing["templates"]}
    assert by_locale["de"]["body"].startswith("Hallo {{ recipient.name }},")
    assert by_locale["en"]["subject"] == "[Ticket {{ ticket.reference }}] {{ ticket.subject }}"
    assert not any(t["customized"] for t in listing["templates"])
    assert "comment.author" in listing["placeholders"] and "ticket.url" in listing["placeholders"]


def test_saved_template_is_listed_and_used_by_the_next_notification(api):
    saved = api.ok(
        "put",
        f"/triggers/{TRIGGER}/templates/en",
        {"subject": "Re: {{ ticket.subject }} [{{ ticket.reference }}]", "body": "Hi {{ recipient.name }}!"},
    )
    assert saved["customized"] and saved["updated_by"]  # the signed-in admin
    listing = {t["locale"]: t for t in api.ok("get", f"/triggers/{TRIGGER}/templates")["templates"]}
    assert listing["en"]["body"] == "Hi {{ recipient.name }}!" and not listing["de"]["customized"]

    who = people(api)  # signs in as the agent Ada
    ticket = open_ticket(api, who)
    api.ok(
        "post", f"/tickets/{ticket['id']}/comments", {"author_id": who["agent"]["id"], "body": "On it", "public": True}
    )

    latest = sent_messages()[-1]["mime"]
    assert latest["Subject"].startswith("Re: Printer on fire [")
    text = next(part for part in latest.walk() if part.get_content_type() == "text/plain").get_payload(decode=True)
    assert "Hi Rita Requester!" in text.decode()


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"subject": "ok", "body": "Hello\n{% if %}"}, "line 2"),
        ({"subject": "{{ ticket.password }}", "body": "x"}, "line 1: unknown placeholder 'ticket.password'"),
        ({"subject": "ok", "body": "a\nb\n{{ secrets }}"}, "line 3: unknown placeholder 'secrets'"),
        ({"subject": "ok"}, "'body'"),
        ({"subject": "ok", "body": "x", "html": "<b>"}, "html"),
        # The subject becomes a header: a line break or an encoded word in it could add one (issue 12).
        ({"subject": "Re: {{ ticket.subject }}\r\nBcc: a@example.com", "body": "x"}, "'subject' must be a single line"),
        ({"subject": "Re\u2028Bcc: a@example.com", "body": "x"}, "'subject' must be a single line"),
        ({"subject": "=?utf-8?q?x=0D=0ABcc:_a@example.com?=", "body": "x"}, "encoded word"),
    ],
)
def test_bad_templates_are_a_400_naming_the_line(api, body, words):
    status, payload = api.put(f"/triggers/{TRIGGER}/templates/en", body)

    assert status == 400 and words in payload["Message"], payload
    assert not any(t["customized"] for t in api.ok("get", f"/triggers/{TRIGGER}/templates")["templates"])


def test_unknown_trigger_and_locale(api):
    assert api.get("/triggers/nope/templates")[0] == 404
    assert api.put(f"/triggers/{TRIGGER}/templates/pt", {"subject": "x", "body": "y"})[0] == 400


def test_preview_renders_for_the_recipient_without_sending(client):
    api = Api(client)
    admin = Api(client, role="admin")
    who = people(api)
    german = api.user("Greta", "greta@example.com", locale="de")
    ticket = open_ticket(api, who, cc=())
    api.ok("patch", f"/users/{who['requester']['id']}", {"locale": "fr"})
    sent_before = len(sent_messages())

    preview = admin.ok("post", f"/triggers/{TRIGGER}/preview", {"ticket_id": ticket["id"], "user_id": german["id"]})
    french = admin.ok(
        "post", f"/triggers/{TRIGGER}/preview", {"ticket_id": ticket["id"], "user_id": who["requester"]["id"]}
    )

    assert len(sent_messages()) == sent_before
    assert preview["locale"] == "de" and "Hallo Greta," in preview["text"] and "It smokes." in preview["html"]
    assert french["locale"] == "fr" and "parce que vous avez ouvert le ticket" in french["text"]
    assert admin.post(f"/triggers/{TRIGGER}/preview", {"ticket_id": ticket["id"], "user_id": "x"})[0] == 400
