"""The agent workspace page in headless Chromium against a running stack with demo data (see conftest.py)."""

from __future__ import annotations

import json
import os
import re
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.browser.conftest import FAILURE_TAG, ROOT, call

pytestmark = pytest.mark.xdist_group("browser")  # one stack and one browser for the whole file

SCREENSHOTS = ROOT / ".local" / "screenshots"
FAILED = {"bounced", "rejected", "suppressed"}


def api(stack, path, locale=None):
    suffix = ("&" if "?" in path else "?") + f"locale={locale}" if locale else ""
    return call(stack["api_url"], "GET", path + suffix, token=stack["agent_token"])


def scenario(stack, scope, locale=None):
    """(ticket id, comment) of a demo ticket whose comment's delivery has this scope (one/some/all)."""
    known = stack.get("tickets", {}).get(scope)
    candidates = [known] if known else [t["id"] for t in api(stack, f"/tickets?tag={FAILURE_TAG}")["tickets"]]
    for ticket_id in candidates:
        for comment in api(stack, f"/tickets/{ticket_id}/comments", locale)["comments"]:
            if (comment["delivery"] or {}).get("scope") == scope:
                return ticket_id, comment
    pytest.fail(f"the demo data has no comment whose delivery scope is {scope!r}")


def open_ticket(page, stack, ticket_id):
    page.goto(f"{stack['page_url']}&ticket={ticket_id}")
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector("#ticket:not([hidden]) .comment")


def shoot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path), full_page=True)
    return path


def test_token_moves_from_the_address_bar_to_session_storage_and_goes_on_every_call(page, stack):
    authorizations = []
    page.on(
        "request",
        lambda request: (
            request.resource_type == "fetch"
            and "/static/" not in request.url
            and authorizations.append(request.headers.get("authorization"))
        ),
    )
    page.goto(stack["page_url"])
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector("#ticket-list li")
    assert "token=" not in page.url
    assert page.evaluate("sessionStorage.getItem('deskmail.token')") == stack["agent_token"]
    assert authorizations and set(authorizations) == {f"Bearer {stack['agent_token']}"}


def test_the_failure_view_lists_tagged_tickets_newest_failure_first(page, stack):
    expected = [t["subject"] for t in api(stack, f"/tickets?tag={FAILURE_TAG}")["tickets"]]
    page.goto(stack["page_url"])
    page.wait_for_selector("#ticket-list li")
    assert page.locator("#ticket-list .subject").all_inner_texts() == expected
    page.locator("#ticket-list a").first.click()
    page.wait_for_selector("#ticket:not([hidden]) .comment")
    assert page.locator("#ticket-title").inner_text() == expected[0]
    assert page.locator("#ticket-list a").first.get_attribute("aria-current") == "page"


@pytest.mark.parametrize("scope", ["one", "some", "all"])
def test_delivery_message_and_warning_icons_only_beside_failed_recipients(page, stack, scope):
    ticket_id, comment = scenario(stack, scope)
    open_ticket(page, stack, ticket_id)
    block = page.locator(f"#comment-{comment['id']} .delivery")
    assert block.locator(".delivery-message").inner_text().strip() == comment["delivery"]["message"]
    if scope == "one":
        failure = comment["delivery"]["recipients"][0]["failure"]
        assert failure["reason"] in comment["delivery"]["message"]
        assert (failure["smtp_status"] or failure["smtp_code"]) in comment["delivery"]["message"]
    if scope == "all":
        assert comment["delivery"]["message"] in ("Delivery failed", "Recapito non riuscito")
    if scope == "some":
        assert comment["delivery"]["message"] == "Delivery failed to some recipients"

    recipients = comment["delivery"]["recipients"]
    failed = {r["email"] for r in recipients if r["status"] in FAILED}
    with_icon = set(block.locator(".recipient:has(.warn-button)").evaluate_all("els => els.map(e => e.dataset.email)"))
    assert with_icon == failed and failed
    for recipient in recipients:
        row = block.locator(f'.recipient[data-email="{recipient["email"]}"]')
        if recipient["status"] not in FAILED:
            assert row.locator(".warn-button").count() == 0
            assert row.locator(f".badge.{recipient['status']}").is_visible()
        else:
            label = row.locator(".warn-button").get_attribute("aria-label")
            assert recipient["name"] in label  # the icon's text alternative
    shoot(page, f"conversation-{scope}.png")


