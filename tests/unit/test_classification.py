"""Bounce, delay, complaint and send-error classification against diagnostics seen from real mail providers."""

from __future__ import annotations

import gettext

import pytest

from chalicelib.domain import classification
from chalicelib.domain.classification import (
    AUTO_REPLY,
    COMPLAINT,
    INVALID_ADDRESS,
    MAILBOX_FULL,
    MESSAGE_TOO_LARGE,
    SPAM_OR_POLICY,
    SUPPRESSED,
    TEMPORARY,
    UNKNOWN,
    FailureClass,
    classify_bounce,
    classify_complaint,
    classify_delay,
    classify_send_error,
    explain,
    extract_codes,
)

ENGLISH = gettext.NullTranslations()


def bounce(bounce_type, subtype, status, diagnostic, category, smtp_status, smtp_code, *, action="failed", id):
    return pytest.param(bounce_type, subtype, action, status, diagnostic, category, smtp_status, smtp_code, id=id)


# (bounce type, subtype, DSN status, diagnosticCode) as SES delivers them, and what the agent should see.
PROVIDER_BOUNCES = [
    bounce(
        "Permanent",
        "General",
        "5.1.1",
        "smtp; 550-5.1.1 The email account that you tried to reach does not exist. Please try\n"
        "550-5.1.1 double-checking the recipient's email address for typos or\n"
        "550-5.1.1 unnecessary spaces. For more information, go to\n"
        "550 5.1.1  https://support.google.com/mail/?p=NoSuchUser n12si1234567qkn.123 - gsmtp",
        INVALID_ADDRESS,
        "5.1.1",
        "550",
        id="gmail-no-such-user",
    ),
    bounce(
        "Permanent",
        "General",
        "5.2.1",
        "smtp; 550-5.2.1 The email account that you tried to reach is disabled. Learn more at\n"
        "550 5.2.1  https://support.google.com/mail/?p=DisabledUser x5si98765wrb.321 - gsmtp",
        INVALID_ADDRESS,
        "5.2.1",
        "550",
        id="gmail-disabled",
    ),
    bounce(
        "Transient",
        "MailboxFull",
        "5.2.2",
        "smtp; 552-5.2.2 The email account that you tried to reach is over quota. Please direct\n"
        "552-5.2.2 the recipient to\n"
        "552 5.2.2  https://support.google.com/mail/?p=OverQuotaPerm a1si4455667qkb.12 - gsmtp",
        MAILBOX_FULL,
        "5.2.2",
        "552",
        id="gmail-over-quota",
    ),
    bounce(
        "Transient",
        "MessageTooLarge",
        "5.2.3",
        "smtp; 552-5.2.3 Your message exceeded Google's message size limits. Please visit\n"
        "552-5.2.3  https://support.google.com/mail/?p=MaxSizeError to view our size\n"
        "552 5.2.3 guidelines. b4si123456pgd.99 - gsmtp",
        MESSAGE_TOO_LARGE,
        "5.2.3",
        "552",
        id="gmail-size",
    ),
    bounce(
        "Permanent",
        "General",
        "5.7.1",
        "smtp; 550-5.7.1 [203.0.113.5      12] Our system has detected that this message is\n"
        "550-5.7.1 likely unsolicited mail. To reduce the amount of spam sent to Gmail,\n"
        "550-5.7.1 this message has been blocked. Please visit\n"
        "550 5.7.1  https://support.google.com/mail/?p=UnsolicitedMessageError z1si12345wrb.7 - gsmtp",
        SPAM_OR_POLICY,
        "5.7.1",
        "550",
        id="gmail-unsolicited",
    ),
    bounce(
        "Permanent",
        "General",
        "5.7.26",
        "smtp; 550-5.7.26 This mail is unauthenticated, which poses a security risk to the\n"
        "550-5.7.26 sender and Gmail users, and has been blocked. The sender must\n"
        "550-5.7.26 authenticate with at least one of SPF or DKIM. For this message,\n"
        "550-5.7.26 DKIM checks did not pass and SPF check for [example.com] did not\n"
        "550 5.7.26 pass with ip: [203.0.113.5]. https://support.google.com/mail/answer/81126 a2si - gsmtp",
        SPAM_OR_POLICY,
        "5.7.26",
        "550",
        id="gmail-unauthenticated",
    ),
    bounce(
        "Transient",
        "General",
        "4.7.28",
        "smtp; 421-4.7.28 [203.0.113.5      15] Our system has detected an unusual rate of\n"
        "421-4.7.28 unsolicited mail originating from your IP address. To protect our\n"
        "421 4.7.28 users from spam, mail sent from your IP address has been temporarily rate limited.",
        SPAM_OR_POLICY,
        "4.7.28",
        "421",
        id="gmail-rate-limited",
    ),
    bounce(
        "Permanent",
        "General",
        "5.0.0",
        "smtp; 550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302). "
        "[AM0PR01MB1234.eurprd01.prod.exchangelabs.com]",
        INVALID_ADDRESS,
        "5.5.0",
        "550",
        id="outlook-mailbox-unavailable",
    ),
    bounce(
        "Permanent",
        "General",
        "5.1.10",
        "smtp; 550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
        INVALID_ADDRESS,
        "5.1.10",
        "550",
        id="office365-recipient-not-found",
    ),
    bounce(
        "Permanent",
        "General",
        "5.4.1",
        "smtp; 550 5.4.1 Recipient address rejected: Access denied. AS(201806281) "
        "[SN1NAM02FT012.eop-nam02.prod.protection.outlook.com]",
        INVALID_ADDRESS,
        "5.4.1",
        "550",
        id="office365-access-denied-directory",
    ),
    bounce(
        "Permanent",
        "General",
        "5.7.1",
        "smtp; 550 5.7.1 Unfortunately, messages from [203.0.113.5] weren't sent. Please contact your Internet "
        "service provider since part of their network is on our block list (S3150). You can also refer your "
        "provider to http://mail.live.com/mail/troubleshooting.aspx#errors. "
        "[DB5EUR03FT012.eop-EUR03.prod.protection.outlook.com]",
        SPAM_OR_POLICY,
        "5.7.1",
        "550",
        id="hotmail-block-list",
    ),
    bounce(
        "Permanent",
        "General",
        "5.7.606",
        "smtp; 550 5.7.606 Access denied, banned sending IP [203.0.113.5]. To request removal from this list "
        "please visit https://sender.office.com/ and follow the directions. For more information please go to  "
        "http://go.microsoft.com/fwlink/?LinkID=526655 AS(1430)",
        SPAM_OR_POLICY,
        "5.7.606",
        "550",
        id="office365-banned-ip",
    ),
    bounce(
        "Permanent",
        "General",
        "5.7.708",
        "smtp; 550 5.7.708 Service unavailable. Access denied, traffic not accepted from this IP. For more "
        "information please go to http://go.microsoft.com/fwlink/?LinkId=526653 AS(7230)",
        SPAM_OR_POLICY,
        "5.7.708",
        "550",
        id="office365-traffic-not-accepted",
    ),
    bounce(
        "Transient",
        "MailboxFull",
        "5.2.2",
        "smtp; 554 5.2.2 mailbox full; STOREDRV.Deliver.Exception:QuotaExceededException."
        "MapiExceptionShutoffQuotaExceeded; Failed to process message due to a permanent exception",
        MAILBOX_FULL,
        "5.2.2",
        "554",
        id="office365-quota",
    ),
    bounce(
        "Transient",
        "MessageTooLarge",
        "5.3.4",
        "smtp; 552 5.3.4 Message size exceeds fixed maximum message size",
        MESSAGE_TOO_LARGE,
        "5.3.4",
        "552",
        id="exchange-size",
    ),
    bounce(
        "Transient",
        "General",
        "4.7.650",
        "smtp; 451 4.7.650 The mail server [203.0.113.5] has been temporarily rate limited due to IP reputation. "
        "For e-mail delivery information, see https://postmaster.live.com (S775) "
        "[Name=Protocol Filter Agent][AGT=PFA][MxId=11BA1AF12345678]",
        SPAM_OR_POLICY,
        "4.7.650",
        "451",
        id="outlook-ip-reputation-deferral",
    ),
    bounce(
        "Permanent",
        "General",
        "5.7.1",
        "smtp; 550 5.7.1 RESOLVER.RST.AuthRequired; authentication required [Stage: CreateMessage]",
        SPAM_OR_POLICY,
        "5.7.1",
        "550",
        id="office365-group-auth-required",
    ),
    bounce(
        "Permanent",
        "General",
        "5.0.0",
        "smtp; 554 delivery error: dd This user doesn't have a yahoo.com account (someone@yahoo.com) [0] - "
        "mta4013.mail.gq1.yahoo.com",
        INVALID_ADDRESS,
        "5.0.0",
        "554",
        id="yahoo-no-account",
    ),
    bounce(
        "Permanent",
        "General",
        "5.0.0",
        "smtp; 554 delivery error: dd Sorry your message to someone@yahoo.com cannot be delivered. This mailbox "
        "is disabled (554.30). - mta1209.mail.ir2.yahoo.com",
        INVALID_ADDRESS,
        "5.0.0",
        "554",
        id="yahoo-mailbox-disabled",
    ),
    bounce(
        "Permanent",
        "General",
        "5.7.1",
        "smtp; 553 5.7.1 [BL21] Connections will not be accepted from 203.0.113.5, because the ip is in "
        "Spamhaus's list; see http://postmaster.yahoo.com/550-bl23.html",
        SPAM_OR_POLICY,
        "5.7.1",
        "553",
        id="yahoo-spamhaus",
    ),
    bounce(
        "Transient",
        "General",
        "4.7.0",
        "smtp; 421 4.7.0 [TSS04] Messages from 203.0.113.5 temporarily deferred due to unexpected volume or user "
        "complaints - 4.16.55.1; see https://postmaster.yahooinc.com/error-codes",
        SPAM_OR_POLICY,
        "4.7.0",
        "421",
        id="yahoo-tss04-deferral",
    ),
    bounce(
        "Permanent",
        "General",
        "5.0.0",
        "smtp; 550 #5.1.0 Address rejected someone@aol.com",
        INVALID_ADDRESS,
        "5.1.0",
        "550",
        id="aol-address-rejected",
    ),
    bounce(
        "Permanent",
        "General",
        "5.1.1",
        "smtp; 550 5.1.1 <someone@icloud.com>: user does not exist",
        INVALID_ADDRESS,
        "5.1.1",
        "550",
        id="icloud-no-user",
    ),
    bounce(
        "Transient",
        "ContentRejected",
        "5.7.1",
        "smtp; 554 5.7.1 [CS01] Message rejected due to local policy. Please visit "
        "https://support.apple.com/en-us/HT204137",
        SPAM_OR_POLICY,
        "5.7.1",
        "554",
        id="icloud-local-policy",
    ),
    bounce(
        "Transient",
        "MailboxFull",
        "5.2.2",
        "smtp; 552 5.2.2 <someone@me.com>: user is over quota (in reply to RCPT TO command)",
        MAILBOX_FULL,
        "5.2.2",
        "552",
        id="icloud-over-quota",
    ),
    bounce(
        "Permanent",
        "General",
        "5.0.0",
        "smtp; 550 Requested action not taken: mailbox unavailable",
        INVALID_ADDRESS,
        "5.0.0",
        "550",
        id="gmx-mailbox-unavailable",
    ),
    bounce(
        "Transient",
        "General",
        "5.0.0",
        "smtp; 552 Requested mail action aborted: exceeded storage allocation",
        MAILBOX_FULL,
        "5.0.0",
        "552",
        id="webde-storage-allocation",
    ),
    bounce(
        "Permanent",
        "General",
        "5.0.0",
        "smtp; 554-Transaction failed\n554-Reject due to policy restrictions.\n"
        "554 For explanation visit https://postmaster.gmx.net/en/case?c=r0301&i=ip&v=203.0.113.5&r=1ABCD",
        SPAM_OR_POLICY,
        "5.0.0",
        "554",
        id="gmx-policy",
    ),
    bounce(
        "Permanent",
        "General",
        "5.1.1",
        "smtp; 550 5.1.1 Adresse d au moins un destinataire invalide. Invalid recipient. OFR_416 [416]",
        INVALID_ADDRESS,
        "5.1.1",
        "550",
        id="orange-invalid-recipient",
    ),
    bounce(
        "Permanent",
        "General",
        "5.0.0",
        "smtp; 550 mwinf5c12 ME Adresse IP source bloquee pour l'envoi de messages. Blocked source IP address. "
        "OFR004_104 [104]",
        SPAM_OR_POLICY,
        "5.0.0",
        "550",
        id="orange-blocked-ip",
    ),
    bounce(
        "Permanent",
        "General",
        "5.1.1",
        "smtp; 550 5.1.1 <someone@libero.it>: Recipient address rejected: utente inesistente",
        INVALID_ADDRESS,
        "5.1.1",
        "550",
        id="libero-no-user",
    ),
    bounce(
        "Transient",
        "General",
        "4.2.2",
        "smtp; 452 4.2.2 <someone@libero.it>: casella piena / mailbox full",
        MAILBOX_FULL,
        "4.2.2",
        "452",
        id="libero-mailbox-full",
    ),
    bounce(
        "Permanent",
        "General",
        "5.1.1",
        "smtp; 550 5.1.1 someone@comcast.net Not our Customer",
        INVALID_ADDRESS,
        "5.1.1",
        "550",
        id="comcast-not-our-customer",
    ),
    bounce(
        "Permanent",
        "General",
        "5.0.0",
        "smtp; 554 resimta-ch2-18v.sys.comcast.net resimta-ch2-18v.sys.comcast.net 203.0.113.5 found on one or "
        "more DNSBLs, see http://postmaster.comcast.net/smtp-error-codes.php#BL000010",
        SPAM_OR_POLICY,
        "5.0.0",
        "554",
        id="comcast-dnsbl",
    ),
    bounce(
        "Permanent",
        "General",
        "5.1.1",
        "smtp; 550 5.1.1 User does not exist - <someone@zoho.com>",
        INVALID_ADDRESS,
        "5.1.1",
        "550",
        id="zoho-no-user",
    ),
    bounce(
        "Transient",
        "ContentRejected",
        "5.7.7",
        "smtp; 554 5.7.7 Email policy violation detected",
        SPAM_OR_POLICY,
        "5.7.7",
        "554",
        id="zoho-policy",
    ),
    bounce(
        "Permanent",
        "General",
        "5.0.0",
        "smtp; 550 Invalid Recipient - https://community.mimecast.com/docs/DOC-1369#550 [AbCdEfGh.us123]",
        INVALID_ADDRESS,
        "5.0.0",
        "550",
        id="mimecast-invalid-recipient",
    ),
    bounce(
        "Permanent",
        "General",
        "5.0.0",
        "smtp; 550 Rejected by header based Anti-Spoofing policy: support@example.com - "
        "https://community.mimecast.com/docs/DOC-1369#550 [AbCdEfGh.uk123]",
        SPAM_OR_POLICY,
        "5.0.0",
        "550",
        id="mimecast-anti-spoofing",
    ),
    bounce(
        "Permanent",
        "General",
        "5.7.0",
        "smtp; 554 5.7.0 Blocked - see https://ipcheck.proofpoint.com/?ip=203.0.113.5",
        SPAM_OR_POLICY,
        "5.7.0",
        "554",
        id="proofpoint-blocked",
    ),
    bounce(
        "Permanent",
        "General",
        "5.1.1",
        "smtp; 550 5.1.1 User Unknown",
        INVALID_ADDRESS,
        "5.1.1",
        "550",
        id="proofpoint-user-unknown",
    ),
    bounce(
        "Permanent",
        "General",
        "5.1.1",
        "smtp; 550 5.1.1 <someone@example.org>: Recipient address rejected: User unknown in virtual mailbox table",
        INVALID_ADDRESS,
        "5.1.1",
        "550",
        id="postfix-virtual-user-unknown",
    ),
    bounce(
        "Permanent",
        "General",
        "5.7.1",
        "smtp; 554 5.7.1 <someone@example.org>: Relay access denied",
        SPAM_OR_POLICY,
        "5.7.1",
        "554",
        id="postfix-relay-denied",
    ),
    bounce(
        "Permanent",
        "General",
        "5.7.1",
        "smtp; 554 5.7.1 Service unavailable; Client host [203.0.113.5] blocked using zen.spamhaus.org; "
        "https://www.spamhaus.org/query/ip/203.0.113.5",
        SPAM_OR_POLICY,
        "5.7.1",
        "554",
        id="postfix-spamhaus",
    ),
    bounce(
        "Transient",
        "General",
        "4.2.0",
        "smtp; 450 4.2.0 <someone@example.org>: Recipient address rejected: Greylisted, see "
        "http://postgrey.schweikert.ch/help/example.org.html",
        TEMPORARY,
        "4.2.0",
        "450",
        id="postfix-greylisted",
    ),
    bounce(
        "Permanent",
        "General",
        "5.4.4",
        "X-Postfix; Host or domain name not found. Name service error for name=example.invalid type=A: Host not found",
        INVALID_ADDRESS,
        "5.4.4",
        None,
        id="postfix-host-not-found",
    ),
    bounce(
        "Permanent",
        "General",
        "5.0.0",
        "smtp; 550 Unrouteable address",
        INVALID_ADDRESS,
        "5.0.0",
        "550",
        id="exim-unrouteable",
    ),
    bounce(
        "Transient",
        "General",
        "5.0.0",
        "smtp; 550-Mailbox quota exceeded\n550 someone@example.org: mailbox is full",
        MAILBOX_FULL,
        "5.0.0",
        "550",
        id="exim-quota",
    ),
    bounce(
        "Permanent",
        "General",
        "5.0.0",
        "smtp; 554 Service unavailable; Client host [203.0.113.5] blocked using Barracuda Reputation; "
        "http://www.barracudanetworks.com/reputation/?pr=1&ip=203.0.113.5",
        SPAM_OR_POLICY,
        "5.0.0",
        "554",
        id="barracuda-reputation",
    ),
    bounce(
        "Permanent",
        "General",
        "5.1.10",
        "smtp; 556 5.1.10 Recipient address has null MX",
        INVALID_ADDRESS,
        "5.1.10",
        "556",
        id="null-mx",
    ),
    bounce(
        "Permanent",
        "General",
        "5.7.23",
        "smtp; 550 5.7.23 The message was rejected because of Sender Policy Framework violation",
        SPAM_OR_POLICY,
        "5.7.23",
        "550",
        id="spf-violation",
    ),
    bounce(
        "Permanent",
        "General",
        "5.0.0",
        "smtp; 550 5.1.1 Usuario desconocido",
        INVALID_ADDRESS,
        "5.1.1",
        "550",
        id="spanish-isp-usuario-desconocido",
    ),
    bounce(
        "Permanent",
        "General",
        "5.1.1",
        "smtp; 550 5.1.1 user unknown",
        INVALID_ADDRESS,
        "5.1.1",
        "550",
        id="ses-simulator-bounce",
    ),
    bounce(
        "Permanent",
        "General",
        "5.1.1",
        "smtp; 550 5.1.1 user unknown ( blacklisted address: suppressionlist@simulator.amazonses.com )",
        INVALID_ADDRESS,
        "5.1.1",
        "550",
        id="ses-simulator-suppressionlist",
    ),
    bounce(
        "Permanent",
        "Suppressed",
        "5.1.1",
        "Amazon SES has suppressed sending to this address because it has a recent history of bouncing as an "
        "invalid address. For more information about how to remove an address from the suppression list, see the "
        "Amazon SES Developer Guide: http://docs.aws.amazon.com/ses/latest/DeveloperGuide/"
        "remove-from-suppressionlist.html ",
        SUPPRESSED,
        "5.1.1",
        None,
        id="ses-global-suppression",
    ),
    bounce(
        "Permanent",
        "OnAccountSuppressionList",
        "5.1.1",
        "Amazon SES did not send the message to this address because it is on the suppression list for your "
        "account. For more information about removing addresses from the suppression list, see the Amazon SES "
        "Developer Guide at https://docs.aws.amazon.com/ses/latest/DeveloperGuide/sending-email-suppression-list.html",
        SUPPRESSED,
        "5.1.1",
        None,
        id="ses-account-suppression",
    ),
    bounce(
        "Transient",
        "General",
        "4.4.7",
        "smtp; 554 4.4.7 Message expired: unable to deliver in 840 minutes.<421 4.4.2 Connection closed unexpectedly>",
        TEMPORARY,
        "4.4.7",
        "554",
        id="ses-expired-connection-closed",
    ),
    bounce(
        "Transient",
        "General",
        "4.4.7",
        "smtp; 554 4.4.7 Message expired: unable to deliver in 240 minutes.<452 4.2.2 The email account that "
        "you tried to reach is over quota>",
        MAILBOX_FULL,
        "4.2.2",
        "452",
        id="ses-expired-over-quota",
    ),
    bounce(
        "Transient",
        "ContentRejected",
        "5.3.0",
        "smtp; 550 spam detected",
        SPAM_OR_POLICY,
        "5.3.0",
        "550",
        id="transient-content-rejected-spam",
    ),
]


