"""One running local stack per configuration, shared by the e2e tests of a session and stopped at its end."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.stack import RunningStack, start_stack


@pytest.fixture(scope="session")
def local_stacks(tmp_path_factory) -> Any:
    """One running stack per configuration (demo data or not), started on first use, stopped at the end."""
    started: dict[bool, RunningStack] = {}

    def get(demo: bool) -> RunningStack:
        if demo not in started:
            started[demo] = start_stack(tmp_path_factory.mktemp("demo" if demo else "plain"), demo)
        return started[demo]

    yield get
    for stack in started.values():
        returncode = stack.stop()
        log = stack.log_path.read_text(errors="replace")
        assert returncode == 0, f"the stack exited with {returncode}:\n{stack.log_tail()}"
        assert "Traceback" not in log, stack.log_tail(200)
        assert not (stack.local_dir / "stack.json").exists(), "a stopped stack removes its stack.json"


@pytest.fixture
def stack(local_stacks) -> RunningStack:
    return local_stacks(demo=False)


@pytest.fixture
def demo_stack(local_stacks) -> RunningStack:
    return local_stacks(demo=True)