def test_the_warning_icon_opens_reason_code_and_remedy_by_click_and_by_keyboard(page, stack):
    ticket_id, comment = scenario(stack, "some")
    carl = next(r for r in comment["delivery"]["recipients"] if r["status"] in FAILED)
    open_ticket(page, stack, ticket_id)
    row = page.locator(f'#comment-{comment["id"]} .recipient[data-email="{carl["email"]}"]')
    button, popover = row.locator(".warn-button"), row.locator(".popover")

    button.click()
    assert button.get_attribute("aria-expanded") == "true"
    text = popover.inner_text()
    failure = carl["failure"]
    for expected in (failure["reason"], failure["smtp_status"], failure["smtp_code"], failure["remedy"]):
        assert expected in text
    shoot(page, "popover-failed-recipient.png")
    if os.environ.get("DESKMAIL_UPDATE_DOCS_SCREENSHOT") == "1":  # the README's picture of a partly failed comment
        shutil.copy(SCREENSHOTS / "popover-failed-recipient.png", ROOT / "docs" / "screenshot-conversation.png")
    page.keyboard.press("Escape")
    assert popover.is_hidden() and button.get_attribute("aria-expanded") == "false"
    button.click()
    page.locator("#ticket-title").click()  # a click elsewhere closes it too
    assert popover.is_hidden()

    # Keyboard only: Tab from the Events button reaches the first failed recipient's icon, which opens at once.
    first = page.locator(".warn-button").first
    page.locator("#open-events").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.classList.contains('warn-button')")
    assert first.get_attribute("aria-expanded") == "true"
    page.keyboard.press("Tab")  # into the popover: it stays open
    assert page.evaluate("document.activeElement.classList.contains('edit-address')")
    assert first.get_attribute("aria-expanded") == "true"
    page.keyboard.press("Escape")
    assert first.get_attribute("aria-expanded") == "false"
    assert page.evaluate("document.activeElement.classList.contains('warn-button')")
    page.keyboard.press("Enter")
    assert first.get_attribute("aria-expanded") == "true"
    page.keyboard.press("Space")
    assert first.get_attribute("aria-expanded") == "false"


def test_the_events_log_shows_each_failure_with_its_triggers(page, stack):
    ticket_id, comment = scenario(stack, "some")
    events = api(stack, f"/tickets/{ticket_id}/events")["events"]
    failures = [e for e in events if e["type"] == "email_delivery_failure"]
    assert failures
    open_ticket(page, stack, ticket_id)
    page.get_by_role("button", name="Events").click()
    dialog = page.locator("#events")
    page.wait_for_selector("#events-list .event")
    assert dialog.is_visible()
    assert page.locator("#events-list .event").count() == len(events)
    assert [t.strip() for t in page.locator("#events-list .event h3").all_inner_texts()] == [
        e["description"] for e in events
    ]
    for event in failures:
        item = page.locator(
            "#events-list .event[data-type=email_delivery_failure]", has_text=event["recipient"]["email"]
        )
        text = item.inner_text()
        assert event["recipient"]["name"] in text and event["reason"] in text and event["smtp_status"] in text
        assert "Email notification" in item.locator(".notification-section h4").inner_text()
        assert item.locator(".triggers li").all_inner_texts() == [t["title"] for t in event["triggers"]]
    shoot(page, "events-log.png")
    page.keyboard.press("Escape")
    assert dialog.is_hidden()
    assert page.evaluate("document.activeElement.id") == "open-events"


def test_switching_to_italian_changes_the_ui_and_the_server_texts(page, stack):
    ticket_id, comment = scenario(stack, "all")
    open_ticket(page, stack, ticket_id)
    assert page.get_by_role("button", name="Events").is_visible()
    page.select_option("#language", "it")
    page.locator("html[lang=it]").wait_for(state="attached")
    page.get_by_role("button", name="Eventi").wait_for()
    assert page.locator("#failures-title").inner_text() == "Errori di recapito"
    assert page.evaluate("localStorage.getItem('deskmail.locale')") == "it"
    italian = scenario(stack, "all", locale="it")[1]["delivery"]["message"]
    page.locator(f"#comment-{comment['id']} .delivery-message", has_text=italian).wait_for()
    if italian != comment["delivery"]["message"]:  # the server's catalogues are there
        assert italian == "Recapito non riuscito"
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert page.locator("#language").input_value() == "it"
    assert page.get_by_role("button", name="Eventi").is_visible()
    shoot(page, "conversation-all-it.png")


