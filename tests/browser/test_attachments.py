"""Attachments on the workspace page (issue 18), on the local stack (moto's S3): files chosen, checked, uploaded
with the presigned POST and shown under the new comment; a download fetches a fresh link and the browser downloads;
a message too large for one recipient offers "Resend with links instead of attachments", which resends to that
recipient only. At 1366 and 390 px where the layout matters, with axe-core finding nothing serious or critical.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.browser.test_workspace_page import FAILED, api, open_ticket, wait_until
from tests.browser.test_workspace_views import assert_fits_and_accessible

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright").expect

pytestmark = pytest.mark.xdist_group("browser")  # the same stack and browser as the other page tests

TOO_LARGE = "message_too_large"


def too_large_recipient(stack):
    """(comment, recipient) of the demo's agent reply whose message one recipient's server refused as too large."""
    ticket_id = stack["demo"]["too_large"]

    def find():
        for comment in api(stack, f"/tickets/{ticket_id}/comments")["comments"]:
            for recipient in (comment.get("delivery") or {}).get("recipients", []):
                if recipient["status"] in FAILED and (recipient.get("failure") or {}).get("category") == TOO_LARGE:
                    return comment, recipient
        return None

    return wait_until(find, lambda found: found is not None, timeout=30)


def test_files_are_checked_uploaded_and_listed_under_the_new_comment(sized_page, stack, axe_source):
    page = sized_page
    ticket_id = stack["demo"]["attachment"]
    open_ticket(page, stack, ticket_id)
    # The demo's reply already carries a file: its name and size under the comment.
    demo_file = page.locator(".comment .attachment", has_text="Invoice 2041.pdf")
    expect(demo_file).to_be_visible()
    expect(demo_file.locator(".file-size")).to_have_text("2 kB")

    body = f"Logs attached ({page.viewport_size['width']} px, {time.time_ns()})."
    page.locator("#composer-body").fill(body)
    page.locator("#composer-public").uncheck()  # an internal note: no email to wait for
    page.set_input_files(
        "#composer-files",
        files=[
            {"name": "server log.txt", "mimeType": "text/plain", "buffer": b"line\n" * 300},
            {"name": "empty.txt", "mimeType": "text/plain", "buffer": b""},
            {"name": "extra.csv", "mimeType": "text/csv", "buffer": b"a,b\n1,2\n"},
        ],
    )
    # The empty file is refused with its name; the others are listed with name and size, and can be removed.
    expect(page.locator("#composer-files-error")).to_have_text("empty.txt is empty.")
    chosen = page.locator("#composer-file-list .chosen-file")
    expect(chosen).to_have_count(2)
    expect(chosen.nth(0).locator(".file-name")).to_have_text("server log.txt")
    expect(chosen.nth(0).locator(".file-size")).to_have_text("1.5 kB")
    assert_fits_and_accessible(page, axe_source, "composer with files")
    page.get_by_role("button", name="Remove extra.csv").click()
    expect(chosen).to_have_count(1)

    uploads = []
    page.on(
        "request",
        lambda request: (
            request.method == "POST"
            and request.url.startswith(stack["aws_endpoint_url"])
            and uploads.append(request.url)
        ),
    )
    page.locator("#composer-send").click()
    comment = page.locator(".comment", has_text=body)
    expect(comment.locator(".attachment .file-name")).to_have_text(["server log.txt"])
    expect(comment.locator(".attachment .file-size")).to_have_text(["1.5 kB"])
    expect(comment.locator(".attachments-title")).to_have_text("1 attachment")
    # The bytes went to the bucket (moto), not through the API; the composer is empty again.
    assert len(uploads) == 1, uploads
    expect(page.locator("#composer-file-list")).to_be_hidden()
    expect(page.locator("#composer-send")).to_have_text("Send")
    stored = next(c for c in api(stack, f"/tickets/{ticket_id}/comments")["comments"] if c["body"] == body)
    assert [(a["name"], a["size"], a["content_type"]) for a in stored["attachments"]] == [
        ("server log.txt", 1500, "text/plain")
    ]
    assert_fits_and_accessible(page, axe_source, "comment with a file")


def test_limits_are_said_before_anything_is_uploaded(page, stack):
    open_ticket(page, stack, stack["demo"]["attachment"])
    asked = []
    page.on("request", lambda request: "/attachments" in request.url and asked.append(request.url))
    # Files made in the page: a 26 MB one and eleven small ones (more than the ten a comment takes).
    page.evaluate(
        """() => {
          const input = document.querySelector('#composer-files');
          const files = new DataTransfer();
          files.items.add(new File([new Uint8Array(26 * 1024 * 1024)], 'video.mp4', { type: 'video/mp4' }));
          for (let i = 1; i <= 11; i += 1) files.items.add(new File([`file ${i}`], `note-${i}.txt`));
          input.files = files.files;
          input.dispatchEvent(new Event('change', { bubbles: true }));
        }"""
    )
    error = page.locator("#composer-files-error")
    expect(error).to_contain_text("video.mp4 is larger than 25 MB, the limit per file.")
    expect(error).to_contain_text("A comment takes at most 10 files.")
    expect(page.locator("#composer-file-list .chosen-file")).to_have_count(10)
    assert asked == []  # nothing is asked of the API before Send


def test_the_download_button_gets_a_fresh_link_and_the_browser_downloads_the_file(page, stack):
    open_ticket(page, stack, stack["demo"]["attachment"])
    address = page.url
    button = page.locator(".attachment", has_text="Invoice 2041.pdf").get_by_role("button", name="Download")
    with (
        page.expect_download() as download,
        page.expect_response(
            lambda response: "/attachments/" in response.url and response.request.method == "GET"
        ) as answer,
    ):
        button.click()
    link = answer.value.json()
    assert link["url"].startswith(stack["aws_endpoint_url"]) and link["expires_in"] > 0
    assert "response-content-disposition=attachment" in link["url"]
    assert download.value.suggested_filename == "Invoice 2041.pdf"
    with open(download.value.path(), "rb") as handle:
        assert handle.read().startswith(b"%PDF-1.4")
    assert page.url == address  # a download, not a navigation away from the workspace


def test_a_message_too_large_shows_the_links_remedy_at_both_widths(sized_page, stack, axe_source):
    page = sized_page
    comment, recipient = too_large_recipient(stack)
    open_ticket(page, stack, stack["demo"]["too_large"])
    row = page.locator(f'#comment-{comment["id"]} .recipient[data-user="{recipient["user_id"]}"]')
    row.locator(".warn-button").click()
    popover = row.locator(".popover")
    expect(popover.get_by_role("button", name="Resend with links instead of attachments")).to_be_visible()
    # Only for that recipient: the others' details have no such button.
    expect(page.locator(".resend-links-button")).to_have_count(1)
    assert_fits_and_accessible(page, axe_source, "too-large remedy")


def test_resend_with_links_resends_to_that_recipient_only_and_delivers(page, stack):
    comment, recipient = too_large_recipient(stack)
    open_ticket(page, stack, stack["demo"]["too_large"])
    row = page.locator(f'#comment-{comment["id"]} .recipient[data-user="{recipient["user_id"]}"]')
    row.locator(".warn-button").click()
    with page.expect_request(lambda request: request.url.split("?")[0].endswith("/resend")) as sent:
        row.get_by_role("button", name="Resend with links instead of attachments").click()
    assert json.loads(sent.value.post_data) == {"user_ids": [recipient["user_id"]], "attachments": "links"}
    notice = page.locator(f"#comment-{comment['id']} .notice.resent")
    expect(notice).to_contain_text("with download links instead of attachments")
    # The new attempt (links, a small message) is delivered; the too-large one is kept as its history.
    recipients = wait_until(
        lambda: next(
            c
            for c in api(stack, f"/tickets/{stack['demo']['too_large']}/comments")["comments"]
            if c["id"] == comment["id"]
        )["delivery"]["recipients"],
        lambda rows: any(
            r["user_id"] == recipient["user_id"] and not r.get("superseded_by") and r["status"] == "delivered"
            for r in rows
        ),
        timeout=30,
    )
    mine = [r for r in recipients if r["user_id"] == recipient["user_id"]]
    assert len(mine) == 2 and sum(1 for r in mine if r.get("superseded_by")) == 1, mine
    others = [r for r in recipients if r["user_id"] != recipient["user_id"]]
    assert others and all(not r.get("superseded_by") for r in others)  # nobody else got it again
