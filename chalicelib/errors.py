"""Errors a use case raises for the caller to show; app.py maps them to 4xx responses in the agent's language.

An error carries a message id (English, marked with chalicelib.i18n.N_ so that Babel extracts it) and the
parameters to format it with: str(error) is the English sentence (logs, tests), error.localized(tr) the agent's.
Parameters are what must not be translated: field names, ids, codes, email addresses, names.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import gettext


class DeskmailError(Exception):
    """Base: the message is written for a person."""

    def __init__(self, message: str, /, **params: object) -> None:
        self.message = message
        self.params = params
        super().__init__(self._format(message))

    def _format(self, text: str) -> str:
        return text.format_map(self.params)

    def localized(self, tr: gettext.NullTranslations) -> str:
        """The message in tr's language, with the same parameters; English if the translation cannot be formatted."""
        translated = tr.gettext(self.message)
        try:
            return self._format(translated)
        except (KeyError, IndexError, ValueError):  # a broken placeholder in a catalogue must not turn a 4xx into a 500
            return str(self)

    def __reduce__(self):
        # Exceptions pickle as cls(*args); args holds the formatted text, so rebuild from the msgid and parameters.
        return partial(type(self), self.message, **self.params), ()


class NotFound(DeskmailError):
    pass


class InvalidInput(DeskmailError):
    pass


class Conflict(DeskmailError):
    pass


class Unprocessable(DeskmailError):
    """Well-formed but unusable in this state (an Idempotency-Key reused with another request): a 422."""


class Forbidden(DeskmailError):
    """Signed in, but not allowed: the route needs another role (param `role`), or the body names someone else."""


class TooLarge(DeskmailError):
    """Over a configured size limit (param `limit`: its setting's name, `max_bytes`): a 413."""


class Gone(DeskmailError):
    """It existed and has expired (an emailed download link): a 410."""