def test_fix_the_address_and_resend_with_a_public_comment(page, stack):
    ticket_id, comment = scenario(stack, "some")
    carl = next(r for r in comment["delivery"]["recipients"] if r["status"] in FAILED)
    open_ticket(page, stack, ticket_id)
    row = page.locator(f'#comment-{comment["id"]} .recipient[data-user="{carl["user_id"]}"]')
    row.locator(".warn-button").click()
    row.get_by_role("button", name="Edit address").click()
    field = row.get_by_label(re.compile("Email address of"))
    assert field.evaluate("el => el === document.activeElement")

    field.fill("carl at example dot com")
    row.get_by_role("button", name="Save").click()
    error = row.locator(".field-error")
    error.wait_for()
    status = urllib_status(stack, f"/users/{carl['user_id']}", {"email": "carl at example dot com"})
    assert error.inner_text() == status[1]["Message"]
    assert field.get_attribute("aria-invalid") == "true"

    field.fill("carl@example.com")
    row.get_by_role("button", name="Save").click()
    row.locator(".notice").wait_for()
    assert row.locator(".email").inner_text() == "<carl@example.com>"
    assert api(stack, f"/users/{carl['user_id']}")["email"] == "carl@example.com"

    row.get_by_role("button", name="Write a public comment").click()
    assert page.evaluate("document.activeElement.id") == "composer-body"
    page.keyboard.type("I corrected your address, Carl: here is the update again.")
    assert page.locator("#composer-public").is_checked()
    page.get_by_role("button", name="Send").click()
    new = page.locator(".comment", has_text="I corrected your address, Carl")
    new.wait_for()
    assert new.locator(".badge.public").is_visible()
    resent = new.locator('.recipient[data-email="carl@example.com"]')
    assert resent.is_visible() and resent.locator(".warn-button").count() == 0
    assert page.locator("#composer-body").input_value() == ""
    shoot(page, "fix-and-resend.png")


def urllib_status(stack, path, body):
    """Asks the API what a bad address answers (the page must show that Message inline)."""
    request = urllib.request.Request(
        stack["api_url"] + path,
        data=json.dumps(body).encode(),
        method="PATCH",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {stack['agent_token']}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_401_asks_the_agent_to_sign_in_with_the_link_from_make_run(page, stack):
    page.route(
        re.compile(r".*/tickets\?.*"),
        lambda route: route.fulfill(status=401, json={"Code": "Unauthorized", "Message": "Unauthorized"}),
    )
    page.goto(stack["api_url"] + "/")
    page.locator("#signin").wait_for()
    assert "open the link printed by make run" in page.locator("#signin").inner_text()
    assert page.locator("#layout").is_hidden()


CONTRAST = """() => {
  const lum = (rgb) => { const [r, g, b] = rgb.match(/[\\d.]+/g).slice(0, 3).map(Number).map((v) => {
    v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const background = (el) => { for (; el; el = el.parentElement) { const c = getComputedStyle(el).backgroundColor;
    if (c && !c.endsWith(", 0)") && c !== "transparent") return c; } return "rgb(255, 255, 255)"; };
  const worst = [];
  for (const el of document.querySelectorAll("body *")) {
    if (!el.checkVisibility() || ![...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim())) continue;
    const a = lum(getComputedStyle(el).color), b = lum(background(el));
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) worst.push(`${el.tagName}.${el.className} ${ratio.toFixed(2)}: ${el.textContent.trim()}`);
  }
  return worst;
}"""


def test_landmarks_headings_and_contrast(page, stack):
    ticket_id, _ = scenario(stack, "some")
    open_ticket(page, stack, ticket_id)
    page.locator(".warn-button").first.click()
    for role in ("banner", "navigation", "main"):
        assert page.get_by_role(role).count() >= 1, role
    assert page.get_by_role("heading", level=1).count() == 1
    assert page.evaluate(CONTRAST) == []
    page.get_by_role("button", name="Events").click()
    page.wait_for_selector("#events-list .event")
    assert page.evaluate(CONTRAST) == []


def test_the_shell_and_assets_are_served_with_types_and_unknown_names_are_404(stack):
    def get(path):
        try:
            with urllib.request.urlopen(stack["api_url"] + path, timeout=10) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    status, headers, body = get("/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "script-src 'self'" in headers["Content-Security-Policy"] and headers["Cache-Control"] == "no-cache"
    assert b"static/app.js?v=" in body and b"{{version}}" not in body
    for path, kind in [
        ("/static/app.js", "text/javascript"),
        ("/static/app.css", "text/css"),
        ("/static/warning.svg", "image/svg+xml"),
        ("/static/i18n/it.json", "application/json"),
    ]:
        status, headers, _ = get(path)
        assert status == 200 and headers["Content-Type"].startswith(kind), path
    for path in ("/static/conftest.py", "/static/..%2F__init__.py", "/static/i18n/xx.json", "/static/index.htm"):
        assert get(path)[0] == 404, path
    assert Path(ROOT / "chalicelib" / "web" / "app.js").exists()
