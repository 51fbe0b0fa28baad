"""Through real HTTP on the running local stack: SES (moto) -> mailbox simulator -> SNS -> SQS -> the feedback worker
running the Lambda handler -> what agents read."""

from __future__ import annotations

import json
import urllib.request
import uuid

from chalicelib.domain.model import FAILURE_TAG
from deskmail_local.client import DeskmailApi
from tests.e2e.stack import RunningStack, wait_for

COMMENT_TRIGGER = {"id": "notify-requester-ccs-comment", "title": "Notify requester and CCs of comment update"}


def delivery_of(api, ticket_id: str, comment_id: str) -> dict | None:
    comment = next(c for c in api.comments(ticket_id) if c["id"] == comment_id)
    return comment["delivery"]


def statuses(delivery: dict | None) -> dict[str, str]:
    return {recipient["email"]: recipient["status"] for recipient in (delivery or {}).get("recipients", [])}


def test_a_comment_that_bounces_for_its_cc_reads_some_tags_the_ticket_and_logs_the_failure(stack):
    api = stack.api
    agent = api.get("/me")  # the signed-in demo agent, Ada: her comments are hers
    requester = api.user("Sam Success", "success@simulator.amazonses.com")
    cc = api.user("Nora Nowhere", "unknown-nora@example.com")
    ticket = api.ticket("Printer on fire", requester, "It smokes.", cc=(cc,), assignee=agent)
    comment = api.comment(ticket["id"], agent, "On my way.")

    delivery = wait_for(
        lambda: delivery_of(api, ticket["id"], comment["id"]),
        lambda found: (
            bool(found)
            and found["scope"] == "some"
            and statuses(found)
            == {"success@simulator.amazonses.com": "delivered", "unknown-nora@example.com": "bounced"}
        ),
        timeout=20,
        stack=stack,
    )
    assert delivery["message"] == "Delivery failed to some recipients"
    nora = next(r for r in delivery["recipients"] if r["email"] == "unknown-nora@example.com")
    assert nora["failure"]["category"] == "invalid_address"
    assert nora["failure"]["smtp_status"] == "5.1.1" and nora["failure"]["smtp_code"] == "550"
    assert "User unknown in virtual mailbox table" in nora["failure"]["diagnostic"]

    assert api.get(f"/tickets/{ticket['id']}")["tags"] == [FAILURE_TAG]
    events = api.get(f"/tickets/{ticket['id']}/events")["events"]
    failures = [event for event in events if event["type"] == "email_delivery_failure"]
    assert [failure["recipient"]["email"] for failure in failures] == ["unknown-nora@example.com"]
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
            "unknown-elsa@example.com": "bounced",
            "suppressionlist@simulator.amazonses.com": "bounced",
        },
    ),
    "complained": ("none", {"complaint@simulator.amazonses.com": "complained"}),
    "mailbox_full": ("one", {"full-mailbox@example.com": "bounced"}),
    "out_of_office": ("none", {"ooto@simulator.amazonses.com": "delivered"}),
    "no_address": ("not_sent", {None: "not_sent"}),  # emailed to nobody: says so
    "attachment": ("none", {"success@simulator.amazonses.com": "delivered"}),
    # The screenshot rides inline: Tina's server refuses the message (552 5.3.4), Sam gets it.
    "too_large": ("some", {"tiny-inbox@example.com": "bounced", "success@simulator.amazonses.com": "delivered"}),
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
    failing = {"bounced_one", "bounced_some", "bounced_all", "mailbox_full", "too_large"}
    assert tagged == {tickets[name] for name in failing}


# ---- mail that comes back, and the account-level suppression list ------------------------------------------------


def ses_messages_about(stack: RunningStack, ticket_id: str) -> int:
    """How many messages moto's SES accepted for this ticket (its id is in every notification's tags header)."""
    url = f"{stack.description['aws_endpoint_url']}/moto-api/data.json"
    with urllib.request.urlopen(url, timeout=10) as response:
        sent = json.load(response)["ses"]["RawMessage"]
    return sum(1 for message in sent if f"ticket_id={ticket_id}" in message.get("raw_data", ""))


def events_of(api, ticket_id: str, event_type: str) -> list[dict]:
    return [event for event in api.get(f"/tickets/{ticket_id}/events")["events"] if event["type"] == event_type]


def test_the_simulators_out_of_office_reply_reaches_ses_not_deskmail(stack):
    api = stack.api
    agent = api.get("/me")  # the signed-in demo agent, Ada: her comments are hers
    otto = api.user("Otto Away", "ooto@simulator.amazonses.com")
    ticket = api.ticket("Laptop replacement", otto, "My laptop is dead.", assignee=agent)
    comment = api.comment(ticket["id"], agent, "A new one is on its way.")

    # It answers the envelope sender, SES's own MAIL FROM: deskmail learns of it only as SES's transient bounce.
    delivery = wait_for(
        lambda: delivery_of(api, ticket["id"], comment["id"]),
        lambda found: statuses(found) == {"ooto@simulator.amazonses.com": "delivered"},
        timeout=20,
        stack=stack,
    )
    assert delivery["scope"] == "none"
    # Notifications are Auto-Submitted (RFC 3834): the responder's own answer is not written back at all.
    assert events_of(api, ticket["id"], "automated_reply_received") == []
    assert len(api.comments(ticket["id"])) == 2


