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
    except email_validator.EmailNotValidError as error:
        # email-validator's explanation is English (the library's own words) inside the agent's sentence.
        raise InvalidInput(
            N_("'{field}' is not a valid email address: {error}"), field=field, error=str(error)
        ) from None
    return result.normalized
