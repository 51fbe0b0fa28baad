"""Turns what SES reports about a failed recipient into a failure category, codes and agent-facing words."""

from __future__ import annotations

import gettext
import re
from dataclasses import dataclass

from chalicelib.domain import smtp_codes
from chalicelib.domain.rate_limit import RATE_LIMITED
from chalicelib.domain.smtp_codes import (
    AUTO_REPLY,
    COMPLAINT,
    INVALID_ADDRESS,
    MAILBOX_FULL,
    MESSAGE_TOO_LARGE,
    NO_ADDRESS,
    SPAM_OR_POLICY,
    SUPPRESSED,
    TEMPORARY,
    TRIGGER_INACTIVE,
    UNKNOWN,
)

# deskmail itself held the email back: the address failed before (see domain/deliverability.py).
ADDRESS_UNDELIVERABLE = "address_undeliverable"
ADDRESS_COMPLAINED = "address_complained"

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
    ADDRESS_UNDELIVERABLE,
    ADDRESS_COMPLAINED,
    RATE_LIMITED,
)

# Finer reasons, kept in FailureClass.reason_detail where the remedy differs from the category's.
GLOBAL_SUPPRESSION_LIST = "global_suppression_list"
ACCOUNT_SUPPRESSION_LIST = "account_suppression_list"
SENDER_NOT_VERIFIED = "sender_not_verified"

# "#5.1.0" is AOL's spelling; a trailing "." ends a sentence, not the code.
_ENHANCED = re.compile(r"(?<![\d.])#?([245])\.(\d{1,3})\.(\d{1,3})(?!\d|\.\d)")
_BASIC = re.compile(r"(?<![\d.])([245]\d\d)(?=[\s\-]|$)")
_BETWEEN_BASIC_AND_ENHANCED = re.compile(r"[ \-]+#?")

_SUPPRESSION_TEXT = re.compile(r"suppress(ed|ion)", re.IGNORECASE)
_ACCOUNT_SUPPRESSION_TEXT = re.compile(r"suppression list for your account", re.IGNORECASE)

# Tried in order on the diagnostic when no specific status settles the category. Size and quota come first
# because their texts often also say "rejected"; greylisting before addresses because Postfix words it as
# "Recipient address rejected: Greylisted".
_TEXT_RULES = (
    (
        MESSAGE_TOO_LARGE,
        re.compile(
            r"too (large|big)|size (limit )?exceed|exceeds? (the )?(maximum |max )?(allowed )?(message )?size"
            r"|message (size|length) (is )?(more|greater|larger)|message length exceeds",
            re.IGNORECASE,
        ),
    ),
    (
        MAILBOX_FULL,
        re.compile(
            r"mailbox (is )?full|inbox (is )?full|over ?quota|quota (exceeded|full)|exceeded (the )?(storage|quota)"
            r"|exceeds? (his|her|their|the) (storage|quota)|mailbox size limit|insufficient (user )?storage"
            r"|out of (storage|space)|postfach (ist )?voll|casella (di posta )?piena|buz[oó]n (est[aá] )?lleno"
            r"|bo[iî]te (aux lettres )?pleine",
            re.IGNORECASE,
        ),
    ),
    (
        TEMPORARY,
        re.compile(
            r"greylist|graylist|try again later|temporar(il)?y|message expired|connection (timed out|refused|closed)"
            r"|too many (connections|messages)",
            re.IGNORECASE,
        ),
    ),
    (
        INVALID_ADDRESS,
        re.compile(
            r"user unknown|unknown user|unknown (local[- ]part|recipient|address)|no such (user|mailbox|recipient"
            r"|address|account)|(does not|doesn'?t|not) exist|doesn'?t have an? [\w.\-]+ account|mailbox unavailable"
            r"|mailbox not found|recipient not found|invalid (recipient|mailbox|address)|recipient address rejected"
            r"|user not found|address rejected|account (has been |is )?(disabled|inactive|deactivated|closed|suspended)"
            r"|mailbox (is )?(disabled|inactive)|no mailbox|unrouteable address|not a valid (mailbox|recipient)"
            r"|addressee unknown|not our customer|unbekannt|existiert nicht|n'existe pas|inconnu|inesistente"
            r"|non esiste|no existe|desconocido",
            re.IGNORECASE,
        ),
    ),
    (
        SPAM_OR_POLICY,
        re.compile(
            r"spam|unsolicited|junk|block(ed| ?list)|blacklist|denylist|dnsbl|spamhaus|reputation|policy|prohibit"
            r"|not authori[sz]ed|dmarc|\bspf\b|dkim|authenticat|content (rejected|refused)|virus|malware"
            r"|banned|access denied|refused|relay(ing)? (access )?denied|phish",
            re.IGNORECASE,
        ),
    ),
)

