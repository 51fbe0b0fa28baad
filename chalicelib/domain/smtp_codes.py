"""A catalogue of SMTP reply codes and enhanced status codes: what each means and what the agent should do."""

from __future__ import annotations

import gettext
import re
from dataclasses import dataclass

# The failure categories live here, beside the codes that map to them; classification re-exports them.
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

BASIC = "basic"
ENHANCED = "enhanced"

_BASIC_SYNTAX = re.compile(r"([245])(\d)(\d)")
_ENHANCED_SYNTAX = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})")


def _(message: str) -> str:
    # The table is built at import time, before any agent's language is known: this only marks msgids for
    # Babel's extractor, and describe() translates them later.
    return message


class UnknownCodeError(LookupError):
    """The text is a well-formed SMTP code that the catalogue does not list."""


@dataclass(frozen=True)
class SmtpCode:
    """One catalogued code with its English summary and remedy (msgids, translated by describe())."""

    code: str
    kind: str
    permanent: bool
    category: str
    summary: str
    remedy: str


REMEDY_CHECK_ADDRESS = _("Check the end-user's profile for a typo in the email address and correct it.")
REMEDY_CHECK_DOMAIN = _(
    "Check the domain (the part after the @) in the end-user's profile for a typo; if it is right, contact the "
    "end-user another way and ask for another address."
)
REMEDY_ASK_OTHER_ADDRESS = _(
    "Contact the end-user another way and ask them to reactivate their mailbox or give another email address."
)
REMEDY_MAILBOX_FULL = _("Contact the end-user another way and ask them to free space or give another address.")
REMEDY_TOO_LARGE = _(
    "Make the message smaller (fewer or smaller attachments) and resend it by adding a public comment."
)
# A policy block says nothing about the address: it points at the sender's side (issue 16).
REMEDY_SPAM_POLICY = _(
    "This is a block on the sender's side, not a bad address: ask your email administrator to check the sending "
    "domain's authentication (SPF, DKIM, DMARC), its reputation and block lists, and the message content, then "
    "resend by adding a public comment."
)
REMEDY_AUTHENTICATION = _(
    "Ask your email administrator to fix the SPF, DKIM and DMARC records of the sending domain so that the "
    "message passes authentication, then resend it."
)
REMEDY_ENCRYPTION = _("Ask your email administrator to check the TLS and encryption settings of the sending domain.")
REMEDY_SENDER_ADDRESS = _("Ask your email administrator to check the sender address and the DNS records of its domain.")
REMEDY_SENDING_CREDENTIALS = _(
    "Ask your email administrator to check the credentials and settings of the sending account."
)
REMEDY_CONTENT = _(
    "Remove or change the content or attachment that the recipient's server refused, then resend by adding a "
    "public comment."
)
REMEDY_MAILING_LIST = _(
    "The address belongs to a mailing list that did not pass the message on: ask the end-user for a personal address."
)
REMEDY_RECIPIENT_SYSTEM = _(
    "The recipient's mail system has a problem: contact the end-user another way and resend later by adding a "
    "public comment."
)
REMEDY_PROTOCOL = _(
    "The mail servers could not agree on how to transfer the message: ask your email administrator to review "
    "the diagnostic."
)
REMEDY_FEWER_RECIPIENTS = _("Remove some CCs from the ticket and resend by adding a public comment.")
REMEDY_RESEND_LATER = _("Resend later by adding a public comment; if it fails again, contact the end-user another way.")
REMEDY_WAIT = _("Nothing to do yet: wait and resend later if the problem persists.")
REMEDY_UNKNOWN = _("Check the diagnostic and contact the end-user another way if needed.")


@dataclass(frozen=True)
class _EnhancedDetail:
    # One subject.detail of RFC 3463 / the IANA registry; it yields a 5.x (permanent) and a 4.x (transient) code.
    subject_detail: str
    summary: str
    permanent_category: str
    transient_category: str
    remedy: str


