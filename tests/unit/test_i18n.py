"""Language negotiation and the gettext catalogues: every language answers, and no message goes untranslated."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir, extract_from_file
from babel.messages.pofile import read_po

from chalicelib import i18n
from chalicelib.domain import classification

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TRANSLATED_LOCALES = [locale for locale in i18n.SUPPORTED_LOCALES if locale != i18n.DEFAULT_LOCALE]
# The same keywords as scripts/update_catalogs.sh (pybabel extract -k _ -k gettext -k N_ -k ngettext:1,2).
EXTRACTION_KEYWORDS = {"_": None, "gettext": None, "N_": None, "ngettext": (1, 2)}
QUOTED = re.compile(r"'[^'\s]+'")  # a quoted API name in a message: 'email', '_'


@pytest.mark.parametrize(
    ("header", "explicit", "expected"),
    [
        ("de-DE,de;q=0.9,en;q=0.8", None, "de"),
        ("en;q=0.5,fr;q=0.9", None, "fr"),
        ("ja,es;q=0.4,it;q=0.6", None, "it"),
        ("fr;q=0,es", None, "es"),
        ("pt-BR,ja;q=0.8", None, "en"),
        ("*", None, "en"),
        ("", None, "en"),
        (None, None, "en"),
        ("it;q=abc,de;q=0.1", None, "de"),
        ("en", "es_MX", "es"),
        ("fr", "pt", "fr"),
    ],
)
def test_negotiate_locale(header, explicit, expected):
    assert i18n.negotiate_locale(header, explicit) == expected


EXPECTED_TEXTS = {
    "en": ("Delivery failed", "Delivery failed to some recipients", "The recipient's mailbox is full"),
    "it": (
        "Recapito non riuscito",
        "Recapito non riuscito per alcuni destinatari",
        "La casella di posta del destinatario è piena",
    ),
    "de": (
        "Zustellung fehlgeschlagen",
        "Zustellung an einige Empfänger fehlgeschlagen",
        "Das Postfach des Empfängers ist voll",
    ),
    "es": (
        "No se pudo entregar",
        "No se pudo entregar a algunos destinatarios",
        "El buzón del destinatario está lleno",
    ),
    "fr": (
        "Échec de la remise",
        "Échec de la remise à certains destinataires",
        "La boîte aux lettres du destinataire est pleine",
    ),
}


@pytest.mark.parametrize("locale", sorted(EXPECTED_TEXTS))
def test_each_language_has_its_own_words(locale):
    tr = i18n.translations(locale)
    all_failed, some_failed, mailbox_full = EXPECTED_TEXTS[locale]

    assert tr.gettext("Delivery failed") == all_failed
    assert tr.gettext("Delivery failed to some recipients") == some_failed
    assert classification.failure_reason(classification.MAILBOX_FULL, tr) == mailbox_full


@pytest.mark.parametrize("locale", TRANSLATED_LOCALES)
def test_reasons_and_remedies_are_translated(locale):
    english, translated = i18n.translations("en"), i18n.translations(locale)
    for category in classification.CATEGORIES:
        assert classification.failure_reason(category, translated) != classification.failure_reason(category, english)
        assert classification.failure_remedy(category, translated) != classification.failure_remedy(category, english)


@pytest.mark.parametrize("locale", TRANSLATED_LOCALES)
def test_placeholders_survive_translation(locale):
    tr = i18n.translations(locale)

    assert "{reason}" in tr.gettext("{reason} ({code})") and "{code}" in tr.gettext("{reason} ({code})")
    assert "{triggers}" in tr.gettext("Triggers: {triggers}")


def test_unsupported_locale_falls_back_to_english():
    assert i18n.translations("pt").gettext("Delivery failed") == "Delivery failed"


def _messages_the_code_uses() -> dict[str, str]:
    """msgid -> the file that uses it, extracted the way scripts/update_catalogs.sh does."""
    found: dict[str, str] = {}
    chalicelib = extract_from_dir(str(PROJECT_ROOT / "chalicelib"), [("**.py", "python")], keywords=EXTRACTION_KEYWORDS)
    for filename, _lineno, message, _comments, _context in chalicelib:
        found.setdefault(_msgid(message), f"chalicelib/{filename}")
    app = extract_from_file("python", str(PROJECT_ROOT / "app.py"), keywords=EXTRACTION_KEYWORDS)
    for _lineno, message, _comments, _context in app:
        found.setdefault(_msgid(message), "app.py")
    found.pop("", None)
    return found


def _msgid(message: str | tuple[str, ...]) -> str:
    # Plural keywords give tuples; the singular form is the msgid.
    return message[0] if isinstance(message, tuple) else message


def test_extraction_finds_the_messages_we_know_about():
    used = _messages_the_code_uses()

    assert "Delivery failed" in used
    assert "The recipient's mailbox does not exist" in used
    assert classification.failure_reason(classification.SUPPRESSED, i18n.translations("en")) in used


@pytest.mark.parametrize("locale", TRANSLATED_LOCALES)
def test_catalogue_translates_every_message_the_code_uses(locale):
    po_path = i18n.LOCALE_DIR / locale / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=locale)

    problems = []
    for msgid, source in sorted(_messages_the_code_uses().items()):
        message = catalog.get(msgid)
        if message is None:
            problems.append(f"missing: {msgid!r} ({source})")
        elif not message.string:
            problems.append(f"empty: {msgid!r} ({source})")
        elif message.fuzzy:
            problems.append(f"fuzzy: {msgid!r} ({source})")

    assert not problems, f"{po_path.relative_to(PROJECT_ROOT)} needs scripts/update_catalogs.sh and translation:\n" + (
        "\n".join(problems)
    )


@pytest.mark.parametrize("locale", TRANSLATED_LOCALES)
def test_every_translation_keeps_placeholders_and_quoted_api_names(locale):
    """{placeholders} and quoted API names ('email', '_') are parameters or API words: no translation drops them."""
    po_path = i18n.LOCALE_DIR / locale / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=locale)

    problems = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        msgid, msgstr = _msgid(message.id), _msgid(message.string)
        if set(re.findall(r"\{(\w*)\}", msgid)) != set(re.findall(r"\{(\w*)\}", msgstr)):
            problems.append(f"placeholders differ: {msgid!r} -> {msgstr!r}")
        problems += [f"{name} dropped: {msgid!r} -> {msgstr!r}" for name in QUOTED.findall(msgid) if name not in msgstr]

    assert not problems, "\n".join(problems)
