"""The adapter's volume-proof access patterns (issue 15), the same cases on moto and on the bench's recording fake.

Sharded index pages merge newest first and page on; the outbox sweep reads every shard; recipients are checked with
one BatchGetItem; a hard bounce or complaint counts once however often it is written.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import replace

import pytest

from chalicelib.adapters import dynamo
from chalicelib.adapters.dynamo import DeskmailTable, PageTokenError
from chalicelib.domain.model import Notification, Recipient, Ticket


@pytest.fixture(params=["moto", "fake"])
def table(request):
    if request.param == "moto":
        from chalicelib import runtime

        request.getfixturevalue("aws")
        return runtime.table()
    from bench.fake_dynamo import RecordingDeskmailClient

    return DeskmailTable(RecordingDeskmailClient(), "deskmail-dev", sleep=lambda _: None)


def ticket(n: int) -> Ticket:
    stamp = f"2026-12-01T10:{n // 60:02d}:{n % 60:02d}.000Z"
    return Ticket(f"t{n:04d}", f"Printer {n}", "u1", (), None, "new", stamp, stamp)


def test_a_search_word_shared_by_many_tickets_pages_newest_first_over_its_shards(table):
    tickets = [ticket(n) for n in range(23)]
    table.write_items(item for t in tickets for item in dynamo.ticket_index_items(t, ["printer"], "Rita"))
    shards = {item["PK"] for t in tickets for item in dynamo.ticket_index_items(t, ["printer"], "Rita")}
    assert len({s for s in shards if s.startswith("FIND#")}) > 1  # the writes are spread
    seen, token = [], None
    while True:
        page, token = table.list_ticket_index(token, 10, word="printer")
        assert len(page) <= 10
        seen += [row["ticket_id"] for row in page]
        if token is None:
            break
    assert seen == [t.id for t in reversed(tickets)]
    month, _ = table.list_ticket_index(None, 50, month="2026-12")
    assert [row["ticket_id"] for row in month] == [t.id for t in reversed(tickets)]
    with pytest.raises(PageTokenError):
        table.list_ticket_index("bm90IGEgdG9rZW4", 10, word="printer")


def test_a_search_row_whose_ticket_never_landed_is_skipped_and_a_conflict_leaves_no_row(table):
    landed, lost = ticket(1), ticket(2)
    table.write_items(dynamo.ticket_index_items(landed, ["printer"], "Rita"))
    # A search row put ahead of its ticket's transaction, which then failed: no LIST item names the ticket.
    table.write_items(item for item in dynamo.ticket_index_items(lost, ["printer"], "Rita") if item["SK"] != "LIST")
    page, _ = table.list_ticket_index(None, 10, word="printer")
    assert [row["ticket_id"] for row in page] == [landed.id]
    # A transaction refused by its condition (here: the LIST item exists already) takes its search rows back.
    again = ticket(3)
    table.write_items([item for item in dynamo.ticket_index_items(again, ["printer"], "Rita") if item["SK"] == "LIST"])
    put_if_new = {
        "Key": {"PK": {"S": f"TICKET#{again.id}"}, "SK": {"S": "LIST"}},
        "UpdateExpression": "SET subject = :s",
        "ConditionExpression": "attribute_not_exists(PK)",
        "ExpressionAttributeValues": {":s": {"S": "x"}},
    }
    with pytest.raises(dynamo.WriteConflict):
        table.write_together(dynamo.ticket_index_items(again, ["fax"], "Rita")[:1], [put_if_new])
    assert table.list_ticket_index(None, 10, word="fax") == ([], None)


def notification(n: int, email: str = "rita@example.com") -> Notification:
    recipient = Recipient(user_id="u1", name="Rita", email=email, header="to", status="sent", locale="en")
    return Notification(
        id=f"n{n:04d}",
        ticket_id="t1",
        comment_id="c1",
        trigger_id="tr",
        trigger_title="T",
        message_id=None,
        recipients=(recipient,),
        sent_at="",
        rfc_message_id=f"<n{n}@x>",
    )


def outgoing_email(body: str = "Hello"):
    from chalicelib.domain.messages import Mailbox, OutgoingEmail

    return OutgoingEmail(
        sender="Support <support@deskmail.example.com>",
        to=(Mailbox("Rita", "rita@example.com"),),
        cc=(),
        subject="Printer",
        body=body,
        rfc_message_id="<n@x>",
        thread_root_id="<t@x>",
        tags={"ticket_id": "t1"},
        configuration_set="deskmail",
    )


@contextmanager
def transactions_of(table):
    """The sort keys each TransactWriteItems the adapter makes puts, in order, while the block runs."""
    transactions: list[list[str]] = []
    real_transact = table.client.transact_write_items

    def transact(**kwargs):
        transactions.append([action["Put"]["Item"]["SK"]["S"] for action in kwargs["TransactItems"]])
        return real_transact(**kwargs)

    table.client.transact_write_items = transact
    try:
        yield transactions
    finally:
        table.client.transact_write_items = real_transact


def comment_of(ticket_id: str, comment_id: str):
    from chalicelib.domain.model import Comment

    return Comment(comment_id, ticket_id, "u1", "Rita", "Hi", True, "2026-12-01T10:00:00.000Z")


def test_the_sweep_finds_open_entries_in_every_shard_oldest_first_with_their_email(table):
    email = outgoing_email("Hello " * 400)
    items = [
        item
        for n in range(40)
        for item in dynamo.outbox_items(notification(n), email, "Printer", f"2026-12-01T10:00:{n:02d}.000Z")
    ]
    assert len({item["GSI3PK"] for item in items if "GSI3PK" in item}) > 1
    table.write_items(items)
    assert table.move_outbox("t1", "n0001", "pending", 0, "sending", "2026-12-01T10:00:30.000Z")  # claimed later
    due = table.list_due_outbox("2026-12-01T10:00:20.000Z", limit=100)
    assert [entry.notification.id for entry in due] == [f"n{n:04d}" for n in range(20) if n != 1]
    assert all(entry.email == email for entry in due)
    assert table.move_outbox("t1", "n0000", "pending", 0, "sending", "2026-12-01T10:00:31.000Z")
    assert table.move_outbox("t1", "n0000", "sending", 1, "sent", "2026-12-01T10:00:32.000Z", {"message_id": "m"}, 1)
    due = table.list_due_outbox("2026-12-01T11:00:00.000Z", limit=100)
    assert "n0000" not in [entry.notification.id for entry in due] and len(due) == 39
    (claimed,) = [entry for entry in due if entry.notification.id == "n0001"]
    assert claimed.state == "sending" and claimed.email is None
    mail = [item for item in items if item["SK"] == "MAIL#n0002"][0]
    assert len(mail["email_z"]) < len(email.body) // 4  # compressed: the body repeats


def test_a_new_comments_outbox_entry_goes_ahead_of_its_transaction_and_counts_only_once_the_comment_exists(table):
    email = outgoing_email()
    with transactions_of(table) as transactions:
        committed = dynamo.outbox_items(
            notification(1), email, "Printer", "2026-12-01T10:00:00.000Z", with_comment=True
        )
        table.write_together([dynamo.comment_item(comment_of("t1", "c1")), *committed])
        # Written with no comment in the unit (a comment whose transaction never landed, as the sweep finds it).
        of_lost_comment = replace(notification(2), comment_id="c2")
        lost = dynamo.outbox_items(of_lost_comment, email, "Printer", "2026-12-01T10:00:01.000Z", with_comment=True)
        table.write_items(lost)
        # The comment is in the unit: only it is in the transaction; the entry and its email went ahead.
        assert transactions == [["C#c1"]]
        # A resend's entry names no comment: it is the unit, and stays in the transaction.
        table.write_together(dynamo.outbox_items(notification(3), email, "Printer", "2026-12-01T10:00:02.000Z"))
        assert transactions[1:] == [["OUTBOX#n0003"]]
    due = {entry.notification.id: entry for entry in table.list_due_outbox("2026-12-01T11:00:00.000Z")}
    assert (due["n0001"].committed, due["n0002"].committed, due["n0003"].committed) == (True, False, True)
    assert table.drop_uncommitted_outbox("t1", "n0002")
    due = table.list_due_outbox("2026-12-01T11:00:00.000Z")
    assert sorted(entry.notification.id for entry in due) == ["n0001", "n0003"]
    assert table.get_many([("TICKET#t1", "MAIL#n0002"), ("TICKET#t1", "MAIL#n0001")]).keys() == {
        ("TICKET#t1", "MAIL#n0001")
    }


def test_a_new_tickets_participation_goes_ahead_and_counts_only_once_its_first_comment_exists(table):
    with transactions_of(table) as transactions:
        joined = dynamo.participation_item("u1", "t1", "Printer", "2026-12-01T10:00:00.000Z", with_comment="c1")
        table.write_together([dynamo.comment_item(comment_of("t1", "c1")), joined])
        # A later author's row names no comment: it may overwrite one, so it stays in its comment's transaction.
        later = dynamo.participation_item("u1", "t3", "Fax", "2026-12-01T10:05:00.000Z")
        table.write_together([dynamo.comment_item(comment_of("t3", "c3")), later])
    assert transactions == [["C#c1"], ["C#c3", "TICKET#t3"]]
    # A row put ahead of a ticket's transaction that never landed: its first comment does not exist.
    table.write_items([dynamo.participation_item("u1", "t2", "Lost", "2026-12-01T10:01:00.000Z", with_comment="c2")])
    assert sorted(table.list_user_ticket_ids("u1")) == ["t1", "t3"]


def test_a_subject_reference_goes_ahead_of_its_ticket_and_finds_only_a_ticket_that_landed(table):
    landed, lost = ticket(1), ticket(2)
    with transactions_of(table) as transactions:
        created = dynamo.event_item(landed.id, "e1", "x", "ticket_created", {}, with_ticket=True)
        table.write_together(
            [dynamo.ticket_item(landed), dynamo.reference_item(landed.id, "ABC123", "P", "x"), created]
        )
    assert transactions == [["TICKET"]]  # the reference and the ticket's first event went ahead, at one unit
    # One put ahead of a ticket whose transaction never landed, and newer (ids sort by time): skipped.
    table.write_items([dynamo.reference_item(lost.id, "ABC123", "P", "y")])
    assert table.find_tickets_by_reference("abc123") == [landed.id]


def test_recipients_are_checked_with_one_batch_read_and_only_addresses_with_facts_are_queried(table):
    bounce = dynamo.address_fact_item(
        "Carl@example.com", "permanent_bounce", "2026-12-01T10:00:00.000Z", "s", "t", None
    )
    table.write_items([bounce])
    calls = []
    real_query, real_get = table.client.query, table.client.batch_get_item

    def query(**kwargs):
        calls.append("Query")
        return real_query(**kwargs)

    def batch_get_item(**kwargs):
        calls.append("BatchGetItem")
        return real_get(**kwargs)

    table.client.query, table.client.batch_get_item = query, batch_get_item
    try:
        facts = table.list_addresses_facts(["rita@example.com", "carl@example.com", "ada@example.com"])
    finally:
        table.client.query, table.client.batch_get_item = real_query, real_get
    assert calls == ["BatchGetItem", "Query"]
    assert facts["rita@example.com"] == [] and facts["ada@example.com"] == []
    assert [fact["kind"] for fact in facts["carl@example.com"]] == ["permanent_bounce"]


def test_a_hard_bounce_written_again_by_a_replay_or_the_other_source_counts_once(table):
    bounce = dynamo.address_fact_item(
        "carl@example.com", "permanent_bounce", "2026-12-01T10:05:00.000Z", "fb", "t", None
    )
    complaint = dynamo.address_fact_item("rita@example.com", "complaint", "2026-12-01T10:06:00.000Z", "fc", "t", None)
    assert table.write_owned_items([("sqs-1", [bounce]), ("sqs-2", [bounce, complaint])]) == {}
    assert table.write_owned_items([("sqs-3", [complaint]), ("sqs-4", [bounce])]) == {}  # both already there
    assert table.write_owned_items([("sqs-5", [bounce, complaint])]) == {}
    counts = table.reputation_by_hour(["2026-12-01"])
    assert counts[("2026-12-01", "10")] == {"sent": 0, "bounce": 1, "complaint": 1}
    sent = Notification(**{**notification(1).__dict__, "message_id": "m1", "sent_at": "2026-12-01T10:07:00.000Z"})
    table.count_sent(sent)
    assert table.reputation_by_hour(["2026-12-01"])[("2026-12-01", "10")]["sent"] == 1
    # A request's messages are counted together: one ADD for all of them, each counted once.
    later = Notification(**{**sent.__dict__, "id": "n2", "message_id": "m2", "sent_at": "2026-12-01T11:00:00.000Z"})
    table.count_sent(sent, later)
    hours = table.reputation_by_hour(["2026-12-01"])
    assert hours[("2026-12-01", "10")]["sent"] == 2 and hours[("2026-12-01", "11")]["sent"] == 1
