"""The SMTP code catalogue: every registry code answers, malformed text is refused, answers are localized."""

from __future__ import annotations

import gettext

import pytest

from chalicelib import i18n
from chalicelib.domain import classification, smtp_codes
from chalicelib.domain.smtp_codes import UnknownCodeError, describe, lookup, parse_code

# subject.detail of every enhanced status code in RFC 3463 and the IANA registry (RFC 3886, 4468, 4954, 5248,
# 6531, 6710, 7293, 7372, 7505, 8689), typed from bounce-classification.md rather than from the module.
REGISTRY_DETAILS = (
    ["0.0"]
    + [f"1.{detail}" for detail in range(11)]
    + [f"2.{detail}" for detail in range(5)]
    + [f"3.{detail}" for detail in range(7)]
    + [f"4.{detail}" for detail in range(8)]
    + [f"5.{detail}" for detail in range(7)]
    + [f"6.{detail}" for detail in range(11)]
    + [f"7.{detail}" for detail in range(31)]
)
REGISTRY_CODES = [f"{klass}.{detail}" for detail in REGISTRY_DETAILS for klass in ("4", "5")]

BASIC_CODES = ["421", "450", "451", "452", "500", "501", "502", "503", "504", "530", "535", "541", "550", "551"]
BASIC_CODES += ["552", "553", "554", "571"]

ENGLISH = gettext.NullTranslations()


@pytest.mark.parametrize("code", REGISTRY_CODES)
def test_every_registry_enhanced_code_answers(code):
    entry = lookup(code)

    assert entry is not None
    assert entry.kind == smtp_codes.ENHANCED
    assert entry.permanent is code.startswith("5")
    assert entry.category in classification.CATEGORIES
    assert entry.summary and entry.remedy


@pytest.mark.parametrize("code", BASIC_CODES)
def test_basic_codes_answer(code):
    entry = lookup(code)

    assert entry is not None
    assert (entry.kind, entry.permanent) == (smtp_codes.BASIC, code.startswith("5"))


@pytest.mark.parametrize("text", ["abc", "6.1.1", "5.1", "55", "5500", "650", "5.1.1.1", "5.1234.1", "", "5 .1.1"])
def test_malformed_codes_raise_value_error(text):
    with pytest.raises(ValueError):
        parse_code(text)
    with pytest.raises(ValueError):
        lookup(text)
    with pytest.raises(ValueError):
        describe(text, ENGLISH)


@pytest.mark.parametrize(("text", "normalised"), [("550", "550"), (" 5.1.1 ", "5.1.1"), ("5.7.606", "5.7.606")])
def test_parse_code_normalises(text, normalised):
    assert parse_code(text) == normalised


def test_leading_zeros_reach_the_catalogue():
    assert lookup("5.01.001") == lookup("5.1.1")


@pytest.mark.parametrize("code", ["5.9.9", "5.7.606", "4.7.650", "299"])
def test_well_formed_but_uncatalogued_codes_are_none(code):
    assert lookup(code) is None
    with pytest.raises(UnknownCodeError):
        describe(code, ENGLISH)


def test_unknown_code_error_is_a_lookup_error():
    assert issubclass(UnknownCodeError, LookupError)


@pytest.mark.parametrize(
    ("code", "category"),
    [
        ("5.1.1", classification.INVALID_ADDRESS),
        ("4.1.1", classification.TEMPORARY),
        ("5.2.1", classification.INVALID_ADDRESS),
        ("5.2.2", classification.MAILBOX_FULL),
        ("4.2.2", classification.MAILBOX_FULL),
        ("5.2.3", classification.MESSAGE_TOO_LARGE),
        ("5.3.4", classification.MESSAGE_TOO_LARGE),
        ("5.7.1", classification.SPAM_OR_POLICY),
        ("5.7.26", classification.SPAM_OR_POLICY),
        ("4.4.7", classification.TEMPORARY),
        ("550", classification.INVALID_ADDRESS),
        ("552", classification.MAILBOX_FULL),
        ("421", classification.TEMPORARY),
    ],
)
def test_categories_follow_the_reference(code, category):
    assert lookup(code).category == category


def test_vendor_details_fall_back_to_their_subject():
    assert smtp_codes.category_of("5.7.606") == classification.SPAM_OR_POLICY
    assert smtp_codes.category_of("5.9.9") is None


def test_remedies_follow_the_help_desk_advice():
    assert lookup("5.1.1").remedy == classification.failure_remedy(classification.INVALID_ADDRESS, ENGLISH)
    assert lookup("5.2.2").remedy == classification.failure_remedy(classification.MAILBOX_FULL, ENGLISH)
    assert lookup("5.2.1").remedy.startswith("Contact the end-user another way")
    assert "public comment" in lookup("5.3.4").remedy
    assert "SPF" in lookup("5.7.1").remedy
    assert lookup("4.4.1").remedy == classification.failure_remedy(classification.TEMPORARY, ENGLISH)


def test_describe_in_english():
    assert describe("5.1.1", ENGLISH) == {
        "code": "5.1.1",
        "kind": "enhanced",
        "permanent": True,
        "category": "invalid_address",
        "summary": "The recipient's mailbox does not exist",
        "remedy": "Check the end-user's profile for a typo in the email address and correct it.",
    }


@pytest.mark.parametrize(
    ("locale", "summary_word"),
    [("it", "casella"), ("de", "Postfach"), ("es", "buzón"), ("fr", "boîte aux lettres")],
)
def test_describe_localizes(locale, summary_word):
    english = describe("4.2.2", ENGLISH)
    localized = describe("4.2.2", i18n.translations(locale))

    assert summary_word in localized["summary"]
    assert localized["remedy"] != english["remedy"]
    assert (localized["code"], localized["category"], localized["permanent"]) == ("4.2.2", "mailbox_full", False)


def test_catalogue_is_a_table_without_duplicates():
    codes = [entry.code for entry in smtp_codes.BASIC_CODES + smtp_codes.ENHANCED_CODES]

    assert len(codes) == len(set(codes)) == len(smtp_codes.CATALOGUE)
