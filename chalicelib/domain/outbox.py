"""The notification outbox: each email is recorded before SES is called, so a crash in between is recoverable.

States of one outbox entry (item TICKET#{ticket} / OUTBOX#{notification}):

    pending ──claim (attempts 0→1)──► sending ──SES took it──► sent
                                         │  └──SES refused──► failed
                                         │  └──SES took it, the record write failed──► accepted ──► sent
                                         └──stale (the sender died: SES may or may not have sent it)──► failed

Every move is a conditional update on (state, attempts), so of two sweepers only one acts. The SES call is the
one step that cannot be repeated safely (SES has no idempotency key): it happens only after winning the claim
from `pending`, never from `sending`. What the sweeper does with an entry older than its grace period:
`pending` → claim and send (or, for an entry put ahead of its comment's transaction that never landed, drop it
unsent: nothing of that comment exists); `sending` → record it failed (recipients `rejected`, category `unknown`,
the events log says why; the agent can resend); `accepted` → write the notification's records with the SES message id.
Remaining window, stated plainly: SES took the message and then *no* DynamoDB write succeeded before the process
ended (neither the record nor the one-attribute `accepted` update). The email went out; the sweeper records it as
failed ("cannot tell whether SES sent it"), and its feedback finds no message id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.domain.model import Notification

if TYPE_CHECKING:  # the feedback function imports the adapter that imports this: no email package at its cold start
    from chalicelib.domain.messages import OutgoingEmail

PENDING = "pending"
SENDING = "sending"
ACCEPTED = "accepted"
SENT = "sent"
FAILED = "failed"
OPEN_STATES = (PENDING, SENDING, ACCEPTED)
DONE_STATES = (SENT, FAILED)

# Longer than the API function's timeout (an entry this old has no live sender) and short enough for a customer.
GRACE_SECONDS = 5 * 60
SEND_INTERRUPTED = "SendInterrupted"


@dataclass(frozen=True)
class OutboxEntry:
    """One recorded notification and what is needed to send it; `email` is None once it is done."""

    notification: Notification  # recipients as screened before sending; message_id once SES took it
    email: OutgoingEmail | None
    subject: str  # the ticket's subject (the MSG# item keeps it for feedback)
    state: str
    attempts: int
    changed_at: str  # when it entered this state (the sweeper's clock)
    acting: dict | None = None  # the agent who sent it (a resend), named in its event
    # False: the entry was put ahead of its comment's transaction (one write unit instead of two), and that
    # transaction never landed (the process died in between): there is nothing to notify about.
    committed: bool = True


def sweep_action(entry: OutboxEntry) -> str:
    """What a sweeper does with an entry past its grace period: send, give_up, record, or drop (never committed)."""
    if not entry.committed:
        return "drop"
    if entry.state == PENDING and entry.attempts == 0 and entry.email is not None:
        return "send"
    if entry.state == ACCEPTED and entry.notification.message_id:
        return "record"
    return "give_up"
