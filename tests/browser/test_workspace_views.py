"""The workspace page on a phone (390 px) and a desktop (1366 px), issue 17: every view fits the screen and passes
axe-core, a comment emailed to nobody says so, a resend resolves the old failure, and the agent can mark it handled.

Each test runs at both widths (the `sized_page` fixture) and fails on any page error or console error.
"""

from __future__ import annotations

import os
import re
import shutil

import pytest

from tests.browser.conftest import FAILURE_TAG, ROOT, axe_findings, call
from tests.browser.test_workspace_page import (
    FAILED,
    admin_url,
    api,
    bounced_ticket,
    open_ticket,
    post,
    scenario,
    shoot,
    show_ticket,
    wait_until,
)

expect = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright").expect

pytestmark = pytest.mark.xdist_group("browser")  # the same stack and browser as test_workspace_page.py

FITS = "document.scrollingElement.scrollWidth <= window.innerWidth"


def width(page):
    return page.viewport_size["width"]


def assert_fits_and_accessible(page, axe_source, view):
    """No sideways scrolling, and axe-core finds nothing serious or critical, on the view as it is now."""
    assert page.evaluate(FITS), (view, page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]"))
    findings = axe_findings(page, axe_source)
    assert findings == [], (view, findings)


def test_every_view_fits_the_screen_and_passes_axe(sized_page, stack, axe_source):
    page = sized_page
    ticket_id, comment = scenario(stack, "some")

    # The failures list (no ticket chosen yet), with the header's language select wholly on screen.
    page.goto(stack["page_url"])
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector("#ticket-list li")
    select = page.locator("#language").bounding_box()
    assert select["x"] >= 0 and select["x"] + select["width"] <= width(page), select
    assert_fits_and_accessible(page, axe_source, "failures list")

    # Choosing a ticket brings its conversation into view, and the sidebar never covers it.
    page.locator(f'#ticket-list a[data-ticket="{ticket_id}"]').click()
    page.wait_for_selector("#ticket:not([hidden]) .comment")
    title = page.locator("#ticket-title")
    expect(title).to_be_in_viewport()
    conversation = page.locator("#conversation").bounding_box()
    sidebar = page.locator(".sidebar").bounding_box()
    if width(page) < 800:  # stacked: the list above, the conversation below it
        assert sidebar["y"] + sidebar["height"] <= conversation["y"] + 1, (sidebar, conversation)
        assert page.evaluate("getComputedStyle(document.querySelector('.sidebar')).position") == "static"
    else:  # side by side
        assert sidebar["x"] + sidebar["width"] <= conversation["x"] + 1, (sidebar, conversation)
    box = title.bounding_box()
    hit = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y)?.closest('#conversation') !== null",
        [box["x"] + 5, box["y"] + box["height"] / 2],
    )
    assert hit, "something covers the ticket's title"
    assert_fits_and_accessible(page, axe_source, "ticket")
    path = shoot(page, f"ticket-{width(page)}.png")
    if width(page) == 390 and os.environ.get("DESKMAIL_UPDATE_DOCS_SCREENSHOT") == "1":  # docs/workspace-page.md
        shutil.copy(path, ROOT / "docs" / "screenshot-phone.png")

    # A failed recipient's details, then "why no email?" (the diagnostics).
    failed = next(r for r in comment["delivery"]["recipients"] if r["status"] in FAILED)
    row = page.locator(f'#comment-{comment["id"]} .recipient[data-user="{failed["user_id"]}"]')
    row.locator(".warn-button").click()
    expect(row.locator(".popover")).to_be_visible()
    assert_fits_and_accessible(page, axe_source, "recipient details")
    row.locator(".popover").get_by_role("button", name="Why no email?").click()
    row.locator(".diagnostics .check").first.wait_for()
    assert_fits_and_accessible(page, axe_source, "diagnostics")
    shoot(page, f"diagnostics-{width(page)}.png")

    # The events drawer: wide enough for the addresses, no wider than the screen.
    page.keyboard.press("Escape")
    page.locator("#open-events").click()
    page.wait_for_selector("#events-list .event")
    drawer = page.locator("#events").bounding_box()
    assert drawer["x"] >= 0 and drawer["x"] + drawer["width"] <= width(page) + 1, drawer
    overflowing = page.evaluate(
        "[...document.querySelectorAll('#events-list dd')].filter(dd => dd.scrollWidth > dd.clientWidth + 1).length"
    )
    assert overflowing == 0
    # Item 13: each event says who and when, to the second.
    author = page.locator('#events-list .event[data-type="comment_added"] .event-author').first
    expect(author).not_to_have_text("")
    assert not re.fullmatch(r"[0-9a-z]{26}", author.inner_text())  # a name, not a raw id
    assert re.search(r"\d:\d{2}:\d{2}", page.locator("#events-list .event-head time").first.inner_text())
    assert_fits_and_accessible(page, axe_source, "events")
    shoot(page, f"events-{width(page)}.png")
    page.locator("#events-close").click()

    # The delivery-problems inbox (a card per failure on a phone).
    page.locator("#tab-problems").click()
    page.wait_for_selector("#problems-rows tr")
    assert_fits_and_accessible(page, axe_source, "inbox")
    shoot(page, f"inbox-{width(page)}.png")


