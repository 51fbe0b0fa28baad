"""Email address checks for user profiles, on email-validator (syntax only: no DNS on the request path)."""

from __future__ import annotations

import os

import email_validator

from chalicelib.errors import InvalidInput


def _allow_reserved_domains() -> None:
    # The local stack and tests mail "someone@nowhere.invalid" on purpose; production keeps the library's list.
    allowed = {
        name.strip() for name in os.environ.get("DESKMAIL_ALLOW_RESERVED_DOMAINS", "").split(",") if name.strip()
    }
    email_validator.SPECIAL_USE_DOMAIN_NAMES[:] = [
        name for name in email_validator.SPECIAL_USE_DOMAIN_NAMES if name not in allowed
    ]


_allow_reserved_domains()


def validated_address(address: object, field: str = "email") -> str:
    """The normalized address (domain lower-cased), or InvalidInput saying what is wrong with it."""
    if not isinstance(address, str) or not address.strip():
        raise InvalidInput(f"'{field}' must be an email address.")
    try:
        result = email_validator.validate_email(address.strip(), check_deliverability=False, allow_smtputf8=False)
    except email_validator.EmailNotValidError as error:
        raise InvalidInput(f"'{field}' is not a valid email address: {error}") from None
    return result.normalized
