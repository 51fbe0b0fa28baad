import pytest
from botocore.stub import Stubber

from chalicelib import runtime
from chalicelib.adapters.ses import SesMailer
from tests.helpers import Api, customer_comment, open_ticket, people, sent_messages

FAILURE_TAG = "system_email_notification_failure"


@pytest.fixture
def api(client):
    return Api(client)


@pytest.fixture
def who(api):
    return people(api)


def test_ticket_creation_notifies_the_requester_with_a_threaded_tagged_email(api, who):
    ticket = open_ticket(api, who)
    assert ticket["tags"] == [] and ticket["assignee_id"] == who["agent"]["id"]
    assert api.ok("get", f"/tickets/{ticket['id']}")["subject"] == "Printer on fire"
    (first,) = api.comments(ticket["id"])
    assert first["delivery"]["scope"] == "none"
    assert [(r["user_id"], r["status"]) for r in first["delivery"]["recipients"]] == [(who["requester"]["id"], "sent")]
    (message,) = sent_messages()
    mime = message["mime"]
    assert message["id"] == first["delivery"]["recipients"][0]["message_id"]
    assert mime["To"] == "Rita Requester <rita@example.com>"
    assert mime["Message-ID"].startswith(f"<ticket-{ticket['id']}-")
    assert mime["In-Reply-To"] == mime["References"] == f"<ticket-{ticket['id']}@deskmail.example.com>"
    assert mime["X-SES-CONFIGURATION-SET"] == "deskmail-dev"
    assert f"ticket_id={ticket['id']}" in mime["X-SES-MESSAGE-TAGS"]
    assert "trigger_id=notify-requester-received" in mime["X-SES-MESSAGE-TAGS"]
    assert mime["X-Auto-Response-Suppress"] == "OOF, AutoReply"
    assert mime["Auto-Submitted"] == "auto-generated"


def test_public_comment_goes_to_requester_in_to_and_ccs_in_cc(api, who):
    ticket = open_ticket(api, who)
    api.ok("post", f"/tickets/{ticket['id']}/comments", {"author_id": who["agent"]["id"], "body": "Hi", "public": True})
    last = sent_messages()[-1]
    assert last["mime"]["To"] == "Rita Requester <rita@example.com>"
    assert last["mime"]["Cc"] == "Carl Cc <carl@example.com>"
    assert last["mime"]["Auto-Submitted"] == "auto-generated"  # every trigger's email (RFC 3834); people still reply


def test_user_without_address_is_recorded_as_not_sent_never_skipped(api, who):
    ticket = open_ticket(api, who, cc=("cc", "nomail"))
    api.ok("post", f"/tickets/{ticket['id']}/comments", {"author_id": who["agent"]["id"], "body": "Hi", "public": True})
    delivery = api.comments(ticket["id"])[1]["delivery"]
    nina = next(r for r in delivery["recipients"] if r["user_id"] == who["nomail"]["id"])
    assert nina["status"] == "not_sent" and nina["message_id"] is None and nina["email"] is None
    assert nina["failure"]["category"] == "no_address" and nina["failure"]["reason"]
    assert delivery["scope"] == "none"


def test_private_comment_without_assignee_trigger_has_no_delivery(api, who):
    ticket = open_ticket(api, who, assignee=None)
    api.ok(
        "post", f"/tickets/{ticket['id']}/comments", {"author_id": who["agent"]["id"], "body": "note", "public": False}
    )
    assert api.comments(ticket["id"])[1]["delivery"] is None


def test_private_comment_by_requester_notifies_the_assignee_only(api, who):
    ticket = open_ticket(api, who)
    before = len(sent_messages())
    customer_comment(ticket["id"], who["requester"]["id"], "psst", public=False)
    assert [m["destinations"] for m in sent_messages()[before:]] == [["ada@deskmail.example.com"]]


def test_inactive_trigger_sends_nothing(api, who):
    ticket = open_ticket(api, who)
    assert api.admin().ok("patch", "/triggers/notify-requester-ccs-comment", {"active": False})["active"] is False
    listed = {t["id"]: t["active"] for t in api.ok("get", "/triggers")["triggers"]}
    assert listed == {
        "notify-requester-received": True,
        "notify-requester-ccs-comment": False,
        "notify-assignee-comment": True,
    }
    before = len(sent_messages())
    created = api.ok(
        "post", f"/tickets/{ticket['id']}/comments", {"author_id": who["agent"]["id"], "body": "Hi", "public": True}
    )
    assert len(sent_messages()) == before
    assert api.comments(ticket["id"])[1]["delivery"] is None
    verdict = {t["trigger_id"]: t["reason"] for t in created["triggers"]}
    assert verdict["notify-requester-ccs-comment"] == "inactive"


def test_trigger_patch_validation(api):
    assert api.admin().patch("/triggers/nope", {"active": True})[0] == 404
    assert api.admin().patch("/triggers/notify-assignee-comment", {"active": "yes"})[0] == 400


