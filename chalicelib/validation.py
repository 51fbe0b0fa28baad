"""Checks request bodies field by field and says, in plain words, what is wrong."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from chalicelib.domain.messages import ENCODED_WORD, LINE_BREAKING
from chalicelib.errors import InvalidInput
from chalicelib.i18n import N_

ID_PATTERN = re.compile(r"^[0-9a-z]{26}$")
TAG_PATTERN = re.compile(r"^[a-z0-9_\-]{1,80}$")

# LINE_BREAKING (controls, NEL, U+2028/U+2029) and ENCODED_WORD (RFC 2047 "=?...?=") are defined beside the
# header builder, which cleans the same characters again: text that may reach a header is refused at input.
# A lone surrogate (JSON allows "\ud800") cannot be encoded as UTF-8: nothing downstream can store or send it.
SURROGATE = re.compile("[\ud800-\udfff]")


def body_object(body: Any) -> dict:
    if not isinstance(body, dict):
        raise InvalidInput(N_("The request body must be a JSON object."))
    return body


def required_text(body: dict, field: str, max_length: int = 1000) -> str:
    value = body.get(field)
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(N_("'{field}' is required and must be a non-empty string."), field=field)
    if len(value) > max_length:
        raise InvalidInput(N_("'{field}' must be at most {max_length} characters."), field=field, max_length=max_length)
    if "\x00" in value or SURROGATE.search(value):
        raise InvalidInput(N_("'{field}' contains a NUL character or invalid Unicode (a lone surrogate)."), field=field)
    return value.strip()


# What the identity provider (Cognito) accepts, checked before it is called: a refusal there costs a round trip
# and, for a shape it does not expect, an error that is no "wrong password". Usernames follow Cognito's pattern
# [\p{L}\p{M}\p{S}\p{N}\p{P}]+ (no spaces, controls or invisible format characters), at most 128 characters;
# passwords at most 256, with no controls or line breaks; sessions and refresh tokens are opaque single words.
CREDENTIAL_LIMITS = {"username": 128, "password": 256, "new_password": 256, "session": 2048, "refresh_token": 4096}
_WORD_CATEGORIES = frozenset("LMSNP")
_UNTYPABLE = frozenset({"Cc", "Cs", "Co", "Cn", "Zl", "Zp"})


def credential(body: dict, field: str) -> str:
    """A sign-in value (username, password, session, refresh token), refused here if Cognito could not use it."""
    value = body.get(field)
    max_length = CREDENTIAL_LIMITS[field]
    if not isinstance(value, str) or not value:
        raise InvalidInput(N_("'{field}' is required and must be a non-empty string."), field=field)
    if len(value) > max_length:
        raise InvalidInput(N_("'{field}' must be at most {max_length} characters."), field=field, max_length=max_length)
    if field.endswith("password"):
        if any(unicodedata.category(character) in _UNTYPABLE for character in value):
            raise InvalidInput(N_("'{field}' must not contain line breaks or control characters."), field=field)
    elif any(unicodedata.category(character)[0] not in _WORD_CATEGORIES for character in value):
        raise InvalidInput(
            N_("'{field}' must be one word: no spaces, line breaks, control or invisible characters."), field=field
        )
    return value


def storable_text(text: str) -> str:
    """Text from elsewhere (an inbound email) made acceptable to required_text: NUL and lone surrogates → U+FFFD."""
    return SURROGATE.sub("\ufffd", text.replace("\x00", "\ufffd"))


def header_text(body: dict, field: str, max_length: int = 1000) -> str:
    """A required one-line text that may end up in an email header: a name or a subject."""
    value = required_text(body, field, max_length)
    if LINE_BREAKING.search(body[field]):  # before strip(): a trailing CR/LF is refused too, not quietly dropped
        raise InvalidInput(
            N_("'{field}' must be a single line: no line breaks, control characters or Unicode line separators."),
            field=field,
        )
    if ENCODED_WORD.search(value):
        raise InvalidInput(N_("'{field}' must not contain an RFC 2047 encoded word (=?...?=)."), field=field)
    return value


def optional_text(body: dict, field: str, max_length: int = 1000) -> str | None:
    if body.get(field) is None:
        return None
    return required_text(body, field, max_length)


def required_bool(body: dict, field: str) -> bool:
    value = body.get(field)
    if not isinstance(value, bool):
        raise InvalidInput(N_("'{field}' is required and must be true or false."), field=field)
    return value


def an_id(value: Any, field: str) -> str:
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise InvalidInput(
            N_("'{field}' must be an id such as {example}."), field=field, example="01jd2x7r9m8v3k4q5w6e7t8y9z"
        )
    return value


def optional_id(body: dict, field: str) -> str | None:
    return None if body.get(field) is None else an_id(body[field], field)


def id_list(body: dict, field: str, max_items: int = 50) -> list[str]:
    value = body.get(field)
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > max_items:
        raise InvalidInput(N_("'{field}' must be a list of at most {max_items} ids."), field=field, max_items=max_items)
    return list(dict.fromkeys(an_id(item, field) for item in value))


def tag_list(body: dict, field: str = "tags") -> list[str]:
    value = body.get(field)
    if not isinstance(value, list) or len(value) > 50:
        raise InvalidInput(N_("'{field}' must be a list of at most {max_items} tags."), field=field, max_items=50)
    tags = []
    for item in value:
        if not isinstance(item, str) or not TAG_PATTERN.match(item.strip().lower()):
            raise InvalidInput(N_("Tags are 1-80 characters: lowercase letters, digits, '_' and '-'."))
        tags.append(item.strip().lower())
    return list(dict.fromkeys(tags))
