"""A pytest plugin: which AWS calls each Lambda function of app.py makes, recorded while the app's own tests run.

Chalice's test client runs a route (`client.http`) as the API function and `client.lambda_.invoke(name)` as that
function; while one runs, a botocore `before-call` hook on every client records (IAM service prefix, operation).
Calls made by fixtures (creating the moto table, reading what SES sent) run outside and are not counted. At the end
of the session the calls go to the JSON file named by DESKMAIL_AWS_CALLS_OUT: {function name: ["dynamodb:Query", ...]}
(under pytest-xdist, one file per worker beside it, {out}.gw0 and so on: the reader merges them).

    DESKMAIL_AWS_CALLS_OUT=calls.json pytest -p tests.infrastructure.aws_calls.recorder tests/integration

`make test` loads it in its one run of every test, so the integration tests are not run twice: then only the tests
under the folder DESKMAIL_AWS_CALLS_ONLY names count (fault-injection tests elsewhere reach calls that no role
should be widened for without a reason in permissions.UNEXERCISED).
"""

from __future__ import annotations

import contextvars
import json
import os
from collections import defaultdict

import botocore.session
import pytest
from chalice import test as chalice_test

API_FUNCTION = "api_handler"  # Chalice's name for the function behind every route

_current_function: contextvars.ContextVar[str | None] = contextvars.ContextVar("deskmail_function", default=None)
CALLS: dict[str, set[str]] = defaultdict(set)


# Whether the running test counts: all of them, unless DESKMAIL_AWS_CALLS_ONLY names the one folder that does.
_ONLY = os.environ.get("DESKMAIL_AWS_CALLS_ONLY", "").strip("/")
_recording = not _ONLY


def _record(model, **kwargs) -> None:
    function = _current_function.get()
    if function is not None and _recording:
        # The signing name is the IAM prefix: sesv2 signs as "ses", cognito-idp as "cognito-idp".
        CALLS[function].add(f"{model.service_model.signing_name}:{model.name}")


_create_client = botocore.session.Session.create_client


def _create_client_with_hook(self, *args, **kwargs):
    client = _create_client(self, *args, **kwargs)
    client.meta.events.register("before-call.*.*", _record)
    return client


def _running_as(function_name, call):
    def run(*args, **kwargs):
        token = _current_function.set(function_name(*args, **kwargs) if callable(function_name) else function_name)
        try:
            return call(*args, **kwargs)
        finally:
            _current_function.reset(token)

    return run


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Counts the calls of a test (its setup and teardown included) under DESKMAIL_AWS_CALLS_ONLY, if named."""
    global _recording
    if _ONLY:
        relative = item.path.resolve().relative_to(item.config.rootpath.resolve()).as_posix()
        _recording = relative.startswith(_ONLY + "/")
    yield
    _recording = not _ONLY


def pytest_configure(config) -> None:
    botocore.session.Session.create_client = _create_client_with_hook
    chalice_test.TestHTTPClient.request = _running_as(API_FUNCTION, chalice_test.TestHTTPClient.request)
    chalice_test.TestLambdaClient.invoke = _running_as(
        lambda self, function_name, *args, **kwargs: function_name, chalice_test.TestLambdaClient.invoke
    )


def pytest_sessionfinish(session, exitstatus) -> None:
    out = os.environ.get("DESKMAIL_AWS_CALLS_OUT")
    if out:
        # Under pytest-xdist each worker records its own tests' calls: one file each ({out}.gw0, ...), merged by
        # the reader; the controller runs no test and writes {out} (empty).
        worker = getattr(session.config, "workerinput", {}).get("workerid")
        with open(f"{out}.{worker}" if worker else out, "w") as handle:
            json.dump({name: sorted(calls) for name, calls in sorted(CALLS.items())}, handle, indent=1)
