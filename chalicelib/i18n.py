"""Picks the agent's language and hands out gettext translations for it."""

from __future__ import annotations

import gettext
from functools import cache
from pathlib import Path

SUPPORTED_LOCALES = ("en", "it", "de", "es", "fr")
DEFAULT_LOCALE = "en"
DOMAIN = "deskmail"
LOCALE_DIR = Path(__file__).parent / "locales"


def negotiate_locale(accept_language: str | None, explicit: str | None = None) -> str:
    """The best supported locale for an explicit choice or an Accept-Language header (q-values honoured)."""
    if explicit:
        primary = explicit.strip().replace("_", "-").split("-")[0].lower()
        if primary in SUPPORTED_LOCALES:
            return primary
    if not accept_language:
        return DEFAULT_LOCALE
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        fields = part.strip().split(";")
        tag = fields[0].strip().lower()
        if not tag:
            continue
        quality = 1.0
        for param in fields[1:]:
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        ranked.append((-quality, position, tag.split("-")[0]))
    for _, _, primary in sorted(ranked):
        if primary in SUPPORTED_LOCALES:
            return primary
        if primary == "*":
            return DEFAULT_LOCALE
    return DEFAULT_LOCALE


@cache
def translations(locale: str) -> gettext.NullTranslations:
    """Compiled catalogue for the locale; English (the msgids) when there is none."""
    if locale == DEFAULT_LOCALE or locale not in SUPPORTED_LOCALES:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, localedir=str(LOCALE_DIR), languages=[locale], fallback=True)


def _(message: str) -> str:
    # Marks msgids for Babel's extractor without translating: the caller translates with an agent's catalogue.
    return message


def N_(message: str) -> str:
    """Marks an error's message id (chalicelib.errors) for Babel's extractor; app.py translates it for the agent."""
    return message


# What the service layer and app.py show agents (delivery summaries, ticket events). Marked here as well so
# that the catalogues keep these messages wherever the code that uses them lives.
AGENT_MESSAGES = (
    _("Delivery failed"),
    _("Delivery failed to some recipients"),
    _("{reason} ({code})"),
    _("Ticket created"),
    _("Comment added"),
    _("Email notification sent"),
    _("Email delivery failure"),
    _("Tag added"),
    _("Tag removed"),
    _("Email notification not sent"),
    _("Spam complaint"),
    _("Triggers: {triggers}"),
)
