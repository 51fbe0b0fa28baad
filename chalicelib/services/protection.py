"""Protecting the sender's reputation and the agent's time: address deliverability, the recipient check,
the delivery-problems inbox and the reputation guard."""

from __future__ import annotations

import gettext
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from chalicelib import validation
from chalicelib.adapters import dynamo
from chalicelib.adapters.dynamo import DeskmailTable, PageTokenError
from chalicelib.config import Settings
from chalicelib.domain import classification, deliverability, reputation, triggers
from chalicelib.domain.model import NOT_SENT, Comment
from chalicelib.errors import InvalidInput, NotFound
from chalicelib.i18n import N_
from chalicelib.ids import format_timestamp, new_id
from chalicelib.observability import logger
from chalicelib.services import workspace
from chalicelib.services.views import failure_view, page_token_refused

Clock = Callable[[], str]
INBOX_PAGE = 25


# ---- deliverability per address ---------------------------------------------------------------------------------


def user_deliverability(table: DeskmailTable, settings: Settings, user_id: str, now: str) -> dict | None:
    user = workspace.get_user(table, user_id)
    if not user.email:
        return None
    return workspace.address_states(table, settings, {user.email.lower()}, now)[user.email.lower()].as_dict()


def reset_deliverability(
    table: DeskmailTable, user_id: str, agent_id: str, now: Clock, agent_name: str | None = None
) -> None:
    """An agent's decision that the address may be emailed again; everything SES reported before no longer counts."""
    user = workspace.get_user(table, user_id)
    if not user.email:
        raise InvalidInput(N_("This user has no email address to reset."))
    stamp = now()
    table.write_items(
        [
            dynamo.address_fact_item(
                user.email,
                deliverability.FACT_RESET,
                stamp,
                new_id(),
                None,
                {"reset_by": agent_id, "reset_by_name": agent_name},
            )
        ]
    )
    logger.info("deliverability reset by an agent", extra={"user_id": user_id, "agent_id": agent_id})


# ---- warn before sending ------------------------------------------------------------------------------------------


def recipient_check(
    table: DeskmailTable, settings: Settings, ticket_id: str, body: object, now: str, tr: gettext.NullTranslations
) -> dict:
    """Who a comment would email and who would not get it, and why: the same rules a real send applies."""
    body = validation.body_object(body)
    comment = validation.body_object(body.get("comment"))
    author_id = validation.an_id(comment.get("author_id"), "author_id")
    public = validation.required_bool(comment, "public")
    ticket, _ = workspace.get_ticket(table, ticket_id)
    user_ids = [ticket.requester_id, *ticket.cc_ids, *([ticket.assignee_id] if ticket.assignee_id else []), author_id]
    users = workspace.known_users(table, list(dict.fromkeys(user_ids)))
    draft = Comment("draft", ticket.id, author_id, users[author_id].name, "", public, now)
    configured = workspace.list_triggers(table)
    actual = triggers.evaluate(configured, triggers.COMMENT_ADDED, ticket, draft, users)
    # The same evaluation with every trigger on tells who an inactive trigger would have reached.
    everyone_on = tuple(replace(t, active=True) for t in configured)
    potential = triggers.evaluate(everyone_on, triggers.COMMENT_ADDED, ticket, draft, users)
    states = workspace.address_states(table, settings, workspace.fired_addresses(actual), now)
    rows: dict[str, dict] = {}
    for evaluation in actual:
        for recipient in evaluation.recipients if evaluation.fired else ():
            screened = workspace.screen_recipient(recipient, states)
            failure = screened.failure if screened.status == NOT_SENT else None
            rows.setdefault(recipient.user_id, _check_row(recipient, evaluation.trigger, failure, tr))
    for evaluation in potential:
        for recipient in evaluation.recipients if evaluation.fired else ():
            if recipient.user_id not in rows:
                failure = {"category": classification.TRIGGER_INACTIVE}
                rows[recipient.user_id] = _check_row(recipient, evaluation.trigger, failure, tr)
    recipients = list(rows.values())
    return {
        "will_email": [row for row in recipients if row["will_email"]],
        "will_not_email": [row for row in recipients if not row["will_email"]],
        "triggers": [e.as_record() for e in actual],
    }


def _check_row(recipient, trigger, failure: dict | None, tr: gettext.NullTranslations) -> dict:
    return {
        "user_id": recipient.user_id,
        "name": recipient.name,
        "email": recipient.email,
        "trigger": {"id": trigger.id, "title": trigger.title},
        "will_email": failure is None,
        "reason": failure_view(failure, tr),
    }


# ---- the delivery-problems inbox -----------------------------------------------------------------------------------


def _row_id(item: dict) -> str:
    return f"{item['PK'].removeprefix('TICKET#')}|{item['SK']}"


def _ticket_and_user(item: dict) -> tuple[str, str]:
    recipient = (item.get("data") or {}).get("recipient") or {}
    return item["PK"].removeprefix("TICKET#"), str(recipient.get("user_id"))


