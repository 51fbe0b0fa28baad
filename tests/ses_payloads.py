"""Realistic SES feedback bodies, shaped field by field after the SES developer guide's examples.

Both producers (configuration-set event publishing: `eventType`, identity notifications: `notificationType`),
wrapped in the SNS envelope an SQS subscription receives, or raw.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from chalicelib.ids import format_timestamp


def at(seconds: float = 0) -> str:
    """A timestamp this many seconds from now: feedback comes after the send it is about."""
    return format_timestamp(datetime.now(UTC) + timedelta(seconds=seconds))


TOPIC = "arn:aws:sns:us-east-1:123456789012:deskmail-feedback-dev"


def mail(message_id, destination, fmt="event", timestamp=None, tags=None):
    body = {
        "timestamp": timestamp or at(0),
        "source": "support@deskmail.example.com",
        "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/deskmail.example.com",
        "sendingAccountId": "123456789012",
        "messageId": message_id,
        "destination": list(destination),
        "headersTruncated": False,
        "headers": [{"name": "From", "value": "support@deskmail.example.com"}],
        "commonHeaders": {"from": ["support@deskmail.example.com"], "to": list(destination), "subject": "Ticket"},
    }
    if fmt == "event":
        body["tags"] = {
            "ses:configuration-set": ["deskmail-dev"],
            "ses:from-domain": ["deskmail.example.com"],
            **(tags or {}),
        }
    else:
        body["sourceIp"] = "203.0.113.7"
        body["callerIdentity"] = "deskmail"
    return body


def envelope(document, wrap="sns", trailing_newline=True):
    text = json.dumps(document) + ("\n" if trailing_newline and "eventType" in document else "")
    if wrap == "raw":
        return text
    sns = {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": TOPIC,
        "Message": text,
        "Timestamp": "2026-11-23T08:00:01.000Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLE==",
        "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x",
    }
    if "eventType" in document:
        sns["Subject"] = "Amazon SES Email Event Notification"
    return json.dumps(sns)


def _type_key(fmt):
    return "eventType" if fmt == "event" else "notificationType"


def bounce(
    message_id,
    destination,
    recipients,
    bounce_type="Permanent",
    subtype="General",
    fmt="event",
    wrap="sns",
    timestamp=None,
    feedback_id=None,
    tags=None,
):
    """recipients: list of dicts with emailAddress and optionally action/status/diagnosticCode.

    tags: extra or replacing message tags (event publishing), e.g. another program's configuration set."""
    document = {
        _type_key(fmt): "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": subtype,
            "bouncedRecipients": recipients,
            "timestamp": timestamp or at(0),
            "feedbackId": feedback_id or f"0100{uuid.uuid4().hex}-000000",
            "reportingMTA": "dsn; a8-70.smtp-out.amazonses.com",
        },
        "mail": mail(message_id, destination, fmt, tags=tags),
    }
    return envelope(document, wrap)


def hard_bounce_recipient(address, status="5.1.1", diagnostic="smtp; 550 5.1.1 user unknown"):
    return {"emailAddress": address, "action": "failed", "status": status, "diagnosticCode": diagnostic}


def delivery(message_id, destination, recipients=None, fmt="event", wrap="sns", timestamp=None, tags=None):
    document = {
        _type_key(fmt): "Delivery",
        "delivery": {
            "timestamp": timestamp or at(0),
            "processingTimeMillis": 546,
            "recipients": list(recipients if recipients is not None else destination),
            "smtpResponse": "250 2.6.0 Message received",
            "reportingMTA": "a8-70.smtp-out.amazonses.com",
        },
        "mail": mail(message_id, destination, fmt, tags=tags),
    }
    return envelope(document, wrap)


def complaint(
    message_id,
    destination,
    recipients,
    feedback_type="abuse",
    subtype=None,
    fmt="event",
    wrap="sns",
    timestamp=None,
    feedback_id=None,
    tags=None,
):
    body = {
        "complainedRecipients": [{"emailAddress": address} for address in recipients],
        "timestamp": timestamp or at(0),
        "feedbackId": feedback_id or f"0100{uuid.uuid4().hex}-000000",
        "complaintSubType": subtype,
    }
    if feedback_type:
        body.update(
            {
                "userAgent": "Yahoo!-Mail-Feedback/2.0",
                "complaintFeedbackType": feedback_type,
                "arrivalDate": body["timestamp"],
            }
        )
    document = {_type_key(fmt): "Complaint", "complaint": body, "mail": mail(message_id, destination, fmt, tags=tags)}
    return envelope(document, wrap)


def delay(message_id, destination, recipients, delay_type="MailboxFull", timestamp=None, wrap="sns", tags=None):
    document = {
        "eventType": "DeliveryDelay",
        "deliveryDelay": {
            "timestamp": timestamp or at(0),
            "delayType": delay_type,
            "expirationTime": "2026-11-23T22:00:00.000Z",
            "delayedRecipients": [
                {"emailAddress": address, "status": "4.2.2", "diagnosticCode": "smtp; 452 4.2.2 Mailbox full"}
                for address in recipients
            ],
        },
        "mail": mail(message_id, destination, "event", tags=tags),
    }
    return envelope(document, wrap)


def reject(message_id, destination, wrap="sns"):
    document = {"eventType": "Reject", "reject": {"reason": "Bad content"}, "mail": mail(message_id, destination)}
    return envelope(document, wrap)


def send(message_id, destination, wrap="sns"):
    return envelope({"eventType": "Send", "send": {}, "mail": mail(message_id, destination)}, wrap)


def sqs_event(bodies: list[str], queue: str = "deskmail-feedback-dev", receive_count: int = 1) -> dict:
    """A Lambda SQS event, one record per body, each with its own message id (as SQS gives them).

    receive_count: SQS's ApproximateReceiveCount (5 is the queues' maxReceiveCount: the last receive)."""
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": f"handle-{n}",
                "body": body,
                "attributes": {"ApproximateReceiveCount": str(receive_count), "SentTimestamp": "1700000000000"},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue}",
                "awsRegion": "us-east-1",
            }
            for n, body in enumerate(bodies)
        ]
    }


def nested_json(depth: int = 100_000) -> str:
    """Valid JSON nested deeper than any parser's recursion limit (a few hundred KB of brackets)."""
    return "[" * depth + "]" * depth
