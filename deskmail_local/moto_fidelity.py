"""Makes moto's SES count recipients as SES does, for the local stack and the tests (both run moto in process).

moto 5.2.5's `send_raw_email` appends the To/Cc/Bcc it reads from the message to the Destination it was given,
then refuses more than 50 *entries*: a message deskmail sends to 26 people (Destination and headers both name
them) was refused as "Too many recipients", where SES takes up to 50 recipients. This counts each address once
against SES's 50 and leaves everything else (the destinations moto records, its other checks) as moto has it.

moto's TransactWriteItems deep-copies the table to roll back, with no lock: the local stack's threaded moto
server, writing for a feedback batch at the same moment, fails it with "dictionary changed size during
iteration" (a 500 DynamoDB never gives). DynamoDB requests are handled one at a time here, as isolated as
DynamoDB's own transactions.
"""

from __future__ import annotations

from email import message_from_string
from email.utils import getaddresses, parseaddr
from threading import RLock
from typing import Any

SES_RECIPIENT_LIMIT = 50
_applied: list[bool] = []


def apply() -> None:
    """Idempotent; call before moto handles a send."""
    if _applied:
        return
    from moto.ses import models
    from moto.ses.exceptions import MessageRejectedError

    original = models.SESBackend.send_raw_email

    def send_raw_email(self: Any, source: str, destinations: list[str], raw_data: str) -> Any:
        message = message_from_string(raw_data)
        headers = [message[name] for name in ("TO", "CC", "BCC") if name in message]
        unique = {parseaddr(entry)[1].lower() for entry in destinations if parseaddr(entry)[1]}
        unique |= {address.lower() for _, address in getaddresses(headers) if address}
        if len(unique) > SES_RECIPIENT_LIMIT:
            raise MessageRejectedError("Too many recipients.")
        return original(self, source, destinations, raw_data)

    # moto's own check then sees each recipient twice (Destination + headers): it may count to twice SES's limit.
    models.RECIPIENT_LIMIT = 2 * SES_RECIPIENT_LIMIT
    models.SESBackend.send_raw_email = send_raw_email  # type: ignore[method-assign]
    _serialize_dynamodb()
    _applied.append(True)


def _serialize_dynamodb() -> None:
    from moto.dynamodb.responses import DynamoHandler

    lock = RLock()
    original = DynamoHandler.call_action

    def call_action(self: Any) -> Any:
        with lock:
            return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
