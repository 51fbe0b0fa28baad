"""Notification rendering: each language its own words and dates, agent text escaped, admin templates checked."""

from __future__ import annotations

import pytest

from chalicelib.domain import rendering
from chalicelib.i18n import SUPPORTED_LOCALES

TICKET_ID = "01jabcdefghjkmnpqrst4tdv9v"


def content(body: str = "The toner is <b>x</b> & empty.\nSecond line.", history=()) -> rendering.NotificationContent:
    return rendering.NotificationContent(
        ticket_id=TICKET_ID,
        subject="Printer <on> fire",
        ticket_url=rendering.ticket_url("https://support.example.com/tickets/{ticket_id}", TICKET_ID),
        comment=rendering.CommentView("Ada Agent", body, "2026-12-02T09:15:00.123Z"),
        intro_kind="comment_added",
        history=history,
    )


def test_every_language_renders_its_own_text_subject_and_date():
    rendered = {
        locale: rendering.render(content(), "Rita", locale, rendering.REASON_CC) for locale in SUPPORTED_LOCALES
    }

    assert len({email.text for email in rendered.values()}) == len(SUPPORTED_LOCALES)
    assert "December 2, 2026 at 09:15 UTC" in rendered["en"].text
    assert "2. Dezember 2026 um 09:15 UTC" in rendered["de"].text
    assert "2 dicembre 2026 alle 09:15 UTC" in rendered["it"].text
    assert "2 de diciembre de 2026, 09:15 UTC" in rendered["es"].text
    assert "2 décembre 2026 à 09:15 UTC" in rendered["fr"].text
    assert "Bitte geben Sie Ihre Antwort über dieser Zeile ein" in rendered["de"].text
    assert "Sie erhalten diese E-Mail, weil Sie beim Ticket 4TDV9V in Kopie sind." in rendered["de"].html
    assert rendered["fr"].subject == "[Ticket 4TDV9V] Printer <on> fire"
    for locale, email in rendered.items():
        assert f'<html lang="{locale}">' in email.html


def test_agent_text_is_escaped_in_html_and_kept_verbatim_in_text():
    email = rendering.render(content(), "Rita <script>", "en", rendering.REASON_REQUESTER)

    assert "The toner is &lt;b&gt;x&lt;/b&gt; &amp; empty.<br>\nSecond line." in email.html
    assert "<b>x</b>" not in email.html
    assert "<script>" not in email.html and "Rita &lt;script&gt;" in email.html
    assert "Printer &lt;on&gt; fire" in email.html
    assert "The toner is <b>x</b> & empty.\nSecond line." in email.text


def test_template_syntax_in_agent_text_is_not_interpreted():
    email = rendering.render(content("{{ 7 * 7 }} {% raw %}"), "Rita", "en", rendering.REASON_REQUESTER)

    assert "{{ 7 * 7 }} {% raw %}" in email.text
    assert "49" not in email.text


def test_holds_link_history_newest_first_marker_and_reason():
    history = (
        rendering.CommentView("Rita", "It is smoking now", "2026-12-02T08:00:00Z"),
        rendering.CommentView("Rita", "My printer is on fire", "2026-12-01T08:00:00Z"),
    )
    email = rendering.render(content(history=history), "Rita", "en", rendering.REASON_REQUESTER)

    assert email.text.startswith("##- Please type your reply above this line -##")
    assert email.text.index("Second line.") < email.text.index("It is smoking now") < email.text.index("on fire")
    assert "View ticket 4TDV9V: https://support.example.com/tickets/01jabcdefghjkmnpqrst4tdv9v" in email.text
    assert 'href="https://support.example.com/tickets/01jabcdefghjkmnpqrst4tdv9v"' in email.html
    assert "because you opened ticket 4TDV9V" in email.text
    assert "<style" not in email.html and 'style="' in email.html


def test_admin_template_replaces_subject_and_intro():
    templates = rendering.TriggerTemplates(
        subject="Update on {{ ticket.reference }}: {{ ticket.subject }}\n",
        body="Dear {{ recipient.name }}, {{ comment.author }} wrote at {{ comment.time }}.",
    )
    email = rendering.render(content(), "Rita", "de", rendering.REASON_CC, templates)

    assert email.subject == "Update on 4TDV9V: Printer <on> fire"
    assert "Dear Rita, Ada Agent wrote at 2. Dezember 2026 um 09:15 UTC." in email.text


@pytest.mark.parametrize(
    ("source", "line", "words"),
    [
        ("Hello {{ recipient.name }}\n{% if %}", 2, "line 2"),
        ("Hello\n\n{{ ticket.secret }}", 3, "ticket.secret"),
        ("{{ password }}", 1, "password"),
        ("ok\n{{ comment['body'] }}", 2, "comment"),
        ("{{ ticket.subject", 1, "line 1"),
    ],
)
def test_template_problems_name_the_line(source, line, words):
    with pytest.raises(rendering.TemplateProblem) as problem:
        rendering.validate_template(source)

    assert problem.value.line == line
    assert words in str(problem.value)


def test_every_default_template_validates():
    for locale in SUPPORTED_LOCALES:
        for kind in rendering.DEFAULT_INTROS:
            defaults = rendering.default_templates(kind, locale)
            rendering.validate_template(defaults.subject or "")
            rendering.validate_template(defaults.body or "")


def test_sandbox_refuses_unsafe_attribute_access():
    templates = rendering.TriggerTemplates(subject="{{ ticket.__class__.__mro__ }}")

    with pytest.raises(rendering.TemplateProblem):
        rendering.render(content(), "Rita", "en", rendering.REASON_CC, templates)


def test_locale_falls_back_to_the_default():
    assert rendering.locale_of("de-AT", "en") == "de"
    assert rendering.locale_of(None, "fr") == "fr"
    assert rendering.locale_of("pt", "xx") == "en"


def test_reply_markers_cover_every_language():
    markers = rendering.reply_markers()

    assert len(markers) == len(SUPPORTED_LOCALES)
    assert "##- Scrivi la tua risposta sopra questa riga -##" in markers


def test_quoted_history_is_an_excerpt_the_new_comment_is_whole():
    long_history = rendering.CommentView("Rita", "word " * 2000, "2026-12-01T08:00:00Z")
    email = rendering.render(content("new " * 2000, history=(long_history,)), "Rita", "en", rendering.REASON_CC)

    assert email.text.count("new") == 2000
    assert email.text.count("word") < 400 and "word …" in email.text
