# ruff: noqa: B023 - every closure below is called at once, in the loop turn that made it
"""The data layer at volume: the real use cases on a recording in-memory DynamoDB, scaled to a day's volume.

A mix of tickets (created by a customer with one CC, two agent replies, one emailed customer reply), SES feedback for
every recipient (deliveries, hard bounces, complaints, in batches of 10 through the feedback handler) and the agents'
reads (conversation, events, the inbox, the tag view, reputation) runs on RecordingDeskmailClient, which counts
write and read units per partition-key value of the table and of each index.

Scaling: a partition key shared by all traffic (no entity id in it: a day's counter shard, a month's inbox bucket)
takes its share of the measured units per notification times the volume, in a peak hour of 3x the mean. A key of
one entity (a ticket, an address, a message) does not grow with volume: its figure is the most units it took in one
use-case call, counted as if that call came every second (a ticket answered once a second). A "notification" is one
recipient's email (what SES counts and what its feedback is about).
"""

from __future__ import annotations

import math
import random
import re
import time
from itertools import count

from bench.cpu import FeedbackContext
from bench.environment import service_logs_silenced
from bench.fake_dynamo import INDEXES, RecordingDeskmailClient, index_entry, item_bytes

VOLUMES = (100_000, 1_000_000, 10_000_000, 100_000_000)
PEAK_FACTOR = 3
SECONDS_PER_DAY = 86_400
# Per recipient's email: SES feedback shares (the rest are deliveries); both within SES's account-review levels.
HARD_BOUNCE_SHARE, COMPLAINT_SHARE = 0.02, 0.001
_ID = re.compile(r"[0-9a-hjkmnp-tv-z]{26}")
_PATTERNS = [
    (re.compile(r"[^#\s]+@[^#\s]+"), "{address}"),
    (re.compile(r"\d{4}-\d{2}-\d{2}"), "{day}"),
    (re.compile(r"\d{4}-\d{2}(?!\d)"), "{month}"),
    (re.compile(r"(?<=#)\d{4}$"), "{year}"),
    (re.compile(r"(?<=REP#\{day\}#)\d+"), "{shard}"),
    (re.compile(r"(?<=COUNT#)\d+"), "{shard}"),
]


def key_pattern(pk: str) -> str:
    pattern = _ID.sub("{id}", pk)
    if pattern.startswith(("MSG#", "INBOUND#")):
        return pattern.split("#")[0] + "#{ses id}"
    if pattern.startswith("FIND#"):  # FIND#{word}#{shard}
        return "FIND#{word}" + ("#{shard}" if re.search(r"#\d+$", pattern[5:]) else "")
    pattern = re.sub(r"^(OUTBOX|TICKETS#\d{4}-\d{2})#\d+$", r"\1#{shard}", pattern)
    if pattern.startswith("REF#"):
        return "REF#{reference}"
    if pattern.startswith("TRIGGER#"):  # one trigger's templates: read by every comment it fires for
        return "TRIGGER#{trigger}"
    pattern = re.sub(r"^TAG#[^#]+#", "TAG#{tag}#", pattern)
    for regex, name in _PATTERNS:
        pattern = regex.sub(name, pattern)
    return pattern


# Which part of the work writes an item type: the conversation (tickets, comments, people, search: written whether
# or not anyone is emailed), sending a notification (the outbox, its record, threading, counting), or its feedback.
_CONVERSATION = {"ticket", "comment", "user", "participation", "ticket_index", "ticket_search", "reference", "inbound"}
_CONVERSATION_EVENTS = {"event ticket_created", "event comment_added"}
_FEEDBACK = {"outcome", "delivered_marker", "address_fact", "address_marker", "tag", "event email_delivery_failure"}


def use_of(kind: str) -> str:
    if kind in _CONVERSATION or kind in _CONVERSATION_EVENTS:
        return "conversation"
    if kind in _FEEDBACK or kind.startswith("event tag_"):
        return "feedback"
    return "sending"