def test_ses_refusal_is_recorded_at_once_like_a_bounce(api, who, monkeypatch):
    ticket = open_ticket(api, who)
    stubbed = runtime._session().client("sesv2", region_name="us-east-1")
    stubber = Stubber(stubbed)
    stubber.add_client_error(
        "send_email",
        service_error_code="MessageRejected",
        service_message="Email address is on the suppression list",
        http_status_code=400,
    )
    stubber.activate()
    monkeypatch.setattr(runtime, "mailer", lambda: SesMailer(stubbed))
    api.ok("post", f"/tickets/{ticket['id']}/comments", {"author_id": who["agent"]["id"], "body": "Hi", "public": True})
    delivery = api.comments(ticket["id"])[1]["delivery"]
    assert delivery["scope"] == "all" and delivery["message"] == "Delivery failed"
    assert {r["status"] for r in delivery["recipients"]} == {"rejected"}
    assert all("MessageRejected" in r["failure"]["diagnostic"] for r in delivery["recipients"])
    assert api.ok("get", f"/tickets/{ticket['id']}")["tags"] == [FAILURE_TAG]
    types = [e["type"] for e in api.ok("get", f"/tickets/{ticket['id']}/events")["events"]]
    assert types.count("email_delivery_failure") == 2 and types.count("tag_added") == 1
    assert "email_notification_not_sent" in types


def test_ticket_validation_and_404s(api, who):
    good = {
        "subject": "S",
        "requester_id": who["requester"]["id"],
        "comment": {"body": "b", "public": True},  # the signed-in agent's
    }
    for broken, word in [
        ({**good, "subject": ""}, "subject"),
        ({**good, "requester_id": "01jd2x7r9m8v3k4q5w6e7t8y9z"}, "Unknown user"),
        ({**good, "requester_id": "x"}, "requester_id"),
        ({**good, "assignee_id": who["cc"]["id"]}, "agent"),
        ({**good, "cc_ids": "nope"}, "cc_ids"),
        ({k: v for k, v in good.items() if k != "comment"}, "comment"),
        ({**good, "comment": {"author_id": who["requester"]["id"], "body": "b"}}, "public"),
    ]:
        status, payload = api.post("/tickets", broken)
        assert status == 400 and word in payload["Message"], (broken, payload)
    missing = "01jd2x7r9m8v3k4q5w6e7t8y9z"
    assert api.get(f"/tickets/{missing}")[0] == 404
    assert api.get(f"/tickets/{missing}/comments")[0] == 404
    assert api.get(f"/tickets/{missing}/events")[0] == 404
    assert (
        api.post(f"/tickets/{missing}/comments", {"author_id": who["agent"]["id"], "body": "b", "public": True})[0]
        == 404
    )
    assert api.put(f"/tickets/{missing}/tags", {"tags": []})[0] == 404


def test_conversation_pages_and_rejects_foreign_tokens(api, who, monkeypatch):
    from chalicelib.services import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    ticket = open_ticket(api, who)
    for n in range(4):
        api.ok(
            "post",
            f"/tickets/{ticket['id']}/comments",
            {"author_id": who["agent"]["id"], "body": f"reply {n}", "public": True},
        )
    bodies, token = [], None
    while True:
        page = api.ok("get", f"/tickets/{ticket['id']}/comments" + (f"?next_page={token}" if token else ""))
        assert len(page["comments"]) <= 2
        bodies += [c["body"] for c in page["comments"]]
        assert all(c["delivery"]["recipients"] for c in page["comments"])
        token = page["next_page"]
        if not token:
            break
    assert bodies == ["It smokes.", "reply 0", "reply 1", "reply 2", "reply 3"]
    for bad in ("garbage", "eyJQSyI6IlVTRVIjeCIsIlNLIjoiUFJPRklMRSJ9"):
        status, payload = api.get(f"/tickets/{ticket['id']}/comments?next_page={bad}")
        assert status == 400 and "next_page" in payload["Message"]


def test_agent_sets_and_clears_tags(api, who):
    ticket = open_ticket(api, who)
    assert api.ok("put", f"/tickets/{ticket['id']}/tags", {"tags": ["vip", "printer"]})["tags"] == ["printer", "vip"]
    assert api.ok("get", f"/tickets/{ticket['id']}")["tags"] == ["printer", "vip"]
    assert [t["id"] for t in api.ok("get", "/tickets?tag=vip")["tickets"]] == [ticket["id"]]
    api.ok("put", f"/tickets/{ticket['id']}/tags", {"tags": ["printer"]})
    assert api.ok("get", "/tickets?tag=vip")["tickets"] == []
    events = [(e["type"], e.get("tag")) for e in api.ok("get", f"/tickets/{ticket['id']}/events")["events"]]
    assert ("tag_removed", "vip") in events
    assert api.put(f"/tickets/{ticket['id']}/tags", {"tags": ["Not OK!"]})[0] == 400


def test_the_tag_view_checks_its_tag_and_token(api):
    # GET /tickets without a tag is the ticket list now (tests/integration/test_ticket_search.py).
    assert api.get("/tickets?tag=")[0] == 400
    assert api.get("/tickets?tag=x&next_page=bogus")[0] == 400
