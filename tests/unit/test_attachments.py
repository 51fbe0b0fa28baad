"""Attachment rules (chalicelib/domain/attachments.py), the MIME they make, and the services on the in-memory fake."""

from __future__ import annotations

import email
import email.policy
import re
from email.parser import BytesParser
from urllib.parse import unquote

import pytest

from chalicelib.adapters.files import FileUnavailable, InMemoryFileStore
from chalicelib.adapters.ses import SesMailer
from chalicelib.domain import attachments as rules
from chalicelib.domain import inbound_mail
from chalicelib.domain.messages import OutgoingEmail, UnsafeHeader, attachment_headers, to_mime
from chalicelib.domain.model import Attachment
from chalicelib.domain.rendering import CommentView, Download, NotificationContent, render

# ---- names ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\system.ini", "system.ini"),
        ("C:\\Users\\x\\report.pdf", "report.pdf"),
        ("..", "attachment"),
        (".htaccess", "htaccess"),
        ("a\r\nBcc: victim@example.com.txt", "a Bcc_ victim@example.com.txt"),
        ("=?utf-8?b?QmNjOiB4QHkuY29t?=.pdf", "__utf-8_b_QmNjOiB4QHkuY29t__.pdf"),
        ("line\u2028sep\u2029para\x85nel.txt", "line sep para nel.txt"),
        ("invoice\u202efdp.exe", "invoice fdp.exe"),
        ('say "hi" <x>|y*.txt', "say _hi_ _x__y_.txt"),
        ("CON.txt", "_CON.txt"),
        ("   ", "attachment"),
        ("Überweisung März.pdf", "Überweisung März.pdf"),
        ("e\u0301te\u0301.txt", "été.txt"),  # NFC
    ],
)
def test_names_lose_paths_controls_encoded_words_and_reserved_characters(raw, expected):
    assert rules.sanitize_name(raw) == expected


def test_long_names_are_cut_to_the_byte_cap_keeping_the_extension_and_whole_characters():
    name = rules.sanitize_name("é" * 300 + ".pdf")
    assert name.endswith(".pdf") and len(name.encode("utf-8")) <= rules.NAME_MAX_BYTES
    assert name.encode("utf-8").decode("utf-8") == name


@pytest.mark.parametrize("raw", ["x\r\nBcc: a@b.c", "=?utf-8?q?x=0D=0ABcc:_a@b?=", "a\u2028b", "\x00nul", "é" * 400])
def test_no_sanitised_name_can_break_a_header_line(raw):
    name = rules.sanitize_name(raw)
    assert not re.search("[\x00-\x1f\x7f-\x9f\u2028\u2029]", name) and "=?" not in name and "/" not in name
    for line in attachment_headers(Attachment("a" * 26, name, 1, "text/plain", "k")):
        assert line.isascii() and len(line) < 998 and "\n" not in line and "\r" not in line


def test_the_disposition_is_always_attachment_with_an_ascii_fallback_and_the_exact_name():
    value = rules.content_disposition('Rapport "final"; été.pdf')
    assert value.startswith('attachment; filename="')
    assert value.isascii() and "\n" not in value
    fallback = re.search(r'filename="([^"]*)"', value).group(1)
    assert fallback == "Rapport _final__ ete.pdf"
    assert unquote(value.split("filename*=UTF-8''", 1)[1]) == 'Rapport "final"; été.pdf'


# ---- ids and tokens ------------------------------------------------------------------------------------------------


def test_ids_and_tokens_are_random_and_long_enough_not_to_be_guessed():
    ids = {rules.new_attachment_id() for _ in range(2000)}
    assert len(ids) == 2000 and all(re.fullmatch("[0-9a-z]{26}", i) for i in ids)
    # Not time-ordered like new_id: two ids made one after the other share no prefix to speak of.
    assert len({i[:6] for i in ids}) > 1900
    tokens = {rules.new_link_token() for _ in range(2000)}
    assert len(tokens) == 2000 and all(rules.looks_like_token(t) and len(t) == 43 for t in tokens)  # 256 bits
    assert rules.link_token_hash("a") != rules.link_token_hash("b") and len(rules.link_token_hash("a")) == 64
    assert not rules.looks_like_token("../../x") and not rules.looks_like_token("")


