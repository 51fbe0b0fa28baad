"""The SES account-level suppression list as agents use it: is an address on it, and take it off."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote

from chalicelib.adapters import dynamo
from chalicelib.adapters.dynamo import DeskmailTable
from chalicelib.adapters.ses_account import SuppressionList
from chalicelib.addresses import validated_address
from chalicelib.errors import NotFound
from chalicelib.i18n import N_
from chalicelib.ids import new_id
from chalicelib.services.events import EVENT_SUPPRESSION_REMOVED


def _address(raw: str) -> str:
    # API Gateway may hand the path parameter over still percent-encoded (%40 for "@").
    # Lower-cased: SES compares addresses without case, and so does the users-by-address index.
    return validated_address(unquote(raw or "")).lower()


def lookup(suppressions: SuppressionList, raw_email: str) -> dict:
    email = _address(raw_email)
    entry = suppressions.get(email)
    return {
        "email": email,
        "suppressed": entry is not None,
        "reason": entry.reason if entry else None,
        "last_update": entry.last_update if entry else None,
    }


def remove(
    suppressions: SuppressionList,
    table: DeskmailTable,
    raw_email: str,
    agent_id: str | None,
    now: Callable[[], str],
    agent_name: str | None = None,
) -> dict:
    """Takes the address off the list and says so in the events log of every ticket its users take part in."""
    email = _address(raw_email)
    entry = suppressions.get(email)
    if not suppressions.delete(email):
        raise NotFound(N_("{email} is not on the suppression list."), email=email)
    stamp = now()
    users = table.find_users_by_email(email)
    tickets: dict[str, list[str]] = {}
    for user in users:
        for ticket_id in table.list_user_ticket_ids(user.id):
            tickets.setdefault(ticket_id, []).append(user.id)
    data = {
        "email": email,
        "previous_reason": entry.reason if entry else None,
        "by": agent_id or "agent",
        "agent_id": agent_id,
        "agent_name": agent_name,
    }
    table.write_items(
        dynamo.event_item(ticket_id, new_id(), stamp, EVENT_SUPPRESSION_REMOVED, {**data, "user_ids": user_ids})
        for ticket_id, user_ids in sorted(tickets.items())
    )
    return {
        "email": email,
        "suppressed": False,
        "reason": None,
        "last_update": stamp,
        "removed": True,
        "tickets": sorted(tickets),
    }
