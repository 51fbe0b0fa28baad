"""Issue 17 item 12: the ticket list and search (GET /tickets without a tag), on index items written with the ticket."""

import base64

import pytest

from tests.helpers import Api, open_ticket, people


@pytest.fixture
def api(client):
    return Api(client)


def ids(payload):
    return [ticket["id"] for ticket in payload["tickets"]]


def test_search_by_subject_requester_name_and_address_newest_first(api):
    who = people(api)
    other = {**who, "requester": api.user("Zoë Müller", "zoe@shop.example")}
    printer = open_ticket(api, who, subject="Printer on fire")
    toner = open_ticket(api, who, subject="Toner empty")
    badge = open_ticket(api, other, cc=(), subject="Broken badge")

    assert ids(api.ok("get", "/tickets?q=printer")) == [printer["id"]]
    assert ids(api.ok("get", "/tickets?q=Rita")) == [toner["id"], printer["id"]]  # the requester's name, newest first
    assert ids(api.ok("get", "/tickets?q=muller")) == [badge["id"]]  # folded: ü matches u
    assert ids(api.ok("get", "/tickets?q=zoe@shop.example")) == [badge["id"]]  # the whole address
    assert ids(api.ok("get", "/tickets?q=carl")) == [toner["id"], printer["id"]]  # a CC's name
    assert ids(api.ok("get", "/tickets?q=printer%20rita")) == [printer["id"]]  # every word must match
    assert api.ok("get", "/tickets?q=nothing-like-it")["tickets"] == []
    row = api.ok("get", "/tickets?q=badge")["tickets"][0]
    assert row == {
        "id": badge["id"],
        "subject": "Broken badge",
        "status": "open",
        "requester_id": other["requester"]["id"],
        "requester_name": "Zoë Müller",
        "created_at": badge["created_at"],
    }


def test_the_list_is_every_ticket_newest_first_with_a_status_filter_and_pages(api, monkeypatch):
    from chalicelib.services import views

    who = people(api)
    made = [open_ticket(api, who, subject=f"Ticket {n}")["id"] for n in range(3)]
    unassigned = open_ticket(api, who, assignee=None, subject="Nobody's yet")["id"]  # status "new"
    assert ids(api.ok("get", "/tickets")) == [unassigned, *reversed(made)]
    assert ids(api.ok("get", "/tickets?status=new")) == [unassigned]
    assert ids(api.ok("get", "/tickets?status=open&q=ticket")) == list(reversed(made))

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    first = api.ok("get", "/tickets")
    assert ids(first) == [unassigned, made[2]] and first["next_page"]
    second = api.ok("get", f"/tickets?next_page={first['next_page']}")
    assert ids(second) == [made[1], made[0]]


def test_bad_search_input_is_a_400_and_the_tag_view_is_unchanged(api):
    who = people(api)
    open_ticket(api, who)
    for path in ("/tickets?q=%20-%20", "/tickets?status=lost", "/tickets?next_page=bogus", "/tickets?q=x&next_page=x"):
        status, body = api.get(path)
        assert status == 400 and body["Code"] and body["Message"], path
    month_99 = base64.urlsafe_b64encode(b"2026-99|").decode()
    assert api.get(f"/tickets?next_page={month_99}")[0] == 400
    assert api.ok("get", "/tickets?tag=system_email_notification_failure")["tickets"] == []


def test_the_tag_view_names_each_tickets_requester_and_status_for_triage(api):
    who = people(api)
    ticket = open_ticket(api, who)
    api.ok("put", f"/tickets/{ticket['id']}/tags", {"tags": ["vip"]})
    (row,) = api.ok("get", "/tickets?tag=vip")["tickets"]
    assert (row["id"], row["requester_name"], row["status"]) == (ticket["id"], "Rita Requester", "open")
