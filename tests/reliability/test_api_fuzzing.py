"""Schemathesis against the API served in-process (Chalice's local gateway, moto for AWS): no request gets a 5xx.

Each operation of docs/openapi.json gets requests that fit its schema (positive) and requests that break it
(negative), with a valid bearer token. Half of them use ids that exist, so the handlers behind the 404s run too.
Derandomized: the same requests on every run, so CI stays reproducible (set DESKMAIL_FUZZ_SEED to explore).
"""

from __future__ import annotations

import base64
import json
import os
import time

import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from scripts.export_openapi import build_document
from tests.helpers import Api, open_ticket, people
from tests.reliability.wsgi import ChaliceWsgiApp

FAILURE_TAG = "system_email_notification_failure"
EXAMPLES_PER_OPERATION_AND_MODE = 25
MINIMUM_REQUESTS = 500


@pytest.fixture
def known_ids(client):
    """Ids that exist: a requester, an agent and a ticket (the fuzzer swaps them in for generated ids)."""
    api = Api(client)
    who = people(api)
    ticket = open_ticket(api, who)
    return {
        "user_id": [who["requester"]["id"], who["agent"]["id"], who["nomail"]["id"]],
        "ticket_id": [ticket["id"]],
        "trigger_id": ["notify-requester-received", "notify-assignee-comment"],
        "code": ["550", "5.1.1", "4.2.2"],
        "_token": api.token,  # the agent's (Ada's): her comments pass, admin routes answer 403
    }


def with_known_ids(draw, case, known):
    """Replaces generated ids with existing ones (in the path and in JSON bodies), on a coin flip."""
    if not draw(st.booleans()):
        return
    for name in list(case.path_parameters or {}):
        if name in known:
            case.path_parameters[name] = draw(st.sampled_from(known[name]))
    if isinstance(case.query, dict) and "next_page" in case.query:
        # Base64 of a JSON key, as the API issues them, with any mix of key attributes and partitions.
        names = draw(st.sets(st.sampled_from(["PK", "SK", "GSI1PK", "GSI1SK", "extra"]), min_size=1))
        partitions = [f"TICKET#{ticket}" for ticket in known["ticket_id"]] + ["TAG#" + FAILURE_TAG, "USER#x"]
        key = {name: draw(st.sampled_from([*partitions, "C#", "TAG#", ""])) for name in names}
        case.query["next_page"] = base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")
    body = case.body if isinstance(case.body, dict) else None
    users = known["user_id"]
    if body is not None:
        for field in ("requester_id", "assignee_id", "author_id"):
            if isinstance(body.get(field), str):
                body[field] = draw(st.sampled_from(users))
        if isinstance(body.get("comment"), dict) and isinstance(body["comment"].get("author_id"), str):
            body["comment"]["author_id"] = draw(st.sampled_from(users))
        if isinstance(body.get("cc_ids"), list):
            body["cc_ids"] = [draw(st.sampled_from(users)) for _ in body["cc_ids"][:3]]


def test_no_generated_request_gets_a_server_error(client, known_ids):
    wsgi_app = ChaliceWsgiApp(client._app)
    schema = schemathesis.openapi.from_dict(build_document())
    schema.app = wsgi_app
    headers = {"Authorization": f"Bearer {known_ids['_token']}"}
    fuzz_seed = int(os.environ.get("DESKMAIL_FUZZ_SEED", "0")) or None
    server_errors: list[str] = []
    started = time.monotonic()

    def fuzz(operation, mode):
        @settings(
            max_examples=EXAMPLES_PER_OPERATION_AND_MODE,
            deadline=None,
            database=None,
            derandomize=fuzz_seed is None,
            suppress_health_check=list(HealthCheck),
        )
        @given(data=st.data())
        def exercise(data):
            case = data.draw(operation.as_strategy(generation_mode=mode))
            with_known_ids(data.draw, case, known_ids)
            # On the case itself: a header given to call() is dropped when a negative case mutates the headers.
            case.headers = {**(case.headers or {}), **headers}
            response = case.call()
            try:
                case.validate_response(response, checks=[not_a_server_error], headers=headers)
            except AssertionError:
                server_errors.append(f"{response.status_code} {case.as_curl_command(headers=headers)}")

        return seed(fuzz_seed)(exercise) if fuzz_seed else exercise

    for result in schema.get_all_operations():
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                fuzz(result.ok(), mode)()
            except Unsatisfiable:
                pass  # nothing to break: GET /health and GET /triggers take no input

    elapsed = time.monotonic() - started
    print(
        f"\n{wsgi_app.requests} generated requests in {elapsed:.1f} s, {len(server_errors)} server errors;"
        f" statuses {dict(sorted(wsgi_app.statuses.items()))}"
    )
    assert not server_errors, "\n".join(sorted(set(server_errors))[:20])
    assert wsgi_app.requests >= MINIMUM_REQUESTS  # how long it took is printed above, never asserted
