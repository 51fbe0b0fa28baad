"""The local outbox: every email the local SES accepted, rendered as its recipient would read it.

`make run` serves it beside the API (its URL is `outbox_url` in stack.json, linked from the workspace page):
a list of messages newest first, and per message its headers, the Message-ID SES gives it, the text part, and
the HTML part in a sandboxed frame (no scripts, no network: `Content-Security-Policy: default-src 'none'`).
It reads what moto's SES kept (`GET {moto}/moto-api/data.json`, ses.RawMessage), so it also works against a
stack started elsewhere: `python -m deskmail_local.outbox` reads .local/stack.json.
"""

from __future__ import annotations

import email
import html
import json
import logging
import sys
import threading
import urllib.request
from dataclasses import dataclass
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from chalicelib.domain.threads import ses_message_id_header

log = logging.getLogger("deskmail_local")

HTML_PART_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
PAGE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'; base-uri 'none'; form-action 'none'"
SHOWN_HEADERS = (
    "From",
    "To",
    "Cc",
    "Reply-To",
    "Subject",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Content-Language",
    "Auto-Submitted",
    "X-Auto-Response-Suppress",
    "X-SES-CONFIGURATION-SET",
    "X-SES-MESSAGE-TAGS",
)


@dataclass(frozen=True)
class OutboxMessage:
    """One message SES accepted, as a mail client shows it."""

    position: int  # 1 = the first message sent
    ses_message_id: str
    message_id_header: str  # what SES puts in Message-ID when it sends
    destinations: tuple[str, ...]
    headers: tuple[tuple[str, str], ...]
    text: str
    html: str
    raw: str

    def header(self, name: str) -> str:
        return next((value for key, value in self.headers if key.lower() == name.lower()), "")

    @property
    def tags(self) -> dict[str, str]:
        pairs = (pair.strip().partition("=") for pair in self.header("X-SES-MESSAGE-TAGS").split(","))
        return {name: value for name, _, value in pairs if name}


def _decoded(value: str) -> str:
    try:
        return str(make_header(decode_header(value))).replace("\n", " ")
    except (LookupError, ValueError):
        return value


