"""Each class of misreading named in issue 16, on replies worded differently from the corpus's."""

from __future__ import annotations

import gettext

import pytest

from chalicelib import i18n
from chalicelib.domain import classification
from chalicelib.domain.classification import (
    ACCOUNT_SUPPRESSION_LIST,
    GLOBAL_SUPPRESSION_LIST,
    INVALID_ADDRESS,
    MAILBOX_FULL,
    MESSAGE_TOO_LARGE,
    POLICY_AUTHENTICATION,
    POLICY_CONTENT,
    POLICY_REPUTATION,
    RECIPIENT_RATE_LIMITED,
    SPAM_OR_POLICY,
    SUPPRESSED,
    TEMPORARY,
    UNKNOWN,
    classify_bounce,
    classify_delay,
)

ENGLISH = gettext.NullTranslations()


def permanent(diagnostic, status="5.0.0"):
    return classify_bounce("Permanent", "General", action="failed", status=status, diagnostic=diagnostic)


# ---- SES's wrapper: the remote server's inner, more specific code and words win over SES's outer code ----


@pytest.mark.parametrize(
    ("diagnostic", "category", "smtp_status"),
    [
        ("smtp; 5.1.0 - Unknown address error 550-'5.2.2 <ann@example.org>... Mailbox Full'", MAILBOX_FULL, "5.2.2"),
        (
            "smtp; 5.1.0 - Unknown address error 554-'5.7.1 Service unavailable; Client host [198.51.100.7] "
            "blocked using bl.spamcop.net' (delivery attempts: 0)",
            SPAM_OR_POLICY,
            "5.7.1",
        ),
        ("smtp; 5.3.0 - Other mail system problem 552-'5.3.4 Message too big for system'", MESSAGE_TOO_LARGE, "5.3.4"),
        ("smtp; 5.1.0 - Unknown address error 550-'5.1.1 No such mailbox'", INVALID_ADDRESS, "5.1.1"),
        ("smtp; 5.4.7 - Delivery expired (message too old) 'Connection timed out'", TEMPORARY, "5.4.7"),
    ],
)
def test_the_inner_reply_of_an_ses_wrapper_decides(diagnostic, category, smtp_status):
    ses_outer_code = diagnostic.split()[1]  # SES reports its own outer code as the recipient's status
    failure = permanent(diagnostic, status=ses_outer_code)

    assert (failure.category, failure.smtp_status) == (category, smtp_status)


def test_a_wrapper_with_nothing_inside_is_not_read_as_an_address_error():
    assert permanent("smtp; 5.1.0 - Unknown address error 550-'5.0.0'", status="5.1.0").category == UNKNOWN


# ---- blocklists and reputation behind bare codes ----


@pytest.mark.parametrize(
    "diagnostic",
    [
        "smtp; 550 Rejected",
        "smtp; 554 IP=198.51.100.7 - A problem occurred. (Ask your postmaster for help.) (BL)",
        "smtp; 550 Service unavailable; client [198.51.100.7] blocked using dnsbl.sorbs.net",
        "smtp; 554 Your IP 198.51.100.7 is listed at b.barracudacentral.org",
        "smtp; 550 Sorry, 198.51.100.7 is in the Spamhaus ZEN list",
        "smtp; 553 Mail from 198.51.100.7 not accepted: poor IP reputation",
        "smtp; 550 5.7.1 Client host rejected by Proofpoint: IP address is on the blocklist",
    ],
)
def test_blocklist_and_reputation_wording_is_a_policy_block(diagnostic):
    failure = permanent(diagnostic)

    assert (failure.category, failure.reason_detail) == (SPAM_OR_POLICY, POLICY_REPUTATION)


@pytest.mark.parametrize(
    "diagnostic",
    [
        "smtp; 550 5.7.1 SPF fail - not authorized",
        "smtp; 550 5.7.1 DKIM signature did not verify",
        "smtp; 554 5.7.5 Message rejected: DMARC policy of example.com is reject",
        "smtp; 550-5.7.26 This mail is unauthenticated, which poses a security risk to the sender",
    ],
)
def test_authentication_failures_point_at_the_sending_domain(diagnostic):
    failure = permanent(diagnostic)

    assert (failure.category, failure.reason_detail) == (SPAM_OR_POLICY, POLICY_AUTHENTICATION)


