"""Test helpers: a JSON client over Chalice's test client, and the SQS handler fed like Lambda feeds it."""

from __future__ import annotations

import json
import os
import uuid


def agent_token(subject="test-agent", **kwargs):
    from chalicelib import auth

    return auth.issue_token(subject, key=os.environ["DESKMAIL_JWT_SECRET"], **kwargs)


class Api:
    def __init__(self, client, token=None):
        self.client = client
        self.token = token or agent_token()

    def _call(self, method, path, body=None, headers=None):
        all_headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.token}", **(headers or {})}
        data = json.dumps(body) if body is not None else None
        response = getattr(self.client.http, method)(path, headers=all_headers, body=data)
        payload = json.loads(response.body) if response.body else None
        return response.status_code, payload

    def get(self, path, headers=None):
        return self._call("get", path, headers=headers)

    def post(self, path, body, headers=None):
        return self._call("post", path, body, headers)

    def patch(self, path, body):
        return self._call("patch", path, body)

    def put(self, path, body):
        return self._call("put", path, body)

    def ok(self, method, path, body=None, expect=(200, 201)):
        status, payload = self._call(method, path, body)
        assert status in expect, (status, payload)
        return payload

    def user(self, name, email=None, role="end-user", **extra):
        return self.ok("post", "/users", {"name": name, "email": email, "role": role, **extra})

    def events(self, ticket_id, locale=None):
        """The whole events log, following next_page."""
        events, page_token = [], None
        while True:
            query = {"locale": locale, "next_page": page_token}
            suffix = "&".join(f"{name}={value}" for name, value in query.items() if value)
            page = self.ok("get", f"/tickets/{ticket_id}/events" + (f"?{suffix}" if suffix else ""))
            events += page["events"]
            page_token = page.get("next_page")
            if not page_token:
                return events

    def comments(self, ticket_id, locale=None):
        suffix = f"?locale={locale}" if locale else ""
        return self.ok("get", f"/tickets/{ticket_id}/comments{suffix}")["comments"]


def feed(client, *bodies):
    """Hands SQS bodies to the feedback handler as one Lambda SQS event; returns the partial-batch response."""
    event = client.events.generate_sqs_event(message_bodies=list(bodies), queue_name="deskmail-feedback-dev")
    for record in event["Records"]:
        record["messageId"] = str(uuid.uuid4())  # Chalice's generator repeats one id; SQS never does
    response = client.lambda_.invoke("handle_ses_feedback", event)
    return response.payload, event


def message_ids(comment):
    return {recipient["email"]: recipient["message_id"] for recipient in comment["delivery"]["recipients"]}


def sent_messages():
    """What moto's SES kept of each message sent (in-process mode): id, destinations and the raw MIME."""
    import email
    import email.utils

    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    # moto lists the call's Destination and then adds what it reads from To/Cc/Bcc: bare addresses, each once,
    # so a recipient smuggled into a header still shows up here.
    return [
        {
            "id": m.id,
            "destinations": list(dict.fromkeys(email.utils.parseaddr(entry)[1] for entry in m.destinations)),
            "mime": email.message_from_string(m.raw_data),
        }
        for m in ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    ]


def people(api, domain="example.com"):
    """An agent, a requester, a CC and an end-user without an address."""
    return {
        "agent": api.user("Ada Agent", "ada@deskmail.example.com", role="agent"),
        "requester": api.user("Rita Requester", f"rita@{domain}"),
        "cc": api.user("Carl Cc", f"carl@{domain}"),
        "nomail": api.user("Nina Nomail"),
    }


def open_ticket(api, who, cc=("cc",), assignee="agent", subject="Printer on fire"):
    return api.ok(
        "post",
        "/tickets",
        {
            "subject": subject,
            "requester_id": who["requester"]["id"],
            "cc_ids": [who[name]["id"] for name in cc],
            "assignee_id": who[assignee]["id"] if assignee else None,
            "comment": {"author_id": who["requester"]["id"], "body": "It smokes.", "public": True},
        },
    )
