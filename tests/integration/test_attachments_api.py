"""Attachments through the API on moto: presigned upload (a real POST), limits, sniffing, downloads, links, resend."""

from __future__ import annotations

import email
import email.policy
import json
import re
import time
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import requests

from chalicelib import runtime
from chalicelib.config import settings
from chalicelib.domain import attachments as rules
from tests.helpers import Api, open_ticket, people, sent_messages

PDF = b"%PDF-1.7\n" + b"x" * 1000
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


@pytest.fixture
def api(client):
    return Api(client)


@pytest.fixture
def who(api):
    return people(api)


def declare(api, ticket_id, name, data, content_type=None, expect=(201,)):
    body = {"name": name, "size": len(data), **({"content_type": content_type} if content_type else {})}
    return api.ok("post", f"/tickets/{ticket_id}/attachments", body, expect=expect)


def upload(declared, data):
    """The browser's part: a multipart POST of the presigned fields and the file to the presigned URL."""
    fields = declared["upload"]["fields"]
    return requests.post(declared["upload"]["url"], data=fields, files={"file": ("ignored", data)}, timeout=10)


def attach(api, ticket_id, files, body="See attached.", expect=(201,)):
    ids = []
    for name, data, content_type in files:
        declared = declare(api, ticket_id, name, data, content_type)
        assert upload(declared, data).status_code in (200, 204)
        ids.append(declared["id"])
    return api.ok(
        "post",
        f"/tickets/{ticket_id}/comments",
        {"body": body, "public": True, "attachment_ids": ids},
        expect=expect,
    )


def stored(key):
    return runtime.files().client.get_object(Bucket=settings().attachments_bucket, Key=key)


def test_a_presigned_post_uploads_the_bytes_to_the_key_kms_encrypted_and_the_comment_lists_the_file(api, who):
    ticket = open_ticket(api, who)
    declared = declare(api, ticket["id"], "../../etc/Invoice 42.pdf", PDF, "application/pdf")
    assert re.fullmatch("[0-9a-z]{26}", declared["id"])
    assert declared["name"] == "Invoice 42.pdf" and declared["size"] == len(PDF)
    assert declared["expires_in"] == settings().upload_expires_seconds
    fields = declared["upload"]["fields"]
    assert fields["key"] == f"attachments/{ticket['id']}/{declared['id']}"
    assert fields["x-amz-server-side-encryption"] == "aws:kms"
    policy = json.loads(__import__("base64").b64decode(fields["policy"]))
    assert ["content-length-range", len(PDF), len(PDF)] in policy["conditions"]
    assert upload(declared, PDF).status_code in (200, 204)
    # moto's POST Object stores the bytes but ignores x-amz-server-side-encryption (S3 enforces the policy's
    # condition; the bucket's default encryption, in CDK, covers it as well).
    assert {"x-amz-server-side-encryption": "aws:kms"} in policy["conditions"]
    assert ["eq", "$key", fields["key"]] in policy["conditions"]
    assert stored(fields["key"])["Body"].read() == PDF

    created = api.ok(
        "post",
        f"/tickets/{ticket['id']}/comments",
        {"body": "Your invoice.", "public": True, "attachment_ids": [declared["id"]]},
    )
    expected = {"id": declared["id"], "name": "Invoice 42.pdf", "size": len(PDF), "content_type": "application/pdf"}
    assert created["attachments"] == [expected]
    comments = api.comments(ticket["id"])
    assert comments[0]["attachments"] == [] and comments[1]["attachments"] == [expected]


def test_a_file_over_the_limit_is_a_413_naming_the_limit_and_nothing_is_declared(api, who):
    ticket = open_ticket(api, who)
    status, payload = api.post(
        f"/tickets/{ticket['id']}/attachments", {"name": "big.iso", "size": settings().attachment_max_bytes + 1}
    )
    assert status == 413
    assert payload["Limit"] == "attachment_max_bytes" and payload["MaxBytes"] == settings().attachment_max_bytes
    for bad in ({"name": "", "size": 3}, {"name": "a", "size": 0}, {"name": "a", "size": "3"}, {"size": 3}):
        assert api.post(f"/tickets/{ticket['id']}/attachments", bad)[0] == 400


