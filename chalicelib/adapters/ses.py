"""The one SES adapter: sends a notification and turns a synchronous refusal into a value, not an exception."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.domain.messages import OutgoingEmail, UnsafeHeader, to_mime

if TYPE_CHECKING:
    from chalicelib.adapters.files import FileStore

ATTACHMENT_UNAVAILABLE = "AttachmentUnavailable"


@dataclass(frozen=True)
class SendResult:
    message_id: str | None
    error_code: str | None = None
    error_message: str | None = None


class SesMailer:
    """SESv2 sending, created once per Lambda container around one boto3 client."""

    def __init__(self, client: Any, files: FileStore | None = None):
        self.client = client
        self.files = files  # where inline attachments' bytes are read at send time (None: no attachments)

    def _contents(self, email: OutgoingEmail) -> dict[str, bytes] | SendResult:
        from chalicelib.adapters.files import FileUnavailable

        contents: dict[str, bytes] = {}
        for attachment in email.attachments:
            try:
                if self.files is None:
                    raise FileUnavailable("no attachments bucket configured")
                data = self.files.read(attachment.key)
            except FileUnavailable as error:
                return SendResult(None, ATTACHMENT_UNAVAILABLE, f"{attachment.name}: {error}")
            if len(data) != attachment.size:
                return SendResult(
                    None, ATTACHMENT_UNAVAILABLE, f"{attachment.name}: {len(data)} bytes, not {attachment.size}"
                )
            contents[attachment.key] = data
        return contents

    def send_notification(self, email: OutgoingEmail) -> SendResult:
        # The recipients are passed explicitly: SES must never read them from the headers (which hold user text).
        contents = self._contents(email)
        if isinstance(contents, SendResult):
            return contents
        try:
            raw = to_mime(email, contents)
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
