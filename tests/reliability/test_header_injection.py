"""Issue 12, findings 1 and 2: no user-controlled text can add a header or a recipient to a notification.

Refused at input (400 naming the field, nothing stored), cleaned and encoded again where the headers are built,
and the recipients handed to SES explicitly. The property test feeds hostile names and subjects straight to the
header builder (the second line of defence) and reads the MIME back as a receiving parser would.
"""

from __future__ import annotations

import email
from email import policy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib import runtime
from chalicelib.adapters.ses import SesMailer
from chalicelib.domain.messages import Mailbox, OutgoingEmail, header_text, to_mime
from chalicelib.domain.model import User
from tests.helpers import Api, people, sent_messages
from tests.reliability.scenario import table_items

BCC_WORD = "Subj=?utf-8?q?x=0D=0ABcc:_attacker@example.com?="


@pytest.fixture
def api(client):
    return Api(client)


def ticket_body(who, subject="Printer on fire"):
    return {
        "subject": subject,
        "requester_id": who["requester"]["id"],
        "cc_ids": [who["cc"]["id"]],
        "assignee_id": who["agent"]["id"],
        "comment": {"author_id": who["requester"]["id"], "body": "It smokes.", "public": True},
    }


@pytest.mark.parametrize(
    "subject",
    [
        BCC_WORD,
        "Hello\r\nBcc: attacker@example.com",
        "Hello\nBcc: a@b.c",
        "a\u2028b",
        "a\u0085b",
        "a\x00b",
        "=?UTF-8?B?DQo=?=",
    ],
)
def test_a_subject_that_could_forge_a_header_is_refused_and_nothing_is_stored(api, subject):
    who = people(api)
    before = table_items()
    status, body = api.post("/tickets", ticket_body(who, subject))
    assert status == 400 and "'subject'" in body["Message"], (status, body)
    assert table_items() == before
    assert sent_messages() == []


@pytest.mark.parametrize(
    "name",
    [
        "Rita\r\nBcc: attacker@example.com",
        "Rita\nX",
        "Rita\rX",
        "Rita\u2028Bcc: a@b.c",
        "Rita\u0085x",
        "Rita\u2029",
        "Rita\x00",
        "Rita\x1b[31m",
        "=?utf-8?q?Rita=0D=0ABcc:_a@b.c?=",
    ],
)
def test_a_user_name_that_could_forge_a_header_is_refused_on_create_and_update(api, name):
    before = table_items()
    status, body = api.post("/users", {"name": name, "email": "rita@example.com", "role": "end-user"})
    assert status == 400 and "'name'" in body["Message"], (status, body)
    assert table_items() == before
    user = api.user("Rita", "rita@example.com")
    status, body = api.patch(f"/users/{user['id']}", {"name": name})
    assert status == 400 and "'name'" in body["Message"], (status, body)
    assert api.ok("get", f"/users/{user['id']}")["name"] == "Rita"


def test_lone_surrogates_and_nul_in_a_comment_body_are_refused_but_newlines_are_fine(api):
    who = people(api)
    ticket = api.ok("post", "/tickets", ticket_body(who))
    path = f"/tickets/{ticket['id']}/comments"
    for text in ("a\x00b", "a\ud800b"):
        status, body = api.post(path, {"author_id": who["agent"]["id"], "body": text, "public": True})
        assert status == 400 and "'body'" in body["Message"], (status, body)
    api.ok("post", path, {"author_id": who["agent"]["id"], "body": "line one\r\nline two\n", "public": True})
    assert len(api.comments(ticket["id"])) == 2


def test_a_stored_name_with_line_breaks_still_mails_only_the_intended_recipients(api):
    """Data from before the input checks: the builder cleans it, the ticket is created and mailed, no 500."""
    who = people(api)
    evil = User(**{**runtime_user(who["cc"]).__dict__, "name": "Carl\r\nBcc: attacker@example.com\u2028To: x@y.z"})
    runtime.table().put_user(evil)
    status, body = api.post("/tickets", ticket_body(who))
    assert status == 201, body
    (message,) = sent_messages()
    mime = message["mime"]
    assert "Bcc" not in mime and mime.get_all("To") == ["Rita Requester <rita@example.com>"]
    assert not any("attacker" in str(destination) for destination in message["destinations"])


def runtime_user(user: dict) -> User:
    found = runtime.table().get_user(user["id"])
    assert found is not None
    return found


