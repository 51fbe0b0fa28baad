"""Email address checks for user profiles, on email-validator (syntax only: no DNS on the request path)."""

from __future__ import annotations

import os
from functools import cache

from chalicelib.errors import InvalidInput
from chalicelib.i18n import N_


@cache
def _email_validator():
    """email_validator, imported on first use: the feedback handler's cold start never needs it (~15 ms)."""
    import email_validator

    # The local stack and tests mail "someone@nowhere.invalid" on purpose; production keeps the library's list.
    allowed = {
        name.strip() for name in os.environ.get("DESKMAIL_ALLOW_RESERVED_DOMAINS", "").split(",") if name.strip()
    }
    email_validator.SPECIAL_USE_DOMAIN_NAMES[:] = [
        name for name in email_validator.SPECIAL_USE_DOMAIN_NAMES if name not in allowed
    ]
    return email_validator


def validated_address(address: object, field: str = "email") -> str:
    """The normalized address (domain lower-cased), or InvalidInput saying what is wrong with it."""
    if not isinstance(address, str) or not address.strip():
        raise InvalidInput(N_("'{field}' must be an email address."), field=field)
    email_validator = _email_validator()
    try:
        result = email_validator.validate_email(address.strip(), check_deliverability=False, allow_smtputf8=False)
    except email_validator.EmailNotValidError:
        # Our own words, translated whole: email-validator's explanation is English, and would follow an agent's
        # Italian sentence in English.
        raise InvalidInput(_what_is_wrong(address.strip()), field=field) from None
    return result.normalized


MAX_ADDRESS_LENGTH = 254  # RFC 5321's limit on a forward path, less its angle brackets


def _what_is_wrong(address: str) -> str:
    """The message id saying what is wrong with an address email-validator refused, from the address itself."""
    local, at, domain = address.rpartition("@")
    if not at:
        return N_("'{field}' is not a valid email address: it has no @.")
    if not local:
        return N_("'{field}' is not a valid email address: there is nothing before the @.")
    if not domain:
        return N_("'{field}' is not a valid email address: there is nothing after the @.")
    if len(address) > MAX_ADDRESS_LENGTH or len(local) > 64:
        return N_("'{field}' is not a valid email address: it is too long.")
    if "@" in local or any(ch.isspace() for ch in address):
        return N_("'{field}' is not a valid email address: it has a space or a second @.")
    if "." not in domain or domain.startswith(".") or domain.endswith(".") or ".." in domain:
        return N_("'{field}' is not a valid email address: the part after the @ is not a domain such as example.com.")
    return N_("'{field}' is not a valid email address: write it as name@example.com, in plain letters and digits.")
