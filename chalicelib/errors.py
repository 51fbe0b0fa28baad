"""Errors a use case raises for the caller to show; app.py maps them to 4xx responses."""


class DeskmailError(Exception):
    """Base: the message is written for a person."""


class NotFound(DeskmailError):
    pass


class InvalidInput(DeskmailError):
    pass


class Conflict(DeskmailError):
    pass
