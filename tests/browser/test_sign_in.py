"""The page's sign-in screen against the local user pool (moto's Cognito): email and password, the agent's name in
the top bar, no token in the address bar, sign-out; the tokens go through deskmail's same-origin /auth routes."""

from __future__ import annotations

import pytest

# The same stack and browser as the other page tests: without the group, `-n 2 --dist loadgroup` could put this file
# on the other worker, which would start a second stack and browser on a two-core machine.
pytestmark = pytest.mark.xdist_group("browser")


def test_an_agent_signs_in_with_email_and_password_sees_her_name_and_signs_out(page, stack):
    requests = []
    page.on("request", lambda request: request.resource_type == "fetch" and requests.append(request.url))
    page.goto(stack["api_url"] + "/")
    page.locator("#signin-form").wait_for()
    assert page.locator("#layout").is_hidden()
    page.fill("#signin-email", stack["sign_in"]["agent"]["username"])
    page.fill("#signin-password", "not her password")
    page.click("#signin-submit")
    page.locator("#signin-error").wait_for()
    assert "Wrong email or password" in page.locator("#signin-error").inner_text()

    page.fill("#signin-email", stack["sign_in"]["agent"]["username"])
    page.fill("#signin-password", stack["sign_in"]["agent"]["password"])
    page.click("#signin-submit")
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector("#ticket-list li")
    assert page.locator("#who-name").inner_text() == "Signed in as Ada Agent"
    assert "token" not in page.url
    assert page.evaluate("sessionStorage.getItem('deskmail.refresh')")
    assert all(url.startswith(stack["api_url"]) for url in requests)  # same origin only
    assert f"{stack['api_url']}/auth/sign-in" in requests

    page.click("#sign-out")
    page.locator("#signin-form").wait_for()
    assert page.evaluate("sessionStorage.getItem('deskmail.token')") is None
    assert page.locator("#layout").is_hidden() and page.locator("#who").count() == 0


def test_the_composer_writes_as_the_signed_in_agent_without_an_author_box(sized_page, stack):
    page = sized_page  # issue 17 item 3, at 1366 and 390 px
    ticket_id = stack["demo"]["delivered"]  # assigned to Bob: the signed-in agent (Ada) still writes as herself
    page.goto(f"{stack['page_url']}&ticket={ticket_id}")
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector("#ticket:not([hidden]) .comment")
    assert page.locator("#composer-author").count() == 0
    assert "Ada Agent" in page.locator("#composer-author-text").inner_text()
