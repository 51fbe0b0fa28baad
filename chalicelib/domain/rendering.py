"""Renders a notification's subject, text part and HTML part in the recipient's language, from sandboxed templates.

Everything a user wrote (ticket subjects, comment bodies, names) reaches the templates as data: Jinja2's
SandboxedEnvironment renders our layouts and the admins' per-trigger templates, and the HTML environment
autoescapes, so `<b>x</b>` in a comment arrives as text in both parts and is never interpreted.

Styles are written into the HTML layout's `style` attributes (see STYLES) instead of running css-inline on each
render: the layout is ours and fixed, its stylesheet is a handful of rules, and css-inline would add a 4.2 MB
native module (a per-architecture wheel in the Lambda package) and 20-80 ms of import on this machine for
output that never changes at run time. Admin templates are text (subject and intro), so they cannot bring CSS.
"""

from __future__ import annotations

import gettext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from jinja2 import FileSystemLoader, StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup, escape

from chalicelib.i18n import SUPPORTED_LOCALES, _, translations

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"
HISTORY_LIMIT = 3  # previous public comments quoted below the new one, newest first
# Each quoted comment is cut to this many characters: the ticket link has the rest, and a notification (text and
# HTML, kept whole in the outbox item until it is sent) stays far below DynamoDB's 400 KB per item.
HISTORY_EXCERPT = 1500

# Why the recipient gets the email, by the part they play in the ticket (see reason_for).
REASON_REQUESTER = "requester"
REASON_CC = "cc"
REASON_ASSIGNEE = "assignee"
REASON_RESEND = "resend"
REASON_PARTICIPANTS = "participants"  # one message to the requester and the CCs who read the same language

# The marker above which a reply's new text stands; inbound_mail cuts replies at any language's version of it.
REPLY_MARKER = _("##- Please type your reply above this line -##")

MONTHS = (
    _("January"),
    _("February"),
    _("March"),
    _("April"),
    _("May"),
    _("June"),
    _("July"),
    _("August"),
    _("September"),
    _("October"),
    _("November"),
    _("December"),
)
DATE_FORMAT = _("{month} {day}, {year} at {time} UTC")

REASONS = {
    REASON_REQUESTER: _("You are receiving this email because you opened ticket {reference}."),
    REASON_CC: _("You are receiving this email because you are copied on ticket {reference}."),
    REASON_ASSIGNEE: _("You are receiving this email because ticket {reference} is assigned to you."),
    REASON_RESEND: _("You are receiving this email because an agent sent this update of ticket {reference} again."),
    REASON_PARTICIPANTS: _("You are receiving this email because you opened ticket {reference} or are copied on it."),
}

COMMENT_INTRO = "comment_added"
# The default per-trigger templates, written as gettext messages with {placeholders} (what translators see) and
# turned into Jinja templates (what admins edit) by default_templates().
DEFAULT_SUBJECT = _("[Ticket {reference}] {subject}")
DEFAULT_INTROS = {
    "ticket_created": _(
        "Hello {name},\n\nYour request has been received and is being reviewed by our support staff. "
        "To add a comment, reply to this email."
    ),
    "comment_added": _("Hello {name},\n\n{author} replied to this request."),
    "assignee": _("Hello {name},\n\n{author} added a comment to a ticket assigned to you."),
}
LAYOUT_TEXTS = {
    "earlier": _("Earlier in this conversation"),
    "view_ticket": _("View ticket {reference}"),
    "internal_note": _("Internal note"),
}
# What a template may use: documented in docs/email-notifications.md ("Per-trigger templates"), enforced by
# validate_template().
PLACEHOLDERS = {
    "ticket": ("id", "reference", "subject", "url"),
    "comment": ("author", "body", "time", "public"),
    "recipient": ("name", "locale"),
}
SAMPLE_VALUES = {
    "ticket": {
        "id": "01jd2x7r9m8v3k4q5w6e7t8y9z",
        "reference": "7T8Y9Z",
        "subject": "Printer on fire",
        "url": "https://x",
    },
    "comment": {"author": "Ada Agent", "body": "Hello", "time": "December 2, 2026 at 09:15 UTC", "public": True},
    "recipient": {"name": "Rita Requester", "locale": "en"},
}
_JINJA_PLACEHOLDERS = {
    "reference": "{{ ticket.reference }}",
    "subject": "{{ ticket.subject }}",
    "name": "{{ recipient.name }}",
    "author": "{{ comment.author }}",
}