# Categories follow bounce-classification.md; the 4.x form of an address or mailbox problem is "temporary"
# because the server may accept the message later, while size, quota and policy problems keep their category.
_ENHANCED_DETAILS = (
    _EnhancedDetail("0.0", _("The mail server gave no specific reason"), UNKNOWN, TEMPORARY, REMEDY_UNKNOWN),
    _EnhancedDetail(
        "1.0", _("Something is wrong with an address of the message"), INVALID_ADDRESS, TEMPORARY, REMEDY_CHECK_ADDRESS
    ),
    _EnhancedDetail(
        "1.1", _("The recipient's mailbox does not exist"), INVALID_ADDRESS, TEMPORARY, REMEDY_CHECK_ADDRESS
    ),
    _EnhancedDetail(
        "1.2",
        _("The recipient's domain does not exist or cannot accept email"),
        INVALID_ADDRESS,
        TEMPORARY,
        REMEDY_CHECK_DOMAIN,
    ),
    _EnhancedDetail(
        "1.3",
        _("The recipient's email address is not written correctly"),
        INVALID_ADDRESS,
        TEMPORARY,
        REMEDY_CHECK_ADDRESS,
    ),
    _EnhancedDetail(
        "1.4",
        _("The recipient's address is ambiguous: it matches several mailboxes"),
        INVALID_ADDRESS,
        TEMPORARY,
        REMEDY_CHECK_ADDRESS,
    ),
    _EnhancedDetail(
        "1.5", _("The recipient's address is valid (an informational status)"), UNKNOWN, TEMPORARY, REMEDY_UNKNOWN
    ),
    _EnhancedDetail(
        "1.6",
        _("The recipient's mailbox has moved and there is no forwarding address"),
        INVALID_ADDRESS,
        TEMPORARY,
        REMEDY_ASK_OTHER_ADDRESS,
    ),
    _EnhancedDetail(
        "1.7",
        _("The sender's email address is not written correctly"),
        SPAM_OR_POLICY,
        TEMPORARY,
        REMEDY_SENDER_ADDRESS,
    ),
    _EnhancedDetail(
        "1.8",
        _("The sender's domain is not valid or cannot be found"),
        SPAM_OR_POLICY,
        TEMPORARY,
        REMEDY_SENDER_ADDRESS,
    ),
    _EnhancedDetail(
        "1.9",
        _("The message was passed to a mail system that cannot send delivery reports"),
        UNKNOWN,
        TEMPORARY,
        REMEDY_UNKNOWN,
    ),
    _EnhancedDetail(
        "1.10",
        _("The recipient's domain does not accept any email (null MX)"),
        INVALID_ADDRESS,
        TEMPORARY,
        REMEDY_CHECK_DOMAIN,
    ),
    _EnhancedDetail(
        "2.0",
        _("The recipient's mailbox has a problem that the server did not specify"),
        UNKNOWN,
        TEMPORARY,
        REMEDY_ASK_OTHER_ADDRESS,
    ),
    _EnhancedDetail(
        "2.1",
        _("The recipient's mailbox is disabled and does not accept messages"),
        INVALID_ADDRESS,
        TEMPORARY,
        REMEDY_ASK_OTHER_ADDRESS,
    ),
    _EnhancedDetail("2.2", _("The recipient's mailbox is full"), MAILBOX_FULL, MAILBOX_FULL, REMEDY_MAILBOX_FULL),
    _EnhancedDetail(
        "2.3",
        _("The message is larger than the recipient's mailbox accepts"),
        MESSAGE_TOO_LARGE,
        MESSAGE_TOO_LARGE,
        REMEDY_TOO_LARGE,
    ),
    _EnhancedDetail(
        "2.4",
        _("A mailing list could not pass the message on to its members"),
        UNKNOWN,
        TEMPORARY,
        REMEDY_MAILING_LIST,
    ),
    _EnhancedDetail(
        "3.0",
        _("The recipient's mail system has a problem that it did not specify"),
        UNKNOWN,
        TEMPORARY,
        REMEDY_RECIPIENT_SYSTEM,
    ),
    _EnhancedDetail(
        "3.1", _("The recipient's mail system is out of storage"), TEMPORARY, TEMPORARY, REMEDY_RECIPIENT_SYSTEM
    ),
    _EnhancedDetail(
        "3.2",
        _("The recipient's mail system is not accepting messages (shut down or overloaded)"),
        TEMPORARY,
        TEMPORARY,
        REMEDY_RECIPIENT_SYSTEM,
    ),
    _EnhancedDetail(
        "3.3",
        _("The recipient's mail system does not support a feature the message needs"),
        UNKNOWN,
        TEMPORARY,
        REMEDY_PROTOCOL,
    ),
    _EnhancedDetail(
        "3.4",
        _("The message is larger than the recipient's mail system accepts"),
        MESSAGE_TOO_LARGE,
        MESSAGE_TOO_LARGE,
        REMEDY_TOO_LARGE,
    ),
    _EnhancedDetail(
        "3.5", _("The recipient's mail system is set up incorrectly"), UNKNOWN, TEMPORARY, REMEDY_RECIPIENT_SYSTEM
    ),
    _EnhancedDetail("3.6", _("The priority requested for the message was changed"), UNKNOWN, TEMPORARY, REMEDY_UNKNOWN),
    _EnhancedDetail(
        "4.0",
        _("A network or routing problem that the server did not specify"),
        TEMPORARY,
        TEMPORARY,
        REMEDY_RESEND_LATER,
    ),
    _EnhancedDetail("4.1", _("The recipient's mail server did not answer"), TEMPORARY, TEMPORARY, REMEDY_RESEND_LATER),
    _EnhancedDetail(
        "4.2",
        _("The connection to the recipient's mail server failed or timed out"),
        TEMPORARY,
        TEMPORARY,
        REMEDY_RESEND_LATER,
    ),
    _EnhancedDetail(
        "4.3",
        _("A directory server, such as DNS, failed while routing the message"),
        TEMPORARY,
        TEMPORARY,
        REMEDY_RESEND_LATER,
    ),
    _EnhancedDetail(
        "4.4",
        _("No route to the recipient's domain was found"),
        INVALID_ADDRESS,
        TEMPORARY,
        REMEDY_CHECK_DOMAIN,
    ),
    _EnhancedDetail("4.5", _("The mail system is congested"), TEMPORARY, TEMPORARY, REMEDY_RESEND_LATER),
    _EnhancedDetail(
        "4.6", _("The message was caught in a mail routing loop"), TEMPORARY, TEMPORARY, REMEDY_RECIPIENT_SYSTEM
    ),
    _EnhancedDetail(
        "4.7",
        _("The message expired before it could be delivered"),
        TEMPORARY,
        TEMPORARY,
        REMEDY_RESEND_LATER,
    ),
    _EnhancedDetail(
        "5.0", _("A mail protocol problem that the server did not specify"), UNKNOWN, TEMPORARY, REMEDY_UNKNOWN
    ),
    _EnhancedDetail("5.1", _("The mail server did not recognise a command"), UNKNOWN, TEMPORARY, REMEDY_PROTOCOL),
    _EnhancedDetail("5.2", _("A mail command was not written correctly"), UNKNOWN, TEMPORARY, REMEDY_PROTOCOL),
    _EnhancedDetail("5.3", _("The message has too many recipients"), TEMPORARY, TEMPORARY, REMEDY_FEWER_RECIPIENTS),
    _EnhancedDetail("5.4", _("A mail command had invalid arguments"), UNKNOWN, TEMPORARY, REMEDY_PROTOCOL),
    _EnhancedDetail(
        "5.5", _("The mail servers use incompatible protocol versions"), UNKNOWN, TEMPORARY, REMEDY_PROTOCOL
    ),
    _EnhancedDetail(
        "5.6", _("A line of the authentication exchange was too long"), UNKNOWN, TEMPORARY, REMEDY_PROTOCOL
    ),
    _EnhancedDetail(
        "6.0",
        _("The content or format of the message was refused"),
        SPAM_OR_POLICY,
        TEMPORARY,
        REMEDY_CONTENT,
    ),
    _EnhancedDetail(
        "6.1",
        _("The message contains a kind of content that the recipient's system does not support"),
        SPAM_OR_POLICY,
        TEMPORARY,
        REMEDY_CONTENT,
    ),
    _EnhancedDetail(
        "6.2",
        _("The message needed converting, and conversion is not allowed"),
        SPAM_OR_POLICY,
        TEMPORARY,
        REMEDY_CONTENT,
    ),
    _EnhancedDetail(
        "6.3",
        _("The message needed converting, and the system cannot convert it"),
        SPAM_OR_POLICY,
        TEMPORARY,
        REMEDY_CONTENT,
    ),
    _EnhancedDetail(
        "6.4", _("The message was converted and some content was lost"), UNKNOWN, TEMPORARY, REMEDY_UNKNOWN
    ),
    _EnhancedDetail("6.5", _("Converting the message failed"), SPAM_OR_POLICY, TEMPORARY, REMEDY_CONTENT),
    _EnhancedDetail("6.6", _("The content of the message is not available"), UNKNOWN, TEMPORARY, REMEDY_UNKNOWN),
    _EnhancedDetail(
        "6.7",
        _("The address contains non-ASCII characters, which this server does not allow"),
        INVALID_ADDRESS,
        TEMPORARY,
        REMEDY_CHECK_ADDRESS,
    ),
    _EnhancedDetail(
        "6.8",
        _("The server needed to reply with non-ASCII text, which the sending server does not support"),
        UNKNOWN,
        TEMPORARY,
        REMEDY_PROTOCOL,
    ),
    _EnhancedDetail(
        "6.9",
        _("The message has non-ASCII headers that cannot be passed on to a recipient"),
        # Content the server refuses (Postfix's "5.6.9 improper use of 8-bit data"), not an address problem.
        SPAM_OR_POLICY,
        TEMPORARY,
        REMEDY_CONTENT,
    ),
    _EnhancedDetail(
        "6.10",
        _("The server needed to reply with non-ASCII text (an obsolete duplicate of X.6.8)"),
        UNKNOWN,
        TEMPORARY,
        REMEDY_PROTOCOL,
    ),
    _EnhancedDetail(
        "7.0",
        _("The message was refused for a security or policy reason"),
        SPAM_OR_POLICY,
        SPAM_OR_POLICY,
        REMEDY_SPAM_POLICY,
    ),
    _EnhancedDetail(
        "7.1",
        _("The recipient's server refused the message (spam filter, block list or policy)"),
        SPAM_OR_POLICY,
        SPAM_OR_POLICY,
        REMEDY_SPAM_POLICY,
    ),
    _EnhancedDetail(
        "7.2",
        _("The sender is not allowed to send to this mailing list"),
        SPAM_OR_POLICY,
        SPAM_OR_POLICY,
        REMEDY_MAILING_LIST,
    ),
    _EnhancedDetail(
        "7.3",
        _("The message needs a security conversion that is not possible"),
        SPAM_OR_POLICY,
        SPAM_OR_POLICY,
        REMEDY_ENCRYPTION,
    ),
    _EnhancedDetail(
        "7.4",
        _("The message needs security features that the recipient's system does not support"),
        SPAM_OR_POLICY,
        SPAM_OR_POLICY,
        REMEDY_ENCRYPTION,
    ),
    _EnhancedDetail(
        "7.5", _("A cryptographic operation on the message failed"), SPAM_OR_POLICY, SPAM_OR_POLICY, REMEDY_ENCRYPTION
    ),
    _EnhancedDetail(
        "7.6",
        _("The message uses a cryptographic algorithm that the recipient's system does not support"),
        SPAM_OR_POLICY,
        SPAM_OR_POLICY,
        REMEDY_ENCRYPTION,
    ),
    _EnhancedDetail(
        "7.7", _("The message failed an integrity check"), SPAM_OR_POLICY, SPAM_OR_POLICY, REMEDY_ENCRYPTION
    ),
    _EnhancedDetail(
        "7.8",
        _("The sending server's authentication credentials are not valid"),
        UNKNOWN,
        TEMPORARY,
        REMEDY_SENDING_CREDENTIALS,
    ),
    _EnhancedDetail(
        "7.9",
        _("The authentication mechanism is too weak"),
        UNKNOWN,
        TEMPORARY,
        REMEDY_SENDING_CREDENTIALS,
    ),
    _EnhancedDetail(
        "7.10",
        _("Encryption is needed to use the requested authentication mechanism"),
        SPAM_OR_POLICY,
        SPAM_OR_POLICY,
        REMEDY_ENCRYPTION,
    ),
    _EnhancedDetail(
        "7.11",
        _("The requested authentication mechanism requires an encrypted connection"),
        UNKNOWN,
        TEMPORARY,
        REMEDY_SENDING_CREDENTIALS,
    ),
    _EnhancedDetail(
        "7.12",
        _("The sending account must change its password"),
        UNKNOWN,
        TEMPORARY,
        REMEDY_SENDING_CREDENTIALS,
    ),
    _EnhancedDetail(
        "7.13", _("The recipient's account is disabled"), INVALID_ADDRESS, TEMPORARY, REMEDY_ASK_OTHER_ADDRESS
    ),
    _EnhancedDetail(
        "7.14",
        _("The recipient's server requires a trust relationship with the sender"),
        SPAM_OR_POLICY,
        SPAM_OR_POLICY,
        REMEDY_SPAM_POLICY,
    ),
    _EnhancedDetail(
        "7.15",
        _("The priority of the message is too low for the recipient's server right now"),
        TEMPORARY,
        TEMPORARY,
        REMEDY_RESEND_LATER,
    ),
    _EnhancedDetail(
        "7.16",
        _("The message is too large for its priority"),
        MESSAGE_TOO_LARGE,
        MESSAGE_TOO_LARGE,
        REMEDY_TOO_LARGE,
    ),
    _EnhancedDetail(
        "7.17",
        _("The recipient's mailbox has a new owner"),
        INVALID_ADDRESS,
        TEMPORARY,
        REMEDY_ASK_OTHER_ADDRESS,
    ),
    _EnhancedDetail(
        "7.18",
        _("The recipient's domain has a new owner"),
        INVALID_ADDRESS,
        TEMPORARY,
        REMEDY_ASK_OTHER_ADDRESS,
    ),
    _EnhancedDetail(
        "7.19",
        _("The recipient's server could not check whether the mailbox owner has changed"),
        SPAM_OR_POLICY,
        TEMPORARY,
        REMEDY_UNKNOWN,
    ),
    _EnhancedDetail(
        "7.20", _("The message has no valid DKIM signature"), SPAM_OR_POLICY, SPAM_OR_POLICY, REMEDY_AUTHENTICATION
    ),
    _EnhancedDetail(
        "7.21",
        _("The message has no DKIM signature that the recipient's server accepts"),
        SPAM_OR_POLICY,
        SPAM_OR_POLICY,
        REMEDY_AUTHENTICATION,
    ),
    _EnhancedDetail(
        "7.22",
        _("The message has no valid DKIM signature from the author's domain"),
        SPAM_OR_POLICY,
        SPAM_OR_POLICY,
        REMEDY_AUTHENTICATION,
    ),
    _EnhancedDetail(
        "7.23",
        _("The sending domain failed the SPF check"),
        SPAM_OR_POLICY,
        SPAM_OR_POLICY,
        REMEDY_AUTHENTICATION,
    ),
    _EnhancedDetail(
        "7.24",
        _("The SPF check of the sending domain could not be completed"),
        SPAM_OR_POLICY,
        TEMPORARY,
        REMEDY_AUTHENTICATION,
    ),
    _EnhancedDetail(
        "7.25",
        _("The sending server's IP address has no valid reverse DNS name"),
        SPAM_OR_POLICY,
        SPAM_OR_POLICY,
        REMEDY_SENDER_ADDRESS,
    ),
    _EnhancedDetail(
        "7.26",
        _("Several authentication checks failed (SPF, DKIM or DMARC)"),
        SPAM_OR_POLICY,
        SPAM_OR_POLICY,
        REMEDY_AUTHENTICATION,
    ),
    _EnhancedDetail(
        "7.27",
        _("The sender's domain does not accept any email (null MX)"),
        SPAM_OR_POLICY,
        SPAM_OR_POLICY,
        REMEDY_SENDER_ADDRESS,
    ),
    _EnhancedDetail(
        "7.28",
        _("The recipient's server saw a flood of unwanted mail from the sender"),
        SPAM_OR_POLICY,
        SPAM_OR_POLICY,
        REMEDY_SPAM_POLICY,
    ),
    _EnhancedDetail(
        "7.29", _("The message failed ARC validation"), SPAM_OR_POLICY, SPAM_OR_POLICY, REMEDY_AUTHENTICATION
    ),
    _EnhancedDetail(
        "7.30",
        _("The message requires TLS all the way (REQUIRETLS), which could not be used"),
        SPAM_OR_POLICY,
        SPAM_OR_POLICY,
        REMEDY_ENCRYPTION,
    ),
)

