"""Where SES's receipt rule stores inbound mail (its S3 action): the raw message of a notification without content."""

from __future__ import annotations

from typing import Any


class InboundStoreError(RuntimeError):
    """The stored message could not be read now; SQS's redelivery tries again."""


class InboundMailStore:
    def __init__(self, s3_client: Any, bucket: str = ""):
        self.client = s3_client
        # The one bucket deskmail's receipt rule writes to; "" trusts the notification's bucketName (tests).
        self.bucket = bucket

    def read(self, bucket: str, key: str) -> bytes:
        """The raw message SES stored. Refuses another bucket than ours: a notification is not a licence to read
        whatever it names."""
        if self.bucket and bucket != self.bucket:
            raise ValueError(f"inbound mail is stored in {self.bucket}, not {bucket}")
        try:
            response = self.client.get_object(Bucket=bucket, Key=key)
        except self.client.exceptions.NoSuchKey:
            raise InboundStoreError(f"s3://{bucket}/{key} does not exist (yet)") from None
        return response["Body"].read()
