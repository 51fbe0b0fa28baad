"""The one SES adapter: sends a notification and turns a synchronous refusal into a value, not an exception."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.messages import OutgoingEmail, to_mime


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
        # No Destination: for a raw message SES takes the recipients from its To and Cc headers.
        try:
            response = self.client.send_email(
                FromEmailAddress=email.sender,
                Content={"Raw": {"Data": to_mime(email)}},
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
