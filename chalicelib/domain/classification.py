"""Turns what SES reports about a failed recipient into a failure category, codes and agent-facing words."""

from __future__ import annotations

import gettext
import re
from dataclasses import dataclass

INVALID_ADDRESS = "invalid_address"
MAILBOX_FULL = "mailbox_full"
MESSAGE_TOO_LARGE = "message_too_large"
SPAM_OR_POLICY = "spam_or_policy"
COMPLAINT = "complaint"
SUPPRESSED = "suppressed"
TEMPORARY = "temporary"
AUTO_REPLY = "auto_reply"
UNKNOWN = "unknown"
NO_ADDRESS = "no_address"
TRIGGER_INACTIVE = "trigger_inactive"

CATEGORIES = (
    INVALID_ADDRESS,
    MAILBOX_FULL,
    MESSAGE_TOO_LARGE,
    SPAM_OR_POLICY,
    COMPLAINT,
    SUPPRESSED,
    TEMPORARY,
    AUTO_REPLY,
    UNKNOWN,
    NO_ADDRESS,
)

_ENHANCED = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_BASIC = re.compile(r"(?<![\d.])([245]\d\d)(?=[\s\-]|$)")


@dataclass(frozen=True)
class FailureClass:
    """What kind of failure a recipient had and the SMTP codes that prove it."""

    category: str
    permanent: bool
    smtp_status: str | None = None
    smtp_code: str | None = None


def extract_codes(text: str | None) -> tuple[str | None, str | None]:
    """The basic (550) and enhanced (5.1.1) SMTP codes found in a diagnostic, or None each."""
    if not text:
        return None, None
    enhanced = _ENHANCED.search(text)
    basic = _BASIC.search(text)
    return (basic.group(1) if basic else None, ".".join(enhanced.groups()) if enhanced else None)


def _category_for_status(status: str) -> str | None:
    klass, subject, detail = status.split(".")
    key = f"{subject}.{detail}"
    if key in ("1.1", "1.2", "1.3", "1.4", "1.6", "1.10", "7.13", "7.17", "7.18"):
        return INVALID_ADDRESS if klass == "5" else TEMPORARY
    if key == "2.1":
        return INVALID_ADDRESS if klass == "5" else TEMPORARY
    if key == "2.2":
        return MAILBOX_FULL
    if key in ("2.3", "3.4", "7.16"):
        return MESSAGE_TOO_LARGE
    if key == "4.4":
        return INVALID_ADDRESS if klass == "5" else TEMPORARY
    if subject in ("6", "7"):
        return SPAM_OR_POLICY
    if subject in ("3", "4") or klass == "4":
        return TEMPORARY
    return None


_SUBTYPE_CATEGORY = {
    "NoEmail": INVALID_ADDRESS,
    "Suppressed": SUPPRESSED,
    "OnAccountSuppressionList": SUPPRESSED,
    "MailboxFull": MAILBOX_FULL,
    "MessageTooLarge": MESSAGE_TOO_LARGE,
    "ContentRejected": SPAM_OR_POLICY,
    "AttachmentRejected": SPAM_OR_POLICY,
}


def classify_bounce(
    bounce_type: str | None,
    bounce_subtype: str | None,
    *,
    action: str | None = None,
    status: str | None = None,
    diagnostic: str | None = None,
) -> FailureClass:
    """Classify one bounced recipient from the SES bounce type/subtype, DSN status and diagnostic text."""
    basic, enhanced_in_text = extract_codes(diagnostic)
    smtp_status = status if status and _ENHANCED.fullmatch(status) else None
    if enhanced_in_text and (smtp_status is None or smtp_status.endswith(".0.0")):
        smtp_status = enhanced_in_text
    permanent = bounce_type == "Permanent"
    category = _SUBTYPE_CATEGORY.get(bounce_subtype or "")
    if category is None and bounce_type == "Transient" and not (status or diagnostic or action):
        category = AUTO_REPLY
    if category is None and smtp_status:
        category = _category_for_status(smtp_status)
    if category is None:
        category = INVALID_ADDRESS if permanent else (TEMPORARY if bounce_type == "Transient" else UNKNOWN)
    return FailureClass(category=category, permanent=permanent, smtp_status=smtp_status, smtp_code=basic)


