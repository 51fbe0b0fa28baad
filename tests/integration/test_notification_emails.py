"""Notification emails as SES accepts them (issue 14's contract): the recipient's language in both parts, agent text
escaped, threads on SES's Message-IDs across comments and a reply, and more than 50 recipients split."""

from __future__ import annotations

import email
from email import policy

from tests import inbound_payloads as inbound
from tests.helpers import Api, _invited_once, sent_messages

DOMAIN = "deskmail.example.com"


def signed_in_agent(api):
    """Ada, invited by the admin; the API then signs in as her (comments are the signed-in agent's)."""
    agent = _invited_once(api, "Ada Agent", "ada@deskmail.example.com")
    api.sign_in_as(agent)
    return agent


def parts(mime) -> dict[str, str]:
    """The decoded text/plain and text/html parts of a raw message."""
    parsed = email.message_from_string(mime.as_string(), policy=policy.default)
    found = {}
    for part in parsed.walk():
        if part.get_content_type() in ("text/plain", "text/html"):
            found[part.get_content_subtype()] = part.get_content()
    return found


def message_to(address: str, since: int = 0):
    """The last raw message SES accepted for an address."""
    return [m for m in sent_messages()[since:] if any(address in d for d in m["destinations"])][-1]


def ses_header(message_id: str) -> str:
    return f"<{message_id}@email.amazonses.com>"


def ticket_for(api, requester, cc=(), assignee=None, body="It smokes."):
    return api.ok(
        "post",
        "/tickets",
        {
            "subject": "Printer on fire",
            "requester_id": requester["id"],
            "cc_ids": [user["id"] for user in cc],
            "assignee_id": assignee["id"] if assignee else None,
            "comment": {"author_id": requester["id"], "body": body, "public": True},
        },
    )


def comment(api, ticket, author, body):
    return api.ok(
        "post", f"/tickets/{ticket['id']}/comments", {"author_id": author["id"], "body": body, "public": True}
    )


def test_each_recipient_reads_their_language_in_both_parts_with_the_comment_escaped(client):
    api = Api(client, role="admin")
    agent = signed_in_agent(api)
    greta = api.user("Greta Berger", "greta@example.com", locale="de")
    emma = api.user("Emma English", "emma@example.com")
    ticket = ticket_for(api, greta, cc=(emma,), assignee=agent)
    before = len(sent_messages())

    comment(api, ticket, agent, "Please restart it. <b>x</b>")

    german, english = message_to("greta@example.com", before)["mime"], message_to("emma@example.com", before)["mime"]
    assert german is not english
    assert german["Content-Language"].startswith("de") and english["Content-Language"].startswith("en")
    assert german.get_content_type() == "multipart/alternative"
    german_parts, english_parts = parts(german), parts(english)
    assert set(german_parts) == set(english_parts) == {"plain", "html"}
    assert german_parts["plain"] != english_parts["plain"]
    assert "Bitte geben Sie Ihre Antwort über dieser Zeile ein" in german_parts["plain"]
    assert "Hallo Greta Berger," in german_parts["plain"] and "Hello Emma English," in english_parts["plain"]
    for found in (german_parts, english_parts):
        assert "Please restart it. &lt;b&gt;x&lt;/b&gt;" in found["html"] and "<b>x</b>" not in found["html"]
        assert "Please restart it. <b>x</b>" in found["plain"]
        assert "It smokes." in found["plain"]  # the earlier public comment, quoted below
        assert f"https://support.example.com/tickets/{ticket['id']}" in found["html"]
    assert german["Auto-Submitted"] == english["Auto-Submitted"] == "auto-generated"
    assert german["X-Auto-Response-Suppress"] == "OOF, AutoReply"
    assert " ".join(german["Reply-To"].split()) == f"Deskmail Support <support+{ticket['id']}@{DOMAIN}>"
    assert german["To"] == "Greta Berger <greta@example.com>" and german["Cc"] is None


def ritas_ticket(client):
    """Rita's ticket, assigned to Ada (signed in): the API, Ada, Rita, the ticket and its thread root."""
    api = Api(client, role="admin")
    agent = signed_in_agent(api)
    rita = api.user("Rita Requester", "rita@example.com")
    ticket = ticket_for(api, rita, assignee=agent)
    return api, agent, rita, ticket, f"<ticket-{ticket['id']}@{DOMAIN}>"


