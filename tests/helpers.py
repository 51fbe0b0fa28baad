"""Test helpers: a JSON client over Chalice's test client, and the SQS handler fed like Lambda feeds it."""

from __future__ import annotations

import json
import uuid


def agent_token(subject=None, role="agent", **kwargs):
    """An access token of the test identity provider (tests/tokens.py); the subject need not be a deskmail agent."""
    from tests.tokens import access_token

    return access_token(subject or str(uuid.uuid4()), role, **kwargs)


def signed_in_agent(name="Terry Tester", email=None, role="agent"):
    """A deskmail agent user linked to a new identity (`sub`), as POST /agents makes one, and its access token."""
    from chalicelib import runtime
    from chalicelib.ids import utc_now
    from chalicelib.services import agents

    subject = str(uuid.uuid4())
    email = email or f"{role}-{subject[:8]}@deskmail.example.com"
    user = agents.register(runtime.table(), subject, subject, name, email, role, utc_now)
    return user, agent_token(subject, role)


def token_of(user_id, role="agent"):
    """An access token for an agent user made through the API (POST /agents, or POST /users as an admin)."""
    from chalicelib import runtime

    return agent_token(runtime.table().get_agent_account_of_user(user_id)["subject"], role)


class Api:
    """The API as a signed-in agent (role "agent" or "admin") whose deskmail user exists."""

    def __init__(self, client, token=None, role="agent"):
        self.client = client
        if token is None:
            self.me, token = signed_in_agent(role=role)
        self.token = token

    def admin(self):
        """The same API signed in as an admin (triggers, suppression list, agents)."""
        if getattr(self, "_admin", None) is None:
            self._admin = Api(self.client, role="admin")
        return self._admin

    def sign_in_as(self, user, role="agent"):
        """From now on, calls are made by this agent user (its id is the author of comments)."""
        self.token = token_of(user["id"], role)
        return self

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
    """An agent (invited by an admin; api signs in as her from then on), a requester, a CC and an end-user without
    an address."""
    agent = _invited_once(api, "Ada Agent", "ada@deskmail.example.com")
    api.sign_in_as(agent)
    return {
        "agent": agent,
        "requester": api.user("Rita Requester", f"rita@{domain}"),
        "cc": api.user("Carl Cc", f"carl@{domain}"),
        "nomail": api.user("Nina Nomail"),
    }


def _invited_once(api, name, email):
    """An agent user invited by an admin, once per test (people() may be called again for more tickets)."""
    from chalicelib import runtime

    for user in runtime.table().find_users_by_email(email):
        if user.role == "agent":
            return api.ok("get", f"/users/{user.id}")
    return Api(api.client, role="admin").user(name, email, role="agent")


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


def customer_comment(ticket_id, author_id, body, public=True):
    """A requester's or CC's comment: customers write by email (services/inbound.py), never through the agents' API,
    so tests add theirs through the use case itself."""
    from chalicelib import runtime
    from chalicelib.config import settings
    from chalicelib.ids import utc_now
    from chalicelib.services import workspace

    payload = {"author_id": author_id, "body": body, "public": public}
    return workspace.add_comment(runtime.table(), runtime.mailer(), settings(), ticket_id, payload, utc_now)
