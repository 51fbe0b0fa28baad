"""Writes docs/openapi.json, the API's OpenAPI 3.0 document, from app.py's routes and scripts/api_schemas.py.

Run `python -m scripts.export_openapi` after changing a route; tests/reliability/test_openapi.py checks the
committed document is current.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from scripts import api_schemas

DOCUMENT_PATH = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"
REFRESH_COMMAND = "python -m scripts.export_openapi"

ERROR = {
    "type": "object",
    "required": ["Code", "Message"],
    "properties": {"Code": {"type": "string"}, "Message": {"type": "string"}},
}
STATUS_TEXT = {
    200: "OK",
    201: "Created",
    302: "Found: Location is a short-lived presigned download URL (Content-Disposition: attachment)",
    400: "Invalid input (the message says what)",
    401: "No valid bearer token",
    403: "Signed in, but the route needs another role (RequiredRole), or the body names someone else",
    404: "No such id",
    409: "Conflict (for an Idempotency-Key: its first request is still running, or ran without a kept answer)",
    410: "Gone: the download link has expired",
    413: "Over a size limit: Limit names the setting, MaxBytes its value",
    415: "The Content-Type is not application/json",
    422: "The Idempotency-Key was already used for a different request",
    503: "The identity provider (Cognito) cannot be reached or is throttling: try again shortly",
}
# Every route can answer 415 (Chalice checks any Content-Type sent against application/json); every route but the
# open ones 401 and 503 (the identity provider's signing keys cannot be read); a route that honours Idempotency-Key
# also 400 (a malformed key), 409 and 422.
IDEMPOTENCY_STATUSES = (400, 409, 422)


class MissingSchema(LookupError):
    """A route app.py serves that api_schemas.py does not describe."""


def _operation(method: str, path: str, entry, role: str | None, idempotent: bool) -> dict:
    is_open = role == "public"
    key = (method, path)
    if key not in api_schemas.SUMMARIES:
        raise MissingSchema(f"{method} {path} has no entry in scripts/api_schemas.py SUMMARIES")
    summary, statuses = api_schemas.SUMMARIES[key]
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": api_schemas.AN_ID if name in api_schemas.ID_PATH_PARAMETERS else {"type": "string"},
        }
        for name in entry.view_args
    ] + list(api_schemas.PARAMETERS.get(key, []))
    if idempotent:
        parameters.append(api_schemas.IDEMPOTENCY_KEY)
    responses: dict[str, dict] = {}
    implied = () if is_open else (401, 403, 503) if role == "admin" else (401, 503)
    every = {*statuses, *implied, 415, *(IDEMPOTENCY_STATUSES if idempotent else ())}
    for status in sorted(every):
        if status == 302:
            responses[str(status)] = {
                "description": STATUS_TEXT[status],
                "headers": {"Location": {"schema": {"type": "string", "format": "uri"}}},
            }
        elif status < 300:
            media = api_schemas.PAGE_CONTENT.get(key)
            content = (
                {media_type: {"schema": {"type": "string"}} for media_type in media}
                if media
                else {"application/json": {"schema": {"type": "object"}}}
            )
            responses[str(status)] = {"description": STATUS_TEXT[status], "content": content}
        else:
            responses[str(status)] = {"$ref": f"#/components/responses/{status}"}
    operation: dict = {"operationId": entry.view_name, "summary": summary}
    if parameters:
        operation["parameters"] = parameters
    if key in api_schemas.BODIES:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": api_schemas.BODIES[key]}},
        }
    operation["responses"] = responses
    if is_open:
        operation["security"] = []  # the health check needs no token
    return operation


def build_document() -> dict:
    """The OpenAPI 3.0 document for every route and method app.py registers, in a stable order."""
    from app import IDEMPOTENT_ROUTES, ROUTE_ROLES, app

    paths: dict[str, dict] = {}
    for path in sorted(app.routes):
        for method in sorted(app.routes[path]):
            paths.setdefault(path, {})[method.lower()] = _operation(
                method,
                path,
                app.routes[path][method],
                ROUTE_ROLES.get((path, method)),
                (method, path) in IDEMPOTENT_ROUTES,
            )
    described = set(api_schemas.SUMMARIES)
    served = {(method, path) for path in app.routes for method in app.routes[path]}
    if described - served:
        raise MissingSchema(f"api_schemas.py describes routes app.py no longer has: {sorted(described - served)}")
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "deskmail",
            "version": "1.0.0",
            "description": "A help desk's ticket notifications through Amazon SES, and every email that did not "
            "arrive, recipient by recipient. Errors are {Code, Message}; 400, 404, 409 and 422 Messages are in the "
            "agent's language (?locale= or Accept-Language: en, it, de, es, fr; English otherwise).",
        },
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "An RS256 access token of the configured identity provider (Cognito user pool "
                    "or OIDC issuer): DESKMAIL_AUTH_ISSUER, _AUDIENCE, _ROLE_CLAIM (README, Sign-in and roles).",
                }
            },
            "schemas": {"Error": ERROR},
            "responses": {
                str(status): {
                    "description": STATUS_TEXT[status],
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                }
                for status in (400, 401, 403, 404, 409, 410, 413, 415, 422, 503)
            },
        },
    }


def render(document: dict) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    DOCUMENT_PATH.parent.mkdir(parents=True, exist_ok=True)
    DOCUMENT_PATH.write_text(render(build_document()), encoding="utf-8")
    print(
        f"wrote {DOCUMENT_PATH.relative_to(Path.cwd()) if DOCUMENT_PATH.is_relative_to(Path.cwd()) else DOCUMENT_PATH}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