# RFC 5321 replies, the RFC 4954 / RFC 7504 additions, and two non-standard codes that providers still send.
BASIC_CODES = (
    SmtpCode(
        "421",
        BASIC,
        False,
        TEMPORARY,
        _("The recipient's mail server is not available right now and closed the connection"),
        REMEDY_WAIT,
    ),
    SmtpCode(
        "432", BASIC, False, TEMPORARY, _("The sending account must change its password"), REMEDY_SENDING_CREDENTIALS
    ),
    SmtpCode(
        "450",
        BASIC,
        False,
        TEMPORARY,
        _("The recipient's mailbox is not available right now (busy, or the server asks to try later)"),
        REMEDY_WAIT,
    ),
    SmtpCode(
        "451",
        BASIC,
        False,
        TEMPORARY,
        _("The recipient's mail server had a local error while processing the message"),
        REMEDY_WAIT,
    ),
    SmtpCode(
        "452",
        BASIC,
        False,
        TEMPORARY,
        _("The recipient's mail server does not have enough storage right now"),
        REMEDY_WAIT,
    ),
    SmtpCode(
        "454",
        BASIC,
        False,
        TEMPORARY,
        _("Authentication or encryption is temporarily not available"),
        REMEDY_WAIT,
    ),
    SmtpCode(
        "455",
        BASIC,
        False,
        TEMPORARY,
        _("The server cannot accept the parameters of a command right now"),
        REMEDY_WAIT,
    ),
    SmtpCode("500", BASIC, True, UNKNOWN, _("The mail server did not recognise a command"), REMEDY_PROTOCOL),
    SmtpCode(
        "501",
        BASIC,
        True,
        UNKNOWN,
        _("A mail command had invalid arguments (often an address that is not written correctly)"),
        REMEDY_PROTOCOL,
    ),
    SmtpCode("502", BASIC, True, UNKNOWN, _("The mail server does not support a command"), REMEDY_PROTOCOL),
    SmtpCode("503", BASIC, True, UNKNOWN, _("Mail commands were sent in the wrong order"), REMEDY_PROTOCOL),
    SmtpCode(
        "504", BASIC, True, UNKNOWN, _("The mail server does not support a parameter of a command"), REMEDY_PROTOCOL
    ),
    SmtpCode(
        "521", BASIC, True, INVALID_ADDRESS, _("The recipient's domain does not accept email"), REMEDY_CHECK_DOMAIN
    ),
    SmtpCode(
        "530",
        BASIC,
        True,
        SPAM_OR_POLICY,
        _("The recipient's server requires authentication or an encrypted connection"),
        REMEDY_ENCRYPTION,
    ),
    SmtpCode("534", BASIC, True, UNKNOWN, _("The authentication mechanism is too weak"), REMEDY_SENDING_CREDENTIALS),
    SmtpCode(
        "535",
        BASIC,
        True,
        UNKNOWN,
        _("The sending server's authentication credentials are not valid"),
        REMEDY_SENDING_CREDENTIALS,
    ),
    SmtpCode(
        "538",
        BASIC,
        True,
        UNKNOWN,
        _("The requested authentication mechanism requires an encrypted connection"),
        REMEDY_SENDING_CREDENTIALS,
    ),
    SmtpCode(
        "541",
        BASIC,
        True,
        SPAM_OR_POLICY,
        _("The recipient's server rejected the message as spam or by policy"),
        REMEDY_SPAM_POLICY,
    ),
    SmtpCode(
        "550",
        BASIC,
        True,
        INVALID_ADDRESS,
        _("The recipient's mailbox is unavailable (most often it does not exist)"),
        REMEDY_CHECK_ADDRESS,
    ),
    SmtpCode("551", BASIC, True, INVALID_ADDRESS, _("The recipient is not known on this server"), REMEDY_CHECK_ADDRESS),
    SmtpCode(
        "552",
        BASIC,
        True,
        MAILBOX_FULL,
        _("The recipient's mailbox has used up its storage allocation"),
        REMEDY_MAILBOX_FULL,
    ),
    SmtpCode(
        "553",
        BASIC,
        True,
        INVALID_ADDRESS,
        _("The mailbox name is not allowed (the address is not valid)"),
        REMEDY_CHECK_ADDRESS,
    ),
    SmtpCode(
        "554", BASIC, True, UNKNOWN, _("The transaction failed and the server gave no specific reason"), REMEDY_UNKNOWN
    ),
    SmtpCode(
        "555",
        BASIC,
        True,
        UNKNOWN,
        _("The mail server did not recognise the sender or recipient parameters"),
        REMEDY_PROTOCOL,
    ),
    SmtpCode(
        "556", BASIC, True, INVALID_ADDRESS, _("The recipient's domain does not accept email"), REMEDY_CHECK_DOMAIN
    ),
    SmtpCode(
        "571",
        BASIC,
        True,
        SPAM_OR_POLICY,
        _("Delivery was not authorised and the message was refused"),
        REMEDY_SPAM_POLICY,
    ),
)

