"""docs/openapi.json describes the API app.py serves, and stays current with it."""

from __future__ import annotations

import json

from scripts.export_openapi import DOCUMENT_PATH, REFRESH_COMMAND, build_document, render


def test_the_committed_openapi_document_is_current():
    committed = DOCUMENT_PATH.read_text(encoding="utf-8") if DOCUMENT_PATH.exists() else ""
    assert committed == render(build_document()), (
        f"docs/openapi.json is out of date with app.py / scripts/api_schemas.py: run `{REFRESH_COMMAND}`"
    )


def test_the_document_lists_every_route_method_parameter_and_the_bearer_scheme():
    from app import app

    document = json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))
    listed = {(method.upper(), path) for path, operations in document["paths"].items() for method in operations}
    assert listed == {(method, path) for path in app.routes for method in app.routes[path]}
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "An RS256 access token of the configured identity provider (Cognito user pool "
        "or OIDC issuer): DESKMAIL_AUTH_ISSUER, _AUDIENCE, _ROLE_CLAIM (README, Sign-in and roles).",
    }
    assert document["security"] == [{"bearerAuth": []}] and document["paths"]["/health"]["get"]["security"] == []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert names == set(app.routes[path][method.upper()].view_args), (method, path)
    query = {
        (method, path, p["name"])
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        for p in operation.get("parameters", [])
        if p["in"] == "query"
    }
    assert {("get", "/tickets", "tag"), ("get", "/tickets", "next_page")} <= query
    assert {("get", "/tickets/{ticket_id}/comments", name) for name in ("next_page", "locale")} <= query
    assert ("get", "/smtp-codes/{code}", "locale") in query
    with_body = {(m, p) for p, ops in document["paths"].items() for m, op in ops.items() if "requestBody" in op}
    assert with_body == {(m, p) for p, ops in document["paths"].items() for m in ops if m in ("post", "put", "patch")}