def test_a_vacation_responder_stays_silent_for_auto_submitted_notifications(stack):
    api = stack.api
    agent = api.get("/me")  # the signed-in demo agent, Ada: her comments are hers
    address = f"away-{uuid.uuid4().hex[:8]}@example.com"
    otto = api.user("Otto Away", address)
    ticket = api.ticket("Laptop replacement", otto, "My laptop is dead.", assignee=agent)
    reply = api.comment(ticket["id"], agent, "A new one is on its way.")

    # Every trigger email is Auto-Submitted (RFC 3834): the vacation responder writes nothing back, so there is
    # nothing to record and nothing to loop on (tests/integration/test_inbound_loops.py feeds one that does).
    wait_for(
        lambda: statuses(delivery_of(api, ticket["id"], reply["id"])),
        lambda found: found == {address: "delivered"},
        timeout=20,
        stack=stack,
    )
    sent = ses_messages_about(stack, ticket["id"])
    assert sent == 2  # the acknowledgement of the request and the agent's reply
    # The simulator's decision for both, logged when it makes it: after that nothing can come back for them.
    silent = f"ses: {address} stays silent"
    log = stack.log_path
    wait_for(lambda: log.read_text(errors="replace").count(silent), lambda found: found == 2, timeout=20, stack=stack)
    assert ses_messages_about(stack, ticket["id"]) == sent
    assert events_of(api, ticket["id"], "automated_reply_received") == []
    assert len(api.comments(ticket["id"])) == 2


def test_a_customers_reply_becomes_her_comment_and_notifies_the_assignee(stack):
    api = stack.api
    agent = api.get("/me")  # the signed-in demo agent, Ada: her comments are hers
    rita = api.user("Rita Replies", f"reply-{uuid.uuid4().hex[:8]}@example.com")
    ticket = api.ticket("Printer on fire", rita, "It smokes.", assignee=agent)
    api.comment(ticket["id"], agent, "Unplug it, please.")

    comments = wait_for(lambda: api.comments(ticket["id"]), lambda found: len(found) == 3, timeout=20, stack=stack)
    thanks = comments[-1]
    assert thanks["author_id"] == rita["id"] and thanks["body"] == "Thanks!" and thanks["public"]
    delivery = wait_for(
        lambda: delivery_of(api, ticket["id"], thanks["id"]),
        lambda found: statuses(found) == {"ada@deskmail.example.com": "delivered"},
        timeout=20,
        stack=stack,
    )
    assert delivery["scope"] == "none"
    assert events_of(api, ticket["id"], "automated_reply_received") == []


def test_a_reply_with_a_photo_comes_through_s3_and_a_spoofed_one_is_held(stack):
    api = stack.api
    agent = api.get("/me")  # the signed-in demo agent, Ada: her comments are hers
    pia = api.user("Pia Photo", f"photo-{uuid.uuid4().hex[:8]}@example.com")
    sam = api.user("Sam Spoofed", f"spoof-{uuid.uuid4().hex[:8]}@example.com")
    photo_ticket = api.ticket("Error on screen", pia, "It shows an error.", assignee=agent)
    spoof_ticket = api.ticket("Refund", sam, "Where is my refund?", assignee=agent)
    api.comment(photo_ticket["id"], agent, "Can you send a photo?")
    api.comment(spoof_ticket["id"], agent, "It is on its way.")

    comments = wait_for(
        lambda: api.comments(photo_ticket["id"]), lambda found: len(found) == 3, timeout=20, stack=stack
    )
    assert comments[-1]["author_id"] == pia["id"] and comments[-1]["body"] == "Here is a photo of the error message."
    held = wait_for(
        lambda: [h for h in api.get("/inbound/suspended")["suspended"] if h["ticket_id"] == spoof_ticket["id"]],
        bool,
        timeout=20,
        stack=stack,
    )
    assert held[0]["reason"] == "dmarc_policy_reject" and held[0]["text"] == "Thanks!"
    assert len(api.comments(spoof_ticket["id"])) == 2  # nothing from the spoofed reply, and nobody notified
    recovered = api.ok("POST", f"/inbound/suspended/{held[0]['id']}/recover", {})
    # Found by id, not as the last comment: its id sorts by the reply's receipt time, which on a loaded machine can
    # come before the agent's comment (the simulated customer answers the ticket's first email).
    after = api.comments(spoof_ticket["id"])
    assert len(after) == 3 and [c["body"] for c in after if c["id"] == recovered["comment_id"]] == ["Thanks!"]