def test_too_many_or_too_large_together_is_refused_and_nothing_is_written(api, who, monkeypatch):
    ticket = open_ticket(api, who)
    ids = [declare(api, ticket["id"], f"f{n}.txt", b"hello")["id"] for n in range(settings().attachment_max_count + 1)]
    status, payload = api.post(
        f"/tickets/{ticket['id']}/comments", {"body": "x", "public": True, "attachment_ids": ids}
    )
    assert status == 400 and "attachment_max_count" in payload["Message"]
    monkeypatch.setenv("DESKMAIL_ATTACHMENT_MAX_TOTAL_BYTES", "8")
    settings.cache_clear()
    two = [declare(api, ticket["id"], f"g{n}.txt", b"hello")["id"] for n in range(2)]
    status, payload = api.post(
        f"/tickets/{ticket['id']}/comments", {"body": "x", "public": True, "attachment_ids": two}
    )
    assert status == 413 and payload["Limit"] == "attachment_max_total_bytes" and payload["MaxBytes"] == 8
    assert len(api.comments(ticket["id"])) == 1


def test_bad_ids_not_uploaded_or_wrong_size_refuse_the_whole_comment(api, who):
    ticket = open_ticket(api, who)
    other = open_ticket(api, who, subject="Another")
    good = declare(api, ticket["id"], "ok.pdf", PDF)
    upload(good, PDF)
    foreign = declare(api, other["id"], "theirs.pdf", PDF)
    upload(foreign, PDF)
    missing = declare(api, ticket["id"], "never.pdf", PDF)
    before = len(sent_messages())
    for ids in ([good["id"], foreign["id"]], [good["id"], missing["id"]], [good["id"], "0" * 26], ["nope"]):
        status, _ = api.post(f"/tickets/{ticket['id']}/comments", {"body": "x", "public": True, "attachment_ids": ids})
        assert status == 400, ids
    assert len(api.comments(ticket["id"])) == 1 and len(sent_messages()) == before
    # the good one is still pending: a later comment may take it, once
    api.ok("post", f"/tickets/{ticket['id']}/comments", {"body": "y", "public": True, "attachment_ids": [good["id"]]})
    status, _ = api.post(
        f"/tickets/{ticket['id']}/comments", {"body": "z", "public": True, "attachment_ids": [good["id"]]}
    )
    assert status == 409


def test_an_upload_of_other_bytes_than_declared_is_refused(api, who):
    ticket = open_ticket(api, who)
    declared = declare(api, ticket["id"], "a.pdf", PDF)
    runtime.files().client.put_object(
        Bucket=settings().attachments_bucket, Key=declared["upload"]["fields"]["key"], Body=b"short"
    )
    status, payload = api.post(
        f"/tickets/{ticket['id']}/comments", {"body": "x", "public": True, "attachment_ids": [declared["id"]]}
    )
    assert status == 400 and "upload it again" in payload["Message"]


def test_types_are_sniffed_a_lie_is_octet_stream_and_downloads_are_attachments(api, who):
    ticket = open_ticket(api, who)
    created = attach(
        api,
        ticket["id"],
        [
            ("photo.png", PNG, "image/png"),
            ("fake.pdf", PNG, "application/pdf"),
            ("page.html", b"<!DOCTYPE html><script>alert(1)</script>", "text/html"),
            ("notes.txt", "Grüße\n".encode(), None),
        ],
    )
    types = [a["content_type"] for a in created["attachments"]]
    assert types == ["image/png", "application/octet-stream", "text/html", "text/plain"]
    for attachment in created["attachments"]:
        link = api.ok("get", f"/tickets/{ticket['id']}/attachments/{attachment['id']}")
        query = parse_qs(urlparse(link["url"]).query)
        assert query["response-content-disposition"][0].startswith("attachment; ")
        assert "text/html" not in query["response-content-type"][0]
        assert link["expires_in"] == settings().download_expires_seconds
    html = created["attachments"][2]
    link = api.ok("get", f"/tickets/{ticket['id']}/attachments/{html['id']}")
    answer = requests.get(link["url"], timeout=10)
    assert answer.headers["Content-Type"] == "application/octet-stream"
    assert answer.headers["Content-Disposition"].startswith("attachment;")
    assert api.get(f"/tickets/{ticket['id']}/attachments/{'0' * 26}")[0] == 404


def test_small_files_ride_inline_with_their_names_encoded(api, who):
    ticket = open_ticket(api, who)
    attach(api, ticket["id"], [("Überweisung März.pdf", PDF, "application/pdf")])
    message = email.message_from_string(sent_messages()[-1]["mime"].as_string(), policy=email.policy.default)
    (part,) = list(message.iter_attachments())
    assert part.get_filename() == "Überweisung März.pdf" and part.get_content() == PDF
    assert "filename*=utf-8''%C3%9Cberweisung%20M%C3%A4rz.pdf" in part.as_string()