def test_inbound_ids_are_stable_per_message_and_position():
    first = rules.stable_attachment_id("inbound", "m1", 0)
    assert first == rules.stable_attachment_id("inbound", "m1", 0) and re.fullmatch("[0-9a-z]{26}", first)
    assert first != rules.stable_attachment_id("inbound", "m1", 1) != rules.stable_attachment_id("inbound", "m2", 1)


# ---- types ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "sniffed"),
    [
        (b"%PDF-1.7\n", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"PK\x03\x04\x14\x00", "application/zip"),
        (b"\x00\x00\x00\x18ftypmp42", "video/mp4"),
        (b"\x00\x00\x00\x18ftypheic", "image/heic"),
        (b"\x1f\x8b\x08\x00", "application/gzip"),
        (b"2026-12-01 ERROR disk full\n\tat x\r\n", "text/plain"),
        ("Grüße aus Köln".encode() + "ä".encode()[:1], "text/plain"),  # a character cut by the range read
        (b"  <!DOCTYPE html><html>", "text/html"),
        (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg">', "image/svg+xml"),
        (b"\x00\x01\x02binary\xfe", None),
        (b"", None),
    ],
)
def test_the_first_bytes_tell_the_type(head, sniffed):
    assert rules.sniff(head) == sniffed


@pytest.mark.parametrize(
    ("declared", "sniffed", "stored"),
    [
        ("application/pdf", "application/pdf", "application/pdf"),
        (None, "image/png", "image/png"),
        ("image/jpg", "image/jpeg", "image/jpeg"),
        ("application/pdf", "image/png", "application/octet-stream"),  # a lie
        ("image/png", None, "application/octet-stream"),  # unrecognised bytes
        (
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/zip",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        ("text/csv", "text/plain", "text/csv"),
        ("text/html", "text/plain", "application/octet-stream"),  # text claiming to be a page
        ("application/msword", "application/x-ole-storage", "application/msword"),
        (None, "application/x-ole-storage", "application/octet-stream"),
        ("application/pdf; charset=x", "application/pdf", "application/pdf"),
        ("not a type", "image/png", "image/png"),
    ],
)
def test_the_stored_type_is_the_sniffed_one_the_hint_only_where_bytes_cannot_tell(declared, sniffed, stored):
    assert rules.decide_type(declared, sniffed) == stored


@pytest.mark.parametrize(
    ("content_type", "served"),
    [
        ("text/html", "application/octet-stream"),
        ("image/svg+xml", "application/octet-stream"),
        ("application/xhtml+xml", "application/octet-stream"),
        ("text/xml", "application/octet-stream"),
        ("image/png", "image/png"),
        ("application/pdf", "application/pdf"),
        ("text/plain\r\nX-Evil: 1", "application/octet-stream"),
        (None, "application/octet-stream"),
    ],
)
def test_downloads_are_never_served_as_a_page_or_script(content_type, served):
    assert rules.safe_type(content_type) == served


# ---- inline or link ------------------------------------------------------------------------------------------------


def files(*sizes):
    return [Attachment(f"{n:026d}", f"f{n}", size, "application/pdf", f"k{n}") for n, size in enumerate(sizes)]


def test_files_ride_inline_up_to_the_budget_and_the_rest_go_as_links():
    plan = rules.plan_delivery(files(4, 5, 3, 1), inline_budget=10)
    assert [a.size for a in plan.inline] == [4, 5, 1]  # 4+5 fit, 3 does not, 1 still does
    assert [a.size for a in plan.linked] == [3]


def test_everything_fits_or_nothing_does():
    assert rules.plan_delivery(files(3, 3), 6).linked == ()
    assert rules.plan_delivery(files(11), 10).inline == ()
    assert rules.plan_delivery([], 10) == rules.DeliveryPlan((), ())


def test_links_mode_sends_no_file_inline():
    plan = rules.plan_delivery(files(1, 2), 10, rules.LINKS)
    assert plan.inline == () and [a.size for a in plan.linked] == [1, 2]


def test_the_default_budget_stays_well_under_ses_and_mailbox_limits_once_base64_encoded():
    from chalicelib.config import Settings

    budget = Settings.attachment_inline_budget
    assert rules.encoded_size(budget) < 15 * 1000 * 1000 < 20 * 1000 * 1000 < 40 * 1000 * 1000
    assert rules.encoded_size(3) == 6 and rules.encoded_size(57) == 78  # 76 characters and CRLF


def test_sizes_read_in_the_recipients_language():
    assert rules.human_size(999) == "999 B"
    assert rules.human_size(204_808) == "204.8 KB"
    assert rules.human_size(12_500_000, "de") == "12,5 MB"


# ---- the MIME message ----------------------------------------------------------------------------------------------


def outgoing(*attachments, body="Hello", html="<p>Hello</p>"):
    return OutgoingEmail(
        sender="Deskmail Support <support@deskmail.example.com>",
        to=("Rita <rita@example.com>",),
        cc=(),
        subject="[Ticket ABC] Printer",
        body=body,
        rfc_message_id="<m@deskmail.example.com>",
        thread_root_id="<r@deskmail.example.com>",
        tags={"ticket_id": "t"},
        configuration_set="deskmail-dev",
        html=html,
        attachments=tuple(attachments),
    )


def test_attachments_make_a_multipart_mixed_message_with_the_body_first_and_the_exact_names():
    pdf = Attachment("a" * 26, "Überweisung März.pdf", 5, "application/pdf", "k1")
    log = Attachment("b" * 26, "server.log", 3, "text/plain", "k2")
    raw = to_mime(outgoing(pdf, log), {"k1": b"%PDF-", "k2": b"abc"})
    message = BytesParser(policy=email.policy.default).parsebytes(raw)
    assert message.get_content_type() == "multipart/mixed"
    assert message.get_body(("plain",)).get_content().strip() == "Hello"
    parts = list(message.iter_attachments())
    assert [(p.get_filename(), p.get_content_type(), p.get_content()) for p in parts] == [
        ("Überweisung März.pdf", "application/pdf", b"%PDF-"),
        ("server.log", "text/plain", "abc"),
    ]
    assert b"filename*=utf-8''%C3%9Cberweisung%20M%C3%A4rz.pdf" in raw
    assert message.get_all("MIME-Version") == ["1.0"]  # once at the top (the body part's own is dropped)
    top = [name.lower() for name in message.keys()]
    assert top[-2:] == ["mime-version", "content-type"] and "bcc" not in top


def test_an_active_type_is_mailed_as_octet_stream():
    page = Attachment("a" * 26, "page.html", 4, "text/html", "k")
    message = BytesParser(policy=email.policy.default).parsebytes(to_mime(outgoing(page), {"k": b"<h1>"}))
    (part,) = message.iter_attachments()
    assert part.get_content_type() == "application/octet-stream"


def test_a_raw_unsanitised_name_still_cannot_add_a_header_or_a_recipient():
    # Names are sanitised at upload; even one that was not is percent-encoded here, never a header line.
    evil = Attachment("a" * 26, "x\r\nBcc: victim@example.com\r\n\r\n.pdf", 1, "application/pdf", "k")
    raw = to_mime(outgoing(evil), {"k": b"%"})
    message = BytesParser(policy=email.policy.compat32).parsebytes(raw)
    assert message.get_all("Bcc") is None
    (part,) = [p for p in message.walk() if p.get_filename()]
    assert part.keys() == ["Content-Type", "Content-Disposition", "Content-Transfer-Encoding"]


def test_a_body_that_happens_to_hold_the_boundary_gets_another_one(monkeypatch):
    from chalicelib.domain import messages

    tokens = iter(["0" * 32, "1" * 32])
    monkeypatch.setattr(messages.secrets, "token_hex", lambda n: next(tokens))
    body = "quoted: --=_deskmail_" + "0" * 32
    raw = to_mime(outgoing(Attachment("a" * 26, "a.txt", 1, "text/plain", "k"), body=body, html=""), {"k": b"x"})
    assert b'boundary="=_deskmail_' + b"1" * 32 + b'"' in raw


# ---- the SES adapter reads the bytes at send time ------------------------------------------------------------------


class RecordingSes:
    def __init__(self):
        self.sent = []

    def send_email(self, **kwargs):
        self.sent.append(kwargs)
        return {"MessageId": "m-1"}


def test_the_mailer_reads_inline_files_when_it_sends_and_refuses_to_send_without_them():
    store = InMemoryFileStore()
    store.put("k", b"%PDF-")
    client = RecordingSes()
    mailer = SesMailer(client, store)
    ok = mailer.send_notification(outgoing(Attachment("a" * 26, "a.pdf", 5, "application/pdf", "k")))
    assert ok.message_id == "m-1" and b"JVBERi0=" in client.sent[0]["Content"]["Raw"]["Data"]
    missing = mailer.send_notification(outgoing(Attachment("b" * 26, "b.pdf", 5, "application/pdf", "gone")))
    changed = mailer.send_notification(outgoing(Attachment("c" * 26, "c.pdf", 9, "application/pdf", "k")))
    assert missing.error_code == changed.error_code == "AttachmentUnavailable" and len(client.sent) == 1


def test_the_fake_store_behaves_like_the_bucket():
    store = InMemoryFileStore()
    assert store.probe("k", 4) is None
    store.upload("k", b"abcdef")
    assert store.probe("k", 4) == (6, b"abcd")
    with pytest.raises(FileUnavailable):
        store.read("nope")
    assert "response-content-disposition=attachment" in store.presigned_download("k", "attachment; x", "a/b", 60)


# ---- the links in the email ----------------------------------------------------------------------------------------


def test_linked_files_are_listed_under_the_comment_in_the_recipients_language():
    content = NotificationContent(
        ticket_id="01m8tftrbhd4mhc7p4s4608wmc",
        subject="Screen",
        ticket_url="https://support.example.com/t",
        comment=CommentView("Ada", "Here it is.", "2026-12-02T04:00:00.000Z", True),
        intro_kind="comment",
    )
    links = (Download("shot <1>.png", 204_808, "https://x.example/files/T1", "2026-12-09T04:00:00.000Z"),)
    english = render(content, "Tina", "en", "requester", downloads=links)
    german = render(content, "Tina", "de", "requester", downloads=links)
    assert "This file is too large to attach" in english.text and "https://x.example/files/T1" in english.text
    assert "shot <1>.png (204.8 KB)" in english.text
    assert "shot &lt;1&gt;.png" in english.html and '<a href="https://x.example/files/T1">' in english.html
    assert "Diese Datei ist zu groß" in german.text and "204,8 KB" in german.text
    two = render(content, "Tina", "fr", "requester", downloads=links * 2)
    assert "Ces fichiers sont trop volumineux" in two.text
    assert "too large" not in render(content, "Tina", "en", "requester").text


# ---- inbound -------------------------------------------------------------------------------------------------------


def test_an_emailed_replys_files_are_read_with_their_names_and_types():
    message = email.message.EmailMessage()
    message["From"] = "Rita <rita@example.com>"
    message["Subject"] = "Re: [Ticket ABC] Printer"
    message.set_content("Here is the photo.")
    message.add_attachment(b"\x89PNG\r\n\x1a\n....", maintype="image", subtype="png", filename="photo.png")
    message.add_attachment(b"log line\n", maintype="text", subtype="plain", filename="../x.log")
    notification = {
        "notificationType": "Received",
        "mail": {"messageId": "m1", "timestamp": "2026-12-02T04:00:00.000Z", "source": "rita@example.com"},
        "receipt": {"recipients": ["support@deskmail.example.com"], "action": {"type": "S3"}},
    }
    parsed = inbound_mail.parse(notification, "2026-12-02T04:00:00.000Z", message.as_bytes())
    assert parsed.text == "Here is the photo."
    assert [(f.name, f.content_type, f.data[:4]) for f in parsed.attachments] == [
        ("photo.png", "image/png", b"\x89PNG"),
        ("../x.log", "text/plain", b"log "),
    ]


def test_inbound_files_over_the_limits_are_dropped_and_named_the_rest_kept(monkeypatch):
    from chalicelib.config import Settings
    from chalicelib.services import attachments

    settings = Settings(
        stage="t",
        table_name="t",
        sender="s@d.example",
        configuration_set="c",
        feedback_queue="",
        default_locale="en",
        region="us-east-1",
        attachment_max_bytes=10,
        attachment_max_count=2,
        attachment_max_total_bytes=15,
    )
    store = InMemoryFileStore()
    incoming = [
        rules.IncomingFile("a.txt", "text/plain", b"12345678"),
        rules.IncomingFile("huge.bin", "application/octet-stream", b"x" * 11),
        rules.IncomingFile("../b.txt", "text/plain", b"1234567"),  # 8 + 7 = 15: fits the total
        rules.IncomingFile("c.txt", "text/plain", b"1"),  # third file: over the count
        rules.IncomingFile("", "text/plain", b""),
    ]
    kept = attachments.keep_inbound(store, settings, "t" * 26, "c" * 26, "m1", incoming, "2026-12-02T04:00:00.000Z")
    assert [(a.name, a.size, a.content_type) for a in kept.attachments] == [
        ("a.txt", 8, "text/plain"),
        ("b.txt", 7, "text/plain"),
    ]
    assert [(d["name"], d["reason"]) for d in kept.dropped] == [
        ("huge.bin", "attachment_max_bytes"),
        ("c.txt", "attachment_max_count"),
        ("attachment", "empty"),
    ]
    assert {a.key for a in kept.attachments} == set(store.objects)
    again = attachments.keep_inbound(store, settings, "t" * 26, "c" * 26, "m1", incoming, "2026-12-02T04:00:00.000Z")
    assert [a.id for a in again.attachments] == [a.id for a in kept.attachments]  # a retry writes the same keys


def test_unsafe_header_is_raised_when_a_part_would_read_differently(monkeypatch):
    from chalicelib.domain import messages

    monkeypatch.setattr(
        messages,
        "attachment_headers",
        lambda a: ["Content-Type: text/plain", "X-Evil: 1", "Content-Transfer-Encoding: base64"],
    )
    with pytest.raises(UnsafeHeader):
        to_mime(outgoing(Attachment("a" * 26, "a.txt", 1, "text/plain", "k")), {"k": b"x"})


# ---- the outbox keeps the files' references (never the bytes): the sweep sends the same email ----------------------


def test_an_outbox_entry_keeps_the_inline_files_so_the_sweep_sends_them_too():
    from chalicelib.adapters import dynamo
    from chalicelib.domain.model import Notification, Recipient

    pdf = Attachment("a" * 26, "a.pdf", 5, "application/pdf", "attachments/t/a")
    email_out = outgoing(pdf)
    notification = Notification(
        "n" * 26,
        "t" * 26,
        "c" * 26,
        "trigger",
        "Trigger",
        None,
        (Recipient("u", "Rita", "rita@example.com", "to"),),
        "s",
    )

    def stored_entry(email):
        mail, entry = dynamo.outbox_items(notification, email, "Printer", "2026-12-02T04:00:00.000Z")
        return dynamo.outbox_entry(dynamo.from_item(dynamo.to_item(entry)), dynamo.from_item(dynamo.to_item(mail)))

    assert stored_entry(email_out).email.attachments == (pdf,)
    assert stored_entry(outgoing()).email.attachments == ()


def test_a_comment_item_lists_its_files_and_reads_them_back():
    from chalicelib.adapters import dynamo
    from chalicelib.domain.model import Comment

    pdf = Attachment("a" * 26, "a.pdf", 5, "application/pdf", "attachments/t/a")
    comment = Comment("c" * 26, "t" * 26, "u", "Ada", "Hi", True, "2026-12-02T04:00:00.000Z", attachments=(pdf,))
    assert dynamo._comment(dynamo.from_item(dynamo.to_item(dynamo.comment_item(comment)))).attachments == (pdf,)
    plain = Comment("d" * 26, "t" * 26, "u", "Ada", "Hi", True, "2026-12-02T04:00:00.000Z")
    assert "attachments" not in dynamo.to_item(dynamo.comment_item(plain))
    assert dynamo._comment(dynamo.from_item(dynamo.to_item(dynamo.comment_item(plain)))).attachments == ()
