"""Browser-test fixtures: a running deskmail stack with demo data, and headless Debian Chromium driven by Playwright.

Every test gets its stack from ONE function, `running_stack()`. For now it is a minimal harness of our own
(moto server + `chalice local` subprocesses, demo data through the HTTP API, SES feedback fed to the Chalice SQS
handler in this process). REPLACEABLE: when `python -m deskmail_local` lands, `running_stack()` should start it with
DESKMAIL_DEMO=1 and read `.local/stack.json` instead; the tests only use `api_url`, `agent_token` and the API itself
(they find the one/some/all tickets by asking the API), so nothing else has to change.

Run by hand to look at the page: `.venv/bin/python -m tests.browser.conftest` prints the page URL.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from chalicelib.auth import issue_token

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
FAILURE_TAG = "system_email_notification_failure"
_DEV_ENV = json.load(open(Path(__file__).parents[2] / ".chalice" / "config.json"))["stages"]["dev"][
    "environment_variables"
]
HARNESS_TOKEN = issue_token("harness-agent", key=_DEV_ENV["DESKMAIL_JWT_SECRET"])
for _name, _value in {"POWERTOOLS_SERVICE_NAME": "deskmail", "POWERTOOLS_METRICS_NAMESPACE": "Deskmail"}.items():
    os.environ.setdefault(_name, _value)  # as tests/conftest.py sets them (this file also runs alone, see above)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def call(api_url, method, path, body=None, token=None, expect=(200, 201)):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(api_url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            status, payload = response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        status, payload = error.code, json.loads(error.read() or b"null")
    assert status in expect, (method, path, status, payload)
    return payload


def wait_until_up(url, process, seconds=40):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode}")
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(url, timeout=2):
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds}s")


# ---- the harness (replaceable by `python -m deskmail_local`) ------------------------------------------------------


def _aws_env(moto_url):
    return {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }


@contextlib.contextmanager
def _patched_env(values):
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _create_resources(moto_url):
    import boto3

    from chalicelib.naming import table_definition

    stage = json.loads((ROOT / ".chalice" / "config.json").read_text())["stages"]["dev"]["environment_variables"]
    kwargs = {"endpoint_url": moto_url, "region_name": "us-east-1"}
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing")
    session.client("dynamodb", **kwargs).create_table(**table_definition(stage["DESKMAIL_TABLE_NAME"]))
    ses = session.client("sesv2", **kwargs)
    ses.create_email_identity(EmailIdentity="deskmail.example.com")
    ses.create_configuration_set(ConfigurationSetName=stage["DESKMAIL_CONFIGURATION_SET"])


def _feed(moto_url, *bodies):
    """SES feedback as one SQS event, handed to the app's SQS handler here, writing into the moto server's table."""
    from chalice.test import Client

    from app import app
    from chalicelib import runtime

    with _patched_env(_aws_env(moto_url)):
        runtime.reset()
        try:
            with Client(app, stage_name="dev") as client:
                event = client.events.generate_sqs_event(
                    message_bodies=list(bodies), queue_name="deskmail-feedback-dev"
                )
                for record in event["Records"]:
                    record["messageId"] = str(uuid.uuid4())
                result = client.lambda_.invoke("handle_ses_feedback", event).payload
        finally:
            runtime.reset()
    assert result == {"batchItemFailures": []}, result


def _demo_data(api_url, moto_url, token):
    """Tickets whose last public comment failed for one recipient of one, all of two, and some of three."""
    from tests import ses_payloads as ses

    def post(path, body):
        return call(api_url, "POST", path, body, token)

    def user(name, email, role="end-user"):
        return post("/users", {"name": name, "email": email, "role": role})

    def ticket(subject, requester, ccs, body):
        created = post(
            "/tickets",
            {
                "subject": subject,
                "requester_id": requester["id"],
                "cc_ids": [cc["id"] for cc in ccs],
                "assignee_id": agent["id"],
                "comment": {"author_id": requester["id"], "body": body, "public": True},
            },
        )
        return created["id"]

    def reply(ticket_id, body):
        post(f"/tickets/{ticket_id}/comments", {"author_id": agent["id"], "body": body, "public": True})
        comment = call(api_url, "GET", f"/tickets/{ticket_id}/comments", token=token)["comments"][-1]
        return {r["email"]: r["message_id"] for r in comment["delivery"]["recipients"]}

    agent = user("Ada Agent", "ada@deskmail.example.com", role="agent")

    olga = user("Olga Ortiz", "olga.ortiz@example.org")
    one = ticket("Invoice copy for October", olga, [], "Could you send me the October invoice again?")
    ids = reply(one, "Here it is: I attached the October invoice.")
    mid = ids["olga.ortiz@example.org"]
    _feed(
        moto_url,
        ses.bounce(
            mid,
            ["olga.ortiz@example.org"],
            [
                ses.hard_bounce_recipient(
                    "olga.ortiz@example.org",
                    "5.1.1",
                    "smtp; 550 5.1.1 <olga.ortiz@example.org>: "
                    "Recipient address rejected: User unknown in virtual mailbox table",
                )
            ],
        ),
    )

    bruno = user("Bruno Bauer", "bruno@full-mailbox.example")
    eve = user("Eve Engel", "eve@example.net")
    every = ticket("Login link does not arrive", bruno, [eve], "The login link never reaches my inbox.")
    ids = reply(every, "I have sent you a new login link.")
    mid = ids["bruno@full-mailbox.example"]
    destination = list(ids)
    _feed(
        moto_url,
        ses.bounce(
            mid,
            destination,
            [
                ses.hard_bounce_recipient(
                    "bruno@full-mailbox.example", "5.2.2", "smtp; 552 5.2.2 Mailbox full: quota exceeded"
                ),
                ses.hard_bounce_recipient("eve@example.net", "5.1.1", "smtp; 550 5.1.1 No such user here"),
            ],
        ),
    )

    rita = user("Rita Requester", "rita@example.com")
    carl = user("Carl Cc", "carl@exmaple.com")
    dora = user("Dora Delay", "dora@example.com")
    some = ticket("Printer on fire", rita, [carl, dora], "The printer on floor 3 smokes when it prints.")
    ids = reply(some, "A technician is on the way. Please keep away from the printer.")
    mid = ids["rita@example.com"]
    destination = list(ids)
    _feed(
        moto_url,
        ses.delivery(mid, destination, recipients=["rita@example.com"]),
        ses.delay(mid, destination, ["dora@example.com"]),
        ses.bounce(
            mid,
            destination,
            [
                ses.hard_bounce_recipient(
                    "carl@exmaple.com",
                    "5.1.2",
                    "smtp; 550 5.1.2 Host unknown (Name server: exmaple.com: host not found)",
                )
            ],
        ),
    )
    return {
        "tickets": {"one": one, "all": every, "some": some},
        "users": {"agent": agent["id"], "carl": carl["id"], "rita": rita["id"]},
    }


@contextlib.contextmanager
def running_stack():
    """A deskmail stack with demo data: {"api_url", "page_url", "agent_token", ...}. See the module docstring."""
    bin_dir = Path(sys.executable).parent
    moto_port, api_port = free_port(), free_port()
    moto_url, api_url = f"http://127.0.0.1:{moto_port}", f"http://127.0.0.1:{api_port}"
    local_dir = ROOT / ".local"
    local_dir.mkdir(exist_ok=True)
    env = {**os.environ, **_aws_env(moto_url), "PYTHONUNBUFFERED": "1"}
    processes = []
    logs = []
    try:
        # moto as its own process: in-process tests elsewhere in this pytest worker reset moto's in-process backends.
        log = open(local_dir / "browser-moto.log", "w")
        logs.append(log)
        moto = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        processes.append(moto)
        wait_until_up(moto_url + "/moto-api/", moto)
        _create_resources(moto_url)
        log = open(local_dir / "browser-chalice.log", "w")
        logs.append(log)
        chalice = subprocess.Popen(
            [
                str(bin_dir / "chalice"),
                "local",
                "--stage",
                "dev",
                "--host",
                "127.0.0.1",
                "--port",
                str(api_port),
                "--no-autoreload",
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        processes.append(chalice)
        wait_until_up(api_url + "/health", chalice)
        demo = _demo_data(api_url, moto_url, HARNESS_TOKEN)
        yield {
            "api_url": api_url,
            "page_url": f"{api_url}/#token={HARNESS_TOKEN}",
            "agent_token": HARNESS_TOKEN,
            **demo,
        }
    finally:
        for process in reversed(processes):
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)
            if process.poll() is None:
                process.kill()
        for log in logs:
            log.close()


# ---- fixtures -----------------------------------------------------------------------------------------------------


def _playwright_or_skip():
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} (make test installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser tests need the playwright Python package (requirements-dev.txt)")
    return sync_playwright


@pytest.fixture(scope="session")
def browser():
    sync_playwright = _playwright_or_skip()
    with sync_playwright() as playwright:
        executable = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
        chromium = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def stack(browser):
    with running_stack() as running:
        yield running


@pytest.fixture
def page(browser, stack):
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert not errors, errors


if __name__ == "__main__":
    with running_stack() as running:
        print(json.dumps(running, indent=2))
        print("page:", running["page_url"], flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