def test_files_over_the_inline_budget_go_as_links_that_redirect_and_expire(api, who, monkeypatch):
    monkeypatch.setenv("DESKMAIL_ATTACHMENT_INLINE_BUDGET", "1500")
    settings.cache_clear()
    ticket = open_ticket(api, who)
    attach(api, ticket["id"], [("small.pdf", PDF, None), ("second.pdf", PDF, None)])
    message = email.message_from_string(sent_messages()[-1]["mime"].as_string(), policy=email.policy.default)
    assert [p.get_filename() for p in message.iter_attachments()] == ["small.pdf"]
    text = message.get_body(("plain",)).get_content()
    assert "second.pdf" in text and "too large to attach" in text
    url = next(word for word in text.split() if "/files/" in word)
    token = url.rsplit("/", 1)[1]
    assert len(token) >= 43
    response = api.client.http.get(f"/files/{token}")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "response-content-disposition=attachment" in location
    assert requests.get(location, timeout=10).content == PDF
    other = token[:-1] + ("B" if token.endswith("A") else "A")  # one character off (never the token itself)
    assert api.client.http.get(f"/files/{other}").status_code == 404
    item = runtime.table().get_download_link(rules.link_token_hash(token))
    # Seven days from when the link was made (the item's own created_at), not measured against the test's clock.
    made = datetime.fromisoformat(item["created_at"].replace("Z", "+00:00"))
    assert item["expires_at"] == int((made + timedelta(days=7)).timestamp())
    runtime.table().client.update_item(
        TableName=settings().table_name,
        Key={"PK": {"S": f"LINK#{rules.link_token_hash(token)}"}, "SK": {"S": "LINK"}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    assert api.client.http.get(f"/files/{token}").status_code == 410


# ---- "message too large", fixed --------------------------------------------------------------------------------------


# Carl's server refuses the message for its size (what a 552 5.3.4 bounce says of one recipient).
CARL_TOO_LARGE = {
    "emailAddress": "carl@example.com",
    "action": "failed",
    "status": "5.3.4",
    "diagnosticCode": "smtp; 552 5.3.4 Message size exceeds fixed maximum message size",
}


def test_a_too_large_bounce_offers_links_and_the_resend_sends_links_to_that_recipient_only(api, who):
    from tests import ses_payloads as ses
    from tests.helpers import feed, message_ids

    ticket = open_ticket(api, who)  # Rita (To) and Carl (Cc) get one message
    created = attach(api, ticket["id"], [("scan.pdf", PDF, "application/pdf")], body="The scan.")
    comment = api.comments(ticket["id"])[-1]
    message_id = message_ids(comment)["carl@example.com"]
    destination = ["rita@example.com", "carl@example.com"]
    response, _ = feed(
        api.client,
        ses.delivery(message_id, destination, recipients=["rita@example.com"]),
        ses.bounce(message_id, destination, [CARL_TOO_LARGE], bounce_type="Transient", subtype="MessageTooLarge"),
    )
    assert response == {"batchItemFailures": []}
    recipients = {r["email"]: r for r in api.comments(ticket["id"])[-1]["delivery"]["recipients"]}
    carl = recipients["carl@example.com"]
    assert carl["status"] == "bounced" and carl["failure"]["category"] == "message_too_large"
    assert "download links instead of attachments" in carl["failure"]["remedy"]
    action = carl["failure"]["action"]
    assert action["id"] == "resend_with_links" and action["resend"] == {"attachments": "links"}
    assert recipients["rita@example.com"]["failure"] is None

    before = len(sent_messages())
    resent = api.ok(
        "post",
        f"/tickets/{ticket['id']}/comments/{comment['id']}/resend",
        {"user_ids": [who["cc"]["id"]], **action["resend"]},
    )
    (notification,) = resent["notifications"]
    assert [r["email"] for r in notification["recipients"]] == ["carl@example.com"]
    (message,) = sent_messages()[before:]
    assert message["destinations"] == ["carl@example.com"]
    parsed = email.message_from_string(message["mime"].as_string(), policy=email.policy.default)
    assert list(parsed.iter_attachments()) == []  # no file inline: links only
    text = parsed.get_body(("plain",)).get_content()
    assert "scan.pdf" in text and "/files/" in text
    url = next(word for word in text.split() if "/files/" in word)
    item = runtime.table().get_download_link(rules.link_token_hash(url.rsplit("/", 1)[1]))
    assert item["recipients"] == [{"user_id": who["cc"]["id"], "email": "carl@example.com"}]
    assert item["attachment"]["id"] == created["attachments"][0]["id"]
    assert item["comment_id"] == comment["id"] and item["notification_id"] == notification["id"]
    status, payload = api.post(
        f"/tickets/{ticket['id']}/comments/{comment['id']}/resend", {"user_ids": [who["cc"]["id"]], "attachments": "x"}
    )
    assert status == 400 and "attachments" in payload["Message"]


def test_a_too_large_bounce_of_a_comment_without_files_offers_no_links(api, who):
    from tests import ses_payloads as ses
    from tests.helpers import feed, message_ids

    ticket = open_ticket(api, who)
    api.ok("post", f"/tickets/{ticket['id']}/comments", {"body": "A long answer, no files.", "public": True})
    comment = api.comments(ticket["id"])[-1]
    assert comment["attachments"] == []
    message_id = message_ids(comment)["carl@example.com"]
    destination = ["rita@example.com", "carl@example.com"]
    response, _ = feed(
        api.client,
        ses.bounce(message_id, destination, [CARL_TOO_LARGE], bounce_type="Transient", subtype="MessageTooLarge"),
    )
    assert response == {"batchItemFailures": []}
    recipients = {r["email"]: r for r in api.comments(ticket["id"])[-1]["delivery"]["recipients"]}
    failure = recipients["carl@example.com"]["failure"]
    assert failure["category"] == "message_too_large"
    assert failure["action"] is None and "download links" not in failure["remedy"]


# ---- inbound ---------------------------------------------------------------------------------------------------------


def test_a_customers_emailed_files_are_kept_on_the_comment_it_creates_and_the_excess_is_named(api, who, monkeypatch):
    from tests import inbound_payloads as inbound

    monkeypatch.setenv("DESKMAIL_ATTACHMENT_MAX_BYTES", "2000")
    settings.cache_clear()
    ticket = open_ticket(api, who)
    ses_id = sent_messages()[-1]["id"]
    reply = inbound.mime(body="Photo attached.", in_reply_to=f"<{ses_id}@email.amazonses.com>")
    reply.add_attachment(PNG, maintype="image", subtype="png", filename="../../photo.png")
    reply.add_attachment(b"x" * 3000, maintype="application", subtype="pdf", filename="huge.pdf")
    assert inbound.feed_inbound(api.client, inbound.received(reply)) == {"batchItemFailures": []}
    comment = api.comments(ticket["id"])[-1]
    assert comment["body"] == "Photo attached."
    (photo,) = comment["attachments"]
    assert photo["name"] == "photo.png" and photo["size"] == len(PNG) and photo["content_type"] == "image/png"
    link = api.ok("get", f"/tickets/{ticket['id']}/attachments/{photo['id']}")
    assert requests.get(link["url"], timeout=10).content == PNG
    (dropped,) = [e for e in api.events(ticket["id"]) if e["type"] == "inbound_attachments_dropped"]
    assert dropped["dropped"] == [{"name": "huge.pdf", "size": 3000, "reason": "attachment_max_bytes"}]
    # The others on the ticket get the customer's file with the notification of her reply.
    forwarded = email.message_from_string(sent_messages()[-1]["mime"].as_string(), policy=email.policy.default)
    assert [p.get_filename() for p in forwarded.iter_attachments()] == ["photo.png"]


def test_held_mail_keeps_its_files_and_recovering_it_attaches_them(api, who):
    from tests import inbound_payloads as inbound

    ticket = open_ticket(api, who)
    ses_id = sent_messages()[-1]["id"]
    reply = inbound.mime(body="Photo attached.", in_reply_to=f"<{ses_id}@email.amazonses.com>")
    reply.add_attachment(PNG, maintype="image", subtype="png", filename="photo.png")
    spoofed = inbound.received(reply, spf="FAIL", dkim="FAIL", dmarc="FAIL", dmarc_policy="reject")
    assert inbound.feed_inbound(api.client, spoofed) == {"batchItemFailures": []}
    assert [c["body"] for c in api.comments(ticket["id"])][-1] != "Photo attached."  # held, not a comment
    (held,) = api.ok("get", "/inbound/suspended")["suspended"]

    recovered = api.ok("post", f"/inbound/suspended/{held['id']}/recover", {})
    comment = next(c for c in api.comments(ticket["id"]) if c["id"] == recovered["comment_id"])
    assert comment["body"] == "Photo attached."
    (photo,) = comment["attachments"]
    assert photo["name"] == "photo.png" and photo["size"] == len(PNG) and photo["content_type"] == "image/png"
    link = api.ok("get", f"/tickets/{ticket['id']}/attachments/{photo['id']}")
    assert requests.get(link["url"], timeout=10).content == PNG