_SUBTYPE_CATEGORY = {
    "NoEmail": INVALID_ADDRESS,
    "Suppressed": SUPPRESSED,
    "OnAccountSuppressionList": SUPPRESSED,
    "MailboxFull": MAILBOX_FULL,
    "MessageTooLarge": MESSAGE_TOO_LARGE,
    "ContentRejected": SPAM_OR_POLICY,
    "AttachmentRejected": SPAM_OR_POLICY,
}

_DELAY_TYPE_CATEGORY = {
    "MailboxFull": MAILBOX_FULL,
    "SpamDetected": SPAM_OR_POLICY,
    "IPFailure": SPAM_OR_POLICY,
}

_THROTTLING_ERRORS = (
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "LimitExceededException",
    "SendingPausedException",
    "AccountSendingPausedException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
)


@dataclass(frozen=True)
class FailureClass:
    """What kind of failure a recipient had and the SMTP codes that prove it."""

    category: str
    permanent: bool
    smtp_status: str | None = None
    smtp_code: str | None = None
    reason_detail: str | None = None

    def as_record(self, **details: object) -> dict:
        """The failure as stored on an outcome, with whatever evidence came with it (None values left out)."""
        record: dict = {
            "category": self.category,
            "permanent": self.permanent,
            "smtp_status": self.smtp_status,
            "smtp_code": self.smtp_code,
            "reason_detail": self.reason_detail,
        }
        record.update({key: value for key, value in details.items() if value is not None})
        return record


@dataclass(frozen=True)
class _Codes:
    # Every code a diagnostic holds, in order, with the basic reply code that introduced each enhanced one.
    enhanced: tuple[str, ...]
    basic: tuple[str, ...]
    basic_before: dict[str, str]


def _normalised_enhanced(match: re.Match[str]) -> str:
    return ".".join(str(int(part)) for part in match.groups())


def _codes_in(text: str | None) -> _Codes:
    if not text:
        return _Codes((), (), {})
    basics = list(_BASIC.finditer(text))
    enhanced: list[str] = []
    basic_before: dict[str, str] = {}
    for match in _ENHANCED.finditer(text):
        code = _normalised_enhanced(match)
        if code not in enhanced:
            enhanced.append(code)
        for basic in basics:
            if _BETWEEN_BASIC_AND_ENHANCED.fullmatch(text, basic.end(), match.start()):
                basic_before.setdefault(code, basic.group(1))
    return _Codes(tuple(enhanced), tuple(dict.fromkeys(basic.group(1) for basic in basics)), basic_before)


def extract_codes(text: str | None) -> tuple[str | None, str | None]:
    """The basic (550) and enhanced (5.1.1) SMTP codes found in a diagnostic, or None each."""
    codes = _codes_in(text)
    return (codes.basic[0] if codes.basic else None, codes.enhanced[0] if codes.enhanced else None)


