"""An agent sends a comment's notification again, to chosen recipients, without writing a new comment."""

from __future__ import annotations

from collections.abc import Iterable

from chalicelib import validation
from chalicelib.adapters.dynamo import DeskmailTable
from chalicelib.adapters.ses import SesMailer
from chalicelib.config import Settings
from chalicelib.domain import attachments as attachment_rules
from chalicelib.domain import classification, delivery, triggers
from chalicelib.domain.model import AGENT, BOUNCED, Recipient, User
from chalicelib.errors import Conflict, InvalidInput, NotFound
from chalicelib.i18n import N_
from chalicelib.services import workspace

# Not one of the configurable triggers: it only names who sent the notification in deliveries and events.
RESEND_TRIGGER = triggers.Trigger(
    id="resend",
    title="Resend by agent",
    event="resend",
    audience="chosen",
    public_comments_only=False,
    skip_author=False,
    position=0,
)


def _still_hard_bounced(user: User, deliveries: list[delivery.RecipientDelivery]) -> delivery.RecipientDelivery | None:
    """The delivery that proved the user's current address wrong for this comment, if the address is unchanged."""
    current = (user.email or "").lower()
    for recipient in deliveries:
        failure = recipient.failure or {}
        if (
            recipient.user_id == user.id
            and recipient.status == BOUNCED
            and failure.get("category") == classification.INVALID_ADDRESS
            and failure.get("permanent")
            and (recipient.email or "").lower() == current
        ):
            return recipient
    return None


def resend(
    table: DeskmailTable,
    mailer: SesMailer,
    settings: Settings,
    ticket_id: str,
    comment_id: str,
    body: object,
    now: workspace.Clock,
    acting: dict | None = None,
    commit_updates: Iterable[dict] = (),
) -> dict:
    """acting: the agent who resends ({"id", "name"}), named in the notification's event."""
    body = validation.body_object(body)
    user_ids = validation.id_list(body, "user_ids")
    if not user_ids:
        raise InvalidInput(N_("'{field}' must name at least one recipient."), field="user_ids")
    # "links": the comment's files as download links, none inline (the fix for "message too large").
    mode = body.get("attachments", attachment_rules.AUTO)
    if mode not in attachment_rules.MODES:
        raise InvalidInput(
            N_("'{field}' must be one of {choices}."), field="attachments", choices=", ".join(attachment_rules.MODES)
        )
    ticket, _ = workspace.get_ticket(table, ticket_id)
    comment = table.get_comment(ticket.id, comment_id) if validation.ID_PATTERN.match(comment_id) else None
    if comment is None:
        raise NotFound(
            N_("There is no comment {comment_id} on ticket {ticket_id}."), comment_id=comment_id, ticket_id=ticket.id
        )
    users = table.get_users(user_ids)
    missing = [user_id for user_id in user_ids if user_id not in users]
    if missing:
        raise InvalidInput(N_("Unknown user(s): {user_ids}."), user_ids=", ".join(missing))
    participants = {ticket.requester_id, *ticket.cc_ids, *([ticket.assignee_id] if ticket.assignee_id else [])}
    outsiders = [user_id for user_id in user_ids if user_id not in participants]
    if outsiders:
        raise InvalidInput(
            N_("Not the requester, a CC or the assignee of this ticket: {user_ids}."), user_ids=", ".join(outsiders)
        )
    if not comment.public:
        end_users = [user_id for user_id in user_ids if users[user_id].role != AGENT]
        if end_users:
            raise InvalidInput(
                N_("The comment is private: it can only be resent to agents, not {user_ids}."),
                user_ids=", ".join(end_users),
            )
    deliveries = [
        recipient
        for notification, events in table.list_comment_notifications(ticket.id, comment.id)
        for recipient in delivery.recipient_deliveries(notification, events)
    ]
    for user_id in user_ids:
        user = users[user_id]
        if not user.email:
            raise Conflict(N_("{name} has no email address: add one to their profile, then resend."), name=user.name)
        if _still_hard_bounced(user, deliveries):
            raise Conflict(
                N_(
                    "{email} hard-bounced for this comment (the address does not exist) and {name}'s profile "
                    "still has it: correct the address first, then resend."
                ),
                email=user.email,
                name=user.name,
            )
    # One notification per recipient: each gets their own message, and nobody sees the others' addresses.
    evaluations = [
        triggers.TriggerEvaluation(
            RESEND_TRIGGER,
            True,
            None,
            (
                Recipient(
                    users[user_id].id, users[user_id].name, users[user_id].email, "to", locale=users[user_id].locale
                ),
            ),
        )
        for user_id in user_ids
    ]
    notifications = workspace.send_notifications(
        table, mailer, settings, ticket, comment, evaluations, now, acting, commit_updates, attachments_mode=mode
    )
    return {
        "ticket_id": ticket.id,
        "comment_id": comment.id,
        "notifications": [
            {
                "id": notification.id,
                "message_id": notification.message_id,
                "trigger": {"id": notification.trigger_id, "title": notification.trigger_title},
                "sent_at": notification.sent_at,
                "recipients": [
                    {
                        "user_id": recipient.user_id,
                        "email": recipient.email,
                        "status": recipient.status,
                        "category": (recipient.failure or {}).get("category"),
                    }
                    for recipient in notification.recipients
                ],
            }
            for notification in notifications
        ],
    }