def _per_entity(pattern: str) -> bool:
    return any(name in pattern for name in ("{id}", "{address}", "{ses id}"))


class _Mailer:
    def __init__(self):
        self._ids = count()

    def send_notification(self, email):
        from chalicelib.adapters.ses import SendResult

        return SendResult(f"0100019bench{next(self._ids):012d}-0000-000000")


class _Run:
    """One simulated stretch of traffic, with per-call bursts and per-route Query pages."""

    def __init__(self):
        from chalicelib import runtime
        from chalicelib.adapters.dynamo import DeskmailTable

        self.client = RecordingDeskmailClient()
        # A frozen clock for the adapter's per-container caches (trigger states: 5 s): at volume a container serves
        # many calls within one cache period, so a refresh is not a route's per-call cost; on the wall clock it would
        # land in whichever call came at the 5 s mark, and the Query pages of a route's last calls (route_pages)
        # would move with the machine's speed.
        self.table = DeskmailTable(self.client, runtime.settings().table_name, sleep=lambda _: None, clock=lambda: 0.0)
        self.burst_writes: dict[tuple[str, str], float] = {}
        self.burst_reads: dict[tuple[str, str], float] = {}
        self.route_pages: dict[str, list[int]] = {}

    def call(self, route: str | None, action):
        self.client.window_writes.clear()
        self.client.window_reads.clear()
        queries = self.client.calls.get("Query", 0)
        result = action()
        for window, burst in (
            (self.client.window_writes, self.burst_writes),
            (self.client.window_reads, self.burst_reads),
        ):
            for key, delta in window.items():
                if delta > burst.get(key, 0):
                    burst[key] = delta
        if route:
            self.route_pages.setdefault(route, []).append(self.client.calls.get("Query", 0) - queries)
        return result


