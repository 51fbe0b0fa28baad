"""Through real HTTP on the running local stack: SES (moto) -> mailbox simulator -> SNS -> SQS -> the feedback worker
running the Lambda handler -> what agents read."""

from __future__ import annotations

from chalicelib.domain.model import FAILURE_TAG
from tests.e2e.stack import wait_for

COMMENT_TRIGGER = {"id": "notify-requester-ccs-comment", "title": "Notify requester and CCs of comment update"}


def delivery_of(api, ticket_id: str, comment_id: str) -> dict | None:
    comment = next(c for c in api.comments(ticket_id) if c["id"] == comment_id)
    return comment["delivery"]


def statuses(delivery: dict | None) -> dict[str, str]:
    return {recipient["email"]: recipient["status"] for recipient in (delivery or {}).get("recipients", [])}


def test_a_comment_that_bounces_for_its_cc_reads_some_tags_the_ticket_and_logs_the_failure(stack):
    api = stack.api
    agent = api.user("Ada Agent", "ada@deskmail.example.com", role="agent")
    requester = api.user("Sam Success", "success@simulator.amazonses.com")
    cc = api.user("Nora Nowhere", "someone@nowhere.invalid")
    ticket = api.ticket("Printer on fire", requester, "It smokes.", cc=(cc,), assignee=agent)
    comment = api.comment(ticket["id"], agent, "On my way.")

    delivery = wait_for(
        lambda: delivery_of(api, ticket["id"], comment["id"]),
        lambda found: (
            bool(found)
            and found["scope"] == "some"
            and statuses(found)
            == {"success@simulator.amazonses.com": "delivered", "someone@nowhere.invalid": "bounced"}
        ),
        timeout=20,
        stack=stack,
    )
    assert delivery["message"] == "Delivery failed to some recipients"
    nora = next(r for r in delivery["recipients"] if r["email"] == "someone@nowhere.invalid")
    assert nora["failure"]["category"] == "invalid_address"
    assert nora["failure"]["smtp_status"] == "5.1.1" and nora["failure"]["smtp_code"] == "550"
    assert "User unknown in virtual mailbox table" in nora["failure"]["diagnostic"]

    assert api.get(f"/tickets/{ticket['id']}")["tags"] == [FAILURE_TAG]
    events = api.get(f"/tickets/{ticket['id']}/events")["events"]
    failures = [event for event in events if event["type"] == "email_delivery_failure"]
    assert [failure["recipient"]["email"] for failure in failures] == ["someone@nowhere.invalid"]
    assert failures[0]["triggers"] == [COMMENT_TRIGGER]
    assert failures[0]["comment_id"] == comment["id"]


# scenario -> (the agent reply's delivery scope, its recipients' statuses)
DEMO_EXPECTATIONS = {
    "delivered": ("none", {"success@simulator.amazonses.com": "delivered", "bob@deskmail.example.com": "delivered"}),
    "bounced_one": ("one", {"someone@nowhere.invalid": "bounced"}),
    "bounced_some": (
        "some",
        {"success@simulator.amazonses.com": "delivered", "bounce@simulator.amazonses.com": "bounced"},
    ),
    "bounced_all": (
        "all",
        {
            "bounce+all@simulator.amazonses.com": "bounced",
            "someone-else@nowhere.invalid": "bounced",
            "suppressionlist@simulator.amazonses.com": "bounced",
        },
    ),
    "complained": ("none", {"complaint@simulator.amazonses.com": "complained"}),
    "mailbox_full": ("one", {"full-mailbox@example.com": "bounced"}),
    "out_of_office": ("none", {"ooto@simulator.amazonses.com": "delivered"}),
    "no_address": ("none", {None: "not_sent"}),
}


def test_the_demo_tickets_reach_their_scenarios_outcomes(demo_stack):
    api = demo_stack.api
    tickets = demo_stack.description["demo"]
    assert set(tickets) == set(DEMO_EXPECTATIONS)

    def outcomes():
        found = {}
        for name, ticket_id in tickets.items():
            delivery = api.comments(ticket_id)[-1]["delivery"]  # the agent's reply
            found[name] = [delivery and delivery["scope"], statuses(delivery)]
        return found

    expected = {name: [scope, recipients] for name, (scope, recipients) in DEMO_EXPECTATIONS.items()}
    wait_for(outcomes, lambda found: found == expected, timeout=30, stack=demo_stack)

    tagged = {ticket["id"] for ticket in api.get(f"/tickets?tag={FAILURE_TAG}")["tickets"]}
    failing = {"bounced_one", "bounced_some", "bounced_all", "mailbox_full"}
    assert tagged == {tickets[name] for name in failing}
