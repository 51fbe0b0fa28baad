"""Issue 2's acceptance path: a ticket, a comment whose notification bounces for one of two recipients."""

from tests import ses_payloads as ses
from tests.helpers import Api, feed, message_ids

FAILURE_TAG = "system_email_notification_failure"


def test_ticket_through_partly_bounced_comment_to_some_summary_tag_and_events(client):
    api = Api(client)
    agent = api.admin().user("Ada Agent", "ada@deskmail.example.com", role="agent")
    api.sign_in_as(agent)  # her own comments below
    requester = api.user("Rita Requester", "rita@example.com")
    cc = api.user("Carl Cc", "carl@exmaple.com")
    ticket = api.ok(
        "post",
        "/tickets",
        {
            "subject": "Printer on fire",
            "requester_id": requester["id"],
            "cc_ids": [cc["id"]],
            "assignee_id": agent["id"],
            "comment": {"author_id": requester["id"], "body": "It smokes.", "public": True},
        },
    )
    api.ok(
        "post", f"/tickets/{ticket['id']}/comments", {"author_id": agent["id"], "body": "On my way.", "public": True}
    )

    comments = api.comments(ticket["id"])
    assert [c["body"] for c in comments] == ["It smokes.", "On my way."]
    reply = comments[1]["delivery"]
    assert reply["scope"] == "none"
    assert {r["email"]: r["status"] for r in reply["recipients"]} == {
        "rita@example.com": "sent",
        "carl@exmaple.com": "sent",
    }
    ids = message_ids(comments[1])
    assert ids["rita@example.com"] == ids["carl@exmaple.com"]  # one SES message: requester in To, CC in Cc
    message_id = ids["rita@example.com"]
    destination = ["rita@example.com", "carl@exmaple.com"]

    # SES says: delivered to Rita, hard bounce for Carl (a typo in his domain).
    response, _ = feed(
        client,
        ses.delivery(message_id, destination, recipients=["rita@example.com"]),
        ses.bounce(
            message_id,
            destination,
            [
                ses.hard_bounce_recipient(
                    "Carl@exmaple.com",
                    "5.1.2",
                    "smtp; 550 5.1.2 Host unknown (Name server: exmaple.com: host not found)",
                )
            ],
        ),
    )
    assert response == {"batchItemFailures": []}

    reply = api.comments(ticket["id"])[1]["delivery"]
    assert reply["scope"] == "some"
    assert reply["message"] == "Delivery failed to some recipients"
    by_email = {r["email"]: r for r in reply["recipients"]}
    assert by_email["rita@example.com"]["status"] == "delivered"
    assert by_email["rita@example.com"]["failure"] is None
    carl = by_email["carl@exmaple.com"]
    assert carl["status"] == "bounced"
    assert carl["user_id"] == cc["id"]
    assert carl["message_id"] == message_id
    assert carl["failure"]["category"] == "invalid_address"
    assert carl["failure"]["smtp_status"] == "5.1.2"
    assert carl["failure"]["smtp_code"] == "550"
    assert carl["failure"]["bounce_type"] == "Permanent"
    assert "Host unknown" in carl["failure"]["diagnostic"]
    assert carl["failure"]["remedy"]

    assert api.ok("get", f"/tickets/{ticket['id']}")["tags"] == [FAILURE_TAG]
    tagged = api.ok("get", f"/tickets?tag={FAILURE_TAG}")
    assert [t["id"] for t in tagged["tickets"]] == [ticket["id"]]

    events = api.ok("get", f"/tickets/{ticket['id']}/events")["events"]
    types = [e["type"] for e in events]
    assert types[:2] == ["ticket_created", "comment_added"]
    assert "email_notification_sent" in types and "tag_added" in types
    failure = next(e for e in events if e["type"] == "email_delivery_failure")
    assert failure["recipient"]["email"] == "carl@exmaple.com"
    assert failure["category"] == "invalid_address"
    assert failure["smtp_status"] == "5.1.2" and failure["smtp_code"] == "550"
    assert failure["triggers"] == [
        {"id": "notify-requester-ccs-comment", "title": "Notify requester and CCs of comment update"}
    ]
    assert [e["occurred_at"] for e in events] == sorted(e["occurred_at"] for e in events)