def no_address_ticket(stack, subject):
    """A ticket whose only person (the requester) has no email address: nobody can be emailed."""
    nobody = post(stack, "/users", {"name": f"{subject} requester", "email": None, "role": "end-user"})
    agent_id = api(stack, f"/tickets/{stack['demo']['bounced_one']}")["assignee_id"]
    ticket = post(
        stack,
        "/tickets",
        {
            "subject": subject,
            "requester_id": nobody["id"],
            "assignee_id": agent_id,
            "comment": {"author_id": nobody["id"], "body": f"{subject}: called in.", "public": True},
        },
    )
    return ticket, nobody


def test_a_comment_emailed_to_nobody_says_so_and_sending_one_asks_first(sized_page, stack):
    page = sized_page
    ticket, nobody = no_address_ticket(stack, f"Nobody to email at {width(page)}")
    (first,) = api(stack, f"/tickets/{ticket['id']}/comments")["comments"]
    assert first["delivery"]["scope"] == "not_sent"
    assert first["delivery"]["message"] == "Not sent to anyone: The user has no email address"

    open_ticket(page, stack, ticket["id"])
    message = page.locator(f"#comment-{first['id']} .delivery-message")
    expect(message).to_have_text(first["delivery"]["message"])
    assert message.get_attribute("data-scope") == "not_sent"

    # A public reply nobody will get: the page asks before sending; Cancel sends nothing.
    posted = []
    page.on("request", lambda r: r.method == "POST" and r.url.split("?")[0].endswith("/comments") and posted.append(r))
    page.locator("#composer-body").fill("We tried to reach you.")
    page.locator("#composer-send").click()
    confirm = page.locator("#composer-confirm")
    expect(confirm).to_be_visible()
    assert "Nobody will get this reply by email" in confirm.inner_text()
    assert nobody["name"] in confirm.inner_text()
    expect(page.locator("#composer-send-anyway")).to_be_focused()
    shoot(page, f"not-sent-to-anyone-{width(page)}.png")
    page.get_by_role("button", name="Cancel").click()
    expect(confirm).to_have_count(0)
    assert posted == []
    assert len(api(stack, f"/tickets/{ticket['id']}/comments")["comments"]) == 1

    # "Send anyway" sends it, and its delivery says nobody was emailed.
    page.locator("#composer-send").click()
    page.locator("#composer-send-anyway").click()
    reply = page.locator(".comment", has_text="We tried to reach you.")
    expect(reply.locator('.delivery-message[data-scope="not_sent"]')).to_contain_text("Not sent to anyone:")
    assert len(posted) == 1