# The layout's stylesheet, inlined by hand (see the module docstring). Mail clients drop <style> blocks.
STYLES = {
    "body": "margin:0;padding:0;background:#f4f5f7;",
    "wrapper": "max-width:640px;margin:0 auto;padding:16px;font-family:Helvetica,Arial,sans-serif;"
    "font-size:15px;line-height:1.5;color:#1f2328;",
    "marker": "color:#8c959f;font-size:12px;margin:0 0 16px;",
    "card": "background:#ffffff;border:1px solid #d0d7de;border-radius:6px;padding:16px;margin:0 0 16px;",
    "intro": "margin:0 0 16px;",
    "meta": "color:#57606a;font-size:13px;margin:0 0 8px;",
    "author": "font-weight:bold;color:#1f2328;",
    "comment": "margin:0;white-space:normal;",
    "earlier": "color:#57606a;font-size:13px;font-weight:bold;margin:24px 0 8px;text-transform:uppercase;",
    "history": "border-left:3px solid #d0d7de;padding:0 0 0 12px;margin:0 0 16px;color:#57606a;",
    "button": "display:inline-block;background:#0969da;color:#ffffff;text-decoration:none;padding:8px 16px;"
    "border-radius:6px;font-weight:bold;",
    "footer": "color:#8c959f;font-size:12px;margin:24px 0 0;",
}


class TemplateProblem(ValueError):
    """An admin's template that cannot be used: what is wrong and on which line."""

    def __init__(self, message: str, line: int | None):
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class CommentView:
    author: str
    body: str
    created_at: str
    public: bool = True


@dataclass(frozen=True)
class TriggerTemplates:
    """One trigger's templates for one locale (Jinja source); None falls back to the catalogue's default."""

    subject: str | None = None
    body: str | None = None


@dataclass(frozen=True)
class NotificationContent:
    """What one notification tells, before it is put in a recipient's language."""

    ticket_id: str
    subject: str
    ticket_url: str
    comment: CommentView
    intro_kind: str  # a key of DEFAULT_INTROS
    history: tuple[CommentView, ...] = ()


@dataclass(frozen=True)
class RenderedEmail:
    locale: str
    subject: str
    text: str
    html: str
    extra: dict = field(default_factory=dict)


def ticket_reference(ticket_id: str) -> str:
    """The short reference customers see in subjects ("[Ticket 4TDV9V] ..."): the id's last six characters."""
    return ticket_id[-6:].upper()


def ticket_url(url_template: str, ticket_id: str) -> str:
    return url_template.replace("{ticket_id}", ticket_id).replace("{reference}", ticket_reference(ticket_id))


def locale_of(locale: str | None, default: str) -> str:
    """A supported primary language ("de" for "de-AT"), else the help desk's default."""
    primary = (locale or "").replace("_", "-").split("-")[0].lower()
    if primary in SUPPORTED_LOCALES:
        return primary
    fallback = default.replace("_", "-").split("-")[0].lower()
    return fallback if fallback in SUPPORTED_LOCALES else "en"


def format_time(iso: str, tr: gettext.NullTranslations) -> str:
    """'December 2, 2026 at 09:15 UTC' in the recipient's words; deskmail stores times in UTC."""
    try:
        moment = datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return iso
    return tr.gettext(DATE_FORMAT).format(
        month=tr.gettext(MONTHS[moment.month - 1]),
        day=moment.day,
        year=moment.year,
        time=moment.strftime("%H:%M"),
    )


def excerpt(text: str, limit: int = HISTORY_EXCERPT) -> str:
    """The text, or its first `limit` characters cut at a word and marked with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(None, 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip() + " …"


def _nl2br(text: object) -> Markup:
    """Escapes, then keeps the author's line breaks: plain text shown as HTML, never interpreted."""
    return Markup("<br>\n").join(escape(line) for line in str(text).split("\n"))


@cache
def _layouts() -> tuple[SandboxedEnvironment, SandboxedEnvironment]:
    loader = FileSystemLoader(str(TEMPLATE_DIR))
    html = SandboxedEnvironment(loader=loader, autoescape=True, undefined=StrictUndefined, trim_blocks=True)
    html.filters["nl2br"] = _nl2br
    text = SandboxedEnvironment(loader=loader, autoescape=False, undefined=StrictUndefined, trim_blocks=True)
    return html, text


@cache
def _fragments() -> SandboxedEnvironment:
    """Admins' subject and intro templates: sandboxed, text only (the layout escapes their output for HTML)."""
    return SandboxedEnvironment(autoescape=False, undefined=StrictUndefined, keep_trailing_newline=False)


def default_templates(trigger_kind: str, locale: str) -> TriggerTemplates:
    """The catalogue's subject and intro for a trigger, as the Jinja templates an admin would start from."""
    tr = translations(locale)
    intro = tr.gettext(DEFAULT_INTROS.get(trigger_kind) or DEFAULT_INTROS[COMMENT_INTRO])
    return TriggerTemplates(
        subject=_jinja(tr.gettext(DEFAULT_SUBJECT)),
        body=_jinja(intro),
    )


def _jinja(message: str) -> str:
    for name, placeholder in _JINJA_PLACEHOLDERS.items():
        message = message.replace("{" + name + "}", placeholder)
    return message