@pytest.mark.parametrize(
    ("bounce_type", "subtype", "action", "status", "diagnostic", "category", "smtp_status", "smtp_code"),
    PROVIDER_BOUNCES,
)
def test_provider_diagnostics_are_classified(
    bounce_type, subtype, action, status, diagnostic, category, smtp_status, smtp_code
):
    failure = classify_bounce(bounce_type, subtype, action=action, status=status, diagnostic=diagnostic)

    assert (failure.category, failure.smtp_status, failure.smtp_code) == (category, smtp_status, smtp_code)


def test_there_are_at_least_forty_provider_diagnostics():
    assert len(PROVIDER_BOUNCES) >= 40


def test_generic_status_never_hides_a_specific_code_in_the_text():
    failure = classify_bounce(
        "Permanent", "General", action="failed", status="5.0.0", diagnostic="smtp; 552 5.2.2 full"
    )

    assert (failure.category, failure.smtp_status, failure.smtp_code) == (MAILBOX_FULL, "5.2.2", "552")


def test_specific_status_wins_over_the_ses_subtype():
    failure = classify_bounce(
        "Transient", "ContentRejected", action="failed", status="5.2.3", diagnostic="smtp; 552 5.2.3 too big"
    )

    assert failure.category == MESSAGE_TOO_LARGE