def test_after_a_resend_the_old_failure_reads_resolved_and_mark_handled_clears_the_tag(sized_page, stack):
    page = sized_page
    old = f"resend-{width(page)}@nowhere.invalid"
    ticket, (ivy,) = bounced_ticket(stack, f"Resent and handled at {width(page)}", old)
    first = api(stack, f"/tickets/{ticket['id']}/comments")["comments"][0]
    call(
        stack["api_url"],
        "PATCH",
        f"/users/{ivy['id']}",
        {"email": "success@simulator.amazonses.com"},
        token=stack["agent_token"],
    )
    post(stack, f"/tickets/{ticket['id']}/comments/{first['id']}/resend", {"user_ids": [ivy["id"]]})
    delivery = wait_until(
        lambda: api(stack, f"/tickets/{ticket['id']}/comments")["comments"][0]["delivery"],
        lambda d: [r["status"] for r in d["recipients"]] == ["bounced", "delivered"],
    )
    assert delivery["scope"] == "none" and delivery["people"] == 1  # people, not rows

    show_ticket(page, stack, ticket["id"])
    block = page.locator(f"#comment-{first['id']} .delivery")
    rows = block.locator(f'.recipient[data-user="{ivy["id"]}"]')
    expect(rows).to_have_count(1)  # the person once, by the resend's outcome
    assert (
        rows.get_attribute("data-status") == "delivered"
        and rows.get_attribute("data-email") == delivery["recipients"][1]["email"]
    )
    history = rows.locator(".history")
    expect(history).to_have_text(f"Bounced at the old address {old}, resent, delivered")
    assert history.get_attribute("data-resolved") == "true"
    assert block.locator(".delivery-message").count() == 0  # nobody's delivery failed any more
    shoot(page, f"resend-resolved-{width(page)}.png")

    # "Mark handled" removes the failure tag (PUT /tickets/{id}/tags) and the ticket leaves the failures list.
    assert FAILURE_TAG in api(stack, f"/tickets/{ticket['id']}")["tags"]
    page.get_by_role("button", name=re.compile("^Mark handled")).click()
    expect(page.locator("#mark-handled")).to_have_count(0)
    expect(page.locator("#status")).to_have_text("Marked handled: the failure tag was removed.")
    assert FAILURE_TAG not in api(stack, f"/tickets/{ticket['id']}")["tags"]
    expect(page.locator(f'#ticket-list a[data-ticket="{ticket["id"]}"]')).to_have_count(0)
    assert page.locator(".ticket-meta .tag", has_text=FAILURE_TAG).count() == 0


def test_an_unknown_ticket_id_does_not_leave_the_previous_ticket_on_screen(sized_page, stack):
    page = sized_page
    ticket_id, _ = scenario(stack, "one")
    open_ticket(page, stack, ticket_id)
    page.evaluate("location.hash = 'ticket=01jd2x7r9m8v3k4q5w6e7t8y9z'")
    expect(page.locator("#placeholder-title")).to_have_text("Ticket not found")
    assert page.locator("#ticket").is_hidden()
    assert page.evaluate(FITS)


def test_details_open_below_the_row_and_a_missing_address_reads_add_address(sized_page, stack):
    page = sized_page
    ticket_id = stack["demo"]["no_address"]
    comment = api(stack, f"/tickets/{ticket_id}/comments")["comments"][-1]
    nina = comment["delivery"]["recipients"][0]
    show_ticket(page, stack, ticket_id)
    row = page.locator(f'#comment-{comment["id"]} .recipient[data-user="{nina["user_id"]}"]')
    row.locator(".warn-button").click()
    popover = row.locator(".popover")
    expect(popover).to_be_visible()
    name = row.locator(".name").bounding_box()
    assert popover.bounding_box()["y"] >= name["y"] + name["height"] - 1  # item 5: never beside a short row
    text = popover.inner_text()
    assert "<—>" not in text and "no email address" in text  # item 13
    assert "Status" not in [t.strip() for t in popover.locator("dt").all_inner_texts()]  # the title says "Not sent"
    expect(popover.get_by_role("button", name="Add address")).to_be_visible()
    assert page.evaluate(FITS)


