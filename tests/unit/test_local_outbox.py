"""The local outbox page: reads moto's data.json, shows each message's headers, SES Message-ID, text and HTML."""

from __future__ import annotations

import json
import threading
import urllib.request
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from deskmail_local import outbox


def raw_message(language: str, text: str, html: str) -> str:
    message = EmailMessage()
    message["From"] = "Support <support@deskmail.example.com>"
    message["To"] = "Greta <greta@example.com>"
    message["Subject"] = "[Ticket 4TDV9V] Drucker brännt"
    message["X-SES-MESSAGE-TAGS"] = "ticket_id=01jabcdefghjkmnpqrst4tdv9v, trigger_id=notify-requester-ccs-comment"
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    message["Content-Language"] = language  # after set_content, which drops Content-* headers
    return message.as_string()


@pytest.fixture
def moto_api():
    """A stand-in for moto's /moto-api/data.json with two raw messages."""
    data = {
        "ses": {
            "RawMessage": [
                {
                    "id": "0100-aaa",
                    "destinations": ["greta@example.com"],
                    "raw_data": raw_message("de", "Hallo", "<p>x"),
                },
                {
                    "id": "0100-bbb",
                    "destinations": ["greta@example.com"],
                    "raw_data": raw_message("de", "Text <b>x</b>", "<p>Hallo <script>alert(1)</script></p>"),
                },
            ]
        }
    }

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            body = json.dumps(data).encode()
            self.send_response(200 if self.path == "/moto-api/data.json" else 404)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture
def outbox_url(moto_api):
    stop = threading.Event()
    server = outbox.OutboxServer("127.0.0.1", 0, moto_api, "us-east-1", stop)
    server.start()
    yield server.url
    stop.set()


def get(url: str) -> tuple[int, dict, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def test_index_lists_messages_newest_first_with_language_and_decoded_subject(outbox_url):
    status, headers, page = get(outbox_url + "/")

    assert status == 200 and "default-src 'none'" in headers["Content-Security-Policy"]
    assert page.index("/messages/0100-bbb") < page.index("/messages/0100-aaa")
    assert "[Ticket 4TDV9V] Drucker brännt" in page and '<td class="lang">de</td>' in page


def test_message_page_shows_headers_ses_message_id_and_escaped_text(outbox_url):
    status, _, page = get(outbox_url + "/messages/0100-bbb")

    assert status == 200
    assert "&lt;0100-bbb@email.amazonses.com&gt;" in page  # the Message-ID SES gives it
    assert "Text &lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    assert '<iframe sandbox title="HTML part" src="/messages/0100-bbb/html">' in page


def test_html_part_is_served_without_scripts_or_network(outbox_url):
    status, headers, part = get(outbox_url + "/messages/0100-bbb/html")

    assert status == 200 and "<p>Hallo" in part
    assert headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "script-src" not in headers["Content-Security-Policy"]


def test_unknown_message_is_404(outbox_url):
    assert get(outbox_url + "/messages/nope")[0] == 404
    assert get(outbox_url + "/elsewhere/0100-aaa")[0] == 404


def test_index_filters_by_ticket(outbox_url):
    _, _, page = get(outbox_url + "/?ticket=someone-else")

    assert "0 message(s) for ticket someone-else" in page
