"""Browser-test fixtures: the local stack as `make run` starts it (with demo data), and headless Debian Chromium
driven by Playwright. Run by hand to look at the page: `.venv/bin/python -m tests.browser.conftest` prints its URL.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.stack import start_stack

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
# The demo scenarios whose agent reply must have settled before the page is worth looking at.
SETTLED_SCOPES = {"bounced_one": "one", "bounced_some": "some", "bounced_all": "all"}
SETTLE_SECONDS = 30


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


@contextlib.contextmanager
def running_stack():
    """`python -m deskmail_local` with demo data, once the simulator's feedback for the demo has been recorded."""
    # A directory of its own: two stacks (two xdist workers, two runs in one clone) must never share a stack.json,
    # a log or a suppression list; under .local/ (git-ignored) so a failed run's log can still be read.
    (ROOT / ".local").mkdir(exist_ok=True)
    local_dir = Path(tempfile.mkdtemp(prefix="browser-stack-", dir=ROOT / ".local"))
    stack = start_stack(local_dir, demo=True)
    try:
        description = stack.description
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            scopes = {
                name: (stack.api.comments(description["demo"][name])[-1]["delivery"] or {}).get("scope")
                for name in SETTLED_SCOPES
            }
            if scopes == SETTLED_SCOPES:
                break
            assert time.monotonic() < deadline, f"demo did not settle: {scopes}\n{stack.log_tail()}"
            time.sleep(0.25)
        yield description
    finally:
        if stack.stop() == 0:
            shutil.rmtree(local_dir, ignore_errors=True)  # kept only when it failed: its stack.log says why


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


DESKTOP = {"width": 1366, "height": 860}
PHONE = {"width": 390, "height": 844}
AXE_DIR = Path(__file__).parent  # package.json + package-lock.json pin axe-core; `npm ci` puts it in node_modules


def _console_error(message) -> str | None:
    """A console error the test must fail on; an API's 4xx answer the page shows to the agent is not one."""
    if message.type != "error":
        return None
    url = (message.location or {}).get("url", "")
    if message.text.startswith("Failed to load resource: the server responded with a status of 4") and (
        "/static/" not in url
    ):
        return None
    return f"console: {message.text} ({url})"


def new_page(browser, viewport):
    """A page in its own context, recording every page error and console error (checked by watch_errors)."""
    context = browser.new_context(viewport=viewport, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
    page.on("console", lambda message: (found := _console_error(message)) and errors.append(found))
    return context, page, errors


@pytest.fixture
def page(browser, stack):
    context, page, errors = new_page(browser, DESKTOP)
    yield page
    context.close()
    assert not errors, errors


@pytest.fixture(params=[DESKTOP, PHONE], ids=["1366", "390"])
def sized_page(request, browser, stack):
    """The same test at 1366 px (desktop) and 390 px (a phone)."""
    context, page, errors = new_page(browser, request.param)
    yield page
    context.close()
    assert not errors, errors


@pytest.fixture(scope="session")
def axe_source():
    """axe-core's minified script, installed from the npm registry by `npm ci` (pinned in package-lock.json)."""
    script = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
    if not script.exists():
        npm = shutil.which("npm")
        if not npm:
            pytest.skip("the accessibility checks need npm (Node 20) to install axe-core")
        command = [npm, "ci", "--no-audit", "--no-fund", "--prefix", str(AXE_DIR)]
        # The registry can refuse or time out for a moment (a fresh-clone run once got npm's exit 217): a few
        # bounded retries, then the last error with npm's own output.
        for attempt in range(4):
            result = subprocess.run(command, capture_output=True, text=True, timeout=180)
            if result.returncode == 0 and script.exists():
                break
            time.sleep(2 + 4 * attempt)
        else:
            raise RuntimeError(f"npm ci failed ({result.returncode}): {result.stderr[-2000:] or result.stdout[-2000:]}")
    return script.read_text()


def axe_findings(page, axe_source, impacts=("serious", "critical")) -> list[dict]:
    """axe-core's violations of these impacts on the page as it is now (rule, impact, the elements' selectors)."""
    if not page.evaluate("Boolean(window.axe)"):
        # Evaluated through the DevTools protocol, outside the page's CSP (which refuses an inline <script> tag).
        page.evaluate(axe_source)
        assert page.evaluate("Boolean(window.axe)"), "axe-core did not load"
    result = page.evaluate("async () => (await axe.run(document, { resultTypes: ['violations'] })).violations")
    return [
        {"rule": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result
        if v["impact"] in impacts
    ]


if __name__ == "__main__":
    with running_stack() as running:
        print(json.dumps(running, indent=2))
        print("page:", running["page_url"], flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            while True:
                time.sleep(3600)
