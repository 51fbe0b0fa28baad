"""The local stack as `make run` starts it, in a subprocess on free ports, and waiting on what it does."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from deskmail_local.client import ApiError, DeskmailApi

PROJECT_DIR = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_SECONDS = 90
STOP_TIMEOUT_SECONDS = 15


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RunningStack:
    def __init__(self, process: subprocess.Popen, local_dir: Path):
        self.process = process
        self.local_dir = local_dir
        self.description: dict = {}

    @property
    def log_path(self) -> Path:
        return self.local_dir / "stack.log"

    def log_tail(self, lines: int = 80) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    @property
    def api(self) -> DeskmailApi:
        return DeskmailApi.from_stack(self.description)

    @property
    def admin_api(self) -> DeskmailApi:
        return DeskmailApi(self.description["api_url"], token=self.description["admin_token"])

    def wait_until_up(self) -> None:
        stack_file = self.local_dir / "stack.json"
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while not stack_file.exists():
            assert self.process.poll() is None, f"the stack exited ({self.process.returncode}):\n{self.log_tail()}"
            assert time.monotonic() < deadline, f"no stack.json after {STARTUP_TIMEOUT_SECONDS} s:\n{self.log_tail()}"
            time.sleep(0.1)
        self.description = json.loads(stack_file.read_text())
        # A stack.json left by an earlier run names other ports: only this process's own description counts.
        while self.description.get("pid") != self.process.pid:
            assert self.process.poll() is None, f"the stack exited ({self.process.returncode}):\n{self.log_tail()}"
            assert time.monotonic() < deadline, f"stack.json is not this stack's:\n{self.log_tail()}"
            time.sleep(0.1)
            self.description = json.loads(stack_file.read_text()) if stack_file.exists() else {}
        self.wait_for_health(max(deadline, time.monotonic() + 15))

    def wait_for_health(self, deadline: float) -> None:
        """The API answers /health: a bounded retry, since one refused connection is no verdict on a busy machine."""
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the stack exited ({self.process.returncode}):\n{self.log_tail()}"
            try:
                if self.api.get("/health") == {"status": "ok"}:
                    return
            except (OSError, ApiError) as error:
                last_error = error
            time.sleep(0.2)
        pytest.fail(f"the API did not answer /health ({last_error}):\n{self.log_tail()}")

    def stop(self) -> int:
        """Ctrl-C, as a developer stops it; a kill only if it does not stop in time."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode


# What the stack prints when a port it was given was taken in the meantime (by another worker's stack, say): a
# free port found by binding port 0 is only free until someone else binds it, so such a start is retried.
PORT_TAKEN = ("is in use", "Address already in use")
START_ATTEMPTS = 3


class PortTaken(Exception):
    pass


def start_stack(local_dir: Path, demo: bool) -> RunningStack:
    """The stack on free ports, retried on new ones if a port was taken between choosing and binding it."""
    for attempt in range(1, START_ATTEMPTS + 1):
        try:
            return _start_stack_once(local_dir, demo)
        except PortTaken:
            if attempt == START_ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _start_stack_once(local_dir: Path, demo: bool) -> RunningStack:
    env = {
        **os.environ,
        "PORT": str(free_port()),
        "MOTO_PORT": str(free_port()),
        "DESKMAIL_DEMO": "1" if demo else "0",
        "DESKMAIL_LOCAL_DIR": str(local_dir),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("AWS_ENDPOINT_URL", None)
    with open(local_dir / "stack.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "deskmail_local"],
            cwd=PROJECT_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # pytest's own Ctrl-C must not reach it before the fixture stops it
        )
    stack = RunningStack(process, local_dir)
    try:
        stack.wait_until_up()
    except BaseException:
        stack.stop()
        if any(sign in stack.log_tail() for sign in PORT_TAKEN):
            raise PortTaken(stack.log_tail()) from None
        raise
    return stack


def wait_for(fetch: Callable[[], Any], done: Callable[[Any], bool], timeout: float, stack: RunningStack) -> Any:
    """Polls fetch() until done(value); on time-out fails with the last value and the stack's log."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"not done after {timeout} s; last value:\n{json.dumps(value, indent=1)}\n\n{stack.log_tail()}")
        time.sleep(0.25)
