"""Issue 17 item 11: each row of the failures list says how many people failed and why (GET /tickets?tag=…)."""

from tests import ses_payloads as ses
from tests.helpers import Api, feed, message_ids

FAILURE_TAG = "system_email_notification_failure"


def _bounce(client, comment, *bounced):
    ids = message_ids(comment)
    message_id = next(iter(ids.values()))
    recipients = [
        ses.hard_bounce_recipient(email, status, f"smtp; 550 {status} {text}") for email, status, text in bounced
    ]
    response, _ = feed(client, ses.bounce(message_id, list(ids), recipients))
    assert response == {"batchItemFailures": []}


def test_each_tagged_ticket_counts_failed_people_not_rows_and_names_the_latest_category(client):
    api = Api(client)
    agent = api.admin().user("Ada Agent", "ada@deskmail.example.com", role="agent")
    api.sign_in_as(agent)
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
    path = f"/tickets/{ticket['id']}/comments"
    api.ok("post", path, {"author_id": agent["id"], "body": "On my way.", "public": True})
    _bounce(client, api.comments(ticket["id"])[-1], ("carl@exmaple.com", "5.1.2", "Host unknown"))
    api.ok("post", path, {"author_id": agent["id"], "body": "Still on my way.", "public": True})
    _bounce(
        client,
        api.comments(ticket["id"])[-1],
        ("carl@exmaple.com", "5.1.2", "Host unknown"),
        ("rita@example.com", "5.2.2", "Mailbox full"),
    )

    (row,) = api.ok("get", f"/tickets?tag={FAILURE_TAG}")["tickets"]
    assert row["id"] == ticket["id"] and row["requester_name"] == "Rita Requester"
    assert row["failed_recipients"] == 2  # Carl bounced twice: one person
    assert set(row["failure_categories"]) == {"invalid_address", "mailbox_full"}
    assert row["failure_category"] == row["failure_categories"][0]

    # Another tag's rows carry no failure summary (they are not failures).
    api.ok("put", f"/tickets/{ticket['id']}/tags", {"tags": [FAILURE_TAG, "vip"]})
    (vip,) = api.ok("get", "/tickets?tag=vip")["tickets"]
    assert "failed_recipients" not in vip