def test_italian_plural_and_status_words_and_translated_trigger_names(sized_page, stack):
    page = sized_page
    # The demo's own ticket, not "any ticket whose comment failed for one": other tests add such tickets (a request
    # whose acknowledgement bounced), whose only trigger is "request received".
    ticket_id = stack["demo"]["bounced_one"]
    comment = api(stack, f"/tickets/{ticket_id}/comments")["comments"][-1]
    assert comment["delivery"]["scope"] == "one"
    open_ticket(page, stack, ticket_id)
    page.select_option("#language", "it")
    expect(page.locator("#failures-title")).to_have_text("Ticket con errori")
    meta = page.locator(".ticket-meta")
    expect(meta).to_contain_text("Stato: aperto")  # ticket status translated (item 9)
    bounced = page.locator(f"#comment-{comment['id']} .recipient .badge.failed").first
    expect(bounced).to_have_text("Rimbalzata")  # one word for a bounce, as in the timeline
    page.locator("#open-events").click()
    page.wait_for_selector("#events-list .event")
    triggers = page.locator("#events-list .triggers li").all_inner_texts()
    assert "Avvisa richiedente e CC di un nuovo commento" in triggers, triggers
    page.locator("#events-close").click()
    # One problem selected in the inbox: the singular, by Intl.PluralRules.
    page.locator("#tab-problems").click()
    page.locator("#problems-rows .row-select").first.check()
    expect(page.locator("#problems-selected")).to_have_text("1 selezionato")


def test_an_out_of_office_reply_is_said_on_the_recipient(sized_page, stack):
    page = sized_page
    ticket_id = stack["demo"]["out_of_office"]
    comment = wait_until(
        lambda: api(stack, f"/tickets/{ticket_id}/comments")["comments"][-1],
        lambda c: any(e["kind"] == "auto_reply" for r in c["delivery"]["recipients"] for e in r["timeline"]),
        timeout=30,
    )
    who = next(r for r in comment["delivery"]["recipients"] if any(e["kind"] == "auto_reply" for e in r["timeline"]))
    show_ticket(page, stack, ticket_id)
    row = page.locator(f'#comment-{comment["id"]} .recipient[data-user="{who["user_id"]}"]')
    expect(row.locator(".auto-reply")).to_contain_text("automatic (out-of-office) reply")
    assert page.evaluate(FITS)


def test_the_failures_sidebar_counts_tickets_and_shows_seconds(sized_page, stack):
    page = sized_page
    page.goto(stack["page_url"])
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector("#ticket-list li")
    shown = page.locator("#ticket-list li").count()
    expect(page.locator("#list-count")).to_have_text(re.compile(rf"^{shown}\+? tickets?$"))
    meta = page.locator("#ticket-list .meta").first.inner_text()
    assert re.search(r"\d{1,2}:\d{2}:\d{2}", meta), meta  # seconds (item 11)
    first = api(stack, f"/tickets?tag={FAILURE_TAG}")["tickets"][0]
    assert first["requester_name"] and first["requester_name"] in meta  # whose ticket it is
    # Why and how many: the latest failure's category, and the failed people (not rows), by plural rules.
    row = page.locator(f'#ticket-list a[data-ticket="{first["id"]}"]')
    people = first["failed_recipients"]
    assert people >= 1
    expect(row.locator(".triage .people")).to_have_text(f"{people} failed recipient{'' if people == 1 else 's'}")
    expect(row.locator(".triage .category")).to_have_attribute("data-category", first["failure_category"])
    expect(row.locator(".triage .category")).not_to_have_text(re.compile(r"_"))  # words, not the API's name
    assert page.evaluate(FITS)
    # The two tabs no longer read as synonyms, and the second one keeps its own word throughout.
    assert page.get_by_role("tab").all_inner_texts() == ["Tickets with failures", "Failed recipients"]
    assert "problem" not in page.locator("#problems").text_content().lower()