def test_an_unresolvable_domain_is_retried_then_bounces_as_expired(stack):
    api = stack.api
    agent = api.get("/me")  # the signed-in demo agent, Ada: her comments are hers
    requester = api.user("Sam Success", "success@simulator.amazonses.com")
    address = f"dns-{uuid.uuid4().hex[:8]}@nowhere.invalid"
    nora = api.user("Nora Nowhere", address)
    ticket = api.ticket("Parcel never arrived", requester, "Where is it?", cc=(nora,), assignee=agent)
    comment = api.comment(ticket["id"], agent, "Looking into it.")

    delivery = wait_for(
        lambda: delivery_of(api, ticket["id"], comment["id"]),
        lambda found: statuses(found).get(address) == "bounced",
        timeout=30,
        stack=stack,
    )
    failure = next(r for r in delivery["recipients"] if r["email"] == address)["failure"]
    assert failure["smtp_status"] == "4.4.7"
    assert (failure["bounce_type"], failure["bounce_subtype"]) == ("Permanent", "General")
    assert "Unable to lookup DNS for nowhere.invalid" in failure["diagnostic"]
    # SES retried first: the stack's log shows the DeliveryDelay events before the bounce.
    log = stack.log_path.read_text(errors="replace")
    assert f"DeliveryDelay TransientCommunicationFailure {address}" in log
    assert log.index(f"DeliveryDelay TransientCommunicationFailure {address}") < log.index(
        f"Bounce Permanent/General {address}"
    )
    assert api.get(f"/suppressions/{address}")["suppressed"]  # a hard bounce, after the retries


def test_a_hard_bounce_suppresses_the_address_until_an_agent_removes_it(stack):
    api = stack.api
    agent = api.get("/me")  # the signed-in demo agent, Ada: her comments are hers
    requester = api.user("Sam Success", "success@simulator.amazonses.com")
    address = f"unknown-{uuid.uuid4().hex[:8]}@example.com"
    nora = api.user("Nora Nowhere", address)
    ticket = api.ticket("Invoice 2041 is wrong", requester, "Please check.", cc=(nora,), assignee=agent)

    first = api.comment(ticket["id"], agent, "Checking.")
    wait_for(
        lambda: statuses(delivery_of(api, ticket["id"], first["id"])).get(address),
        lambda status: status == "bounced",
        timeout=20,
        stack=stack,
    )
    entry = api.get(f"/suppressions/{address}")
    assert entry["suppressed"] and entry["reason"] == "BOUNCE" and entry["last_update"]

    # deskmail itself holds back mail to an address that hard-bounced; after a reset it sends, and SES refuses.
    held = api.comment(ticket["id"], agent, "Still checking.")
    held_nora = next(r for r in delivery_of(api, ticket["id"], held["id"])["recipients"] if r["email"] == address)
    assert (held_nora["status"], held_nora["failure"]["category"]) == ("not_sent", "address_undeliverable")
    api.ok("POST", f"/users/{nora['id']}/deliverability/reset")
    second = api.comment(ticket["id"], agent, "Fixed, see the new invoice.")
    delivery = wait_for(
        lambda: delivery_of(api, ticket["id"], second["id"]),
        lambda found: statuses(found).get(address) == "suppressed",
        timeout=20,
        stack=stack,
    )
    failure = next(r for r in delivery["recipients"] if r["email"] == address)["failure"]
    assert failure["category"] == "suppressed"
    assert (failure["bounce_type"], failure["bounce_subtype"]) == ("Permanent", "OnAccountSuppressionList")
    assert failure["smtp_status"] == "5.1.1"
    assert "on the suppression list for your account" in failure["diagnostic"]

    assert api.call("DELETE", f"/suppressions/{address}")[0] == 403  # the suppression list is the admins'
    removed = stack.admin_api.ok("DELETE", f"/suppressions/{address}")
    assert removed["removed"] and ticket["id"] in removed["tickets"]
    assert api.get(f"/suppressions/{address}")["suppressed"] is False
    assert [event["email"] for event in events_of(api, ticket["id"], "suppression_removed")] == [address]
    status, _ = stack.admin_api.call("DELETE", f"/suppressions/{address}")
    assert status == 404


def test_the_demo_agent_and_admin_sign_in_through_the_local_user_pool(stack):
    described = stack.description
    sign_in = described["sign_in"]
    assert {"provider", "endpoint", "region", "user_pool_id", "client_id", "agent", "admin"} <= set(sign_in)
    assert described["page_url"].endswith(f"token={described['agent_token']}")
    assert stack.api.get("/me")["id"] == described["agent_id"]
    assert stack.admin_api.get("/me") == {**stack.admin_api.get("/me"), "id": described["admin_id"], "role": "admin"}
    public = DeskmailApi(described["api_url"])
    for who, expected_id in (("agent", described["agent_id"]), ("admin", described["admin_id"])):
        tokens = public.post(
            "/auth/sign-in", {"username": sign_in[who]["username"], "password": sign_in[who]["password"]}
        )
        assert DeskmailApi(described["api_url"], token=tokens["access_token"]).get("/me")["id"] == expected_id
    status, body = public.call("POST", "/auth/sign-in", {"username": sign_in["agent"]["username"], "password": "no"})
    assert status == 401 and body["Code"] == "UnauthorizedError"
