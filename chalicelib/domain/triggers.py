"""Notification triggers: which events email whom, evaluated without I/O."""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.domain.model import Comment, Recipient, Ticket, User

TICKET_CREATED = "ticket_created"
COMMENT_ADDED = "comment_added"


@dataclass(frozen=True)
class Trigger:
    id: str
    title: str
    event: str  # ticket_created | comment_added
    audience: str  # requester | requester_and_ccs | assignee
    public_comments_only: bool
    skip_author: bool
    position: int
    active: bool = True


DEFAULT_TRIGGERS = (
    Trigger(
        id="notify-requester-received",
        title="Notify requester of received request",
        event=TICKET_CREATED,
        audience="requester",
        public_comments_only=False,
        skip_author=False,
        position=1,
    ),
    Trigger(
        id="notify-requester-ccs-comment",
        title="Notify requester and CCs of comment update",
        event=COMMENT_ADDED,
        audience="requester_and_ccs",
        public_comments_only=True,
        skip_author=True,
        position=2,
    ),
    Trigger(
        id="notify-assignee-comment",
        title="Notify assignee of comment update",
        event=COMMENT_ADDED,
        audience="assignee",
        public_comments_only=False,
        skip_author=True,
        position=3,
    ),
)
TRIGGERS_BY_ID = {trigger.id: trigger for trigger in DEFAULT_TRIGGERS}

# Why a trigger did not email someone; recorded so diagnostics can answer "why no email?" later.
NOT_FIRED_INACTIVE = "inactive"
NOT_FIRED_OTHER_EVENT = "other_event"
NOT_FIRED_PRIVATE_COMMENT = "private_comment"
NOT_FIRED_NO_RECIPIENT = "no_recipient"
SKIPPED_AUTHOR = "author"


@dataclass(frozen=True)
class TriggerEvaluation:
    trigger: Trigger
    fired: bool
    reason: str | None
    recipients: tuple[Recipient, ...]
    skipped: tuple[dict, ...] = ()

    def as_record(self) -> dict:
        return {
            "trigger_id": self.trigger.id,
            "title": self.trigger.title,
            "fired": self.fired,
            "reason": self.reason,
            "recipient_ids": [recipient.user_id for recipient in self.recipients],
            "skipped": list(self.skipped),
        }


def with_states(states: dict[str, bool]) -> tuple[Trigger, ...]:
    """The default triggers with the active flags agents have set."""
    return tuple(
        Trigger(**{**trigger.__dict__, "active": states.get(trigger.id, trigger.active)})
        for trigger in DEFAULT_TRIGGERS
    )


def _audience(trigger: Trigger, ticket: Ticket) -> list[tuple[str, str]]:
    if trigger.audience == "requester":
        return [(ticket.requester_id, "to")]
    if trigger.audience == "requester_and_ccs":
        return [(ticket.requester_id, "to")] + [(cc, "cc") for cc in ticket.cc_ids if cc != ticket.requester_id]
    if trigger.audience == "assignee":
        return [(ticket.assignee_id, "to")] if ticket.assignee_id else []
    raise ValueError(f"unknown audience {trigger.audience}")


def evaluate(
    triggers: tuple[Trigger, ...], event: str, ticket: Ticket, comment: Comment, users: dict[str, User]
) -> list[TriggerEvaluation]:
    """Every trigger's verdict on one event, in trigger order; a fired trigger names its recipients."""
    evaluations = []
    for trigger in sorted(triggers, key=lambda t: t.position):
        if trigger.event != event:
            evaluations.append(TriggerEvaluation(trigger, False, NOT_FIRED_OTHER_EVENT, ()))
            continue
        if not trigger.active:
            evaluations.append(TriggerEvaluation(trigger, False, NOT_FIRED_INACTIVE, ()))
            continue
        if trigger.public_comments_only and not comment.public:
            evaluations.append(TriggerEvaluation(trigger, False, NOT_FIRED_PRIVATE_COMMENT, ()))
            continue
        recipients: list[Recipient] = []
        skipped: list[dict] = []
        seen: set[str] = set()
        for user_id, header in _audience(trigger, ticket):
            if user_id in seen or user_id not in users:
                continue
            seen.add(user_id)
            if trigger.skip_author and user_id == comment.author_id:
                skipped.append({"user_id": user_id, "reason": SKIPPED_AUTHOR})
                continue
            user = users[user_id]
            recipients.append(
                Recipient(user_id=user.id, name=user.name, email=user.email, header=header, locale=user.locale)
            )
        if not recipients:
            evaluations.append(TriggerEvaluation(trigger, False, NOT_FIRED_NO_RECIPIENT, (), tuple(skipped)))
            continue
        if not any(recipient.header == "to" for recipient in recipients):
            # The requester wrote the comment: the CCs still need a To line.
            recipients = [Recipient(**{**recipients[0].__dict__, "header": "to"})] + recipients[1:]
        evaluations.append(TriggerEvaluation(trigger, True, None, tuple(recipients), tuple(skipped)))
    return evaluations
