"""A small JSON client for deskmail's HTTP API over urllib, shared by the demo loader and the e2e tests."""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request
from typing import Any


class ApiError(RuntimeError):
    def __init__(self, method: str, path: str, status: int, body: Any):
        super().__init__(f"{method} {path} -> {status}: {body}")
        self.status = status
        self.body = body


class DeskmailApi:
    def __init__(self, base_url: str, token: str | None = None, timeout: float = 10):
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    @classmethod
    def from_stack(cls, stack: dict) -> DeskmailApi:
        """The API a running local stack describes in its stack.json (with its agent token once the API has auth)."""
        return cls(stack["api_url"], token=stack.get("agent_token"))

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base_url + path, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, _json(response.read())
        except urllib.error.HTTPError as error:
            return error.code, _json(error.read())

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, payload = self.call(method, path, body)
        if status not in (200, 201):
            raise ApiError(method, path, status, payload)
        return payload

    def get(self, path: str) -> Any:
        return self.ok("GET", path)

    def post(self, path: str, body: Any) -> Any:
        return self.ok("POST", path, body)

    # The few calls the demo and the tests make, named as the agent would say them.

    def user(self, name: str, email: str | None = None, role: str = "end-user") -> dict:
        return self.post("/users", {"name": name, "email": email, "role": role})

    def ticket(self, subject: str, requester: dict, body: str, cc: tuple[dict, ...] = (), assignee: dict | None = None):
        return self.post(
            "/tickets",
            {
                "subject": subject,
                "requester_id": requester["id"],
                "cc_ids": [user["id"] for user in cc],
                "assignee_id": assignee["id"] if assignee else None,
                "comment": {"author_id": requester["id"], "body": body, "public": True},
            },
        )

    def comment(self, ticket_id: str, author: dict, body: str, public: bool = True) -> dict:
        return self.post(f"/tickets/{ticket_id}/comments", {"author_id": author["id"], "body": body, "public": public})

    def comments(self, ticket_id: str) -> list[dict]:
        return self.get(f"/tickets/{ticket_id}/comments")["comments"]

    def attach(self, ticket_id: str, name: str, data: bytes, content_type: str | None = None) -> dict:
        """Declares a file and uploads it as a browser would: a multipart POST of the presigned fields to S3."""
        body = {"name": name, "size": len(data), **({"content_type": content_type} if content_type else {})}
        declared = self.post(f"/tickets/{ticket_id}/attachments", body)
        upload_form(declared["upload"]["url"], declared["upload"]["fields"], data, timeout=self.timeout)
        return declared


def upload_form(url: str, fields: dict[str, str], data: bytes, timeout: float = 10) -> int:
    """multipart/form-data: the policy's fields first, the file last (S3 ignores fields after it)."""
    boundary = f"deskmail-{secrets.token_hex(12)}"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="upload"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        url, data=b"".join(parts), headers={"Content-Type": f"multipart/form-data; boundary={boundary}"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode(errors="replace")
