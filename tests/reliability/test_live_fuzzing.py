"""Schemathesis against the LIVE local stack (`python -m deskmail_local` on free ports: chalice local, moto server,
the workers and the SES simulator), with hostile Unicode mixed into the generated strings.

At least 2,000 requests, none may get a 5xx, and every status the API answers must be one docs/openapi.json
lists for that operation (schemathesis' status_code_conformance). Derandomized, as the in-process fuzz is.
"""

from __future__ import annotations

import json
import os
import time

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

from deskmail_local.client import DeskmailApi
from scripts.export_openapi import build_document
from tests.e2e.stack import start_stack
from tests.reliability.test_api_fuzzing import with_known_ids

EXAMPLES_PER_OPERATION_AND_MODE = 50
# Operations that take no input: a handful of identical requests says all (GET /reputation alone costs ~0.6 s each).
NO_INPUT = {"GET /health", "GET /reputation", "GET /triggers", "GET /"}
MINIMUM_REQUESTS = 2000

# What an attacker types: line breaks of every kind, controls, encoded words, lone surrogates, bidi overrides.
HOSTILE_STRINGS = [
    "x\r\nBcc: attacker@example.com",
    "Subj=?utf-8?q?x=0D=0ABcc:_attacker@example.com?=",
    "Rita\u2028Bcc: a@b.c",
    "Rita\u0085x",
    "\u2029",
    "\x00",
    "\ud800",
    "a\udfffb",
    "\u202e\ufeff",
    "\x1b[31m",
    "𝕏" * 70,
    '"><script>',
]


@pytest.fixture(scope="module")
def live_stack(tmp_path_factory):
    stack = start_stack(tmp_path_factory.mktemp("live-fuzz"), demo=False)
    yield stack
    returncode = stack.stop()
    assert returncode == 0, stack.log_tail()


# A URL is UTF-8: a lone surrogate cannot be sent in a query string (only as a JSON escape in a body).
URL_SAFE = [text for text in HOSTILE_STRINGS if not any("\ud800" <= c <= "\udfff" for c in text)]


def hostile(draw, value, strings=tuple(HOSTILE_STRINGS)):
    """On a coin flip, a string value becomes (or gets) one of the hostile strings."""
    if isinstance(value, str) and draw(st.integers(0, 3)) == 0:
        return draw(st.sampled_from([value + s for s in strings] + list(strings)))
    if isinstance(value, dict):
        return {key: hostile(draw, item, strings) for key, item in value.items()}
    if isinstance(value, list):
        return [hostile(draw, item, strings) for item in value]
    return value


def known_ids(api) -> dict:
    requester = api.user("Rita Requester", "rita@example.com")
    agent = api.user("Fuzz Agent", "fuzz-agent@deskmail.example.com", role="agent")
    nomail = api.user("Nina Nomail")
    ticket = api.ticket("Printer on fire", requester, "It smokes.", assignee=agent)
    return {
        "user_id": [requester["id"], agent["id"], nomail["id"]],
        "ticket_id": [ticket["id"]],
        "trigger_id": ["notify-requester-received", "notify-assignee-comment"],
        "code": ["550", "5.1.1", "4.2.2"],
    }


def with_known_username(draw, case, usernames):
    """The sign-in routes get a username the pool knows on a coin flip, so Cognito's own refusals run too."""
    if isinstance(case.body, dict) and isinstance(case.body.get("username"), str) and draw(st.booleans()):
        case.body["username"] = draw(st.sampled_from(usernames))


def test_the_live_server_gives_no_5xx_and_only_documented_statuses(live_stack):
    # As the stack's admin: every route is open to it, and creating users needs it.
    api = DeskmailApi(live_stack.api.base_url, token=live_stack.description["admin_token"])
    known = known_ids(api)
    usernames = [live_stack.description["sign_in"][who]["username"] for who in ("agent", "admin")]
    base_url = api.base_url
    headers = {"Authorization": f"Bearer {api.token}"}
    fuzz_seed = int(os.environ.get("DESKMAIL_FUZZ_SEED", "0")) or None
    document = build_document()
    documented = {
        (method.upper(), path): set(operation["responses"])
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    }
    schema = schemathesis.openapi.from_dict(document)
    session = requests.Session()
    server_errors: list[str] = []
    undocumented: set[str] = set()
    statuses: dict[int, int] = {}
    started = time.monotonic()

    def fuzz(operation, mode):
        @settings(
            max_examples=3 if operation.label in NO_INPUT else EXAMPLES_PER_OPERATION_AND_MODE,
            deadline=None,
            database=None,
            derandomize=fuzz_seed is None,
            suppress_health_check=list(HealthCheck),
        )
        @given(data=st.data())
        def exercise(data):
            case = data.draw(operation.as_strategy(generation_mode=mode))
            with_known_ids(data.draw, case, known)
            with_known_username(data.draw, case, usernames)
            if isinstance(case.query, dict):
                case.query = hostile(data.draw, case.query, tuple(URL_SAFE))
            request = case.as_transport_kwargs(base_url=base_url, headers=headers)
            if isinstance(request.get("json"), (dict, list)):
                # Serialized here, not by requests: json.dumps escapes a lone surrogate as JSON allows ("\ud800").
                request["data"] = json.dumps(hostile(data.draw, request.pop("json"))).encode()
                request["headers"] = {**request["headers"], "Content-Type": "application/json"}
            response = session.request(**request, timeout=30)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code >= 500:
                server_errors.append(
                    f"{response.status_code} {request['method']} {request['url']} {request.get('data')}"
                )
            elif str(response.status_code) not in documented[(case.method.upper(), case.operation.path)]:
                undocumented.add(f"{case.method} {case.operation.path} -> {response.status_code}")

        return seed(fuzz_seed)(exercise) if fuzz_seed else exercise

    for result in schema.get_all_operations():
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                fuzz(result.ok(), mode)()
            except Unsatisfiable:
                pass  # nothing to break: GET /health and GET /triggers take no input

    requests_made = sum(statuses.values())
    print(
        f"\n{requests_made} live requests in {time.monotonic() - started:.1f} s, {len(server_errors)} server errors;"
        f" statuses {dict(sorted(statuses.items()))}"
    )
    assert not server_errors, "\n".join(sorted(set(server_errors))[:20]) + "\n" + live_stack.log_tail()
    assert not undocumented, sorted(undocumented)
    assert requests_made >= MINIMUM_REQUESTS