def _valid_status(status: str | None) -> str | None:
    if not status:
        return None
    try:
        code = smtp_codes.parse_code(status)
    except ValueError:
        return None
    return code if smtp_codes.kind_of(code) == smtp_codes.ENHANCED else None


def _specificity(code: str) -> int:
    # Lower is more telling. A specific category settles the case (0); a transient or network one (4.4.7,
    # Microsoft's 5.4.1) may be refined by the text (1); "other or undefined" codes say nothing (2, 3).
    _klass, subject, detail = code.split(".")
    if subject == "0" and detail == "0":
        return 3
    category = smtp_codes.category_of(code)
    if category in (None, UNKNOWN) or (detail == "0" and category == TEMPORARY):
        return 2
    return 1 if category == TEMPORARY else 0


def _most_specific(candidates: list[str]) -> str | None:
    if not candidates:
        return None
    return min(candidates, key=lambda code: (_specificity(code), candidates.index(code)))


def _category_from_text(text: str | None) -> str | None:
    if not text:
        return None
    for category, pattern in _TEXT_RULES:
        if pattern.search(text):
            return category
    return None


def _transient_form(category: str, transient: bool) -> str:
    # A 4xx reply for a bad address only says "not now": the address is not proven wrong.
    if transient and category in (INVALID_ADDRESS, UNKNOWN):
        return TEMPORARY
    return category


def _useful_category(code: str | None) -> str | None:
    category = smtp_codes.category_of(code) if code else None
    return None if category == UNKNOWN else category


def _suppression_detail(bounce_subtype: str | None, diagnostic: str | None) -> str | None:
    if bounce_subtype == "OnAccountSuppressionList":
        return ACCOUNT_SUPPRESSION_LIST
    if bounce_subtype == "Suppressed":
        return GLOBAL_SUPPRESSION_LIST
    if diagnostic and "amazon ses" in diagnostic.lower() and _SUPPRESSION_TEXT.search(diagnostic):
        return ACCOUNT_SUPPRESSION_LIST if _ACCOUNT_SUPPRESSION_TEXT.search(diagnostic) else GLOBAL_SUPPRESSION_LIST
    return None


def classify_bounce(
    bounce_type: str | None,
    bounce_subtype: str | None,
    *,
    action: str | None = None,
    status: str | None = None,
    diagnostic: str | None = None,
) -> FailureClass:
    """Classify one bounced recipient from the SES bounce type/subtype, DSN status and diagnostic text."""
    codes = _codes_in(diagnostic)
    reported_status = _valid_status(status)
    candidates = list(dict.fromkeys(([reported_status] if reported_status else []) + list(codes.enhanced)))
    smtp_status = _most_specific(candidates)
    smtp_code = codes.basic_before.get(smtp_status or "") or (codes.basic[0] if codes.basic else None)

    if smtp_status:
        transient = smtp_status.startswith("4")
    elif smtp_code:
        transient = smtp_code.startswith("4")
    else:
        transient = False
    transient = transient or (action or "").lower() == "delayed"
    # SES's bounce type decides permanence, but a recipient that is only delayed, or a 4.x status, is not
    # proof that the address is dead; a 5.x status in a Transient bounce does not promote it either.
    if transient:
        permanent = False
    elif bounce_type in ("Permanent", "Transient"):
        permanent = bounce_type == "Permanent"
    else:
        permanent = bool(smtp_status and smtp_status.startswith("5")) or bool(smtp_code and smtp_code.startswith("5"))

    suppression = _suppression_detail(bounce_subtype, diagnostic)
    if suppression:
        return FailureClass(SUPPRESSED, True, smtp_status, smtp_code, reason_detail=suppression)
    if bounce_type == "Transient" and bounce_subtype in (None, "", "General") and not (status or diagnostic or action):
        return FailureClass(AUTO_REPLY, False)

    category: str | None = None
    if smtp_status and _specificity(smtp_status) == 0:
        category = smtp_codes.category_of(smtp_status)
    category = (
        category
        or _category_from_text(diagnostic)
        or _SUBTYPE_CATEGORY.get(bounce_subtype or "")
        or _useful_category(smtp_status)
        # A bare reply code (550 serves unknown users and spam blocks alike) only refines a bounce SES could type.
        or (_useful_category(smtp_code) if bounce_type in ("Permanent", "Transient") else None)
    )
    if category is None:
        if bounce_type == "Transient":
            category = TEMPORARY
        elif bounce_type == "Permanent" and not diagnostic:
            # SES's Permanent/General with nothing else is, in practice, an address that does not exist.
            category = INVALID_ADDRESS
        else:
            category = UNKNOWN
    return FailureClass(_transient_form(category, transient), permanent, smtp_status, smtp_code)