def classify_delay(delay_type: str | None, *, status: str | None = None, diagnostic: str | None = None) -> FailureClass:
    basic, enhanced = extract_codes(diagnostic)
    category = MAILBOX_FULL if delay_type == "MailboxFull" else TEMPORARY
    return FailureClass(category=category, permanent=False, smtp_status=status or enhanced, smtp_code=basic)


def classify_complaint(feedback_type: str | None, complaint_subtype: str | None) -> FailureClass:
    if complaint_subtype == "OnAccountSuppressionList":
        return FailureClass(category=SUPPRESSED, permanent=True)
    return FailureClass(category=COMPLAINT, permanent=True)


def classify_send_error(error_code: str, message: str) -> FailureClass:
    """A synchronous refusal from the SES API, recorded like a bounce."""
    basic, enhanced = extract_codes(message)
    lowered = message.lower()
    if "suppress" in lowered:
        category = SUPPRESSED
    elif error_code in ("MessageRejected",) and "size" in lowered:
        category = MESSAGE_TOO_LARGE
    elif error_code == "MessageRejected":
        category = SPAM_OR_POLICY
    elif error_code in ("Throttling", "ThrottlingException", "TooManyRequestsException", "LimitExceededException",
                        "SendingPausedException", "AccountSendingPausedException"):
        category = TEMPORARY
    else:
        category = UNKNOWN
    return FailureClass(category=category, permanent=category not in (TEMPORARY,), smtp_status=enhanced, smtp_code=basic)


def failure_reason(category: str, tr: gettext.NullTranslations) -> str:
    """One line an agent reads beside the recipient's name."""
    _ = tr.gettext
    reasons = {
        INVALID_ADDRESS: _("The email address is invalid or does not exist"),
        MAILBOX_FULL: _("The recipient's mailbox is full"),
        MESSAGE_TOO_LARGE: _("The message is too large for the recipient's mail server"),
        SPAM_OR_POLICY: _("The recipient's mail server rejected the message as spam or by policy"),
        COMPLAINT: _("The recipient marked the message as spam"),
        SUPPRESSED: _("The address is on the suppression list, so the email was not sent"),
        TEMPORARY: _("The recipient's mail server could not accept the message for now"),
        AUTO_REPLY: _("The recipient answered with an automatic reply"),
        NO_ADDRESS: _("The user has no email address"),
        TRIGGER_INACTIVE: _("The notification trigger is inactive"),
        UNKNOWN: _("The email could not be delivered"),
    }
    return reasons.get(category, reasons[UNKNOWN])


def failure_remedy(category: str, tr: gettext.NullTranslations) -> str:
    """What the agent should do next, following the help desk's own advice."""
    _ = tr.gettext
    remedies = {
        INVALID_ADDRESS: _("Check the end-user's profile for a typo in the email address and correct it."),
        MAILBOX_FULL: _("Contact the end-user another way and ask them to free space or give another address."),
        MESSAGE_TOO_LARGE: _("Make the message smaller (fewer or smaller attachments) and resend it by adding a public comment."),
        SPAM_OR_POLICY: _("Ask your email administrator to check SPF, DKIM and DMARC for the sending domain and the message content."),
        COMPLAINT: _("The recipient does not want these emails: contact them another way before emailing again."),
        SUPPRESSED: _("Fix the cause with the end-user, then remove the address from the suppression list and resend."),
        TEMPORARY: _("Nothing to do yet: wait and resend later if the problem persists."),
        AUTO_REPLY: _("No action needed: the email was delivered."),
        NO_ADDRESS: _("Add an email address to the user's profile."),
        TRIGGER_INACTIVE: _("Activate the trigger if this notification should be sent."),
        UNKNOWN: _("Check the diagnostic and contact the end-user another way if needed."),
    }
    return remedies.get(category, remedies[UNKNOWN])
