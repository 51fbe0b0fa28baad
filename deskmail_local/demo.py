"""Demo data for the local stack, created through the HTTP API like an agent would: people, and one ticket per
delivery scenario, each answered by an agent so its notification meets the mailbox simulator."""

from __future__ import annotations

from dataclasses import dataclass

from deskmail_local.client import DeskmailApi

AGENTS = {
    "ada": ("Ada Agent", "ada@deskmail.example.com"),
    "bob": ("Bob Agent", "bob@deskmail.example.com"),
}
END_USERS = {
    "sam": ("Sam Success", "success@simulator.amazonses.com"),
    "nora": ("Nora Nowhere", "someone@nowhere.invalid"),
    "carl": ("Carl Bounce", "bounce@simulator.amazonses.com"),
    "bea": ("Bea Bounce", "bounce+all@simulator.amazonses.com"),
    "elsa": ("Elsa Elsewhere", "unknown-elsa@example.com"),  # a receiving server that knows no such user
    "sue": ("Sue Suppressed", "suppressionlist@simulator.amazonses.com"),
    "cole": ("Cole Complainer", "complaint@simulator.amazonses.com"),
    "fiona": ("Fiona Full", "full-mailbox@example.com"),
    "otto": ("Otto Away", "ooto@simulator.amazonses.com"),
    "tina": ("Tina Tiny", "tiny-inbox@example.com"),  # her server refuses messages above 64 KB (552 5.3.4)
    "nina": ("Nina Nomail", None),
}


RECEIVED_TRIGGER = "notify-requester-received"


@dataclass(frozen=True)
class Scenario:
    name: str
    subject: str
    requester: str
    ccs: tuple[str, ...] = ()
    assignee: str = "ada"


# Ada answers every ticket publicly: "Notify requester and CCs of comment update" mails the requester and CCs, and
# where Bob is the assignee, "Notify assignee of comment update" mails him too.
SCENARIOS = (
    Scenario("delivered", "Password reset link", "sam", assignee="bob"),
    Scenario("bounced_one", "Invoice 2041 is wrong", "nora"),
    Scenario("bounced_some", "VPN drops every hour", "sam", ccs=("carl",)),
    Scenario("bounced_all", "Office move: new desks", "bea", ccs=("elsa", "sue")),
    Scenario("complained", "Newsletter settings", "cole"),
    Scenario("mailbox_full", "Shared drive quota", "fiona"),
    Scenario("out_of_office", "Laptop replacement", "otto"),
    Scenario("no_address", "Called in: broken badge", "nina"),
)


def load(api: DeskmailApi, admin: DeskmailApi) -> dict[str, str]:
    """Creates the demo; returns ticket ids by scenario name. api: signed in as Ada (the demo agent, who answers
    every ticket); admin: an admin, who invites Bob and switches a trigger off while loading."""
    people = {"ada": api.get("/me")}
    people.update(
        {
            key: admin.post("/agents", {"name": name, "email": email})
            for key, (name, email) in AGENTS.items()
            if key != "ada"
        }
    )
    people.update({key: api.user(name, email) for key, (name, email) in END_USERS.items()})
    tickets: dict[str, str] = {}
    # The "received request" email would reach each requester first; if it bounced before the agent's reply went
    # out, deskmail would (rightly) hold the reply back and the scenario would depend on timing. Off while loading.
    admin.call("PATCH", f"/triggers/{RECEIVED_TRIGGER}", {"active": False})
    try:
        _load_scenarios(api, people, tickets)
    finally:
        admin.call("PATCH", f"/triggers/{RECEIVED_TRIGGER}", {"active": True})
    return tickets


# A small invoice that rides inline, and a screenshot that makes the message too large for Tina's server (and
# still fits the inline budget, so it is attached, not linked): after the bounce, "resend with links" fixes it.
INVOICE = b"%PDF-1.4\n% deskmail demo invoice\n" + b"0" * 2000 + b"\n%%EOF\n"
SCREENSHOT = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 800  # 200 KB


@dataclass(frozen=True)
class FileScenario:
    name: str
    subject: str
    requester: str
    ccs: tuple[str, ...]
    file_name: str
    data: bytes
    content_type: str


FILE_SCENARIOS = (
    FileScenario("attachment", "Invoice copy, please", "sam", (), "Invoice 2041.pdf", INVOICE, "application/pdf"),
    FileScenario("too_large", "Screen flickers", "tina", ("sam",), "screenshot.png", SCREENSHOT, "image/png"),
)


def _load_scenarios(api: DeskmailApi, people: dict, tickets: dict) -> None:
    for scenario in SCENARIOS:
        ticket = api.ticket(
            scenario.subject,
            people[scenario.requester],
            f"Hello, {scenario.subject.lower()}. Can you help?",
            cc=tuple(people[cc] for cc in scenario.ccs),
            assignee=people[scenario.assignee],
        )
        api.comment(ticket["id"], people["ada"], "Thanks, we are on it. I will update you here.")
        tickets[scenario.name] = ticket["id"]
    for file_scenario in FILE_SCENARIOS:
        ticket = api.ticket(
            file_scenario.subject,
            people[file_scenario.requester],
            f"Hello, {file_scenario.subject.lower()}. Can you help?",
            cc=tuple(people[cc] for cc in file_scenario.ccs),
            assignee=people["ada"],
        )
        declared = api.attach(ticket["id"], file_scenario.file_name, file_scenario.data, file_scenario.content_type)
        api.post(
            f"/tickets/{ticket['id']}/comments",
            {"body": "Here is the file. I will update you here.", "public": True, "attachment_ids": [declared["id"]]},
        )
        tickets[file_scenario.name] = ticket["id"]
