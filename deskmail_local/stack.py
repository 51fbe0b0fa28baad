"""`make run`: moto as AWS, the production resources, `chalice local` as the API, the feedback worker and the SES
mailbox simulator, in the foreground until Ctrl-C (SIGINT) or SIGTERM, which stop everything cleanly.

Settings (environment): PORT (API, 8000), MOTO_PORT (5000), OUTBOX_PORT (0: any free port; the local outbox
page), DESKMAIL_DEMO (1; 0 skips the demo data), DESKMAIL_LOCAL_DIR (.local; where stack.json goes).
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from chalicelib.adapters.ses_account import BACKEND_ENV, LOCAL_FILE_ENV
from chalicelib.naming import resource_names
from deskmail_local import cognito, demo
from deskmail_local.client import ApiError, DeskmailApi

PROJECT_DIR = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
REGION = "us-east-1"
STARTUP_TIMEOUT_SECONDS = 40
FEEDBACK_FUNCTION = "handle_ses_feedback"
INBOUND_FUNCTION = "handle_inbound_email"
SUPPRESSION_LIST_FILE = "suppression-list.json"
# The demo's sign-ins (local only), and how often their tokens are renewed: moto's access tokens last one hour.
DEMO_ADMIN = {"name": "Alex Admin", "username": "admin@deskmail.example.com", "password": "LocalAdmin-2026"}
DEMO_AGENT = {"name": "Ada Agent", "username": "ada@deskmail.example.com", "password": "LocalAgent-2026"}
TOKEN_REFRESH_SECONDS = 30 * 60

log = logging.getLogger("deskmail_local")


class Stopping(Exception):
    """Ctrl-C or SIGTERM arrived while the stack was starting."""


class StartupError(Exception):
    """The stack cannot start; the message says why and what to do."""


@dataclass(frozen=True)
class Options:
    stage: str
    api_port: int
    moto_port: int
    local_dir: Path
    demo: bool

    @classmethod
    def from_environment(cls) -> Options:
        return cls(
            stage="dev",  # the stage whose settings .chalice/config.json keeps for local use and tests
            api_port=int(os.environ.get("PORT", "8000")),
            moto_port=int(os.environ.get("MOTO_PORT", "5000")),
            local_dir=Path(os.environ.get("DESKMAIL_LOCAL_DIR", PROJECT_DIR / ".local")),
            demo=os.environ.get("DESKMAIL_DEMO", "1").strip().lower() not in ("0", "false", "no", "off"),
        )

    @property
    def api_url(self) -> str:
        return f"http://{HOST}:{self.api_port}"

    @property
    def aws_endpoint_url(self) -> str:
        return f"http://{HOST}:{self.moto_port}"

    @property
    def stack_file(self) -> Path:
        return self.local_dir / "stack.json"

    @property
    def suppression_list_file(self) -> Path:
        return self.local_dir / SUPPRESSION_LIST_FILE


def stage_environment(stage: str) -> dict[str, str]:
    """The Lambda environment of a stage: .chalice/config.json's top-level variables, then the stage's."""
    config = json.loads((PROJECT_DIR / ".chalice" / "config.json").read_text())
    return {**config.get("environment_variables", {}), **config["stages"][stage].get("environment_variables", {})}


def local_aws_environment(endpoint_url: str) -> dict[str, str]:
    # boto3 honours AWS_ENDPOINT_URL for every service: the app reaches moto without a line of local-only code.
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }


def local_suppression_environment(path: Path) -> dict[str, str]:
    # The account-level suppression list moto lacks: the API (GET/DELETE /suppressions, diagnostics) and the mailbox
    # simulator (which adds hard bounces and complaints, and refuses listed addresses) share one JSON file.
    return {BACKEND_ENV: "local", LOCAL_FILE_ENV: str(path)}


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            return True
    return False


def _die_with_parent() -> None:
    # Runs in the API's child process: should the stack be killed outright (SIGKILL), the API goes too.
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


class LocalStack:
    def __init__(self, options: Options):
        self.options = options
        self.stop = threading.Event()
        self.api_process: subprocess.Popen | None = None
        self.moto_server = None
        self.clients: dict = {}
        self.threads: list = []  # the feedback and inbound workers and the mailbox simulator
        self.outbox_url = ""
        self.identity_pool: cognito.LocalPool | None = None
        self.agent_token = self.admin_token = self.agent_id = self.admin_id = ""

    # ---- lifecycle --------------------------------------------------------------------------------------------------

    def run(self) -> int:
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signal_number, lambda *_: self.stop.set())
        started = time.monotonic()
        try:
            description = self.start()
            self._write_stack_file(description)
            self._print_banner(description, time.monotonic() - started)
            self.stop.wait()
            print("\nStopping deskmail...", flush=True)
            return 0
        except Stopping:
            print("\nStopped while starting.", flush=True)
            return 0
        except StartupError as error:
            print(f"deskmail could not start: {error}", file=sys.stderr, flush=True)
            return 1
        finally:
            self.shutdown()

    def checkpoint(self) -> None:
        if self.stop.is_set():
            raise Stopping()

    def start(self) -> dict:
        options = self.options
        for name, port in (("PORT", options.api_port), ("MOTO_PORT", options.moto_port)):
            if _port_in_use(port):
                raise StartupError(f"port {port} on {HOST} is in use; stop what uses it or set {name}=<another port>")
        options.stack_file.unlink(missing_ok=True)  # whoever waits for it must not read a previous run's
        # moto starts empty, and so does the account: a previous run's suppressed addresses would change outcomes.
        options.suppression_list_file.unlink(missing_ok=True)
        options.local_dir.mkdir(parents=True, exist_ok=True)
        os.environ.update(stage_environment(options.stage))
        os.environ.update(local_aws_environment(options.aws_endpoint_url))
        os.environ.update(local_suppression_environment(options.suppression_list_file))
        # The bucket the receipt rule's S3 action writes to: the inbound handler reads only that one.
        os.environ["DESKMAIL_INBOUND_BUCKET"] = resource_names(options.stage)["inbound_bucket"]
        # Presigned uploads go to moto's S3: the page's CSP lets it connect there (chalicelib/web, issue 18).
        os.environ["DESKMAIL_ATTACHMENTS_ORIGIN"] = options.aws_endpoint_url
        # Comments' files, and the emailed download links: they point at this API's public GET /files/{token}.
        os.environ["DESKMAIL_ATTACHMENTS_BUCKET"] = resource_names(options.stage)["attachments_bucket"]
        os.environ["DESKMAIL_DOWNLOAD_URL_TEMPLATE"] = f"{options.api_url}/files/{{token}}"
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")  # EMF blobs are noise on a terminal
        # The identity provider is moto's Cognito: ids reproducible (the dev stage names them), the JWKS served by moto.
        cognito.use_reproducible_ids()
        pool = cognito.LocalPool(
            os.environ["DESKMAIL_COGNITO_USER_POOL_ID"], os.environ["DESKMAIL_COGNITO_CLIENT_ID"], REGION
        )
        os.environ["DESKMAIL_AUTH_JWKS_URL"] = pool.jwks_url(options.aws_endpoint_url)
        os.environ["PYTHONUNBUFFERED"] = "1"

        # The API first: its imports take the longest, and they overlap with setting up moto below.
        self.api_process = self._start_api()
        self.checkpoint()
        resources = self._start_aws()
        self.checkpoint()
        self._start_mail_pipelines(resources)
        self._start_outbox()
        self._wait_for_api()
        assert self.identity_pool is not None
        sign_in = self._sign_in_demo_users(self.identity_pool)
        demo_tickets = self._load_demo() if options.demo else {}
        return {
            "api_url": options.api_url,
            "page_url": f"{options.api_url}/#outbox={self.outbox_url}&token={self.agent_token}",
            "outbox_url": self.outbox_url,
            "agent_token": self.agent_token,
            "agent_id": self.agent_id,
            "admin_token": self.admin_token,
            "admin_id": self.admin_id,
            "sign_in": sign_in,
            "aws_endpoint_url": options.aws_endpoint_url,
            "region": REGION,
            "feedback_topic_arn": resources.feedback_topic_arn,
            "feedback_queue_url": resources.feedback_queue_url,
            "dead_letter_queue_url": resources.dead_letter_queue_url,
            "inbound_topic_arn": resources.inbound_topic_arn,
            "inbound_queue_url": resources.inbound_queue_url,
            "inbound_dead_letter_queue_url": resources.inbound_dead_letter_queue_url,
            "inbound_bucket": resources.inbound_bucket,
            "attachments_bucket": resources.attachments_bucket,
            "suppression_list_file": str(options.suppression_list_file),
            "table_name": resources.table_name,
            "configuration_set": resources.configuration_set,
            "sender": os.environ["DESKMAIL_SENDER"],
            "stage": options.stage,
            "demo": demo_tickets,
            "pid": os.getpid(),
        }

    def shutdown(self) -> None:
        self.stop.set()
        if self.api_process and self.api_process.poll() is None:
            # Its own process group (see _start_api): signal the whole group, so nothing it started survives.
            os.killpg(self.api_process.pid, signal.SIGTERM)
            try:
                self.api_process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.api_process.pid, signal.SIGKILL)
                self.api_process.wait()
        for thread in self.threads:
            thread.join(timeout=5)
        if self.moto_server is not None:
            self.moto_server.stop()
        self.options.stack_file.unlink(missing_ok=True)

    # ---- the pieces -------------------------------------------------------------------------------------------------

    def _start_api(self) -> subprocess.Popen:
        chalice = Path(sys.executable).parent / "chalice"
        command = [
            str(chalice),
            "local",
            "--stage",
            self.options.stage,
            "--host",
            HOST,
            "--port",
            str(self.options.api_port),
            # The stat-based reloader would walk .venv every second; restart the stack to pick up code changes.
            "--no-autoreload",
        ]
        # A new session: Ctrl-C reaches the stack only, which then stops the API itself, quietly. Its threaded
        # server imports app.py's lazy modules up front (chalicelib/lazy.py: LazyLoader is not thread-safe).
        env = dict(os.environ, DESKMAIL_EAGER_IMPORTS="1")
        return subprocess.Popen(command, cwd=PROJECT_DIR, env=env, start_new_session=True, preexec_fn=_die_with_parent)

    def _start_aws(self):
        import boto3
        from moto.server import ThreadedMotoServer

        from chalicelib.config import settings
        from deskmail_local import moto_fidelity
        from deskmail_local.resources import create_resources

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per AWS call drowns the rest
        moto_fidelity.apply()  # SES's 50-recipient limit counted per address, as SES does
        self.moto_server = ThreadedMotoServer(ip_address=HOST, port=self.options.moto_port, verbose=False)
        self.moto_server.start()
        session = boto3.session.Session()
        self.clients = {
            name: session.client(name) for name in ("dynamodb", "sesv2", "ses", "sns", "sqs", "s3", "cognito-idp")
        }
        resources = create_resources(self.clients, self.options.stage, settings().sender_domain)
        pool = cognito.create_pool(self.clients["cognito-idp"], REGION)
        if (pool.user_pool_id, pool.client_id) != (
            os.environ["DESKMAIL_COGNITO_USER_POOL_ID"],
            os.environ["DESKMAIL_COGNITO_CLIENT_ID"],
        ):
            raise StartupError(
                f"moto created user pool {pool.user_pool_id} / client {pool.client_id}, not the ids the dev stage "
                "names in .chalice/config.json: update DESKMAIL_COGNITO_*, DESKMAIL_AUTH_ISSUER and _AUDIENCE there"
            )
        self.identity_pool = pool
        return resources

    def _start_mail_pipelines(self, resources) -> None:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends

        import app  # the Chalice app, with the stage's environment in place; its handlers are what Lambda runs
        from chalicelib.adapters.ses_account import LocalSuppressionList
        from chalicelib.config import settings
        from deskmail_local.simulator import InboundRoute, MailboxSimulator, identity_notifications_from_environment
        from deskmail_local.worker import QueueWorker

        one_invocation_at_a_time = threading.Lock()

        def worker(name: str, queue_url: str, queue_arn: str, handler, function: str) -> QueueWorker:
            return QueueWorker(
                sqs=self.clients["sqs"],
                queue_url=queue_url,
                queue_arn=queue_arn,
                handler=handler,
                function_name=f"deskmail-{self.options.stage}-{function}",
                region=REGION,
                account_id=DEFAULT_ACCOUNT_ID,
                stop=self.stop,
                name=name,
                invocation_lock=one_invocation_at_a_time,
            )

        feedback_worker = worker(
            "feedback",
            resources.feedback_queue_url,
            resources.feedback_queue_arn,
            app.handle_ses_feedback,
            FEEDBACK_FUNCTION,
        )
        inbound_worker = worker(
            "inbound",
            resources.inbound_queue_url,
            resources.inbound_queue_arn,
            app.handle_inbound_email,
            INBOUND_FUNCTION,
        )
        simulator = MailboxSimulator(
            ses_backend=ses_backends[DEFAULT_ACCOUNT_ID][REGION],
            sns_client=self.clients["sns"],
            stop=self.stop,
            region=REGION,
            account_id=DEFAULT_ACCOUNT_ID,
            suppression_list=LocalSuppressionList(str(self.options.suppression_list_file)),
            # The receipt rule production would have: mail to the sender's domain goes to the inbound topic.
            inbound=InboundRoute(resources.inbound_topic_arn, settings().sender_domain, resources.inbound_bucket),
            s3_client=self.clients["s3"],
            # The deployed stack also points the domain identity's Bounce/Complaint notifications at that topic.
            identity_notifications=identity_notifications_from_environment(
                settings().sender_domain, resources.feedback_topic_arn
            ),
        )
        for part in (feedback_worker, inbound_worker, simulator):
            part.start()
            self.threads.append(part)

    def _start_outbox(self) -> None:
        from deskmail_local.outbox import OutboxServer

        port = int(os.environ.get("OUTBOX_PORT", "0"))
        outbox = OutboxServer(HOST, port, self.options.aws_endpoint_url, REGION, self.stop)
        outbox.start()
        self.threads.append(outbox)
        self.outbox_url = outbox.url

    def _wait_for_api(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            self.checkpoint()
            assert self.api_process is not None
            if self.api_process.poll() is not None:
                raise StartupError(f"`chalice local` exited with code {self.api_process.returncode} (see above)")
            try:
                with urllib.request.urlopen(f"{self.options.api_url}/health", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            self.stop.wait(0.1)
        raise StartupError(f"the API did not answer {self.options.api_url}/health within {STARTUP_TIMEOUT_SECONDS} s")

    def _sign_in_demo_users(self, pool: cognito.LocalPool) -> dict:
        """The first admin (as scripts/create_admin.py makes one), then the demo agent invited by that admin through
        the API, both signed in through the pool like the page signs in; their tokens are renewed in the background."""
        from chalicelib import runtime
        from chalicelib.ids import utc_now
        from chalicelib.services import agents

        directory = runtime.directory()
        admin = agents.create_admin(
            runtime.table(), directory, DEMO_ADMIN["name"], DEMO_ADMIN["username"], utc_now, DEMO_ADMIN["password"]
        )
        self.admin_id = admin.id
        admin_tokens = directory.sign_in(DEMO_ADMIN["username"], DEMO_ADMIN["password"])
        self.admin_token = admin_tokens["access_token"]
        admin_api = DeskmailApi(self.options.api_url, token=self.admin_token)
        agent = admin_api.post("/agents", {"name": DEMO_AGENT["name"], "email": DEMO_AGENT["username"]})
        directory.set_password(DEMO_AGENT["username"], DEMO_AGENT["password"])
        self.agent_id = agent["id"]
        agent_tokens = directory.sign_in(DEMO_AGENT["username"], DEMO_AGENT["password"])
        self.agent_token = agent_tokens["access_token"]
        renewer = threading.Thread(
            target=self._renew_tokens,
            args=(directory, admin_tokens["refresh_token"], agent_tokens["refresh_token"]),
            name="token-renewer",
            daemon=True,
        )
        renewer.start()
        self.threads.append(renewer)
        return {
            "provider": "cognito (moto)",
            "endpoint": self.options.aws_endpoint_url,
            "region": REGION,
            "user_pool_id": pool.user_pool_id,
            "client_id": pool.client_id,
            "issuer": pool.issuer,
            "jwks_url": os.environ["DESKMAIL_AUTH_JWKS_URL"],
            "agent": {"username": DEMO_AGENT["username"], "password": DEMO_AGENT["password"]},
            "admin": {"username": DEMO_ADMIN["username"], "password": DEMO_ADMIN["password"]},
        }

    def _renew_tokens(self, directory, admin_refresh: str, agent_refresh: str) -> None:
        """stack.json's tokens stay valid while the stack runs: renewed well before moto's one-hour expiry."""
        while not self.stop.wait(TOKEN_REFRESH_SECONDS):
            try:
                self.admin_token = directory.refresh(admin_refresh)["access_token"]
                self.agent_token = directory.refresh(agent_refresh)["access_token"]
                if self.options.stack_file.exists():
                    description = json.loads(self.options.stack_file.read_text())
                    description.update(
                        {
                            "agent_token": self.agent_token,
                            "admin_token": self.admin_token,
                            "page_url": f"{self.options.api_url}/#token={self.agent_token}",
                        }
                    )
                    self._write_stack_file(description)
            except Exception as error:  # the stack keeps running; the next round tries again
                log.error("the demo tokens could not be renewed: %s", error)

    def _load_demo(self) -> dict[str, str]:
        try:
            agent = DeskmailApi(self.options.api_url, token=self.agent_token)
            admin = DeskmailApi(self.options.api_url, token=self.admin_token)
            return demo.load(agent, admin)
        except (ApiError, OSError) as error:
            log.error("the demo data could not be loaded (the stack runs without it): %s", error)
            return {}

    def _write_stack_file(self, description: dict) -> None:
        path = self.options.stack_file
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(description, indent=2) + "\n")
        temporary.replace(path)  # atomic: a reader sees no file or the whole file

    def _print_banner(self, description: dict, startup_seconds: float) -> None:
        api, aws = description["api_url"], description["aws_endpoint_url"]
        ticket = next(iter(description["demo"].values()), "<ticket id>")
        lines = [
            "",
            f"deskmail is running locally (stage {description['stage']}), up in {startup_seconds:.1f} s.",
            f"  agent page        {description['page_url']}",
            f'  API               {api}   (send: -H "Authorization: Bearer $TOKEN")',
            f"  agent token       export TOKEN={description['agent_token']}",
            f"  admin token       export ADMIN_TOKEN={description['admin_token']}",
            f"  sign in (agent)   {description['sign_in']['agent']['username']} / "
            f"{description['sign_in']['agent']['password']}",
            f"  sign in (admin)   {description['sign_in']['admin']['username']} / "
            f"{description['sign_in']['admin']['password']}",
            f"  AWS (moto)        {aws}   (dashboard: {aws}/moto-api/)",
            f"  outbox            {description['outbox_url']}   (every email sent, rendered)",
            f"  stack description {self.options.stack_file}",
            f"  feedback queue    {description['feedback_queue_url']}",
            f"  dead-letter queue {description['dead_letter_queue_url']}",
            f"  inbound queue     {description['inbound_queue_url']}",
            f"  suppression list  {description['suppression_list_file']}",
        ]
        if description["demo"]:
            lines.append("  demo tickets:")
            lines += [f"    {name:<14} {ticket_id}" for name, ticket_id in description["demo"].items()]
        lines += [
            "",
            "Try:",
            f'  curl -s -H "Authorization: Bearer $TOKEN" {api}/tickets/{ticket}/comments | python3 -m json.tool',
            f'  curl -s -H "Authorization: Bearer $TOKEN" {api}/tickets/{ticket}/events | python3 -m json.tool',
            f"  curl -s -H \"Authorization: Bearer $TOKEN\" '{api}/tickets?tag=system_email_notification_failure'",
            f"  curl -s -H \"Authorization: Bearer $TOKEN\" -X POST {api}/users -H 'Content-Type: application/json' \\",
            '       -d \'{"name": "Rita", "email": "bounce@simulator.amazonses.com", "role": "end-user"}\'',
            f"  aws --endpoint-url {aws} sqs get-queue-attributes --attribute-names ApproximateNumberOfMessages \\",
            f"       --queue-url {description['dead_letter_queue_url']}",
            "",
            "Mail to success@, bounce@, ooto@, complaint@, suppressionlist@simulator.amazonses.com, any *.invalid",
            "domain (retried, then expired), unknown*@, full*@, big*@, tiny*@ (over 64 KB) or reply*@ any domain:",
            "what real SES reports;",
            "hard bounces and complaints go on the account-level suppression list (GET/DELETE /suppressions/{email}).",
            "Ctrl-C stops everything.",
            "",
        ]
        print("\n".join(lines), flush=True)


def main() -> int:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s", "%H:%M:%S"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    sys.path.insert(0, str(PROJECT_DIR))  # app.py and chalicelib, wherever this is started from
    return LocalStack(Options.from_environment()).run()