def test_subtype_decides_when_status_and_text_say_nothing():
    failure = classify_bounce("Transient", "MailboxFull", action="failed", status="5.0.0", diagnostic="smtp; 554 nope")

    assert failure.category == MAILBOX_FULL


def test_transient_general_without_details_is_an_auto_reply():
    failure = classify_bounce("Transient", "General")

    assert failure == FailureClass(AUTO_REPLY, False)


def test_a_bare_reply_code_does_not_type_an_undetermined_bounce():
    failure = classify_bounce(
        "Undetermined", "Undetermined", action="failed", status="5.0.0", diagnostic="smtp; 550 5.0.0 rejected"
    )

    assert (failure.category, failure.smtp_status, failure.smtp_code) == (UNKNOWN, "5.0.0", "550")


def test_permanent_general_without_details_is_unknown_but_not_retried():
    # No reply, no specific status: nothing proves the address dead (issue 16), though SES will not retry.
    failure = classify_bounce("Permanent", "General")

    assert (failure.category, failure.permanent) == (UNKNOWN, True)


def test_permanent_no_email_subtype():
    failure = classify_bounce("Permanent", "NoEmail", action="failed", status="5.0.0", diagnostic="smtp; 554 rejected")

    assert failure.category == INVALID_ADDRESS


def test_undetermined_bounce_is_unknown():
    failure = classify_bounce("Undetermined", "Undetermined")

    assert (failure.category, failure.permanent) == (UNKNOWN, False)