@pytest.mark.parametrize(
    "diagnostic",
    [
        "smtp; 550 5.6.9 improper use of 8-bit data in message header",
        "smtp; 554 5.6.0 Message contains a malformed MIME header",
        "smtp; 550 Message rejected because it contains a virus",
        "smtp; 550 5.7.1 This message looks like spam",
    ],
)
def test_content_and_protocol_errors_are_not_address_errors(diagnostic):
    failure = permanent(diagnostic)

    assert (failure.category, failure.reason_detail) == (SPAM_OR_POLICY, POLICY_CONTENT)


# ---- rate limiting is "not now", not a dead or full mailbox ----


def test_gmail_receiving_rate_is_temporary_even_with_a_5_2_1():
    failure = permanent(
        "smtp; 550-5.2.1 The user you are trying to contact is receiving mail at a rate that\n"
        "550 5.2.1 prevents additional messages from being delivered.",
        status="5.2.1",
    )

    assert (failure.category, failure.reason_detail, failure.smtp_status) == (
        TEMPORARY,
        RECIPIENT_RATE_LIMITED,
        "5.2.1",
    )


@pytest.mark.parametrize(
    "diagnostic",
    [
        "smtp; 451 4.7.1 Please slow down: rate limit exceeded",
        "smtp; 450 4.7.1 <ann@example.org>: Recipient address rejected: Greylisted for 5 minutes",
        "smtp; 421 Too many connections from your IP, try again later",
    ],
)
def test_throttling_and_greylisting_are_temporary(diagnostic):
    failure = classify_bounce("Transient", "General", action="failed", status="4.7.1", diagnostic=diagnostic)

    assert (failure.category, failure.permanent) == (TEMPORARY, False)


def test_a_daily_sending_quota_is_not_a_full_mailbox():
    assert permanent("smtp; 550 5.4.5 Daily user sending quota exceeded.").category == TEMPORARY


# ---- disabled accounts, full mailboxes, unknown hosts ----


@pytest.mark.parametrize(
    "diagnostic",
    [
        "smtp; 550 5.2.1 <ann@example.org>: account has been suspended",
        "smtp; 550 This account is deactivated",
        "smtp; 554 5.7.1 <ann@example.org>: mailbox is disabled",
        "smtp; 550 5.1.2 Host unknown (Name server: example.invalid: host not found)",
        "smtp; 550 5.1.1 Die Adresse existiert nicht",
        "smtp; 550 Benutzer ist unbekannt",
        "smtp; 550 5.1.1 L'adresse n'existe pas",
    ],
)
def test_dead_addresses_in_several_wordings(diagnostic):
    assert permanent(diagnostic).category == INVALID_ADDRESS


@pytest.mark.parametrize(
    "diagnostic",
    [
        "smtp; 550 5.1.1 <ann@example.org>: user is over quota (#5.1.1)",
        "smtp; 552 Mailbox quota usage exceeded",
        "smtp; 452 4.2.2 La casella di posta è piena",
        "smtp; 552 5.2.2 Postfach des Empfängers ist voll",
    ],
)
def test_full_mailboxes_beat_an_address_code(diagnostic):
    assert permanent(diagnostic).category == MAILBOX_FULL


# ---- no diagnostic, or nothing that justifies a category ----


@pytest.mark.parametrize(
    ("bounce_type", "status", "diagnostic", "category"),
    [
        ("Permanent", "5.0.0", None, UNKNOWN),
        ("Permanent", "5.0.0", "smtp; 550 5.0.0", UNKNOWN),
        ("Permanent", "5.0.0", "smtp; 554 Transaction failed", UNKNOWN),
        ("Transient", "4.0.0", None, TEMPORARY),
        ("Transient", "4.0.0", "smtp; 451 4.0.0", TEMPORARY),
    ],
)
def test_status_only_bounces_are_not_over_trusted(bounce_type, status, diagnostic, category):
    failure = classify_bounce(bounce_type, "General", action="failed", status=status, diagnostic=diagnostic)

    assert failure.category == category