def validate_template(source: str) -> None:
    """Raises TemplateProblem for a syntax error or a placeholder that PLACEHOLDERS does not document."""
    environment = _fragments()
    try:
        tree = environment.parse(source)
    except TemplateSyntaxError as error:
        raise TemplateProblem(f"line {error.lineno}: {error.message}", error.lineno) from None
    try:
        undeclared = meta.find_undeclared_variables(tree)
    except TemplateSyntaxError as error:  # an unknown filter or test, found while compiling
        raise TemplateProblem(f"line {error.lineno}: {error.message}", error.lineno) from None
    for name in sorted(undeclared):
        if name not in PLACEHOLDERS:
            line = next((n.lineno for n in tree.find_all(nodes.Name) if n.name == name), None)
            raise TemplateProblem(f"line {line}: unknown placeholder '{name}'", line)
    for node in tree.find_all(nodes.Getattr):
        if isinstance(node.node, nodes.Name) and node.node.name in PLACEHOLDERS:
            if node.attr not in PLACEHOLDERS[node.node.name]:
                raise TemplateProblem(
                    f"line {node.lineno}: unknown placeholder '{node.node.name}.{node.attr}'", node.lineno
                )
    for getitem in tree.find_all(nodes.Getitem):
        if isinstance(getitem.node, nodes.Name) and getitem.node.name in PLACEHOLDERS:
            raise TemplateProblem(
                f"line {getitem.lineno}: write '{getitem.node.name}.name', not '{getitem.node.name}[...]'",
                getitem.lineno,
            )
    # Unknown filters or tests only show when compiled; type errors only when rendered: try it on sample values.
    _render_fragment(source, SAMPLE_VALUES)


def _render_fragment(source: str, values: dict) -> str:
    try:
        return _fragments().from_string(source).render(**values)
    except TemplateSyntaxError as error:
        raise TemplateProblem(f"line {error.lineno}: {error.message}", error.lineno) from None
    except Exception as error:  # noqa: BLE001 - an admin's template must never stop a notification: say why
        raise TemplateProblem(f"line {_error_line(error)}: {error}", _error_line(error)) from None


def _error_line(error: BaseException) -> int | None:
    """The template line a render error happened on (Jinja's compiled code maps back to '<template>' lines)."""
    trace = error.__traceback__
    line = None
    while trace is not None:
        if trace.tb_frame.f_code.co_filename == "<template>":
            line = trace.tb_lineno
        trace = trace.tb_next
    return line


@dataclass(frozen=True)
class Download:
    """A file the email links to instead of carrying it: name, size in bytes, URL, link expiry (ISO 8601)."""

    name: str
    size: int
    url: str
    expires_at: str


def _downloads(downloads: tuple[Download, ...], tr: gettext.NullTranslations, locale: str) -> dict:
    from chalicelib.domain.attachments import human_size

    if not downloads:
        return {"downloads": [], "downloads_heading": ""}
    until = format_time(min(download.expires_at for download in downloads), tr)
    heading = tr.ngettext(
        "This file is too large to attach; download it (the link works until {until}):",
        "These files are too large to attach; download them (the links work until {until}):",
        len(downloads),
    ).format(until=until)
    return {
        "downloads": [
            {"name": download.name, "size": human_size(download.size, locale), "url": download.url}
            for download in downloads
        ],
        "downloads_heading": heading,
    }


def render(
    content: NotificationContent,
    recipient_name: str,
    locale: str,
    reason: str,
    templates: TriggerTemplates | None = None,
    downloads: tuple[Download, ...] = (),
) -> RenderedEmail:
    """The notification in `locale`: subject, text part and HTML part (same content, same order); `downloads`:
    the comment's files that go as links (listed under the comment)."""
    tr = translations(locale)
    defaults = default_templates(content.intro_kind, locale)
    reference = ticket_reference(content.ticket_id)
    values = {
        "ticket": {
            "id": content.ticket_id,
            "reference": reference,
            "subject": content.subject,
            "url": content.ticket_url,
        },
        "comment": {
            "author": content.comment.author,
            "body": content.comment.body,
            "time": format_time(content.comment.created_at, tr),
            "public": content.comment.public,
        },
        "recipient": {"name": recipient_name, "locale": locale},
    }
    subject_source = (templates.subject if templates and templates.subject else None) or defaults.subject or ""
    intro_source = (templates.body if templates and templates.body else None) or defaults.body or ""
    subject = " ".join(_render_fragment(subject_source, values).split())  # one line, whatever the template did
    intro = _render_fragment(intro_source, values).strip()
    layout = {
        **values,
        "intro": intro,
        "marker": tr.gettext(REPLY_MARKER),
        "history": [
            {"author": c.author, "body": excerpt(c.body), "time": format_time(c.created_at, tr)}
            for c in content.history
        ],
        "texts": {key: tr.gettext(text).format(reference=reference) for key, text in LAYOUT_TEXTS.items()},
        "reason": tr.gettext(REASONS[reason]).format(reference=reference),
        "lang": locale,
        "styles": STYLES,
        **_downloads(downloads, tr, locale),
    }
    html_env, text_env = _layouts()
    return RenderedEmail(
        locale=locale,
        subject=subject,
        text=text_env.get_template("notification.txt").render(**layout).strip() + "\n",
        html=html_env.get_template("notification.html").render(**layout),
    )


def reply_markers() -> tuple[str, ...]:
    """The reply marker in every language, for cutting inbound replies."""
    return tuple(dict.fromkeys(translations(locale).gettext(REPLY_MARKER) for locale in SUPPORTED_LOCALES))
