"""Idempotency-Key for the POSTs that create things: a retry with the same key returns the first response.

Own records on the single table rather than Powertools' idempotency utility, because the claim must commit in
the *same* transaction as the request's writes (the ticket, the comment, the outbox entries): Powertools keeps
its record in separate writes before and after the handler, so a crash between the handler's writes and its
"completed" write would let a retry run the request again. One item per caller and key (IDEM#{sha256}), a
conditional put to claim it, and no extra import on the cold start (importing Powertools' idempotency utility
after boto3, Logger and Metrics took 31-72 ms here, median 37 ms of 5 runs).

States: `in_progress` (claimed, nothing written yet; a lease of LEASE_SECONDS, after which a retry may take it
over), `committed` (the request's writes landed, in the same transaction), `completed` (with the status code and
body to replay). Records expire after 24 hours (TTL). A key is per caller: the signed-in principal.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from chalicelib.adapters.dynamo import DeskmailTable
from chalicelib.errors import Conflict, InvalidInput, Unprocessable
from chalicelib.i18n import N_

HEADER = "idempotency-key"
RETENTION_SECONDS = 24 * 3600
LEASE_SECONDS = 60  # longer than the API function's timeout: an in-progress record this old has no live request
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


@dataclass(frozen=True)
class Claim:
    """This request owns the key: commit `committed_update` with its writes, then complete or release."""

    pk: str
    owner: str

    def committed_update(self, table: DeskmailTable) -> dict:
        return table.idempotency_committed_update(self.pk, self.owner)


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: Any


def fingerprint(method: str, path: object, body: Any) -> str:
    """What must match for a retry to count as the same request: method, path and the JSON body's content."""
    canonical = json.dumps([method.upper(), path, body], sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def begin(table: DeskmailTable, principal: str, key: str, request_fingerprint: str, now_epoch: int) -> Claim | Replay:
    if not _KEY.match(key):
        raise InvalidInput(N_("The Idempotency-Key header must be 1 to 255 visible ASCII characters."))
    pk = "IDEM#" + hashlib.sha256(f"{principal}\n{key}".encode()).hexdigest()
    owner = secrets.token_hex(16)
    record = {
        "PK": pk,
        "SK": "IDEM",
        "type": "idempotency_key",
        "principal": principal,
        "fingerprint": request_fingerprint,
        "state": "in_progress",
        "owner": owner,
        "lease_until": now_epoch + LEASE_SECONDS,
        "expires_at": now_epoch + RETENTION_SECONDS,
    }
    found = table.claim_idempotency_key(record, now_epoch)
    if found is None:
        return Claim(pk, owner)
    if found.get("fingerprint") != request_fingerprint:
        raise Unprocessable(
            N_("This Idempotency-Key was already used for a different request: use a new key for a new request.")
        )
    if found.get("state") == "completed":
        return Replay(int(found["status_code"]), json.loads(found["response"]))
    if found.get("state") == "committed":
        raise Conflict(
            N_(
                "The first request with this Idempotency-Key was carried out, but its response was not kept: "
                "look the result up instead of retrying."
            )
        )
    raise Conflict(N_("A request with this Idempotency-Key is still in progress: retry in a moment."))


def complete(table: DeskmailTable, claim: Claim, status_code: int, body: Any) -> None:
    table.complete_idempotency_key(claim.pk, claim.owner, status_code, json.dumps(body, separators=(",", ":")))


def release(table: DeskmailTable, claim: Claim) -> None:
    table.release_idempotency_key(claim.pk, claim.owner)