# ---- SES suppression lists ----


def test_global_suppression_text_is_suppressed_not_invalid():
    failure = permanent(
        "Amazon SES has suppressed sending to this address because it has a recent history of bouncing as an "
        "invalid address.",
        status="5.1.1",
    )

    assert (failure.category, failure.reason_detail) == (SUPPRESSED, GLOBAL_SUPPRESSION_LIST)


def test_account_suppression_subtype_is_suppressed():
    failure = classify_bounce("Permanent", "OnAccountSuppressionList", action="failed", status="5.1.1")

    assert (failure.category, failure.reason_detail) == (SUPPRESSED, ACCOUNT_SUPPRESSION_LIST)


# ---- delays read the same words; the classifier caches per text ----


def test_a_delay_reads_the_words_too():
    failure = classify_delay("TransientCommunicationFailure", diagnostic="smtp; 451 4.7.1 Greylisted, come back later")

    assert (failure.category, failure.permanent) == (TEMPORARY, False)


def test_the_same_reply_is_classified_once():
    classification.clear_caches()
    diagnostic = "smtp; 550 5.1.1 <ann@example.org>: Recipient address rejected: User unknown"
    first = permanent(diagnostic)
    second = permanent(diagnostic)

    assert first is second and first.category == INVALID_ADDRESS
    assert classification._classify_bounce.cache_info().hits >= 1


# ---- what the agent reads: a policy block points at the sender side, a suppression names the SES list ----


@pytest.mark.parametrize(
    ("diagnostic", "reason_words", "remedy_words"),
    [
        (
            "smtp; 550 5.7.26 Unauthenticated email from example.com is not accepted due to domain's DMARC policy",
            "authentication",
            "DKIM",
        ),
        ("smtp; 554 5.7.1 Client host [198.51.100.7] blocked using zen.spamhaus.org", "block list", "delisting"),
        ("smtp; 550 5.7.1 Message rejected as spam by Content Filtering", "content", "attachments"),
    ],
)
def test_a_policy_block_says_the_address_is_fine_and_what_to_fix(diagnostic, reason_words, remedy_words):
    explained = classification.explain(permanent(diagnostic), ENGLISH)

    assert explained["category"] == SPAM_OR_POLICY
    assert reason_words in explained["reason"] and "address is fine" in explained["remedy"]
    assert remedy_words in explained["remedy"]


def test_a_policy_block_without_a_finer_reason_still_points_at_the_sender_side():
    explained = classification.explain(permanent("smtp; 550 Administrative prohibition"), ENGLISH)

    assert "sender's side, not a bad address" in explained["remedy"]


@pytest.mark.parametrize("locale", ["it", "de", "es", "fr"])
def test_policy_and_suppression_texts_are_translated(locale):
    translated = i18n.translations(locale)
    policy = permanent("smtp; 554 5.7.1 Client host [198.51.100.7] blocked using zen.spamhaus.org")
    suppressed = classify_bounce("Permanent", "OnAccountSuppressionList", status="5.1.1")

    for failure in (policy, suppressed):
        assert (
            classification.explain(failure, translated)["reason"] != classification.explain(failure, ENGLISH)["reason"]
        )
        assert (
            classification.explain(failure, translated)["remedy"] != classification.explain(failure, ENGLISH)["remedy"]
        )


def test_a_suppressed_recipient_is_told_about_the_ses_list_not_a_typo():
    failure = permanent(
        "Amazon SES has suppressed sending to this address because it has a recent history of bouncing as an "
        "invalid address.",
        status="5.1.1",
    )
    explained = classification.explain(failure, ENGLISH)

    assert "suppression list" in explained["reason"] and "typo" not in explained["remedy"]
