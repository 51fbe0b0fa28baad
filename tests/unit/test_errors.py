"""Domain errors: English for str() (logs), the agent's language for localized(), parameters never translated."""

from __future__ import annotations

import gettext
import pickle

import pytest

from chalicelib import i18n
from chalicelib.errors import Conflict, InvalidInput, NotFound
from chalicelib.i18n import N_


def test_str_is_the_english_sentence_and_localized_translates_the_message_id():
    error = InvalidInput(N_("'{field}' is required and must be a non-empty string."), field="name")

    assert str(error) == "'name' is required and must be a non-empty string."
    assert error.localized(i18n.translations("en")) == str(error)
    assert error.localized(i18n.translations("it")) == "'name' è obbligatorio e deve essere una stringa non vuota."
    assert error.localized(i18n.translations("de")).startswith("'name' ist erforderlich")


@pytest.mark.parametrize("locale", [locale for locale in i18n.SUPPORTED_LOCALES if locale != i18n.DEFAULT_LOCALE])
def test_parameters_are_not_translated(locale):
    error = NotFound(N_("There is no comment {comment_id} on ticket {ticket_id}."), comment_id="c1", ticket_id="t2")

    localized = error.localized(i18n.translations(locale))
    assert localized != str(error) and "c1" in localized and "t2" in localized


def test_braces_in_a_parameter_value_are_kept_as_they_are():
    error = InvalidInput(
        N_("'{code}' is not an SMTP code: use a reply code like {reply} or a status like {status}."),
        code="{x}",
        reply="550",
        status="5.1.1",
    )

    assert str(error).startswith("'{x}' is not an SMTP code")
    assert error.localized(i18n.translations("fr")).startswith("'{x}' n'est pas un code SMTP")


class _BrokenCatalogue(gettext.NullTranslations):
    def gettext(self, message):
        return "{nonsense} broken"


def test_a_translation_that_cannot_be_formatted_falls_back_to_english():
    error = Conflict(N_("{email} is not on the suppression list."), email="rita@example.com")

    assert error.localized(_BrokenCatalogue()) == "rita@example.com is not on the suppression list."


def test_an_unknown_message_id_stays_english():
    assert (
        NotFound("Not a catalogued message {x}.", x=1).localized(i18n.translations("es"))
        == "Not a catalogued message 1."
    )


def test_errors_survive_pickling_with_their_message_id_and_parameters():
    error = NotFound(N_("There is no ticket {ticket_id}."), ticket_id="{odd}")

    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is NotFound and str(copy) == "There is no ticket {odd}."
    assert copy.localized(i18n.translations("it")) == "Il ticket {odd} non esiste."