def test_delayed_recipient_inside_a_permanent_bounce_is_not_permanent():
    failure = classify_bounce("Permanent", "General", action="delayed", status="4.0.0")

    assert (failure.category, failure.permanent, failure.smtp_status) == (TEMPORARY, False, "4.0.0")


def test_transient_address_rejection_is_only_temporary():
    failure = classify_bounce(
        "Transient",
        "General",
        action="failed",
        status="4.1.1",
        diagnostic="smtp; 450 4.1.1 <someone@example.org>: Recipient address rejected: unverified address",
    )

    assert (failure.category, failure.permanent) == (TEMPORARY, False)


def test_permanence_follows_the_ses_bounce_type():
    assert classify_bounce("Permanent", "General", action="failed", status="5.1.1").permanent is True
    assert classify_bounce("Transient", "MailboxFull", action="failed", status="5.2.2").permanent is False


def test_suppression_records_which_list():
    global_list = classify_bounce("Permanent", "Suppressed", action="failed", status="5.1.1")
    account_list = classify_bounce("Permanent", "OnAccountSuppressionList", action="failed", status="5.1.1")

    assert global_list.reason_detail == classification.GLOBAL_SUPPRESSION_LIST
    assert account_list.reason_detail == classification.ACCOUNT_SUPPRESSION_LIST