class RecordingSes:
    def __init__(self):
        self.calls = []

    def send_email(self, **kwargs):
        self.calls.append(kwargs)
        return {"MessageId": "m1"}


def outgoing(to, cc=(), subject="Printer on fire"):
    return OutgoingEmail(
        sender="Deskmail Support <support@deskmail.example.com>",
        to=tuple(to),
        cc=tuple(cc),
        subject=subject,
        body="Ada wrote:\nHi\n",
        rfc_message_id="<ticket-t1-n1@deskmail.example.com>",
        thread_root_id="<ticket-t1@deskmail.example.com>",
        tags={"ticket_id": "t1"},
        configuration_set="deskmail-dev",
    )


def test_ses_gets_the_recipients_explicitly_as_bare_addresses():
    ses = RecordingSes()
    result = SesMailer(ses).send_notification(
        outgoing([Mailbox("Rita, Bcc: x@y.z", "rita@example.com")], [Mailbox("Carl\u2028", "carl@example.com")])
    )
    assert result.message_id == "m1"
    (call,) = ses.calls
    assert call["Destination"] == {"ToAddresses": ["rita@example.com"], "CcAddresses": ["carl@example.com"]}


def test_the_issue_s_encoded_word_subject_makes_no_bcc_header_when_built_directly():
    raw = to_mime(outgoing([Mailbox("Rita", "rita@example.com")], subject=f"[ABC123] {BCC_WORD}"))
    parsed = email.message_from_bytes(raw, policy=policy.default)
    assert "Bcc" not in parsed and "attacker" not in parsed.get("To", "")
    assert parsed["Subject"] == f"[ABC123] {BCC_WORD}"  # shown as typed, never decoded into a header


HOSTILE = st.sampled_from(
    [
        "\r",
        "\n",
        "\r\n",
        "\x00",
        "\x85",
        "\u2028",
        "\u2029",
        "\x0b",
        "\x0c",
        "\x1c",
        "\t",
        "\x7f",
        "\x9b",
        "=?utf-8?q?",
        "=?utf-8?b?DQpCY2M6IGFAYi5j?=",
        "?=",
        "=0D=0A",
        "Bcc: a@evil.example",
        "To:",
        ",",
        ";",
        "<",
        ">",
        '"',
        "\\",
        "@",
        "(",
        ")",
        " ",
        "é",
        "漢",
        "\U0001f600",
        "\ud800",
        "\udfff",
        "\u202e",
        "\ufeff",
    ]
)
TEXT = st.lists(st.one_of(HOSTILE, st.text(max_size=5)), max_size=12).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subject=TEXT, names=st.lists(TEXT, min_size=3, max_size=3))
def test_no_name_or_subject_can_add_a_header_or_a_recipient(subject, names):
    to = [Mailbox(names[0], "rita@example.com"), Mailbox(names[1], "ann@example.com")]
    cc = [Mailbox(names[2], "carl@example.com")]
    raw = to_mime(outgoing(to, cc, subject))
    assert all(32 <= byte < 127 or byte == 10 for byte in raw.split(b"\n\n", 1)[0])
    for parser_policy in (policy.compat32, policy.default, policy.SMTPUTF8):
        parsed = email.message_from_bytes(raw, policy=parser_policy)
        assert sorted(parsed.keys()) == sorted(
            [
                "From",
                "To",
                "Cc",
                "Subject",
                "Message-ID",
                "In-Reply-To",
                "References",
                "X-Auto-Response-Suppress",
                "X-SES-CONFIGURATION-SET",
                "X-SES-MESSAGE-TAGS",
                "Content-Type",
                "Content-Transfer-Encoding",
                "MIME-Version",
            ]
        )
        addresses = [address for _, address in email.utils.getaddresses(parsed.get_all("To") + parsed.get_all("Cc"))]
        assert addresses == ["rita@example.com", "ann@example.com", "carl@example.com"]
    decoded = email.message_from_bytes(raw, policy=policy.default)
    assert str(decoded["Subject"]) == header_text(subject)
    # Python's phrase parser keeps the space between two adjacent encoded words (RFC 2047 drops it), so long
    # display names are compared without their spaces; the subject (unstructured) decodes exactly.
    shown = ["".join(mailbox.display_name.split()) for mailbox in decoded["To"].addresses]
    assert shown == ["".join(header_text(name).split()) for name in names[:2]]