def classify_delay(delay_type: str | None, *, status: str | None = None, diagnostic: str | None = None) -> FailureClass:
    """A DeliveryDelay recipient: never permanent, but the reason can already be a full mailbox or a block."""
    codes = _codes_in(diagnostic)
    reported_status = _valid_status(status)
    candidates = list(dict.fromkeys(([reported_status] if reported_status else []) + list(codes.enhanced)))
    smtp_status = _most_specific(candidates)
    smtp_code = codes.basic_before.get(smtp_status or "") or (codes.basic[0] if codes.basic else None)
    category = _DELAY_TYPE_CATEGORY.get(delay_type or "")
    if category is None and smtp_status and _specificity(smtp_status) == 0:
        category = smtp_codes.category_of(smtp_status)
    if category is None:
        category = _category_from_text(diagnostic)
    return FailureClass(_transient_form(category or TEMPORARY, True), False, smtp_status, smtp_code)


def classify_complaint(feedback_type: str | None, complaint_subtype: str | None) -> FailureClass:
    """A complaint, or SES's refusal to send to an address on the account's suppression list."""
    if complaint_subtype == "OnAccountSuppressionList":
        return FailureClass(category=SUPPRESSED, permanent=True, reason_detail=ACCOUNT_SUPPRESSION_LIST)
    return FailureClass(category=COMPLAINT, permanent=True)


def classify_send_error(error_code: str, message: str) -> FailureClass:
    """A synchronous refusal from the SES API, recorded like a bounce."""
    basic, enhanced = extract_codes(message)
    lowered = (message or "").lower()
    detail = None
    if "suppress" in lowered or "blacklisted" in lowered:
        category = SUPPRESSED
        detail = ACCOUNT_SUPPRESSION_LIST if "account" in lowered else GLOBAL_SUPPRESSION_LIST
    elif "illegal address" in lowered or "invalid address" in lowered or "local address" in lowered:
        category = INVALID_ADDRESS
    elif error_code == "MessageRejected" and ("size" in lowered or "too large" in lowered or "length" in lowered):
        category = MESSAGE_TOO_LARGE
    elif error_code in ("MessageRejected", "MailFromDomainNotVerifiedException", "MailFromDomainNotVerified"):
        category = SPAM_OR_POLICY
        if "not verified" in lowered:
            detail = SENDER_NOT_VERIFIED
    elif error_code in _THROTTLING_ERRORS:
        category = TEMPORARY
    else:
        category = UNKNOWN
    return FailureClass(category, category != TEMPORARY, enhanced, basic, reason_detail=detail)


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
        ADDRESS_UNDELIVERABLE: _("Not sent: this address is marked undeliverable after earlier bounces"),
        ADDRESS_COMPLAINED: _("Not sent: the recipient marked earlier emails as spam"),
        RATE_LIMITED: _("Held: this address already got too many notifications from this ticket in a short time"),
        UNKNOWN: _("The email could not be delivered"),
    }
    return reasons.get(category, reasons[UNKNOWN])


