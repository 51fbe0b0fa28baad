"""Each scheduled function of app.py runs once on moto through its Lambda handler (the other tests call the services
behind them directly): it does not fail, and the roles test's recorder sees its AWS calls."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[2] / "app.py"


def scheduled_functions() -> list[str]:
    tree = ast.parse(APP.read_text())
    return [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and any(
            isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr == "schedule"
            for d in node.decorator_list
        )
    ]


SCHEDULED_EVENT = {
    "version": "0",
    "id": "00000000-0000-0000-0000-000000000000",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-12-01T00:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/deskmail"],
    "detail": {},
}


@pytest.mark.parametrize("name", scheduled_functions())
def test_scheduled_function_runs_on_moto(client, name):
    from tests.helpers import Api, open_ticket, people

    # Something to work on: a ticket whose notifications went out (and, for the sweep, may be pending).
    api = Api(client)
    open_ticket(api, people(api))
    response = client.lambda_.invoke(name, SCHEDULED_EVENT)
    assert response.payload is None or "errorMessage" not in str(response.payload)
