"""The names and shapes of deskmail's AWS resources, shared by the app, the local stack and the CDK app."""

from __future__ import annotations

TTL_ATTRIBUTE = "expires_at"

# One table; every access pattern is a GetItem/Query on the base key or one of these indexes.
TABLE_KEY = ("PK", "SK")
TABLE_INDEXES = {
    # Overloaded: tagged tickets by tag (newest failure first), the monthly ticket list and users by email address.
    "GSI1": ("GSI1PK", "GSI1SK"),
    # Overloaded: the delivery-problems inbox (failed recipients across tickets, newest first), held inbound mail.
    "GSI2": ("GSI2PK", "GSI2SK"),
    # The outbox sweeper's queue (entries not done yet), keys only: an entry changes state twice while queued, and
    # with nothing but keys projected those changes write nothing to the index (the sweep reads the entries).
    "GSI3": ("GSI3PK", "GSI3SK"),
}
# What each index holds besides its keys and the table's (DynamoDB's ProjectionType).
INDEX_PROJECTIONS = {"GSI1": "ALL", "GSI2": "ALL", "GSI3": "KEYS_ONLY"}


def resource_names(stage: str) -> dict[str, str]:
    """Physical names for a stage; the local stack creates the ones it rehearses (not the delivery/schedule DLQs)."""
    return {
        "table": f"deskmail-{stage}",
        "feedback_topic": f"deskmail-feedback-{stage}",
        "feedback_queue": f"deskmail-feedback-{stage}",
        "dead_letter_queue": f"deskmail-feedback-dlq-{stage}",
        "inbound_dead_letter_queue": f"deskmail-inbound-dlq-{stage}",
        "configuration_set": f"deskmail-{stage}",
        "inbound_topic": f"deskmail-inbound-{stage}",
        "inbound_queue": f"deskmail-inbound-{stage}",
        "inbound_bucket": inbound_bucket_name(stage),
        "attachments_bucket": attachments_bucket_name(stage),
        # Where SNS puts what it could not deliver to a pipeline queue (the subscriptions' redrive policies), and
        # where failed scheduled invocations land (their on-failure destination). AWS only.
        "feedback_delivery_dead_letter_queue": f"deskmail-feedback-delivery-dlq-{stage}",
        "inbound_delivery_dead_letter_queue": f"deskmail-inbound-delivery-dlq-{stage}",
        "schedule_dead_letter_queue": f"deskmail-schedule-dlq-{stage}",
    }


def inbound_bucket_name(stage: str, account: str = "") -> str:
    """The S3 bucket the SES receipt rule stores inbound mail in (object keys under INBOUND_OBJECT_PREFIX).

    Bucket names are global across AWS accounts: the stack appends its account id; the local stack (moto) has
    one account and uses the bare name. The app never rebuilds it: it reads DESKMAIL_INBOUND_BUCKET and the
    notification's own bucketName.
    """
    return f"deskmail-inbound-{stage}-{account}" if account else f"deskmail-inbound-{stage}"


def attachments_bucket_name(stage: str, account: str = "") -> str:
    """The private bucket of comments' files (keys attachments/{ticket}/{attachment}); as inbound_bucket_name, the
    stack appends its account id and the app reads DESKMAIL_ATTACHMENTS_BUCKET. The stack builds it from the name
    (not the bucket's token): the functions' policies and environment never depend on the bucket, whose CORS rule
    names the API's origin.
    """
    return f"deskmail-attachments-{stage}-{account}" if account else f"deskmail-attachments-{stage}"


# Every attachment object lives under this prefix: the functions' grants stop at it.
ATTACHMENT_OBJECT_PREFIX = "attachments/"


# Where the receipt rule's S3 action writes each message: f"{INBOUND_OBJECT_PREFIX}{SES message id}".
INBOUND_OBJECT_PREFIX = "inbound/"


def table_definition(table_name: str) -> dict:
    """Keyword arguments for dynamodb.create_table (tests and the local stack)."""
    attributes = [TABLE_KEY[0], TABLE_KEY[1]] + [name for pair in TABLE_INDEXES.values() for name in pair]
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [
            {"AttributeName": TABLE_KEY[0], "KeyType": "HASH"},
            {"AttributeName": TABLE_KEY[1], "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [{"AttributeName": name, "AttributeType": "S"} for name in attributes],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index,
                "KeySchema": [
                    {"AttributeName": pk, "KeyType": "HASH"},
                    {"AttributeName": sk, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": INDEX_PROJECTIONS[index]},
            }
            for index, (pk, sk) in TABLE_INDEXES.items()
        ],
    }