def failure_remedy(category: str, tr: gettext.NullTranslations) -> str:
    """What the agent should do next, following the help desk's own advice."""
    _ = tr.gettext
    remedies = {
        INVALID_ADDRESS: _("Check the end-user's profile for a typo in the email address and correct it."),
        MAILBOX_FULL: _("Contact the end-user another way and ask them to free space or give another address."),
        MESSAGE_TOO_LARGE: _(
            "Make the message smaller (fewer or smaller attachments) and resend it by adding a public comment."
        ),
        SPAM_OR_POLICY: _(
            "Ask your email administrator to check SPF, DKIM and DMARC for the sending domain and the message content."
        ),
        COMPLAINT: _("The recipient does not want these emails: contact them another way before emailing again."),
        SUPPRESSED: _(
            "Fix the cause with the end-user, then remove the address from the suppression list "
            "(DELETE /suppressions/<address>) and resend the notification (POST .../comments/<id>/resend)."
        ),
        TEMPORARY: _("Nothing to do yet: wait and resend later if the problem persists."),
        AUTO_REPLY: _("No action needed: the email was delivered."),
        NO_ADDRESS: _("Add an email address to the user's profile."),
        TRIGGER_INACTIVE: _("Activate the trigger if this notification should be sent."),
        ADDRESS_UNDELIVERABLE: _(
            "Correct the address in the user's profile, or reset its deliverability once the end-user confirms it."
        ),
        ADDRESS_COMPLAINED: _(
            "Contact the end-user another way; reset the address's deliverability only if they want these emails."
        ),
        RATE_LIMITED: _(
            "Probably an email loop with an auto-responder: check the ticket's recent comments, then resend the "
            "notification once the loop has stopped."
        ),
        UNKNOWN: _("Check the diagnostic and contact the end-user another way if needed."),
    }
    return remedies.get(category, remedies[UNKNOWN])


def _detail_remedy(reason_detail: str | None, tr: gettext.NullTranslations) -> str | None:
    _ = tr.gettext
    remedies = {
        GLOBAL_SUPPRESSION_LIST: _(
            "Amazon SES recently saw this address bounce and removes it from its global suppression list by itself "
            "after a while: confirm the address with the end-user another way, then resend later by adding a public "
            "comment."
        ),
        ACCOUNT_SUPPRESSION_LIST: _(
            "Confirm the address with the end-user another way, then remove it from the account's suppression list "
            "in Amazon SES (DELETE /suppressions/<address>) and resend the notification."
        ),
        SENDER_NOT_VERIFIED: _(
            "Ask your email administrator to verify the sending address or domain in Amazon SES, then resend."
        ),
    }
    return remedies.get(reason_detail or "")


def _catalogued(code: str | None) -> smtp_codes.SmtpCode | None:
    # Stored failures may carry whatever a provider wrote; an odd code just has no explanation.
    try:
        return smtp_codes.lookup(code) if code else None
    except ValueError:
        return None


def explain(failure: FailureClass, tr: gettext.NullTranslations) -> dict:
    """Everything the agent reads about one failed recipient: reason, remedy and what its code means."""
    # Only a code that agrees with the evidence explains it: a bare 550 beside a spam text would mislead.
    entry = next(
        (
            candidate
            for candidate in (_catalogued(failure.smtp_status), _catalogued(failure.smtp_code))
            if candidate is not None and candidate.category == failure.category
        ),
        None,
    )
    remedy = _detail_remedy(failure.reason_detail, tr)
    if remedy is None and entry is not None:
        # The code's own remedy is sharper than the category's (a moved mailbox vs. a typo).
        remedy = tr.gettext(entry.remedy)
    return {
        "category": failure.category,
        "permanent": failure.permanent,
        "smtp_status": failure.smtp_status,
        "smtp_code": failure.smtp_code,
        "reason": failure_reason(failure.category, tr),
        "remedy": remedy or failure_remedy(failure.category, tr),
        "code_summary": tr.gettext(entry.summary) if entry else None,
    }
