"""SES account-level reads and the suppression list: SESv2 for real, an in-memory one for the local stack."""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import ClientError

from chalicelib.ids import format_timestamp, utc_now

BOUNCE = "BOUNCE"
COMPLAINT = "COMPLAINT"
REASONS = (BOUNCE, COMPLAINT)

BACKEND_ENV = "DESKMAIL_SUPPRESSION_BACKEND"  # "ses" (default) or "local"
LOCAL_FILE_ENV = "DESKMAIL_LOCAL_SUPPRESSION_FILE"  # optional: shares the local list between processes


@dataclass(frozen=True)
class SuppressedDestination:
    email: str
    reason: str  # BOUNCE | COMPLAINT
    last_update: str  # ISO 8601, UTC


class SuppressionList(Protocol):
    def get(self, email: str) -> SuppressedDestination | None: ...

    def delete(self, email: str) -> bool: ...

    def put(self, email: str, reason: str) -> None: ...


def _not_found(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in ("NotFoundException", "NotFound")


def _timestamp(value: Any) -> str:
    if isinstance(value, datetime):
        return format_timestamp(value)
    return str(value or "")


class SesSuppressionList:
    """The SES account-level suppression list (SESv2 *SuppressedDestination)."""

    def __init__(self, client: Any):
        self.client = client

    def get(self, email: str) -> SuppressedDestination | None:
        try:
            response = self.client.get_suppressed_destination(EmailAddress=email)
        except ClientError as error:
            if _not_found(error):
                return None
            raise
        destination = response["SuppressedDestination"]
        return SuppressedDestination(
            email=destination["EmailAddress"],
            reason=destination["Reason"],
            last_update=_timestamp(destination.get("LastUpdateTime")),
        )

    def delete(self, email: str) -> bool:
        """True when the address was on the list and is now off it."""
        try:
            self.client.delete_suppressed_destination(EmailAddress=email)
        except ClientError as error:
            if _not_found(error):
                return False
            raise
        return True

    def put(self, email: str, reason: str) -> None:
        self.client.put_suppressed_destination(EmailAddress=email, Reason=reason)


class LocalSuppressionList:
    """The same interface for the local stack's SES simulator (moto lacks these calls); a JSON file if given."""

    def __init__(self, path: str | None = None):
        self._path = Path(path) if path else None
        self._entries: dict[str, dict] = {}
        self._lock = threading.Lock()

    def _load(self) -> dict[str, dict]:
        if self._path is not None and self._path.exists():
            return json.loads(self._path.read_text() or "{}")
        return self._entries

    def _save(self, entries: dict[str, dict]) -> None:
        if self._path is None:
            self._entries = entries
            return
        partial = self._path.with_name(f"{self._path.name}.{os.getpid()}.tmp")
        partial.write_text(json.dumps(entries, indent=1, sort_keys=True))
        os.replace(partial, self._path)

    def get(self, email: str) -> SuppressedDestination | None:
        with self._lock:
            entry = self._load().get(email.lower())
        return SuppressedDestination(entry["email"], entry["reason"], entry["last_update"]) if entry else None

    def delete(self, email: str) -> bool:
        with self._lock:
            entries = dict(self._load())
            removed = entries.pop(email.lower(), None) is not None
            if removed:
                self._save(entries)
        return removed

    def put(self, email: str, reason: str) -> None:
        if reason not in REASONS:
            raise ValueError(f"reason must be one of {', '.join(REASONS)}")
        with self._lock:
            entries = dict(self._load())
            entries[email.lower()] = {"email": email, "reason": reason, "last_update": utc_now()}
            self._save(entries)


def suppression_list(environ: dict[str, str] | os._Environ[str], ses_client_factory) -> SuppressionList:
    """The backend the environment asks for; the SES client is only created for the real one."""
    backend = (environ.get(BACKEND_ENV) or "ses").strip().lower()
    if backend == "local":
        return LocalSuppressionList(environ.get(LOCAL_FILE_ENV) or None)
    if backend != "ses":
        raise ValueError(f"{BACKEND_ENV} must be 'ses' or 'local', not {backend!r}")
    return SesSuppressionList(ses_client_factory())


@dataclass(frozen=True)
class SendingIdentity:
    """What SES knows about the sending domain: verification, DKIM and the custom MAIL FROM domain."""

    domain: str
    exists: bool
    verified: bool = False
    dkim_status: str | None = None  # SUCCESS | PENDING | FAILED | TEMPORARY_FAILURE | NOT_STARTED
    mail_from_domain: str | None = None
    mail_from_status: str | None = None  # SUCCESS | PENDING | FAILED | TEMPORARY_FAILURE


class SesIdentities:
    def __init__(self, client: Any):
        self.client = client

    def get(self, domain: str) -> SendingIdentity:
        try:
            response = self.client.get_email_identity(EmailIdentity=domain)
        except ClientError as error:
            if _not_found(error):
                return SendingIdentity(domain, exists=False)
            raise
        dkim = response.get("DkimAttributes") or {}
        mail_from = response.get("MailFromAttributes") or {}
        return SendingIdentity(
            domain=domain,
            exists=True,
            verified=bool(response.get("VerifiedForSendingStatus")) or response.get("VerificationStatus") == "SUCCESS",
            dkim_status=dkim.get("Status"),
            mail_from_domain=mail_from.get("MailFromDomain") or None,
            mail_from_status=mail_from.get("MailFromDomainStatus"),
        )