def test_ses_suppression_text_is_recognised_without_the_subtype():
    failure = classify_bounce(
        "Permanent",
        "General",
        action="failed",
        status="5.1.1",
        diagnostic="Amazon SES did not send the message to this address because it is on the suppression list for "
        "your account.",
    )

    assert (failure.category, failure.reason_detail) == (SUPPRESSED, classification.ACCOUNT_SUPPRESSION_LIST)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("smtp; 550 5.1.1 user unknown", ("550", "5.1.1")),
        ("smtp; 550-5.1.1 The email account", ("550", "5.1.1")),
        ("smtp; 550 #5.1.0 Address rejected", ("550", "5.1.0")),
        ("smtp; 451 4.7.650 rate limited", ("451", "4.7.650")),
        ("Status: 5.1.10.", (None, "5.1.10")),
        ("from 192.0.2.25 and 4.16.55.1", (None, None)),
        ("", (None, None)),
        (None, (None, None)),
    ],
)
def test_extract_codes(text, expected):
    assert extract_codes(text) == expected


@pytest.mark.parametrize(
    ("delay_type", "status", "diagnostic", "category"),
    [
        ("MailboxFull", "4.2.2", "smtp; 452 4.2.2 Mailbox full", MAILBOX_FULL),
        ("SpamDetected", None, None, SPAM_OR_POLICY),
        ("IPFailure", "4.7.0", "smtp; 421 4.7.0 [TSS04] Messages temporarily deferred", SPAM_OR_POLICY),
        ("TransientCommunicationFailure", "4.4.2", "smtp; 421 4.4.2 Connection timed out", TEMPORARY),
        ("General", "4.0.0", "smtp; 452 4.2.2 over quota", MAILBOX_FULL),
        ("General", "4.1.1", "smtp; 450 4.1.1 Recipient address rejected: unverified address", TEMPORARY),
        ("Undetermined", None, None, TEMPORARY),
    ],
)
def test_delays_are_never_permanent(delay_type, status, diagnostic, category):
    failure = classify_delay(delay_type, status=status, diagnostic=diagnostic)

    assert (failure.category, failure.permanent) == (category, False)