def simulate(tickets: int, seed: int = 7) -> tuple[_Run, int]:
    """Runs the mix for this many tickets; returns the run and the number of recipients' emails sent."""
    from chalicelib import runtime
    from chalicelib.adapters import dynamo
    from chalicelib.i18n import translations
    from chalicelib.ids import utc_now
    from chalicelib.services import feedback_handler, protection, views, workspace
    from tests import ses_payloads as ses

    rng = random.Random(seed)
    run = _Run()
    table, mailer, settings = run.table, _Mailer(), runtime.settings()
    tr = translations("en")
    agent = workspace.create_user(
        table, {"name": "Alma Agent", "email": "alma@deskmail.example", "role": "agent"}, utc_now
    )
    pending: list[str] = []
    emails = 0
    context = FeedbackContext()

    def feed(final: bool = False) -> None:
        while len(pending) >= 10 or (final and pending):
            batch, pending[:] = pending[:10], pending[10:]
            event = ses.sqs_event(batch)
            run.call(None, lambda: feedback_handler.handle(event, context, table, utc_now(), int(time.time())))

    def feedback_for(comment_id: str, ticket_id: str) -> None:
        nonlocal emails
        for notification, _ in table.list_comment_notifications(ticket_id, comment_id):
            if not notification.message_id:
                continue
            sent = [r.email for r in notification.recipients if r.status == "sent" and r.email]
            tags = {"ticket_id": [ticket_id], "comment_id": [comment_id], "notification_id": [notification.id]}
            for address in sent:
                emails += 1
                roll = rng.random()
                if roll < HARD_BOUNCE_SHARE:
                    body = ses.bounce(notification.message_id, sent, [ses.hard_bounce_recipient(address)], tags=tags)
                elif roll < HARD_BOUNCE_SHARE + COMPLAINT_SHARE:
                    body = ses.complaint(notification.message_id, sent, [address], tags=tags)
                else:
                    body = ses.delivery(notification.message_id, sent, [address], tags=tags)
                pending.append(body)
        feed()

    with service_logs_silenced():
        for n in range(tickets):
            requester = workspace.create_user(
                table, {"name": f"Rita {n}", "email": f"rita{n}@r{n}.example", "role": "end-user"}, utc_now
            )
            cc = workspace.create_user(
                table, {"name": f"Carl {n}", "email": f"carl{n}@r{n}.example", "role": "end-user"}, utc_now
            )
            body = {
                "subject": f"Printer {n} on fire",
                "requester_id": requester.id,
                "cc_ids": [cc.id],
                "assignee_id": agent.id,
                "comment": {"author_id": requester.id, "body": "Help", "public": True},
            }
            created = run.call("POST /tickets", lambda: workspace.create_ticket(table, mailer, settings, body, utc_now))
            ticket_id = created["ticket"].id
            feedback_for(created["comment"].id, ticket_id)
            for _ in range(2):
                reply = {"author_id": agent.id, "body": "On it", "public": True}
                comment = run.call(
                    "POST /tickets/{id}/comments",
                    lambda: workspace.add_comment(table, mailer, settings, ticket_id, reply, utc_now),
                )
                feedback_for(comment.id, ticket_id)
            # The customer's emailed reply: the claim, the comment and its notifications, the completion.
            ses_id = f"inbound{n:08d}"

            def inbound_reply():
                stamp, epoch = utc_now(), int(time.time())
                table.claim_inbound_message(ses_id, ticket_id, stamp, epoch, epoch + 60, epoch + 30 * 86400)
                posted = workspace.add_comment(
                    table,
                    mailer,
                    settings,
                    ticket_id,
                    {"author_id": requester.id, "body": "Thanks", "public": True},
                    utc_now,
                )
                table.complete_inbound_message(ses_id, "comment_added", utc_now())
                return posted

            comment = run.call("inbound reply", inbound_reply)
            feedback_for(comment.id, ticket_id)
            run.call("GET /tickets/{id}/comments", lambda: views.conversation(table, ticket_id, None, tr))
            run.call("GET /tickets/{id}/events", lambda: views.ticket_events(table, ticket_id, None, tr))
            if n % 5 == 0:
                run.call("GET /delivery-failures", lambda: protection.list_failures(table, {}, tr))
                run.call("GET /tickets?tag=", lambda: views.tagged_tickets(table, dynamo.FAILURE_TAG, None))
                run.call("GET /reputation", lambda: protection.reputation_report(table, utc_now()))
        feed(final=True)
    return run, emails


def _hottest(ledger: dict, burst: dict, emails: int, volume: int) -> tuple[float, str]:
    rate = volume / SECONDS_PER_DAY * PEAK_FACTOR
    best, where = 0.0, ""
    for (index, pk), units in ledger.items():
        pattern = key_pattern(pk)
        figure = burst.get((index, pk), 0) if _per_entity(pattern) else units / emails * rate
        if figure > best:
            best, where = figure, f"{index} {pattern}"
    return round(best, 1), where


def _steady(pages: list[int], last: int = 5) -> float:
    return sum(pages[-last:]) / len(pages[-last:]) if pages else 0.0


