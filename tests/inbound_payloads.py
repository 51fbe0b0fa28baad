"""SES inbound ("Received") notifications as an SNS -> SQS subscription delivers them, after the SES guide's example."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from chalicelib.ids import format_timestamp

SUPPORT = "support@deskmail.example.com"
TOPIC = "arn:aws:sns:us-east-1:123456789012:deskmail-inbound-dev"


def mime(
    sender="Rita Requester <rita@example.com>",
    to=SUPPORT,
    subject="Re: [ABCDEF] Printer on fire",
    body="Thanks, it works again.\n\nOn Mon, 23 Nov 2026 at 08:00, Deskmail Support wrote:\n> On my way.\n",
    in_reply_to=None,
    references=None,
    extra_headers=(),
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid4()}@mail.example.com>"
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    for name, value in extra_headers:
        message[name] = value
    message.set_content(body)
    return message


_last_receipt = datetime.min.replace(tzinfo=UTC)


def _next_receipt_stamp() -> str:
    # At least a millisecond after the last one: format_timestamp keeps milliseconds, so the stamps differ.
    global _last_receipt
    _last_receipt = max(datetime.now(UTC), _last_receipt + timedelta(milliseconds=1))
    return format_timestamp(_last_receipt)


def received(
    message: EmailMessage,
    encoding="UTF8",
    recipients=(SUPPORT,),
    spam="PASS",
    wrap=True,
    spf="PASS",
    dkim="PASS",
    dmarc="PASS",
    dmarc_policy=None,
    message_id=None,
    s3=None,
) -> str:
    """`s3`: (bucket, key) — the receipt rule's S3 action stored the message there, and the notification has no
    content (what deployed deskmail receives for mail of any size)."""
    raw = message.as_bytes()
    # SES stamps the receipt; deskmail orders the reply's comment by it, so it is now (not a fixed past time), and
    # later than the previous one: two replies built in the same millisecond would otherwise tie, and a tie is
    # ordered by the hash of their random message ids (a test expecting "first built, first shown" was flaky).
    stamp = _next_receipt_stamp()
    notification = {
        "notificationType": "Received",
        "mail": {
            "timestamp": stamp,
            "source": message["From"],
            "messageId": message_id or uuid.uuid4().hex + "0000abcd",
            "destination": list(recipients),
            "headersTruncated": False,
            "headers": [{"name": name, "value": str(value)} for name, value in message.items()],
            "commonHeaders": {"from": [message["From"]], "to": [message["To"]], "subject": message["Subject"]},
        },
        "receipt": {
            "timestamp": stamp,
            "processingTimeMillis": 420,
            "recipients": list(recipients),
            "spamVerdict": {"status": spam},
            "virusVerdict": {"status": "PASS"},
            "spfVerdict": {"status": spf},
            "dkimVerdict": {"status": dkim},
            "dmarcVerdict": {"status": dmarc},
            **({"dmarcPolicy": dmarc_policy} if dmarc_policy else {}),
            "action": {"type": "SNS", "topicArn": TOPIC, "encoding": encoding},
        },
        "content": base64.b64encode(raw).decode() if encoding == "Base64" else raw.decode("utf-8"),
    }
    if s3:
        bucket, key = s3
        notification["receipt"]["action"] = {"type": "S3", "topicArn": TOPIC, "bucketName": bucket, "objectKey": key}
        del notification["content"]
    if not wrap:
        return json.dumps(notification)
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": str(uuid.uuid4()),
            "TopicArn": TOPIC,
            "Subject": "Amazon SES Email Receipt Notification",
            "Message": json.dumps(notification),
            "Timestamp": "2026-11-23T08:05:01.000Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE==",
        }
    )


def feed_inbound(client, *bodies):
    """Hands SQS bodies to the inbound handler as one Lambda SQS event; returns the partial-batch response."""
    event = client.events.generate_sqs_event(message_bodies=list(bodies), queue_name="deskmail-inbound-dev")
    for record in event["Records"]:
        record["messageId"] = str(uuid.uuid4())
    return client.lambda_.invoke("handle_inbound_email", event).payload