def test_the_ticket_list_searches_every_ticket_by_subject_requester_and_address(sized_page, stack, axe_source):
    page = sized_page
    delivered = api(stack, f"/tickets/{stack['demo']['delivered']}")  # no failure: not in the failures list
    requester = api(stack, f"/users/{delivered['requester_id']}")
    page.goto(stack["page_url"])
    page.wait_for_selector("#ticket-list li")
    assert page.locator(f'#ticket-list a[data-ticket="{delivered["id"]}"]').count() == 0

    # All tickets, newest first, as GET /tickets lists them; the status filter appears with it.
    page.select_option("#list-mode", "all")
    expect(page.locator("#failures-title")).to_have_text("All tickets")
    expected = [t["id"] for t in api(stack, "/tickets")["tickets"]]
    expect(page.locator("#ticket-list a").first).to_have_attribute("data-ticket", expected[0])
    expect(page.locator("#search-status")).to_be_visible()

    # A search by the requester's address, then by a subject word: the delivered ticket is found and opens.
    page.locator("#search-q").fill(requester["email"])
    expect(page.locator("#failures-title")).to_have_text("Search results")
    found = page.locator(f'#ticket-list a[data-ticket="{delivered["id"]}"]')
    expect(found).to_be_visible()
    assert requester["name"] in found.inner_text()
    word = max(re.findall(r"[A-Za-z]{3,}", delivered["subject"]), key=len)
    page.locator("#search-q").fill(word)
    page.wait_for_function(  # every row found by the word (in its subject or the requester's name)
        """word => { const rows = [...document.querySelectorAll('#ticket-list a')];
          return rows.length > 0 && rows.every(a => a.textContent.toLowerCase().includes(word)); }""",
        arg=word.lower(),
    )
    expect(found).to_be_visible()
    assert_fits_and_accessible(page, axe_source, "search")
    shoot(page, f"ticket-search-{width(page)}.png")
    found.click()
    expect(page.locator("#ticket-title")).to_have_text(delivered["subject"])
    expect(page.locator("#ticket-title")).to_be_in_viewport()

    page.locator("#search-q").fill("zzqx-nothing")
    expect(page.locator("#list-empty")).to_have_text("No ticket matches.")


def test_an_address_edit_with_a_likely_typo_offers_the_fix(sized_page, stack):
    page = sized_page
    ticket, (tess,) = bounced_ticket(stack, f"Typo hint at {width(page)}", f"tess{width(page)}@nowhere.invalid")
    comment = api(stack, f"/tickets/{ticket['id']}/comments")["comments"][0]
    show_ticket(page, stack, ticket["id"])
    row = page.locator(f'#comment-{comment["id"]} .recipient[data-user="{tess["id"]}"]')
    row.locator(".warn-button").click()
    row.get_by_role("button", name="Edit address").click()
    typo = f"tess{width(page)}@gmial.com"
    row.get_by_label(re.compile("Email address of")).fill(typo)
    row.get_by_role("button", name="Save").click()
    hint = row.locator(".typo-hint")
    expect(hint).to_contain_text(f"Did you mean tess{width(page)}@gmail.com?")  # item 8: not saved silently
    assert page.evaluate(FITS)
    hint.get_by_role("button", name=f"Use tess{width(page)}@gmail.com").click()
    expect(row.locator(".notice")).to_contain_text(f"Address updated to tess{width(page)}@gmail.com")
    expect(row.locator(".typo-hint")).to_have_count(0)
    assert api(stack, f"/users/{tess['id']}")["email"] == f"tess{width(page)}@gmail.com"


def test_the_failed_recipients_inbox_shows_remedies_and_filters_by_status_and_date(sized_page, stack, axe_source):
    page = sized_page
    asked = []
    page.on("request", lambda r: "/delivery-failures?" in r.url and asked.append(r.url))
    page.goto(stack["page_url"] + "&view=problems")
    page.wait_for_selector("#problems-rows tr")
    first = api(stack, "/delivery-failures?status=open")["failures"][0]
    row = page.locator(f'#problems-rows tr[data-id="{first["id"]}"]')
    expect(row.locator(".remedy")).to_have_text(first["remedy"])  # item 13: what to do, in the inbox
    page.select_option("#problems-status", "all")
    page.wait_for_function("() => document.querySelector('#problems-table').getAttribute('aria-busy') === 'false'")
    assert "status=all" in asked[-1]
    tomorrow = page.evaluate("() => { const d = new Date(Date.now() + 86400000); return d.toLocaleDateString('sv'); }")
    page.fill("#problems-since", tomorrow)
    expect(page.locator("#problems-empty")).to_be_visible()
    assert "since=" in asked[-1]
    assert_fits_and_accessible(page, axe_source, "inbox filters")


