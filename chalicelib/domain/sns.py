"""Opens the SNS envelope an SQS subscription delivers (or passes a raw-delivered document through)."""

from __future__ import annotations

import json
from dataclasses import dataclass


class UnreadableBody(ValueError):
    """Not JSON, or an envelope whose Message is not a JSON object."""


@dataclass(frozen=True)
class ControlMessage:
    """An SNS message about the subscription itself (SubscriptionConfirmation, UnsubscribeConfirmation)."""

    type: str


def unwrap(body: str) -> dict | ControlMessage:
    """The JSON object SES published, whether SNS wrapped it in its envelope or delivered it raw."""
    try:
        document = json.loads(body)
    except (TypeError, ValueError) as error:
        raise UnreadableBody(f"body is not JSON: {error}") from None
    except RecursionError:
        # A few KB of brackets is enough; json raises RecursionError, which is no ValueError.
        raise UnreadableBody("body is JSON nested too deeply to read") from None
    if not isinstance(document, dict):
        raise UnreadableBody("body is not a JSON object")
    if "Type" in document and ("Message" in document or "TopicArn" in document):
        if document.get("Type") != "Notification":
            return ControlMessage(str(document.get("Type")))
        message = document.get("Message")
        if isinstance(message, dict):
            return message
        if not isinstance(message, str):
            raise UnreadableBody("SNS envelope has no Message")
        try:
            document = json.loads(message)
        except ValueError as error:
            raise UnreadableBody(f"SNS Message is not JSON: {error}") from None
        except RecursionError:
            raise UnreadableBody("SNS Message is JSON nested too deeply to read") from None
        if not isinstance(document, dict):
            raise UnreadableBody("SNS Message is not a JSON object")
    return document