def list_failures(table: DeskmailTable, query: dict, tr: gettext.NullTranslations) -> dict:
    category = query.get("category")
    if category is not None and category not in classification.CATEGORIES:
        raise InvalidInput(
            N_("'{field}' must be one of {choices}."), field="category", choices=", ".join(classification.CATEGORIES)
        )
    status = query.get("status", "all")
    if status not in ("open", "resolved", "all"):
        raise InvalidInput(N_("'{field}' must be open, resolved or all."), field="status")
    since, until = _time_bound(query, "since"), _time_bound(query, "until")
    try:
        items, next_page = table.list_failures(since, until, query.get("next_page"), INBOX_PAGE, category)
    except PageTokenError:
        raise page_token_refused() from None
    # A later delivery to the same user on the same ticket resolves the row: the open rows' markers, one read.
    deliveries = table.last_deliveries({_ticket_and_user(item) for item in items if not item.get("resolved_at")})
    rows = []
    for item in items:
        data = item.get("data") or {}
        recipient = data.get("recipient") or {}
        delivered = deliveries.get(_ticket_and_user(item))
        delivered_later = not item.get("resolved_at") and delivered is not None and delivered > item["occurred_at"]
        resolved = bool(item.get("resolved_at")) or delivered_later
        if (status == "open" and resolved) or (status == "resolved" and not resolved):
            continue
        failure = failure_view(data, tr) or {}
        rows.append(
            {
                "id": _row_id(item),
                "ticket_id": item["PK"].removeprefix("TICKET#"),
                "subject": data.get("subject"),
                "comment_id": data.get("comment_id"),
                "user_id": recipient.get("user_id"),
                "name": recipient.get("name"),
                "email": recipient.get("email"),
                "category": data.get("category"),
                "smtp_status": data.get("smtp_status"),
                "smtp_code": data.get("smtp_code"),
                "reason": failure.get("reason"),
                "remedy": failure.get("remedy"),
                "occurred_at": item["occurred_at"],
                "status": "resolved" if resolved else "open",
                "resolved_by": item.get("resolved_by") or ("delivery" if delivered_later else None),
                "resolved_by_name": item.get("resolved_by_name"),
            }
        )
    return {"failures": rows, "next_page": next_page}


def _time_bound(query: dict, name: str) -> str | None:
    value = query.get(name)
    if value is None:
        return None
    try:
        return format_timestamp(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except (ValueError, OverflowError):  # OverflowError: a valid time that leaves datetime's range in UTC
        raise InvalidInput(
            N_("'{field}' must be an ISO 8601 time such as {example}."), field=name, example="2026-11-23T08:00:00Z"
        ) from None


def resolve_failures(
    table: DeskmailTable, body: object, agent_id: str, now: Clock, agent_name: str | None = None
) -> dict:
    body = validation.body_object(body)
    ids = body.get("ids")
    if not isinstance(ids, list) or not ids or len(ids) > 100 or not all(isinstance(i, str) for i in ids):
        raise InvalidInput(
            N_("'{field}' must be a list of 1 to 100 failure ids from {source}."),
            field="ids",
            source="GET /delivery-failures",
        )
    stamp = now()
    resolved, unknown = [], []
    for row_id in dict.fromkeys(ids):
        ticket_id, _, sk = row_id.partition("|")
        if (
            validation.ID_PATTERN.match(ticket_id)
            and sk.startswith("EV#")
            and table.resolve_failure(ticket_id, sk, stamp, agent_id, agent_name)
        ):
            resolved.append(row_id)
        else:
            unknown.append(row_id)
    if unknown and not resolved:
        raise NotFound(N_("No delivery failure has the id(s): {ids}."), ids=", ".join(unknown))
    return {"resolved": resolved, "unknown": unknown}


# ---- the reputation guard ------------------------------------------------------------------------------------------


def reputation_windows(table: DeskmailTable, now: str) -> list[reputation.Window]:
    """Rolling 24-hour and 7-day counts of sends, hard bounces and complaints, from the hourly counters (one
    BatchGetItem whatever the volume). A window starts at the top of the hour it reaches back into, so it spans up
    to one hour more than its name: the counters have no finer grain."""
    moment = datetime.fromisoformat(now.replace("Z", "+00:00"))
    first_day = moment - timedelta(days=8)
    days = [(first_day + timedelta(days=offset)).strftime("%Y-%m-%d") for offset in range(9)]
    by_hour = table.reputation_by_hour(days)
    current = (now[:10], now[11:13])
    windows = []
    for name, span in (("24h", timedelta(hours=24)), ("7d", timedelta(days=7))):
        start = moment - span
        first = (start.strftime("%Y-%m-%d"), start.strftime("%H"))
        counts = {"sent": 0, "bounce": 0, "complaint": 0}
        for slot, slot_counts in by_hour.items():
            if first <= slot <= current:
                for kind in counts:
                    counts[kind] += slot_counts.get(kind, 0)
        windows.append(reputation.Window(name, counts["sent"], counts["bounce"], counts["complaint"]))
    return windows


def reputation_report(table: DeskmailTable, now: str) -> dict:
    windows = reputation_windows(table, now)
    return {
        "state": reputation.overall_state(windows),
        "windows": [window.as_dict() for window in windows],
        "thresholds": reputation.thresholds(),
        "computed_at": now,
    }


def publish_reputation_metrics(windows: list[reputation.Window]) -> None:
    """One metric per rate and window, so an alarm can fire before SES reviews the account."""
    from chalicelib.observability import MetricUnit, metrics

    for window in windows:
        metrics.add_metric(name=f"BounceRate{window.name}", unit=MetricUnit.Percent, value=window.bounce_rate * 100)
        metrics.add_metric(
            name=f"ComplaintRate{window.name}", unit=MetricUnit.Percent, value=window.complaint_rate * 100
        )
    metrics.flush_metrics()