def test_the_reputation_badge_and_the_dns_details_are_for_administrators_only(sized_page, stack, axe_source):
    """Items 6 and 13: an agent cannot act on the sender's reputation or the domain's DNS, so sees neither."""
    page = sized_page
    ticket_id = stack["demo"]["mailbox_full"]
    comment = api(stack, f"/tickets/{ticket_id}/comments")["comments"][-1]
    fiona = comment["delivery"]["recipients"][0]
    checks = api(stack, f"/tickets/{ticket_id}/diagnostics?user_id={fiona['user_id']}")["checks"]
    domain = next(c for c in checks if c["check"] == "sending_domain")

    def why_no_email():
        row = page.locator(f'#comment-{comment["id"]} .recipient[data-user="{fiona["user_id"]}"]')
        row.locator(".warn-button").click()
        row.get_by_role("button", name="Why no email?").click()
        check = row.locator('.diagnostics .check[data-check="sending_domain"]')
        check.wait_for(state="attached")
        return check

    # The demo agent: no badge (not even asked for), the domain's verdict without its DNS records.
    asked = []
    page.on("request", lambda r: r.url.split("?")[0].endswith("/reputation") and asked.append(r.url))
    page.goto(f"{stack['page_url']}&ticket={ticket_id}")
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector("#ticket:not([hidden]) .comment")
    assert page.locator("#reputation").is_hidden() and asked == []
    check = why_no_email()
    assert check.locator("details.admin-steps").count() == 0
    assert domain["detail"] not in check.text_content() and "DKIM" not in check.text_content()
    if domain["status"] != "ok":
        assert "needs an administrator" in check.text_content()
    assert page.evaluate(FITS)

    # The demo administrator: the badge with SES's review and pause levels, and the DNS details.
    page.goto("about:blank")  # a new load: only the #fragment would differ, and the page reads its token at start
    page.goto(f"{admin_url(stack)}&ticket={ticket_id}")
    page.wait_for_selector("body[data-ready=true]")
    page.wait_for_selector("#ticket:not([hidden]) .comment")
    expect(page.locator("#reputation")).to_be_visible()
    tip = page.locator("#reputation-tip").text_content()
    assert "may pause sending at 10%" in tip and "may pause sending at 0.5%" in tip
    page.locator("#reputation-badge").focus()  # the rates shown
    assert_fits_and_accessible(page, axe_source, "administrator's header")
    check = why_no_email()
    if domain["status"] != "ok":
        assert check.locator("details.admin-steps").count() == (1 if domain["fix"] else 0)
        assert " ".join(domain["detail"].split()[:3]) in check.text_content()
    assert_fits_and_accessible(page, axe_source, "administrator's diagnostics")


def test_the_sign_in_screen_fits_and_passes_axe(sized_page, stack, axe_source):
    page = sized_page
    page.goto(stack["api_url"] + "/")  # no token: the sign-in screen
    page.locator("#signin-form").wait_for()
    assert_fits_and_accessible(page, axe_source, "sign-in")
    page.locator("#signin-submit").click()  # empty: the error shows inline
    page.locator("#signin-error").wait_for()
    assert_fits_and_accessible(page, axe_source, "sign-in error")


def test_an_italian_agent_reads_a_refused_address_wholly_in_italian(sized_page, stack):
    """Item 9: the API's 400 for a bad address used to continue in email-validator's English."""
    page = sized_page
    ticket, (ugo,) = bounced_ticket(stack, f"Indirizzo {width(page)}", f"ugo{width(page)}@nowhere.invalid")
    comment = api(stack, f"/tickets/{ticket['id']}/comments")["comments"][0]
    show_ticket(page, stack, ticket["id"])
    page.select_option("#language", "it")
    expect(page.locator("#failures-title")).to_have_text("Ticket con errori")
    row = page.locator(f'#comment-{comment["id"]} .recipient[data-user="{ugo["id"]}"]')
    row.locator(".warn-button").click()
    row.locator(".edit-address").click()
    row.locator(".edit-form input[name=email]").fill(f"ugo{width(page)}@")
    row.locator(".edit-form button[type=submit]").click()
    error = row.locator(".edit-form .field-error")
    expect(error).to_have_text("'email' non è un indirizzo email valido: non c'è niente dopo la @.")
    assert page.evaluate(FITS)
    assert api(stack, f"/users/{ugo['id']}")["email"] == f"ugo{width(page)}@nowhere.invalid"  # nothing half-written
