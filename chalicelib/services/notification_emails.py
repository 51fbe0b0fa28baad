"""What each recipient of a notification reads: the ticket's history, the trigger's templates in the recipient's
language, rendered by chalicelib.domain.rendering. Shared by the send path and the template preview."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from chalicelib.adapters import dynamo
from chalicelib.adapters.dynamo import DeskmailTable
from chalicelib.config import Settings, settings
from chalicelib.domain import rendering, threads, triggers
from chalicelib.domain.model import SENT, Comment, Notification, Recipient, Ticket, User
from chalicelib.services import rate_limits

TemplateKey = tuple[str, str]  # (trigger id, locale)


def intro_kind(trigger: triggers.Trigger) -> str:
    if trigger.event == triggers.TICKET_CREATED:
        return "ticket_created"
    if trigger.audience == "assignee":
        return "assignee"
    return rendering.COMMENT_INTRO


def reason(trigger: triggers.Trigger, ticket: Ticket, user_id: str) -> str:
    """Why this recipient gets the email, from the part they play in the ticket."""
    if trigger.event == "resend":
        return rendering.REASON_RESEND
    if trigger.audience == "assignee" and user_id == ticket.assignee_id:
        return rendering.REASON_ASSIGNEE
    if user_id == ticket.requester_id:
        return rendering.REASON_REQUESTER
    if user_id in ticket.cc_ids:
        return rendering.REASON_CC
    return rendering.REASON_ASSIGNEE if user_id == ticket.assignee_id else rendering.REASON_CC


def _view(comment: Comment) -> rendering.CommentView:
    return rendering.CommentView(comment.author_name, comment.body, comment.created_at, comment.public)


@dataclass(frozen=True)
class Composer:
    """One comment's notifications: the history and templates are read once, each recipient rendered from them."""

    settings: Settings
    ticket: Ticket
    comment: Comment
    history: tuple[Comment, ...]
    templates: dict[TemplateKey, rendering.TriggerTemplates]

    def locale(self, user: User | None) -> str:
        return rendering.locale_of(user.locale if user else None, self.settings.default_locale)

    def content(self, trigger: triggers.Trigger) -> rendering.NotificationContent:
        return rendering.NotificationContent(
            ticket_id=self.ticket.id,
            subject=self.ticket.subject,
            ticket_url=rendering.ticket_url(self.settings.ticket_url_template, self.ticket.id),
            comment=_view(self.comment),
            intro_kind=intro_kind(trigger),
            history=tuple(_view(previous) for previous in self.history),
        )

    def render(
        self,
        trigger: triggers.Trigger,
        recipients: list[Recipient],
        locale: str,
        strict: bool = False,
        downloads: tuple[rendering.Download, ...] = (),
    ) -> rendering.RenderedEmail:
        """One message for `recipients` (the first is greeted; the reason fits them all). `strict` (the preview)
        lets a template problem raise; sending falls back to the catalogue's default instead."""
        templates = self.templates.get((trigger.id, locale))
        content = self.content(trigger)
        reasons = {reason(trigger, self.ticket, recipient.user_id) for recipient in recipients}
        why = reasons.pop() if len(reasons) == 1 else rendering.REASON_PARTICIPANTS
        recipient = recipients[0]
        try:
            return rendering.render(content, recipient.name, locale, why, templates, downloads)
        except rendering.TemplateProblem:
            if strict:
                raise
            # Saved templates were validated; one that still fails (a value it did not expect) must not cost the
            # customer their email: the catalogue's default is always renderable.
            return rendering.render(content, recipient.name, locale, why, None, downloads)


def load_templates(table: DeskmailTable, pairs: Iterable[TemplateKey]) -> dict[TemplateKey, rendering.TriggerTemplates]:
    found = table.get_templates_for(sorted(set(pairs)))
    return {
        key: rendering.TriggerTemplates(subject=item.get("subject") or None, body=item.get("body") or None)
        for key, item in found.items()
    }


def composer(
    table: DeskmailTable,
    settings: Settings,
    ticket: Ticket,
    comment: Comment,
    template_keys: Iterable[TemplateKey],
) -> Composer:
    """Reads what the emails quote: the latest public comments before this one (one Query), and the templates."""
    history = table.list_recent_public_comments(ticket.id, comment.id, rendering.HISTORY_LIMIT)
    return Composer(settings, ticket, comment, tuple(history), load_templates(table, template_keys))


def threaded(table: DeskmailTable, notification: Notification) -> tuple[Notification, list[dict]]:
    """Once SES took a notification: the Message-ID it gave it (on the notification), and the threads of the
    recipients it reached (their chains, and this send for the loop brake) and of the ticket, extended with it (one
    BatchGetItem; written with the record)."""
    if not notification.message_id:
        return notification, []
    header = threads.ses_message_id_header(notification.message_id, settings().region)
    notification = replace(notification, message_id_header=header)
    reached = {r.user_id: r.email for r in notification.recipients if r.status == SENT}
    chains = table.get_thread_chains(notification.ticket_id, [*reached, threads.TICKET_CHAIN])
    # The ticket's chain is its first notification, written once (one write a message fewer): it starts every
    # recipient's References, and threads a message none of whose recipients had one before.
    keys = [*reached, *([] if chains.get(threads.TICKET_CHAIN) else [threads.TICKET_CHAIN])]
    since = rate_limits.brake_window_start(notification.sent_at)
    unthreaded = threads.RecipientThread()
    return notification, [
        dynamo.thread_item(
            notification.ticket_id,
            key,
            chains.get(key, unthreaded).after(header, reached.get(key), notification.sent_at, since),
            notification.sent_at,
        )
        for key in keys
    ]
