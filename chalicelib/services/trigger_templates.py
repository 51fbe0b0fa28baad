"""Per-trigger email templates that admins edit: a subject and a body (the intro above the comment) per locale,
validated on save, and a preview that renders a trigger's email for a ticket and recipient without sending."""

from __future__ import annotations

from chalicelib import validation
from chalicelib.adapters import dynamo
from chalicelib.adapters.dynamo import DeskmailTable
from chalicelib.config import Settings
from chalicelib.domain import rendering, triggers
from chalicelib.domain.model import Comment, Recipient
from chalicelib.errors import InvalidInput, NotFound
from chalicelib.i18n import N_, SUPPORTED_LOCALES
from chalicelib.services import notification_emails
from chalicelib.services.workspace import Clock, get_ticket, get_user

MAX_SUBJECT = 500
MAX_BODY = 20000


def _trigger(trigger_id: str) -> triggers.Trigger:
    trigger = triggers.TRIGGERS_BY_ID.get(trigger_id)
    if trigger is None:
        raise NotFound(N_("There is no trigger {trigger_id}."), trigger_id=trigger_id)
    return trigger


def _locale(locale: str) -> str:
    if locale not in SUPPORTED_LOCALES:
        raise InvalidInput(
            N_("'{field}' must be one of {choices}."), field="locale", choices=", ".join(SUPPORTED_LOCALES)
        )
    return locale


def placeholders() -> list[str]:
    return [f"{name}.{attribute}" for name, attributes in rendering.PLACEHOLDERS.items() for attribute in attributes]


def list_templates(table: DeskmailTable, trigger_id: str) -> dict:
    """Every locale's templates for a trigger: the admin's where saved, else the catalogue's default."""
    trigger = _trigger(trigger_id)
    saved = table.get_trigger_templates(trigger.id)
    kind = notification_emails.intro_kind(trigger)
    templates = []
    for locale in SUPPORTED_LOCALES:
        default = rendering.default_templates(kind, locale)
        item = saved.get(locale)
        templates.append(
            {
                "locale": locale,
                "subject": item["subject"] if item else default.subject,
                "body": item["body"] if item else default.body,
                "customized": item is not None,
                "updated_at": item.get("updated_at") if item else None,
                "updated_by": item.get("updated_by") if item else None,
            }
        )
    return {"trigger_id": trigger.id, "placeholders": placeholders(), "templates": templates}


def _checked(body: dict, field: str, max_length: int) -> str:
    if field == "subject":  # it becomes the Subject header: one line, no encoded words (messages.py cleans it again)
        validation.header_text(body, field, max_length)
    source = validation.required_text(body, field, max_length)
    try:
        rendering.validate_template(source)
    except rendering.TemplateProblem as problem:
        # The problem (syntax or unknown placeholder) names its line; it is Jinja's English, like email-validator's.
        raise InvalidInput(
            N_("'{field}' is not a valid template: {problem}"), field=field, problem=str(problem)
        ) from None
    return source


def put_template(table: DeskmailTable, trigger_id: str, locale: str, body: object, by: str, now: Clock) -> dict:
    trigger = _trigger(trigger_id)
    locale = _locale(locale)
    body = validation.body_object(body)
    unknown = set(body) - {"subject", "body"}
    if unknown:
        raise InvalidInput(N_("These fields cannot be changed: {fields}."), fields=", ".join(sorted(unknown)))
    subject = _checked(body, "subject", MAX_SUBJECT)
    text = _checked(body, "body", MAX_BODY)
    stamp = now()
    table.put_trigger_template(dynamo.trigger_template_item(trigger.id, locale, subject, text, stamp, by))
    return {
        "locale": locale,
        "subject": subject,
        "body": text,
        "customized": True,
        "updated_at": stamp,
        "updated_by": by,
    }


def preview(table: DeskmailTable, settings: Settings, trigger_id: str, body: object) -> dict:
    """The trigger's email for a ticket's latest public comment, as `user_id` would read it; nothing is sent."""
    trigger = _trigger(trigger_id)
    body = validation.body_object(body)
    ticket, _ = get_ticket(table, validation.an_id(body.get("ticket_id"), "ticket_id"))
    user = get_user(table, validation.an_id(body.get("user_id"), "user_id"))
    recent = table.list_recent_public_comments(ticket.id, "~", rendering.HISTORY_LIMIT + 1)
    if recent:
        comment, history = recent[0], tuple(recent[1:])
    else:
        comment, history = Comment("", ticket.id, "", "", "", True, ticket.created_at), ()
    locale = rendering.locale_of(user.locale, settings.default_locale)
    composer = notification_emails.Composer(
        settings,
        ticket,
        comment,
        history,
        notification_emails.load_templates(table, [(trigger.id, locale)]),
    )
    header = "to" if user.id == ticket.requester_id or user.id == ticket.assignee_id else "cc"
    try:
        email = composer.render(trigger, [Recipient(user.id, user.name, user.email, header)], locale, strict=True)
    except rendering.TemplateProblem as problem:
        raise InvalidInput(
            N_("'{field}' is not a valid template: {problem}"), field=f"templates/{locale}", problem=str(problem)
        ) from None
    return {
        "trigger_id": trigger.id,
        "ticket_id": ticket.id,
        "user_id": user.id,
        "locale": email.locale,
        "subject": email.subject,
        "text": email.text,
        "html": email.html,
    }
