"""Issue 12, findings 2 and 6: a request is all or nothing, and every email is recorded before SES is called.

A fault is put in front of the moto-backed DynamoDB client at each step of a send (the commit, the claim, the
record after SES, the fallback update); then the outbox sweep runs, as its schedule would, past the grace
period. Each email goes out at most once, and every notification ends recorded (sent, or failed visibly).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from chalicelib import runtime
from chalicelib.domain import outbox as states
from chalicelib.ids import format_timestamp
from chalicelib.services import outbox
from tests.helpers import Api, people, sent_messages
from tests.reliability.scenario import table_items


class FaultyClient:
    """The moto-backed client; the n-th call of an operation (1-based) runs `fault(client, kwargs)` instead."""

    def __init__(self, client, faults):
        self._client, self._faults, self.calls = client, faults, {}

    def __getattr__(self, name):
        attribute = getattr(self._client, name)
        if not callable(attribute) or name.startswith("_") or name in ("exceptions", "meta"):
            return attribute

        def call(**kwargs):
            self.calls[name] = self.calls.get(name, 0) + 1
            fault = self._faults.get((name, self.calls[name]))
            return fault(self._client, kwargs) if fault else attribute(**kwargs)

        return call


def fails(operation="UpdateItem"):
    def fault(client, kwargs):
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "injected"}}, operation)

    return fault


def always(operation: str, first: int, fault, times: int = 10):
    return {(operation, first + n): fault for n in range(times)}


@pytest.fixture
def api(client):
    return Api(client)


@pytest.fixture
def who(api):
    return people(api)


@pytest.fixture
def inject():
    table = runtime.table()
    real, real_sleep = table.client, table._sleep

    def install(faults):
        table.client, table._sleep = FaultyClient(real, faults), lambda seconds: None
        return table.client

    yield install
    table.client, table._sleep = real, real_sleep


def open_ticket_body(who):
    return {
        "subject": "Printer on fire",
        "requester_id": who["requester"]["id"],
        "cc_ids": [who["cc"]["id"]],
        "assignee_id": who["agent"]["id"],
        "comment": {"author_id": who["requester"]["id"], "body": "It smokes.", "public": True},
    }


def outbox_entries() -> list[dict]:
    return [item for item in table_items() if item["SK"]["S"].startswith("OUTBOX#")]


def later(minutes=10):
    moment = datetime.now(UTC) + timedelta(minutes=minutes)
    return lambda: format_timestamp(moment)


def sweep(minutes=10):
    return outbox.sweep(runtime.table(), runtime.mailer(), later(minutes))


def events(api, ticket_id):
    return api.ok("get", f"/tickets/{ticket_id}/events")["events"]


def the_ticket_id():
    (ticket,) = [item for item in table_items() if item["SK"]["S"] == "TICKET"]
    return ticket["PK"]["S"].removeprefix("TICKET#")


def test_a_send_is_recorded_pending_first_and_sent_after_with_its_message_id(api, who):
    ticket = api.ok("post", "/tickets", open_ticket_body(who))
    (message,) = sent_messages()
    (entry,) = outbox_entries()
    assert entry["state"]["S"] == "sent" and entry["message_id"]["S"] == message["id"]
    assert entry["attempts"]["N"] == "1"
    assert "GSI3PK" not in entry and "expires_at" in entry  # done: off the sweeper's queue
    lookup = runtime.table().get_notifications_by_message_id([message["id"]])
    assert lookup[message["id"]]["ticket_id"] == ticket["id"]
    assert sweep() == {}


def test_a_failed_commit_leaves_nothing_and_sends_nothing(client, api, who, inject):
    before = table_items()
    inject({("transact_write_items", 1): fails("TransactWriteItems")})
    status, _ = api.post("/tickets", open_ticket_body(who))
    assert status == 500
    assert table_items() == before and sent_messages() == []


def test_an_entry_put_ahead_of_a_commit_that_never_landed_is_dropped_by_the_sweep_unsent(api, who, inject):
    # A new comment's outbox entry goes ahead of its transaction (one write unit instead of two). Here the
    # transaction fails with an error that may or may not have committed, and taking the ahead items back fails too:
    # the process "dies" with the entry written and no comment.
    faults = {("transact_write_items", 1): fails("TransactWriteItems")}
    faults.update(always("batch_write_item", 2, fails("BatchWriteItem")))  # the take-back (the first put them ahead)
    inject(faults)
    status, _ = api.post("/tickets", open_ticket_body(who))
    assert status == 500
    (entry,) = outbox_entries()
    assert entry["state"]["S"] == "pending" and entry["committed_with"]["S"].startswith("C#")
    assert not [item for item in table_items() if item["SK"]["S"] in ("TICKET", entry["committed_with"]["S"])]
    inject({})
    # What went ahead of the ticket's transaction is not the ticket's: no ticket, no events log, no conversation.
    stray = entry["PK"]["S"].removeprefix("TICKET#")
    assert {item["type"]["S"] for item in table_items() if item["PK"]["S"] == entry["PK"]["S"]} >= {"event", "outbox"}
    for path in (f"/tickets/{stray}", f"/tickets/{stray}/events", f"/tickets/{stray}/comments"):
        assert api.get(path)[0] == 404
    assert sweep(minutes=1) == {}  # inside the grace period nobody touches it
    assert sweep() == {"dropped": 1}
    assert sweep() == {}
    assert sent_messages() == []
    assert outbox_entries() == []
    assert not [item for item in table_items() if item["SK"]["S"].startswith("MAIL#")]


def test_an_entry_put_ahead_of_its_comment_is_sent_by_the_sweep_once_the_comment_exists(api, who, inject):
    # The comment landed and the process died before SES: the entry names the comment, which exists, so it is sent.
    inject({("update_item", 1): fails()})
    assert api.post("/tickets", open_ticket_body(who))[0] == 500
    (entry,) = outbox_entries()
    (comment,) = [item for item in table_items() if item["SK"]["S"] == entry["committed_with"]["S"]]
    assert comment["type"]["S"] == "comment"
    inject({})
    (due,) = runtime.table().list_due_outbox("9999")
    assert due.committed and states.sweep_action(due) == "send"
    assert sweep() == {"sent": 1} and len(sent_messages()) == 1


def test_a_crash_between_the_commit_and_ses_is_sent_by_the_sweep_exactly_once(api, who, inject):
    inject({("update_item", 1): fails()})  # the claim right after the commit: the process "dies" there
    status, _ = api.post("/tickets", open_ticket_body(who))
    assert status == 500
    assert sent_messages() == []
    (entry,) = outbox_entries()
    assert entry["state"]["S"] == "pending" and entry["attempts"]["N"] == "0"
    ticket_id = the_ticket_id()
    assert sweep(minutes=1) == {}  # inside the grace period nobody touches it
    assert sweep() == {"sent": 1}
    assert sweep() == {} and sweep(minutes=60) == {}
    (message,) = sent_messages()
    assert message["destinations"] == ["rita@example.com"]
    (entry,) = outbox_entries()
    assert entry["state"]["S"] == "sent" and entry["message_id"]["S"] == message["id"]
    (first,) = api.comments(ticket_id)
    assert first["delivery"]["recipients"][0]["message_id"] == message["id"]
    recovered = [e for e in events(api, ticket_id) if e["type"] == "email_notification_recovered"]
    assert [(e["action"], e["state_found"], e["by"]) for e in recovered] == [("sent", "pending", "sweep_outbox")]


def test_ses_took_it_and_the_record_failed_the_sweep_records_it_without_sending_again(api, who, inject):
    # The record after SES is the request's second BatchWriteItem (the first puts the email and the search rows
    # ahead of the commit); every retry of it fails too.
    inject(always("batch_write_item", 2, fails("BatchWriteItem")))
    ticket = api.ok("post", "/tickets", open_ticket_body(who))  # the ticket and the email exist: 201
    (message,) = sent_messages()
    (entry,) = outbox_entries()
    assert entry["state"]["S"] == "accepted" and entry["message_id"]["S"] == message["id"]
    assert runtime.table().get_notifications_by_message_id([message["id"]]) == {}
    inject({})
    assert sweep() == {"recorded": 1}
    assert sweep() == {}
    assert len(sent_messages()) == 1
    assert message["id"] in runtime.table().get_notifications_by_message_id([message["id"]])
    (first,) = api.comments(ticket["id"])
    assert first["delivery"]["recipients"][0]["message_id"] == message["id"]
    assert outbox_entries()[0]["state"]["S"] == "sent"


def test_ses_took_it_and_no_write_landed_it_is_failed_visibly_never_sent_twice(api, who, inject):
    """The documented window: the email went out, nothing recorded it; the sweep must not send it again."""
    faults = always("batch_write_item", 2, fails("BatchWriteItem"))  # the record (the first put the email ahead)
    faults[("update_item", 2)] = fails()  # the fallback `accepted` update, after the claim (update 1)
    inject(faults)
    ticket = api.ok("post", "/tickets", open_ticket_body(who))
    assert len(sent_messages()) == 1
    (entry,) = outbox_entries()
    assert entry["state"]["S"] == "sending" and entry["attempts"]["N"] == "1"
    inject({})
    assert sweep() == {"given_up": 1}
    assert sweep() == {}
    assert len(sent_messages()) == 1
    (first,) = api.comments(ticket["id"])
    (rita,) = first["delivery"]["recipients"]
    assert rita["status"] == "rejected" and rita["failure"]["category"] == "unknown"
    assert "cannot tell whether SES sent it" in rita["failure"]["diagnostic"]
    kinds = [e["type"] for e in events(api, ticket["id"])]
    assert {"email_notification_not_sent", "email_delivery_failure", "email_notification_recovered"} <= set(kinds)
    assert outbox_entries()[0]["state"]["S"] == "failed"


def test_of_two_sweepers_only_the_one_that_wins_the_claim_sends(api, who, inject):
    inject({("update_item", 1): fails()})
    api.post("/tickets", open_ticket_body(who))
    inject({})
    (stale,) = runtime.table().list_due_outbox("9999")
    assert stale.state == states.PENDING
    assert sweep() == {"sent": 1}
    # A second sweeper that listed the entry before the first one claimed it: its claim fails, it sends nothing.
    assert outbox._sweep_one(runtime.table(), runtime.mailer(), stale, later()) == "taken"
    assert len(sent_messages()) == 1


def test_the_scheduled_function_sweeps(client, api, who, inject, monkeypatch):
    inject({("update_item", 1): fails()})
    api.post("/tickets", open_ticket_body(who))
    inject({})
    monkeypatch.setattr(states, "GRACE_SECONDS", 0)
    client.lambda_.invoke("sweep_outbox", client.events.generate_cw_event("Scheduled Event", "aws.events", {}, []))
    assert len(sent_messages()) == 1 and outbox_entries()[0]["state"]["S"] == "sent"


def test_resend_goes_through_the_outbox_too(api, who, inject):
    ticket = api.ok("post", "/tickets", open_ticket_body(who))
    (first,) = api.comments(ticket["id"])
    inject(always("batch_write_item", 2, fails("BatchWriteItem")))  # the record: the first put the email ahead
    resent = api.ok(
        "post", f"/tickets/{ticket['id']}/comments/{first['id']}/resend", {"user_ids": [who["requester"]["id"]]}
    )
    inject({})
    (notification,) = resent["notifications"]
    assert notification["message_id"] == sent_messages()[-1]["id"]
    assert sweep() == {"recorded": 1}
    assert len(sent_messages()) == 2
    assert sorted(e["state"]["S"] for e in outbox_entries()) == ["sent", "sent"]


def test_the_sweep_sends_the_prepared_multipart_email_and_the_next_one_threads_on_its_ses_id(api, who, inject):
    inject({("update_item", 1): fails()})  # the process "dies" between the commit and SES
    assert api.post("/tickets", open_ticket_body(who))[0] == 500
    inject({})
    assert sweep() == {"sent": 1}
    (swept,) = sent_messages()
    assert swept["mime"].get_content_type() == "multipart/alternative" and swept["mime"]["Content-Language"]
    assert "+" in swept["mime"]["Reply-To"]  # the ticket's plus address, as the first send would have set it
    ticket_id = the_ticket_id()
    api.ok("post", f"/tickets/{ticket_id}/comments", {"author_id": who["agent"]["id"], "body": "Done.", "public": True})
    to_rita = [m for m in sent_messages()[1:] if "rita@example.com" in m["destinations"]]
    assert len(to_rita) == 1
    # The sweep recorded the Message-ID SES gave the swept email in Rita's chain: the next one answers it.
    assert to_rita[0]["mime"]["In-Reply-To"].strip("<>").startswith(swept["id"])
