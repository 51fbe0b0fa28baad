"""Renders a German comment notification's HTML part to docs/screenshot-notification-de.png (README).

`python -m scripts.render_notification_screenshot` after changing the layout or the German catalogue; it uses the
same rendering as the send path (chalicelib.domain.rendering) and Playwright with Debian's Chromium (`make browser`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from chalicelib.domain import rendering

OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "screenshot-notification-de.png"
TICKET_ID = "01jd2x7r9m8v3k4q5w6e7t8y9z"


def german_notification() -> rendering.RenderedEmail:
    content = rendering.NotificationContent(
        ticket_id=TICKET_ID,
        subject="Drucker im 3. Stock druckt nur leere Seiten",
        ticket_url=rendering.ticket_url("https://support.example.com/tickets/{ticket_id}", TICKET_ID),
        comment=rendering.CommentView(
            "Ada Agent",
            "Guten Tag Frau Berger,\n\nder Toner war leer. Ich habe eine neue Kartusche eingesetzt; "
            "bitte drucken Sie eine Testseite.\n\nViele Grüße\nAda",
            "2026-12-02T09:15:00Z",
        ),
        intro_kind=rendering.COMMENT_INTRO,
        history=(
            rendering.CommentView(
                "Greta Berger", "Es kommen immer noch nur leere Seiten heraus.", "2026-12-01T16:40:00Z"
            ),
            rendering.CommentView(
                "Greta Berger", "Der Drucker im 3. Stock druckt nur leere Seiten.", "2026-12-01T08:05:00Z"
            ),
        ),
    )
    return rendering.render(content, "Greta Berger", "de", rendering.REASON_REQUESTER)


def main() -> None:
    from playwright.sync_api import sync_playwright

    email = german_notification()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium") or None)
        page = browser.new_page(viewport={"width": 720, "height": 640}, device_scale_factor=1)
        page.set_content(email.html)
        page.screenshot(path=str(OUTPUT), full_page=True)
        browser.close()
    print(f"wrote {OUTPUT} ({email.subject})")


if __name__ == "__main__":
    main()