def test_complaints():
    assert classify_complaint("abuse", None) == FailureClass(COMPLAINT, True)
    suppressed = classify_complaint(None, "OnAccountSuppressionList")
    assert (suppressed.category, suppressed.reason_detail) == (SUPPRESSED, classification.ACCOUNT_SUPPRESSION_LIST)


@pytest.mark.parametrize(
    ("error_code", "message", "category", "permanent"),
    [
        ("MessageRejected", "Address blacklisted.", SUPPRESSED, True),
        ("MessageRejected", "Message length is more than 10485760 bytes long: '12000000'.", MESSAGE_TOO_LARGE, True),
        ("MessageRejected", "Email address is not verified. The following identities failed", SPAM_OR_POLICY, True),
        ("BadRequestException", "Illegal address", INVALID_ADDRESS, True),
        ("TooManyRequestsException", "Maximum sending rate exceeded.", TEMPORARY, False),
        ("AccountSuspendedException", "Account suspended", UNKNOWN, True),
    ],
)
def test_send_errors(error_code, message, category, permanent):
    failure = classify_send_error(error_code, message)

    assert (failure.category, failure.permanent) == (category, permanent)


def test_explain_prefers_the_code_specific_remedy():
    failure = classify_bounce(
        "Permanent", "General", action="failed", status="5.1.6", diagnostic="smtp; 550 5.1.6 user has moved"
    )

    explained = explain(failure, ENGLISH)

    assert explained["reason"] == "The email address is invalid or does not exist"
    assert explained["remedy"].startswith("Contact the end-user another way")
    assert explained["code_summary"] == "The recipient's mailbox has moved and there is no forwarding address"