def _part(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_subtype() != subtype:
        return ""
    try:
        return str(part.get_content())
    except (LookupError, ValueError):
        return ""


def parse_message(position: int, raw_message: dict, region: str) -> OutboxMessage:
    raw = str(raw_message.get("raw_data") or "")
    parsed = email.message_from_string(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    ses_id = str(raw_message.get("id") or "")
    try:
        message_id_header = ses_message_id_header(ses_id, region)
    except ValueError:
        message_id_header = ""
    return OutboxMessage(
        position=position,
        ses_message_id=ses_id,
        message_id_header=message_id_header,
        destinations=tuple(str(d) for d in raw_message.get("destinations") or ()),
        headers=tuple((name, _decoded(str(parsed.get(name)))) for name in SHOWN_HEADERS if parsed.get(name)),
        text=_part(parsed, "plain"),
        html=_part(parsed, "html"),
        raw=raw,
    )


def fetch_messages(aws_endpoint_url: str, region: str) -> list[OutboxMessage]:
    """What moto's SES accepted, oldest first."""
    with urllib.request.urlopen(f"{aws_endpoint_url.rstrip('/')}/moto-api/data.json", timeout=10) as response:
        data = json.load(response)
    raw_messages = (data.get("ses") or {}).get("RawMessage") or []
    return [parse_message(index + 1, item, region) for index, item in enumerate(raw_messages)]


# ---- pages -----------------------------------------------------------------------------------------------------------

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
header{background:#24292f;color:#fff;padding:10px 20px}header a{color:#fff}
main{padding:16px 20px}table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #d0d7de;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#eaeef2}code,pre{font:12px/1.4 ui-monospace,monospace}pre{white-space:pre-wrap;background:#fff;
border:1px solid #d0d7de;padding:12px}iframe{width:100%;height:640px;border:1px solid #d0d7de;background:#fff}
.lang{font-weight:bold;text-transform:uppercase}.muted{color:#57606a}section{margin:0 0 20px}
"""


def _page(title: str, body: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body><header><strong>deskmail local outbox</strong> &middot; "
        f'<a href="/">all messages</a></header><main>{body}</main></body></html>'
    )


def index_page(messages: list[OutboxMessage], ticket_id: str | None = None) -> str:
    shown = [m for m in messages if not ticket_id or m.tags.get("ticket_id") == ticket_id]
    rows = "".join(
        "<tr>"
        f'<td><a href="/messages/{html.escape(m.ses_message_id)}">#{m.position}</a></td>'
        f"<td>{html.escape(', '.join(m.destinations))}</td>"
        f'<td class="lang">{html.escape(m.header("Content-Language") or "-")}</td>'
        f"<td>{html.escape(m.header('Subject'))}</td>"
        f"<td>{html.escape(m.tags.get('trigger_id', ''))}</td>"
        f'<td><a href="/?ticket={html.escape(m.tags.get("ticket_id", ""))}">'
        f"{html.escape(m.tags.get('ticket_id', ''))}</a></td>"
        "</tr>"
        for m in reversed(shown)
    )
    heading = f"{len(shown)} message(s)" + (f" for ticket {html.escape(ticket_id)}" if ticket_id else "")
    return _page(
        "deskmail outbox",
        f"<h1>{heading}, newest first</h1><table><thead><tr><th>#</th><th>To</th><th>Language</th><th>Subject</th>"
        f"<th>Trigger</th><th>Ticket</th></tr></thead><tbody>{rows}</tbody></table>",
    )


def message_page(message: OutboxMessage) -> str:
    headers = "".join(
        f"<tr><th>{html.escape(name)}</th><td><code>{html.escape(value)}</code></td></tr>"
        for name, value in message.headers
    )
    ses_row = (
        f"<tr><th>Message-ID as sent</th><td><code>{html.escape(message.message_id_header)}</code> "
        '<span class="muted">(SES replaces the Message-ID header with this)</span></td></tr>'
    )
    frame = (
        f'<iframe sandbox title="HTML part" src="/messages/{html.escape(message.ses_message_id)}/html"></iframe>'
        if message.html
        else '<p class="muted">No HTML part.</p>'
    )
    return _page(
        message.header("Subject") or message.ses_message_id,
        f"<h1>#{message.position} {html.escape(message.header('Subject'))}</h1>"
        f"<section><table><tbody><tr><th>SES message id</th><td><code>{html.escape(message.ses_message_id)}</code>"
        f"</td></tr><tr><th>Destination</th><td>{html.escape(', '.join(message.destinations))}</td></tr>{ses_row}"
        f"{headers}</tbody></table></section>"
        f"<section><h2>HTML part</h2>{frame}</section>"
        f"<section><h2>Text part</h2><pre>{html.escape(message.text) or '(none)'}</pre></section>"
        f'<section><h2>Raw message</h2><p><a href="/messages/{html.escape(message.ses_message_id)}/raw">'
        "download (.eml)</a></p></section>",
    )


class OutboxHandler(BaseHTTPRequestHandler):
    server: OutboxHttpServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        return  # one line per page view would drown the stack's log

    def _send(self, status: int, body: str, content_type: str, security_policy: str) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Security-Policy", security_policy)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        url = urlsplit(self.path)
        parts = [part for part in url.path.split("/") if part]
        try:
            messages = fetch_messages(self.server.aws_endpoint_url, self.server.region)
        except OSError as error:
            self._send(
                502,
                _page("outbox", f"<p>moto is not reachable: {html.escape(str(error))}</p>"),
                "text/html; charset=utf-8",
                PAGE_POLICY,
            )
            return
        if not parts:
            ticket = next(iter(parse_qs(url.query).get("ticket") or []), None)
            self._send(200, index_page(messages, ticket), "text/html; charset=utf-8", PAGE_POLICY)
            return
        found = next((m for m in messages if len(parts) >= 2 and m.ses_message_id == parts[1]), None)
        if parts[0] != "messages" or found is None or len(parts) > 3:
            self._send(404, _page("outbox", "<p>No such message.</p>"), "text/html; charset=utf-8", PAGE_POLICY)
        elif len(parts) == 2:
            self._send(200, message_page(found), "text/html; charset=utf-8", PAGE_POLICY)
        elif parts[2] == "html":
            self._send(200, found.html, "text/html; charset=utf-8", HTML_PART_POLICY)
        elif parts[2] == "raw":
            self._send(200, found.raw, "message/rfc822", HTML_PART_POLICY)
        else:
            self._send(404, _page("outbox", "<p>No such page.</p>"), "text/html; charset=utf-8", PAGE_POLICY)


class OutboxHttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], aws_endpoint_url: str, region: str):
        super().__init__(address, OutboxHandler)
        self.aws_endpoint_url = aws_endpoint_url
        self.region = region


class OutboxServer(threading.Thread):
    """The outbox pages on host:port (0: any free port), until stop() or the stack's stop event."""

    def __init__(self, host: str, port: int, aws_endpoint_url: str, region: str, stop: threading.Event):
        super().__init__(name="outbox", daemon=True)
        self.httpd = OutboxHttpServer((host, port), aws_endpoint_url, region)
        self.stop_event = stop

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def run(self) -> None:
        watcher = threading.Thread(target=self._stop_when_asked, name="outbox-stop", daemon=True)
        watcher.start()
        self.httpd.serve_forever(poll_interval=0.2)

    def _stop_when_asked(self) -> None:
        self.stop_event.wait()
        self.httpd.shutdown()
        self.httpd.server_close()


def main() -> int:
    stack_file = Path(sys.argv[1] if len(sys.argv) > 1 else ".local/stack.json")
    stack = json.loads(stack_file.read_text())
    stop = threading.Event()
    server = OutboxServer("127.0.0.1", 0, stack["aws_endpoint_url"], stack.get("region", "us-east-1"), stop)
    print(f"deskmail outbox: {server.url}", flush=True)
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