def test_the_thread_chains_on_ses_message_ids_across_three_comments_and_a_reply(client):
    api, agent, rita, ticket, root = ritas_ticket(client)
    first = message_to("rita@example.com")
    assert first["mime"]["In-Reply-To"] == root and first["mime"]["References"] == root

    ids = [first["id"]]
    for text in ("First answer.", "Second answer.", "Third answer."):
        comment(api, ticket, agent, text)
        latest = message_to("rita@example.com")
        assert latest["mime"]["In-Reply-To"] == ses_header(ids[-1])  # the previous notification as SES sent it
        assert latest["mime"]["References"].split() == [root, *map(ses_header, ids)]
        ids.append(latest["id"])

    comments = api.comments(ticket["id"])
    recorded = [r["message_id"] for c in comments for r in (c["delivery"] or {}).get("recipients", [])]
    assert set(ids) <= set(recorded)

    # The customer answers the last notification: matched by SES's Message-ID alone (no ticket id anywhere).
    reply = inbound.mime(
        subject="Re: no reference here", in_reply_to=ses_header(ids[-1]), references=ses_header(ids[-1])
    )
    inbound.feed_inbound(client, inbound.received(reply))
    answer = api.comments(ticket["id"])[-1]
    assert answer["body"] == "Thanks, it works again." and answer["author_id"] == rita["id"]
    assert "wrote:\n> On my way." in answer["original_body"]  # the whole email stays available to the agent

    # The agent's next comment goes on threading after the reply, on Rita's chain.
    comment(api, ticket, agent, "Glad to hear it.")
    assert message_to("rita@example.com")["mime"]["In-Reply-To"] == ses_header(ids[-1])


def test_a_reply_found_by_the_subject_reference_alone(client):
    api = Api(client, role="admin")
    rita = api.user("Rita Requester", "rita@example.com")
    ticket = ticket_for(api, rita)
    subject = message_to("rita@example.com")["mime"]["Subject"]
    assert subject == f"[Ticket {ticket['id'][-6:].upper()}] Printer on fire"

    inbound.feed_inbound(client, inbound.received(inbound.mime(subject=f"Re: {subject}", body="Still broken.")))

    assert [c["body"] for c in api.comments(ticket["id"])] == ["It smokes.", "Still broken."]


def test_a_requester_and_fifty_ccs_all_get_a_message_id(client):
    api = Api(client, role="admin")
    agent = signed_in_agent(api)
    rita = api.user("Rita Requester", "rita@example.com")
    ccs = [api.user(f"Cc {n}", f"cc{n}@example.com") for n in range(50)]
    ticket = ticket_for(api, rita, cc=ccs, assignee=agent)
    before = len(sent_messages())

    comment(api, ticket, agent, "Update for everyone.")

    sent = sent_messages()[before:]
    assert sorted(len(m["destinations"]) for m in sent) == [1, 50]
    delivery = api.comments(ticket["id"])[-1]["delivery"]
    recipients = {r["email"]: r for r in delivery["recipients"]}
    assert len(recipients) == 51
    assert all(r["status"] == "sent" and r["message_id"] for r in recipients.values())
    assert {r["message_id"] for r in recipients.values()} == {m["id"] for m in sent}
    assert all(len(m["destinations"]) <= 50 for m in sent)


def test_a_recipient_new_to_the_ticket_threads_on_its_first_notification_kept_once(client):
    from chalicelib import runtime
    from chalicelib.domain import threads

    api, agent, rita, ticket, root = ritas_ticket(client)
    (first,) = [m for m in sent_messages() if "rita@example.com" in m["destinations"]]
    assert not [m for m in sent_messages() if "ada@deskmail.example.com" in m["destinations"]]
    comment(api, ticket, agent, "On it.")
    second = message_to("rita@example.com")
    # Rita answers by email: the assignee's first email on this ticket, and Ada has no chain of her own yet.
    reply = inbound.mime(in_reply_to=ses_header(second["id"]), references=ses_header(second["id"]))
    inbound.feed_inbound(client, inbound.received(reply))
    to_ada = message_to("ada@deskmail.example.com")
    assert to_ada["mime"]["In-Reply-To"] == ses_header(first["id"])
    assert to_ada["mime"]["References"].split() == [root, ses_header(first["id"])]
    # The ticket's chain is its first notification, written once; Rita's chain has both of hers.
    chains = runtime.table().get_thread_chains(ticket["id"], [threads.TICKET_CHAIN, rita["id"]])
    assert chains[threads.TICKET_CHAIN].message_ids == (ses_header(first["id"]),)
    assert chains[rita["id"]].message_ids == (ses_header(first["id"]), ses_header(second["id"]))
