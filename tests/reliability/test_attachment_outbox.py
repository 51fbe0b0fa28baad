"""Issue 18 with issue 12's outbox: a comment's files are referenced by its outbox entry, so an email the request
could not send is sent by the sweep with the same files inline, exactly once."""

from __future__ import annotations

import email
import email.policy

from tests.helpers import open_ticket, sent_messages
from tests.integration.test_attachments_api import PDF, declare, upload
from tests.reliability.test_outbox import api, fails, inject, outbox_entries, sweep, who  # noqa: F401 (fixtures)


def test_an_interrupted_send_with_a_file_is_sent_once_by_the_sweep_with_the_file(api, who, inject):  # noqa: F811
    ticket = open_ticket(api, who)
    declared = declare(api, ticket["id"], "scan.pdf", PDF, "application/pdf")
    upload(declared, PDF)
    before = len(sent_messages())
    inject({("update_item", 1): fails()})  # the claim fails: the process "dies" between the commit and SES
    status, _ = api.post(
        f"/tickets/{ticket['id']}/comments", {"body": "Scan.", "public": True, "attachment_ids": [declared["id"]]}
    )
    assert status == 500 and len(sent_messages()) == before
    inject({})
    # The comment and its file were committed with the outbox entry: the file is on the comment already.
    assert api.comments(ticket["id"])[-1]["attachments"][0]["id"] == declared["id"]
    assert sweep() == {"sent": 1}
    (swept,) = sent_messages()[before:]
    message = email.message_from_string(swept["mime"].as_string(), policy=email.policy.default)
    assert [(p.get_filename(), p.get_content()) for p in message.iter_attachments()] == [("scan.pdf", PDF)]
    assert sweep() == {} and len(sent_messages()) == before + 1
    assert all(entry["state"]["S"] == "sent" for entry in outbox_entries())