def test_explain_tells_how_to_leave_the_account_suppression_list():
    failure = classify_bounce("Permanent", "OnAccountSuppressionList", action="failed", status="5.1.1")

    assert "suppression list" in explain(failure, ENGLISH)["remedy"]


def test_explain_falls_back_to_the_category_remedy():
    explained = explain(FailureClass(MAILBOX_FULL, False), ENGLISH)

    assert explained["remedy"] == classification.failure_remedy(MAILBOX_FULL, ENGLISH)
    assert explained["code_summary"] is None


def test_every_category_has_a_reason_and_a_remedy():
    unknown_reason = classification.failure_reason(UNKNOWN, ENGLISH)
    for category in classification.CATEGORIES:
        if category != UNKNOWN:
            assert classification.failure_reason(category, ENGLISH) != unknown_reason
        assert classification.failure_remedy(category, ENGLISH)


def test_explain_tolerates_codes_outside_the_catalogue():
    explained = explain(FailureClass(SPAM_OR_POLICY, True, "5.7.606", "550"), ENGLISH)

    assert explained["code_summary"] is None
    assert explained["remedy"] == classification.failure_remedy(SPAM_OR_POLICY, ENGLISH)
    assert explain(FailureClass(UNKNOWN, True, "x.y", None), ENGLISH)["code_summary"] is None


def test_explain_uses_the_basic_code_when_it_agrees():
    failure = classify_bounce("Permanent", "General", action="failed", status="5.0.0", diagnostic="smtp; 552 quota")

    assert explain(failure, ENGLISH)["code_summary"] == "The recipient's mailbox has used up its storage allocation"
