"""Builds the outbox emails' zlib preset dictionary (chalicelib/adapters/mail_dictionary_{n}.txt).

`python -m scripts.build_mail_dictionary` writes the next number (MAIL_DICTIONARY + 1): a dictionary is never
rewritten once used, since the emails compressed with it must stay readable (see chalicelib/adapters/dynamo.py,
MAIL_DICTIONARY). Then point MAIL_DICTIONARY at the new file and pin its digest in tests/unit/test_outbox.py.

What goes in: what every notification repeats. For each language its phrases (every intro and reason, the month
names) and one email from the send path's own renderer (chalicelib.domain.rendering: the HTML shell, inline styles,
quoted history, download links) in the outbox's own JSON encoding (dynamo.mail_payload). Names, ids and
comment texts are placeholders: they differ in every email. zlib finds matches nearer the end of a dictionary more
cheaply, so the most common language (English) comes last.
"""

from __future__ import annotations

import sys
from pathlib import Path

from chalicelib.adapters import dynamo
from chalicelib.domain import rendering
from chalicelib.domain.messages import Mailbox, OutgoingEmail
from chalicelib.i18n import SUPPORTED_LOCALES, translations

ZLIB_WINDOW = 32 * 1024  # zlib uses only the last 32 KB of a preset dictionary
TICKET_ID = "01jd2x7r9m8v3k4q5w6e7t8y9z"
SENDER = "Support <support@example.com>"


def _content(intro_kind: str) -> rendering.NotificationContent:
    return rendering.NotificationContent(
        ticket_id=TICKET_ID,
        subject="Subject",
        ticket_url=rendering.ticket_url("https://support.example.com/tickets/{ticket_id}", TICKET_ID),
        comment=rendering.CommentView("Agent", "Comment", "2026-12-02T09:15:00Z"),
        intro_kind=intro_kind,
        history=(rendering.CommentView("Customer", "Earlier", "2026-12-01T16:40:00Z"),),
    )


def _payload(rendered: rendering.RenderedEmail) -> bytes:
    email = OutgoingEmail(
        sender=SENDER,
        to=(Mailbox("Name", "name@example.com"),),
        cc=(Mailbox("Name", "name@example.com"),),
        subject=rendered.subject,
        body=rendered.text,
        rfc_message_id=f"<ticket-{TICKET_ID}-{TICKET_ID}@example.com>",
        thread_root_id=f"<ticket-{TICKET_ID}@example.com>",
        tags={"ticket_id": TICKET_ID, "comment_id": TICKET_ID, "trigger_id": "notify", "notification_id": TICKET_ID},
        configuration_set="deskmail",
        auto_submitted=True,
        html=rendered.html,
        content_language=rendered.locale,
        in_reply_to="<0100019b00000000-00000000-0000-0000-0000-000000000000-000000@email.amazonses.com>",
        references=(f"<ticket-{TICKET_ID}@example.com>",),
        reply_to=("Support", f"support+{TICKET_ID}@example.com"),
    )
    return dynamo.mail_payload(email)


def _language(locale: str) -> bytes:
    """One language: its phrases (every intro and reason, the month names), then a whole outbox payload."""
    tr = translations(locale)
    phrases = [*rendering.DEFAULT_INTROS.values(), *rendering.REASONS.values(), *rendering.MONTHS]
    text = "\n".join(tr.gettext(phrase) for phrase in phrases) + "\n"
    downloads = (rendering.Download("file.pdf", 1000, "https://support.example.com/files/x", "2026-12-09T09:15:00Z"),)
    rendered = rendering.render(_content(rendering.COMMENT_INTRO), "Name", locale, rendering.REASON_CC, None, downloads)
    return text.encode() + _payload(rendered)


def build() -> bytes:
    locales = [locale for locale in SUPPORTED_LOCALES if locale != "en"] + ["en"]
    data = b"".join(_language(locale) for locale in locales)
    if len(data) > ZLIB_WINDOW:  # from the first whole line within the window
        data = data[-ZLIB_WINDOW:]
        data = data[data.index(b"\n") + 1 :]
    return data


def main() -> None:
    version = dynamo.MAIL_DICTIONARY + (0 if "--current" in sys.argv else 1)
    target = Path(dynamo.__file__).parent / f"mail_dictionary_{version}.txt"
    if target.exists():
        raise SystemExit(f"{target} exists: a dictionary is frozen once written (emails compressed with it)")
    target.write_bytes(build())
    print(f"wrote {target} ({target.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
