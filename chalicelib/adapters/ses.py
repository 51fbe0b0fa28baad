"""The one SES adapter: sends a notification and turns a synchronous refusal into a value, not an exception."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.messages import OutgoingEmail, UnsafeHeader, to_mime


@dataclass(frozen=True)
class SendResult:
    message_id: str | None
    error_code: str | None = None
    error_message: str | None = None


class SesMailer:
    """SESv2 sending, created once per Lambda container around one boto3 client."""

    def __init__(self, client: Any):
        self.client = client

    def send_notification(self, email: OutgoingEmail) -> SendResult:
        # The recipients are passed explicitly: SES must never read them from the headers (which hold user text).
        try:
            raw = to_mime(email)
        except UnsafeHeader as error:
            # Cannot happen for validated input; if it does, nothing is sent and the recipients show it.
            return SendResult(None, "UnsafeHeader", str(error))
        destination: dict[str, list[str]] = {"ToAddresses": list(email.to_addresses)}
        if email.cc:
            destination["CcAddresses"] = list(email.cc_addresses)
        try:
            response = self.client.send_email(
                FromEmailAddress=email.sender,
                Destination=destination,
                Content={"Raw": {"Data": raw}},
                ConfigurationSetName=email.configuration_set,
                EmailTags=[{"Name": name, "Value": value} for name, value in email.tags.items()],
            )
        except ClientError as error:
            # Throttling that outlived botocore's retries lands here too: the agent sees it and can resend.
            details = error.response.get("Error", {})
            return SendResult(None, details.get("Code", "Unknown"), details.get("Message", str(error)))
        except BotoCoreError as error:
            return SendResult(None, "ConnectionError", str(error))
        return SendResult(response["MessageId"])