def measure(small: int = 240, large: int = 960) -> dict:
    from chalicelib.adapters import dynamo

    assert dynamo  # the adapter under measurement
    small_run, _ = simulate(small, seed=3)
    run, emails = simulate(large)
    results: dict = {"tickets": large, "notifications": emails, "by_daily_volume": {}}
    for volume in VOLUMES:
        wcu, wcu_key = _hottest(run.client.writes, run.burst_writes, emails, volume)
        rcu, rcu_key = _hottest(run.client.reads, run.burst_reads, emails, volume)
        results["by_daily_volume"][str(volume)] = {
            "hottest_partition_wcu_per_s": wcu,
            "hottest_partition_wcu_key": wcu_key,
            "hottest_partition_rcu_per_s": rcu,
            "hottest_partition_rcu_key": rcu_key,
        }
    results["write_units_per_notification"] = round(sum(run.client.writes.values()) / emails, 2)
    results["read_units_per_notification"] = round(sum(run.client.reads.values()) / emails, 2)
    # What stays (no TTL): item bytes + DynamoDB's 100 bytes an item, and each index entry the item has likewise.
    kept = [item for item in run.client.items.values() if "expires_at" not in item]
    entries = [index_entry(index, item) for item in kept for index in INDEXES]
    stored = sum(item_bytes(item) + 100 for item in kept + [entry for entry in entries if entry])
    results["stored_bytes_per_notification"] = round(stored / emails)
    by_pattern: dict[str, float] = {}
    for (index, pk), units in run.client.writes.items():
        name = f"{index} {key_pattern(pk)}"
        by_pattern[name] = by_pattern.get(name, 0) + units / emails
    results["write_units_per_notification_by_key"] = {
        name: round(units, 3) for name, units in sorted(by_pattern.items(), key=lambda kv: -kv[1])
    }
    by_use: dict[str, float] = {}
    for (_, kind), units in run.client.writes_by_type.items():
        use = use_of(kind)
        by_use[use] = by_use.get(use, 0) + units / emails
    results["write_units_per_notification_by_use"] = {use: round(units, 2) for use, units in sorted(by_use.items())}
    # The issue's own reading of "all-in" (send + its feedback), beside the figure above that adds the conversation.
    results["write_units_per_notification_send_and_feedback"] = round(
        by_use.get("sending", 0) + by_use.get("feedback", 0), 2
    )
    results["write_units_per_notification_by_item"] = {
        f"{where} {kind}": round(units / emails, 3)
        for (where, kind), units in sorted(run.client.writes_by_type.items(), key=lambda kv: -kv[1])
    }
    # Pages per call at two sizes 4x apart, extrapolated to 1000x as a power law. Each run's last calls are taken:
    # early inbox calls read fewer rows than a page (one Query per open row), which is not growth with volume.
    growth = {}
    for route, pages in run.route_pages.items():
        late, early = _steady(pages), _steady(small_run.route_pages.get(route) or [])
        ratio = late / early if early else 1.0
        growth[route] = {
            "queries_per_call": round(late, 2),
            "growth_to_100m": round(ratio ** (math.log(1000) / math.log(large / small)), 2),
        }
    results["route_pages"] = growth
    results["route_pages_growth"] = max(route["growth_to_100m"] for route in growth.values())
    results["calls"] = dict(run.client.calls)
    return results


def report(results: dict) -> str:
    lines = [
        "Scale (real use cases on a recording fake, scaled by volume, peak hour 3x; limits 1,000 WCU / 3,000 RCU)",
        f"{'notifications/day':>18}  {'hottest WCU/s':>13}  {'key':<30}  {'hottest RCU/s':>13}  key",
    ]
    for volume, row in results["by_daily_volume"].items():
        lines.append(
            f"{int(volume):>18,}  {row['hottest_partition_wcu_per_s']:>13.1f}  {row['hottest_partition_wcu_key']:<30}"
            f"  {row['hottest_partition_rcu_per_s']:>13.1f}  {row['hottest_partition_rcu_key']}"
        )
    lines.append(
        f"write units per notification (all-in): {results['write_units_per_notification']}; "
        f"read units: {results['read_units_per_notification']}; "
        f"bytes kept (no TTL): {results['stored_bytes_per_notification']}; "
        f"route Query pages growth 100k -> 100M/day: {results['route_pages_growth']}"
    )
    uses = ", ".join(f"{use} {units}" for use, units in results["write_units_per_notification_by_use"].items())
    lines.append(
        f"write units per notification by use: {uses} "
        f"(send + feedback: {results['write_units_per_notification_send_and_feedback']})"
    )
    top = list(results["write_units_per_notification_by_key"].items())[:8]
    lines.append("largest writers per notification: " + ", ".join(f"{k} {v}" for k, v in top))
    return "\n".join(lines) + "\n"