ENHANCED_CODES = tuple(
    SmtpCode(
        f"{klass}.{detail.subject_detail}",
        ENHANCED,
        klass == "5",
        detail.permanent_category if klass == "5" else detail.transient_category,
        detail.summary,
        # A transient code the server will likely accept on retry needs no action yet.
        REMEDY_WAIT if klass == "4" and detail.transient_category == TEMPORARY else detail.remedy,
    )
    for detail in _ENHANCED_DETAILS
    for klass in ("5", "4")
)

CATALOGUE: dict[str, SmtpCode] = {entry.code: entry for entry in BASIC_CODES + ENHANCED_CODES}


def parse_code(text: str) -> str:
    """The normalised code ("550", "5.1.1") for a basic or enhanced SMTP code; ValueError for anything else."""
    candidate = text.strip() if isinstance(text, str) else ""
    if _BASIC_SYNTAX.fullmatch(candidate):
        return candidate
    enhanced = _ENHANCED_SYNTAX.fullmatch(candidate)
    if enhanced:
        # Leading zeros ("5.01.1") are legal but would miss the catalogue.
        return ".".join(str(int(part)) for part in enhanced.groups())
    raise ValueError(f"not an SMTP reply code or enhanced status code: {text!r}")


def kind_of(code: str) -> str:
    """BASIC or ENHANCED for a normalised code."""
    return ENHANCED if "." in code else BASIC


def lookup(code: str) -> SmtpCode | None:
    """The catalogue entry for a code, None when it is well-formed but not catalogued; ValueError if malformed."""
    return CATALOGUE.get(parse_code(code))


def category_of(code: str) -> str | None:
    """The failure category of a well-formed code, falling back to its class.subject.0 form for vendor details."""
    normalised = parse_code(code)
    entry = CATALOGUE.get(normalised)
    if entry is None and kind_of(normalised) == ENHANCED:
        # Vendors extend subjects with their own details (Microsoft's 5.7.606, 4.7.650): the subject still tells.
        klass, subject, _detail = normalised.split(".")
        entry = CATALOGUE.get(f"{klass}.{subject}.0")
    return entry.category if entry else None


def describe(code: str, tr: gettext.NullTranslations) -> dict:
    """The agent-facing explanation of a code in the language of tr; UnknownCodeError if it is not catalogued."""
    entry = lookup(code)
    if entry is None:
        raise UnknownCodeError(f"SMTP code {parse_code(code)} is not in the catalogue")
    return {
        "code": entry.code,
        "kind": entry.kind,
        "permanent": entry.permanent,
        "category": entry.category,
        "summary": tr.gettext(entry.summary),
        "remedy": tr.gettext(entry.remedy),
    }
