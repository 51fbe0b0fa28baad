"""The attachments bucket: presigned uploads and downloads, size checks and reads. The Lambda never carries an
upload's bytes; it reads them only to sniff the first bytes and to attach small files to an email.

`FileStore` is what the services use; `S3FileStore` is the real one, `InMemoryFileStore` the fake for unit tests.
"""

from __future__ import annotations

from typing import Any, Protocol
from urllib.parse import quote


class FileUnavailable(RuntimeError):
    """The bucket could not be read or written now (not: the object is missing, which is a None)."""


class FileStore(Protocol):
    def presigned_upload(self, key: str, size: int, expires_in: int) -> dict:
        """{"url", "fields"} for a browser's multipart POST of exactly `size` bytes to `key`, KMS-encrypted."""
        ...

    def probe(self, key: str, count: int) -> tuple[int, bytes] | None:
        """(the object's whole size, its first `count` bytes), or None when nothing was uploaded: one ranged
        GetObject (its Content-Range carries the size), so no HeadObject and no grant beyond s3:GetObject."""
        ...

    def read(self, key: str) -> bytes: ...

    def put(self, key: str, data: bytes) -> None: ...

    def presigned_download(self, key: str, disposition: str, content_type: str, expires_in: int) -> str:
        """A GET URL whose response carries this Content-Disposition and Content-Type (S3's response-* params)."""
        ...


# Every object is stored as octet-stream: the type we decided on is served by the presigned GET's
# ResponseContentType, so nothing an uploader sends decides how S3 answers.
STORED_TYPE = "application/octet-stream"


class S3FileStore:
    def __init__(self, client: Any, bucket: str, kms_key: str = ""):
        self.client = client
        self.bucket = bucket
        self.kms_key = kms_key

    def _encryption(self) -> dict[str, str]:
        fields = {"x-amz-server-side-encryption": "aws:kms"}
        if self.kms_key:
            fields["x-amz-server-side-encryption-aws-kms-key-id"] = self.kms_key
        return fields

    def presigned_upload(self, key: str, size: int, expires_in: int) -> dict:
        fields = {"Content-Type": STORED_TYPE, **self._encryption()}
        conditions: list[Any] = [
            {"bucket": self.bucket},
            ["eq", "$key", key],
            ["content-length-range", size, size],
            *({name: value} for name, value in fields.items()),
        ]
        posted = self.client.generate_presigned_post(
            Bucket=self.bucket, Key=key, Fields=fields, Conditions=conditions, ExpiresIn=expires_in
        )
        return {"url": posted["url"], "fields": posted["fields"]}

    def probe(self, key: str, count: int) -> tuple[int, bytes] | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key, Range=f"bytes=0-{count - 1}")
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return None
            raise FileUnavailable(str(error)) from None
        except BotoCoreError as error:
            raise FileUnavailable(str(error)) from None
        head = response["Body"].read()
        # "bytes 0-511/12345"; without a range answer (S3 ignores a range on an empty object) the length is all.
        total = str(response.get("ContentRange") or "").rpartition("/")[2]
        return (int(total) if total.isdigit() else int(response.get("ContentLength", len(head)))), head

    def read(self, key: str) -> bytes:
        return self._get(key)

    def _get(self, key: str, **extra: Any) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=key, **extra)["Body"].read()
        except (ClientError, BotoCoreError) as error:
            raise FileUnavailable(str(error)) from None

    def put(self, key: str, data: bytes) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        encryption = {"ServerSideEncryption": "aws:kms", **({"SSEKMSKeyId": self.kms_key} if self.kms_key else {})}
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=STORED_TYPE, **encryption)
        except (ClientError, BotoCoreError) as error:
            raise FileUnavailable(str(error)) from None

    def presigned_download(self, key: str, disposition: str, content_type: str, expires_in: int) -> str:
        return self.client.generate_presigned_url(
            "get_object",
            Params={
                "Bucket": self.bucket,
                "Key": key,
                "ResponseContentDisposition": disposition,
                "ResponseContentType": content_type,
            },
            ExpiresIn=expires_in,
        )


class InMemoryFileStore:
    """The fake: objects in a dict; "uploads" are what a test puts with upload()."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.reads: list[str] = []

    def presigned_upload(self, key: str, size: int, expires_in: int) -> dict:
        return {"url": "memory://attachments", "fields": {"key": key, "size": str(size), "expires": str(expires_in)}}

    def upload(self, key: str, data: bytes) -> None:
        self.objects[key] = data

    def probe(self, key: str, count: int) -> tuple[int, bytes] | None:
        found = self.objects.get(key)
        if found is None:
            return None
        self.reads.append(key)
        return len(found), found[:count]

    def read(self, key: str) -> bytes:
        if key not in self.objects:
            raise FileUnavailable(f"no object {key}")
        self.reads.append(key)
        return self.objects[key]

    def put(self, key: str, data: bytes) -> None:
        self.objects[key] = data

    def presigned_download(self, key: str, disposition: str, content_type: str, expires_in: int) -> str:
        return (
            f"memory://attachments/{quote(key)}?response-content-disposition={quote(disposition, safe='')}"
            f"&response-content-type={quote(content_type, safe='')}&expires={expires_in}"
        )
