"""One IAM role per function, allowing exactly the calls that function's code makes.

The calls are not written down here: the app's own integration tests (plus one run of each scheduled function) run
on moto in a separate process with a botocore hook on every client (tests/infrastructure/aws_calls/recorder.py),
which records (IAM prefix, operation) per function. Each role must allow exactly those, plus the calls the moto tests
cannot reach (permissions.UNEXERCISED, each with its reason), plus the infrastructure grants named below.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from infrastructure.stacks.permissions import API_FUNCTION, APP_CALLS, IAM_ACTION_OF, PRESIGNED, UNEXERCISED

REPO_ROOT = Path(__file__).resolve().parents[2]
# Grants a function needs for what Lambda does with its role, not for the app's own calls.
INFRASTRUCTURE_PREFIXES = ("logs:", "xray:", "kms:", "sqs:")


def merged_calls(out: Path) -> dict[str, list[str]]:
    """The calls the recorder wrote to `out` and, one file per xdist worker, beside it ({out}.gw0, ...)."""
    merged: dict[str, set[str]] = {}
    for part in [out, *sorted(out.parent.glob(f"{out.name}.gw*"))]:
        if part.exists():
            for name, calls in json.loads(part.read_text()).items():
                merged.setdefault(name, set()).update(calls)
    return {name: sorted(calls) for name, calls in sorted(merged.items())}


@pytest.fixture(scope="module")
def recorded_calls(tmp_path_factory) -> dict[str, list[str]]:
    # `make test` recorded the calls in its own run of the integration tests, just before (no second run): it names
    # the file. Alone (`make test-infra`), the integration tests run here, with the recorder.
    given = os.environ.get("DESKMAIL_AWS_CALLS_FROM")
    if given:
        recorded = merged_calls(Path(given))
        assert recorded, f"no calls recorded in {given}: run `make test`, which records them"
        return recorded
    out = tmp_path_factory.mktemp("aws-calls") / "calls.json"
    env = {**os.environ, "DESKMAIL_AWS_CALLS_OUT": str(out)}
    for name in ("CDK_CONTEXT_JSON", "AWS_ENDPOINT_URL", "AWS_PROFILE"):
        env.pop(name, None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "tests.infrastructure.aws_calls.recorder",
            # Both cores, as `make test` runs these tests (tests marked xdist_group share a worker).
            "-n",
            "2",
            "--dist",
            "loadgroup",
            "tests/integration",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return merged_calls(out)


def function_names(resources: dict) -> dict[str, str]:
    """Logical id -> Chalice function name (the handler "app.app" is the API's)."""
    names = {}
    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::Serverless::Function":
            handler = resource["Properties"]["Handler"].split(".", 1)[1]
            names[logical_id] = API_FUNCTION if handler == "app" else handler
    return names


def role_statements(resources: dict, function_id: str) -> list[dict]:
    role = resources[function_id]["Properties"]["Role"]["Fn::GetAtt"][0]
    policies = [
        r for r in resources.values() if r["Type"] == "AWS::IAM::Policy" and {"Ref": role} in r["Properties"]["Roles"]
    ]
    assert len(policies) == 1, function_id
    return policies[0]["Properties"]["PolicyDocument"]["Statement"]


def actions(statements: list[dict]) -> set[str]:
    return {a for s in statements for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])}


def test_every_function_has_a_role_of_its_own(resources):
    roles = [r["Properties"]["Role"] for r in resources.values() if r["Type"] == "AWS::Serverless::Function"]
    assert len(roles) == len({json.dumps(r) for r in roles}) == len(function_names(resources))


def test_each_role_allows_exactly_the_calls_its_function_makes(resources, recorded_calls):
    for function_id, name in function_names(resources).items():
        statements = role_statements(resources, function_id)
        granted = {a for a in actions(statements) if not a.startswith(INFRASTRUCTURE_PREFIXES)}
        assert granted == APP_CALLS[name], name
        recorded = {a for call in recorded_calls.get(name, []) for a in IAM_ACTION_OF.get(call, {call})}
        expected = recorded | set(UNEXERCISED.get(name, {}))
        assert APP_CALLS[name] == expected, (name, sorted(APP_CALLS[name] ^ expected))


def test_calls_the_moto_tests_cannot_reach_are_calls_the_code_makes(recorded_calls):
    source = "\n".join(p.read_text() for p in [REPO_ROOT / "app.py", *(REPO_ROOT / "chalicelib").rglob("*.py")])
    for name, reasons in UNEXERCISED.items():
        for action, reason in reasons.items():
            # "contract:" marks a call another change brings (with its tests): being recorded is then expected.
            if reason.startswith("contract:"):
                continue
            recorded = {a for call in recorded_calls.get(name, []) for a in IAM_ACTION_OF.get(call, {call})}
            assert action not in recorded, f"{name} {action} is exercised now: drop it"
            # A presigned request is signed in the code and sent by the browser: the signing call is the evidence.
            if reason.startswith("presigned:"):
                assert PRESIGNED[action] in source, (name, action)
                continue
            operation = re.sub(
                r"(?<!^)(?=[A-Z])", "_", action.split(":")[1]
            ).lower()  # GetSecretValue -> get_secret_value
            assert f".{operation}(" in source, (name, action)


def test_infrastructure_grants_follow_the_function_kind(resources):
    for function_id, name in function_names(resources).items():
        statements = {s["Sid"]: s for s in role_statements(resources, function_id)}
        events = list(resources[function_id]["Properties"].get("Events", {}).values())
        kinds = {event["Type"] for event in events}
        assert {"Logs", "XRay"} <= set(statements), name
        # An SQS mapping polls with the function's role: its own queue only.
        if "SQS" in kinds:
            (queue,) = [e["Properties"]["Queue"] for e in events if e["Type"] == "SQS"]
            assert statements["ConsumeQueue"]["Resource"] == queue, name
            assert set(statements["ConsumeQueue"]["Action"]) == {
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes",
            }
        else:
            assert "ConsumeQueue" not in statements, name
        # A failed scheduled run goes to the schedule DLQ with the function's role.
        assert ("ScheduleDeadLetterQueue" in statements) == ("Schedule" in kinds), name


def test_the_feedback_consumer_cannot_send_email_or_read_secrets(resources):
    (feedback,) = [i for i, n in function_names(resources).items() if n == "handle_ses_feedback"]
    granted = actions(role_statements(resources, feedback))
    assert not any(a.startswith(("ses:", "secretsmanager:", "s3:", "cognito-idp:")) for a in granted), granted
