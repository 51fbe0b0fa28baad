"""Turns what SES reports about a failed recipient into a failure category, codes and agent-facing words."""

from __future__ import annotations

import functools
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
_BASIC = re.compile(r"(?<![\d.])([245]\d\d)(?=[\s\-']|$)")
_BETWEEN_BASIC_AND_ENHANCED = re.compile(r"[ \-]+#?")

_SUPPRESSION_TEXT = re.compile(r"suppress(ed|ion)", re.IGNORECASE)
_ACCOUNT_SUPPRESSION_TEXT = re.compile(r"suppression list for your account", re.IGNORECASE)

# "smtp; ", "x-postfix; ": the diagnostic type SES puts before the remote server's reply.
_DIAGNOSTIC_TYPE = re.compile(r"^\s*[a-z][\w-]*;\s*", re.IGNORECASE)
# SES's own wrapper: its code and RFC 3463 wording, then the remote server's reply in quotes, e.g.
# "5.1.0 - Unknown address error 550-'5.2.2 <x@y>... Mailbox Full' (delivery attempts: 0)". SES's outer code is
# its guess; the quoted reply is the evidence.
_SES_WRAPPER = re.compile(
    r"^(?P<outer>[245]\.\d{1,3}\.\d{1,3}) - [^'\n]*?(?:(?P<basic>[245]\d\d)[ -])?'(?P<inner>.*)'"
    r"\s*(?:\(delivery attempts: \d+\))?\s*$",
    re.DOTALL,
)

# Reply lines after the first repeat their codes ("550-5.2.2 "); joined, a phrase split over lines still reads.
_CONTINUATION = re.compile(r"\s*\n\s*(?:[245]\d\d[ -](?:#?[245]\.\d{1,3}\.\d{1,3}\s+)?)?")
# Links and addresses carry words that are no evidence ("help_spam_16.htm" on 163.com's unknown-user reply,
# a local part like "spam-unknown@"): keep a link's host (www.spamhaus.org is evidence), drop the rest.
_URL = re.compile(r"\bhttps?://([^/\s'\"<>)]+)[^\s'\"<>)]*", re.IGNORECASE)
_ADDRESS = re.compile(r"[\w.+=-]+@[\w-]+(?:\.[\w-]+)+")

# Finer reasons of a policy block, so the remedy points at the sender side that needs work.
POLICY_AUTHENTICATION = "policy_authentication"
POLICY_REPUTATION = "policy_reputation"
POLICY_CONTENT = "policy_content"
# A mailbox that receives too much mail right now: nothing is wrong with the address.
RECIPIENT_RATE_LIMITED = "recipient_rate_limited"


def _phrases(*alternatives: str) -> re.Pattern[str]:
    # Matched against lower-cased text: without IGNORECASE the big alternations run about twice as fast.
    return re.compile("|".join(alternatives))


# The remote server's own words, strongest evidence first: a phrase here settles the category whatever code came
# with it (Gmail's 5.2.1 for a mailbox receiving too fast, "user over quota (#5.1.1)", 4.7.1 for greylisting).
# Phrases come from providers' error pages (Google, Microsoft, Yahoo, Apple, Proofpoint, Mimecast, Barracuda,
# Spamhaus) and the bounce wording collected by Sisimai, in the languages servers answer in.
_RECIPIENT_RATE = _phrases(
    r"receiving mail (?:too quickly|at a rate)",
    r"receiving too much mail",
    r"too many messages for this (?:user|recipient|mailbox)",
)
_MAILBOX_FULL = _phrases(
    r"mail ?box (?:is |was )?full",
    r"full mail ?box",
    r"inbox (?:is )?(?:full|out of storage)",
    r"over ?quota|\bquota\b",
    r"quota (?:exceeded|full|violation)",
    r"exceed(?:ed|s|ing)? (?:the |its |his |her |their )?(?:allowed |mailbox |storage |disk )*(?:quota|storage)",
    r"disk quota",
    r"mail ?box size limit",
    r"storage allocation",
    r"out of storage space",
    r"space has been used up",
    r"disk space limit",
    r"not enough (?:storage )?space",
    r"mail ?folder is (?:full|over)",
    r"would exceed maximum allowed storage",
    r"too much mail data",
    r"mail ?box limit|storage limit|disk space|no space left|receiving limits|mail ?box exceeds allowed size",
    r"too many messages on the server",
    r"enough (?:\w+ )?space|mail ?box [^.]{0,30}exceed|mail ?box [^.]{0,20}\bfull\b",
    r"postfach (?:ist )?voll|mailbox voll",
    r"bo[iî]te (?:aux lettres |du destinataire )?pleine",
    r"casella (?:di posta )?piena",
    r"buz[oó]n (?:est[aá] )?lleno",
    r"caixa (?:postal|de correio)[^.]{0,30}cheia",
    r"переполнен",
    r"邮箱已满|信箱已满|空间不足",
    r"容量(?:を)?超過|容量オーバー|メールボックスがいっぱい",
    r"mailbox (?:is )?vol|postvak (?:is )?vol|skrzynka (?:jest )?pe[lł]na|brevlådan är full|schránka je plná",
)
_TOO_LARGE = _phrases(
    r"too (?:large|big)",
    r"size (?:limit )?exceed",
    r"exceed(?:ed|s)? (?:the |google's |my |our )?(?:fixed )?(?:maximum |max )?(?:allowed |permitted )?"
    r"(?:message |mail |email )?(?:size|length|databytes)",
    r"(?:message|mail|email) (?:size|length) (?:\d+ )?(?:is )?(?:exceed|more|greater|larger|too)",
    r"mailsize limit",
    r"exceeds? (?:\w+ )?(?:limit of \d+ )?attachments|number of attachments",
    r"larger than the maximum",
    r"\bsize limit|line limit exceeded|max(?:imum)? (?:inbound |incoming )?message size|header size",
    r"maximum (?:email |message )?size (?:exceeded|limit)",
    r"recipsizelimit|sizelimit",
    r"taille limite du message|message trop volumineux",
    r"nachricht (?:ist )?zu gro(?:ß|ss)",
    r"messaggio troppo grande",
    r"mensa(?:je|gem) (?:demasiado|muito) grande",
    r"размер письма превышает|サイズ(?:が|を)?(?:超|オーバー)",
    r"邮件大小超过|邮件过大",
)
_POLICY_AUTHENTICATION = _phrases(
    r"\bspf\b",
    r"\bdkim\b",
    r"\bdmarc\b",
    r"sender policy framework",
    r"unauthenticated",
    r"authenticat(?:e|ion) (?:with|check|information|results|required)",
    r"fails to pass authentication",
    r"not aligned|isn't aligned",
    r"anti-spoofing",
    r"not (?:allowed|authori[sz]ed) to send (?:mail|email)? ?(?:from|on behalf|directly)",
    r"\bptr\b|reverse (?:dns|hostname|lookup)|rdns|cannot find your (?:reverse )?hostname",
    r"helo command rejected|bad helo|invalid helo",
    r"must issue a starttls|starttls is required|tls required|requiretls|requires encryption|tls version",
    r"high-strength ciphers",
    r"sender (?:not )?authenticated|authenticat|authentificat|verification failure|insecure mail relay",
    r"dead domain|not subscribed to ses|don't authenticate",
)
_POLICY_REPUTATION = _phrases(
    r"block(?:ed)? using",
    r"\b(?:black|block|deny|deni)list(?!ed address)",
    r"\bblock list",
    r"(?<!not )listed (?:at|in|on)\b",
    r"\bis in an? (?:rbl|black list|dnsbl)",
    r"\b(?:rbl|dnsbl|uribl|surbl)s?\b",
    r"spamhaus|barracudacentral|barracuda (?:reputation|spam|block)|spamcop|sorbs|abuseat|cloudmark|senderscore",
    r"ipcheck\.proofpoint|proofpoint (?:dynamic )?reputation|trend ?micro|\bfblw\d",
    r"reputation",
    r"banned",
    r"\(bl\)|\[bl\d+\]",
    r"user complaints|received complaints",
    r"permanently deferred",
    r"unusual rate of (?:unsolicited )?mail",
    r"dynamic(?:ally)?[- ](?:assigned )?ip",
    r"client host (?:\[[^\]]*\] )?(?:rejected|blocked)",
    r"sender ip (?:address )?rejected|ip (?:address )?(?:source )?blo(?:ck|qu)",
    r"traffic not accepted from this ip",
    r"not currently accepting mail from your ip",
    r"blocked by (?:the )?recipient|customer block list",
    r"access denied, (?:banned|spam abuse|bad outbound)",
    r"not in whitelist",
    r"blocked by|blocked - see|refused - see|is blocked|\(\S+@\S+:blocked\)|:blocked\b",
    r"sender ip|bad ip|ip profile|invalid ip|access ip|access from ip|forbidden by your ip|listed as abusive",
    r"go away|host network not allowed|no access from mail server|smtp server of your isp|open proxy",
    r"not passed validation|confirm this mail server|requires confirmation|unwanted messages",
    r"not accepting connections|to submit messages to this e-mail system has been rejected",
    r"mail from \S+ refused",
    r"\bip (?:address )?(?:has been|is|was) (?:temporarily )?(?:blocked|banned|blacklisted|listed)",
    r"sender (?:is |was |email address |address )?(?:rejected|blacklisted|spammer|not pre-approved|in my black list)",
    r"sender domain|sender address has been|batv|bogus mail from|bouncedeny|valid-address-filter|emetteur invalide",
    r"empty envelope|null sender|third-party dsn|from: domain|fully qualified email address|gateway user",
    r"not owned by user|address is not verified|returned mail not accepted|recursive cname|mailbox access for",
    r"different address or alias|spam reporting address|empty email address|does not accept mail from",
    r"unsigned dsn|unroutable sender|post to this (?:mailing )?list|members-only list|closed mailing list",
    r"list of senders|not accepting mail with|organi[sz]ation(?:al)? (?:policy|settings)|low priority",
    r"multiple addresses|protocol violation|not subscribed to this group|mass mailer|captcha",
    r"account is protected by|restricted sms|not accepting any mail|user rules|refuses? to receive",
    r"only accepting mail from|recipient preferences|user reject|blocked by the recipient",
)
_POLICY_CONTENT = _phrases(
    # "spam", but not inside a host name ("spamfilter01.example.net" relays unknown-user replies too)
    r"(?<![\w.-])spam(?![\w-]*\.[a-z]{2,})|antispam|anti-spam",
    r"unsolicited",
    r"\bjunk",
    r"\bbulk (?:e-?)?mail",
    r"\bube\b",
    r"virus|malware|phish|infected",
    r"(?:illegal|executable|forbidden|not allowed|blocked|banned) attachment|attachment type",
    r"content (?:rejected|refused|denied|filter|presents)|(?:unacceptable|prohibited|banned) content",
    r"(?:message|mail) content",
    r"security (?:issue|polic)",
    r"improper use of 8-bit|8-?bit data|non-ascii|bare linefeed|bare lf",
    r"malformed|invalid (?:message )?header|header (?:error|are not accepted)|duplicate headers",
    r"rfc[- ]?5322|rfc[- ]?2822|not rfc compliant|message-id header",
    r"suspicious",
    r"looks like spam|probable spam|high probability",
    r"message filtered|bulk\.advertising|advertis|mail score|mail rejet[eé]|attachments?\b|executable",
    r"\bmime\b|binary content|base64|multiple \S+ header|malicious|invalid ?content",
    r"conversion (?:to \S+ format )?failed",
    r"垃圾邮件|спам|迷惑メール",
)
_POLICY_OTHER = _phrases(
    r"(?:for|by|due to) (?:local |security )?polic(?:y|ies)",
    r"polic(?:y|ies) (?:reasons|rejection|restrictions|violation)",
    r"denied by policy|policy that prohibited|prohibited by",
    r"administrative prohibition|envelope blocked|blocked senders",
    r"relay(?:ing)? (?:access )?(?:denied|not permitted|prohibited)|unable to relay",
    r"as a relay|no relaying|relay through|open relay|configured to relay|relaying mail to|not a gateway",
    r"not local host|specified domain is not allowed|don't handle mail for|relay(?:ing)? disallowed",
    r"do not have permission|not have permission to|delivery was refused|not a member|only members|not member",
    r"will not accept delivery of this message|content restriction|content polic",
    r"from: address|blank from|sender address blocked|content examination|smtp relay error|does not support auth",
    r"not permitted to relay|allowed rcpthosts|isn't in my list of allowed",
    r"sender (?:verify|verification) failed|verification failed for",
    r"sender address rejected|envelope sender|domain of sender address|invalid sender|sender denied",
    r"sender (?:not|is not) (?:in|on) (?:the )?allowed|not in allowed-senders|allowed-senders list",
    r"delivery not authori[sz]ed|not authori[sz]ed|message refused",
    r"domain filter|reception settings|rejected by (?:the )?recipient",
    r"does not allow external forwarding|unregistered domains|send as this sender",
    r"mail sending denied|you are not allowed to connect|email security|spamcheck",
    r"abgelehnt|rechazado|rejeitad|rifiutat|refusé|отклонен|拒绝|拒收|受信拒否",
)
_INVALID_ADDRESS = _phrases(
    r"user (?:name )?unknown|unknown (?:\w+ )?(?:user|recipient|mailbox|local[- ]?part|address|e-?mail address|"
    r"alias)|unknown or illegal|address unknown|addressee unknown",
    r"no such (?:user|mailbox|recipient|address|account|person|domain)",
    r"(?:user|mailbox|recipient|address|account|addressee|e-?mail address|domain)(?: [\w.@<>-]+)? "
    r"(?:does not|doesn'?t|did not|not) exist",
    r"(?:user|mailbox|recipient|address|account)(?: [\w.@<>-]+)? (?:was )?not (?:found|known|present|active|valid)",
    r"(?:mailbox|recipient|user|address|account) (?:is )?(?:unavailable|not available)\b(?! right now| now| for now)",
    r"invalid (?:recipient|mailbox|address|user|e-?mail)|invalid/inactive",
    r"not (?:a )?(?:valid|known) (?:user|mailbox|recipient|address)",
    r"(?:is|address) no longer (?:valid|accepts mail|in use|active)",
    r"doesn'?t have an? [\w.\-]+ account",
    r"no (?:mailbox|account) (?:here|by that name|found)|no mailbox here|no one at this address",
    r"mailbox not found|recipient not found|recipnotfound|recipientnotfound",
    r"unrouteable address|unroutable address",
    r"not our customer|archived recipient|inactive (?:e-?mail )?(?:address|mailbox|account)",
    r"(?:account|mailbox|user) (?:has been |is |was |currently )*(?:disabled|inactive|deactivated|closed|suspended|"
    r"discontinued|locked|blocked|expired|terminated)",
    r"deactivated mailbox|user suspended|suspend(?:ed)? the service|blocked due to inactivity",
    r"mailbox disabled|account disabled|this (?:mailbox|account) (?:is|has been) disabled",
    r"recipient address rejected: access denied",
    r"recipient (?:has )?moved|recipientmoved|user has moved|mailbox has moved",
    r"host (?:or domain name )?(?:not found|unknown)|domain (?:not found|does not exist|must exist)|"
    r"couldn't find any host|nonexistent domain|non-existent (?:host|domain)|unknown domain",
    r"find (?:a|the) (?:mail exchanger|recipient domain)|null mx|nxdomain|dns hard error",
    r"not a valid rfc[- ]?5321 address",
    r"bad (?:destination )?(?:address|recipient|mailbox)|(?:address|mailbox) invalid|invalid-recipient|userunknown",
    r"(?:does not|doesn'?t|not) exist|(?:address|user|mailbox|recipient|account) could not be found",
    r"no longer (?:valid|accepts|in use|active|exists|on (?:this |the )?server)",
    r"can't accept user|destination addresses were unknown|rejected recipients|no valid recipients",
    r"not an active address|mailbox unavaiable|no mail ?box available|account unavailable",
    r"not a local address|recipient (?:is not accepted|is not local|not ok|refuses)",
    r"badrcptto|badrecipientto|validrcptto",
    r"following recipients was undeliverable|email name is not found|missing home directory|non-?existent user",
    r"> not found|user \([^)]*\) unknown|nessun utente|nicht gefunden|has been replaced by",
    r"domain is not reachable|domain (?:\S+ )*is unknown|name or service not known|unknown host|domain must exist",
    r"(?<!delivery )(?:has been|is currently|temporarily) (?:suspended|locked|inactive)|temporary locked|archived",
    r"archivee|not listed in (?:the )?(?:public )?(?:name & address book|domino directory|address book)",
    r"e-?mail system is unknown or invalid|mail ?box is disabled|account is (?:temporarily )?limited",
    r"name is not recognized|recipient (?:name )?not recognized",
    r"inactive account|user is terminated|mailbox is frozen|\bis disabled|receiving disabled",
    r"does not accept (?:e-?)?mail\b(?! from)|no mx record|no route for current request",
    r"unbekannt|existiert nicht|gibt es nicht|nicht vorhanden",
    r"inconnu|n'existe pas|inexistant|destinataire invalide|compte du destinataire est bloqu",
    r"sconosciut|inesistente|non esiste",
    r"desconocid|no existe|inexistente",
    r"desconhecid|não existe|inexistente|inválido",
    r"не найден|не существует|не зарегистрирован|заблокирован",
    r"用户不存在|地址不存在|帐户不存在|账户不存在|无此用户|用户名不存在|不存在",
    r"存在しな|存在しません|宛先不明|見つかりません",
    r"onbekend|bestaat niet|nie istnieje|nieznany|finns inte|okänd mottagare|neexistuje|bulunamad",
)
_TEMPORARY = _phrases(
    r"gr[ae]ylist",
    r"try (?:again )?later|try again|come back later|resend (?:your message )?(?:at )?a later",
    r"temporar(?:il)?y|temporal",
    r"rate limit|limits for how many|too many (?:connections|messages|recipients|concurrent)|frequency limit",
    r"max(?:imum)? (?:message|messages|connections) per",
    r"server (?:is )?busy|resources are temporarily|service (?:not |temporarily )(?:un)?available",
    r"timed out|time ?out|connection (?:refused|died|dropped|reset|closed|lost)",
    r"(?:message|delivery|queue)(?: time)? expired|expired after|in the queue too long|retry timeout|giving up",
    r"lookup fail|dns soft error|servfail|directory server",
    r"mail loop|routing loop|looping|hop count|\bhops\b",
    r"insufficient system storage|system storage",
    r"read error|local problem|configuration problem|sender thread limit",
    r"could not find a gateway|delivery attempts will continue|failed to deliver to domain|for a long time",
    r"has been delayed|not been collected|retry time not reached|server did not respond|after multiple retries",
    r"within the allowed queue period|could not be delivered for|numerous attempts",
    r"internal (?:server )?error|interrupted system call|encountered an error|configuration error|misconfigured",
    r"local error in processing|queue file write error|no mdb|service currently unavailable|system config error",
    r"waiting for input|can't create user output file|could not load drd|unable to connect",
    r"connection limit|connection rate|per hour|throttl|too many errors|too many \w*\s?sessions|trop de connexions",
    r"not delivered within|not responding|try again slower|mail system full|this hour|per session",
    r"unable to process|ended early|thread limit",
    r"plus tard|später|più tardi|m[aá]s tarde|mais tarde|indispon[ií]vel|позже|稍后",
)
# A bare "550 Rejected": blocklists and reputation filters answer like that, unknown users hardly ever.
_BARE_REJECTED = re.compile(
    r"^\s*(?:\d{3}[ -])?(?:#?\d\.\d{1,3}\.\d{1,3} )?(?:rejected|blocked|denied)\.?\s*$", re.IGNORECASE
)
# Weaker words: they only decide when no code says more.
_WEAK_INVALID = _phrases(r"mailbox unavailable|address rejected|not found")
_WEAK_POLICY = _phrases(r"reject|refuse|denied|blocked|prohibit|not allowed|filter|permission")

# Dead-address replies that happen to contain policy words ("access denied", "allowed rcpthosts").
_INVALID_DESPITE_POLICY_WORDS = _phrases(
    r"recipient address rejected: access denied",
    r"envelope recipient (?:has been |is )?denied",
    r"mailbox (?:\S+ )?unavailable or access denied|mailbox not found or access denied",
    r"domain or user isn't in my list",
    r"blacklisted address",
    r"not listed in (?:the )?(?:public )?(?:name & address book|domino directory|address book)",
)
# Network and routing trouble whose words resemble a dead address ("host not found, try again").
_NETWORK = _phrases(
    r"host not found, try again|dns records for the destination computer could not be found",
    r"host is unreachable|no route to host|name server reply|lookup fail|dns soft error|servfail",
    r"forwarding loop|message looping|routing loop|mail loop|too many hops|hop count|loops back to myself",
    r"unable to resolve route|unrouteable mail domain|could not connect and send|cannot connect to remote server",
    r"delivery temporarily suspended|lost connection|conversation with \S+ timed out",
)
# The sending server's reverse DNS, before network wording ("ip name lookup failed") reads it as a DNS hiccup.
_PTR = _phrases(
    r"\bptr\b|reverse (?:dns|hostname|lookup)|\brdns\b|ip name lookup failed|cannot find your (?:reverse )?hostname",
    r"cannot resolve your address|unresolvable relay host name|mismatches client ip|unverifyable sending ips",
)
# A limit on the sender's own sending (Gmail's daily quota, relay limits): not the recipient's mailbox quota.
_SENDER_LIMIT = _phrases(
    r"sending (?:quota|limit)", r"relay (?:sending )?limit", r"daily (?:user )?\w* ?limit exceeded"
)

_STRONG_RULES: tuple[tuple[str, str | None, re.Pattern[str]], ...] = (
    (TEMPORARY, None, _SENDER_LIMIT),
    (INVALID_ADDRESS, None, _INVALID_DESPITE_POLICY_WORDS),
    (SPAM_OR_POLICY, POLICY_AUTHENTICATION, _PTR),
    (TEMPORARY, None, _NETWORK),
    (TEMPORARY, RECIPIENT_RATE_LIMITED, _RECIPIENT_RATE),
    (MAILBOX_FULL, None, _MAILBOX_FULL),
    (MESSAGE_TOO_LARGE, None, _TOO_LARGE),
    (SPAM_OR_POLICY, POLICY_AUTHENTICATION, _POLICY_AUTHENTICATION),
    (SPAM_OR_POLICY, POLICY_REPUTATION, _POLICY_REPUTATION),
    (SPAM_OR_POLICY, POLICY_CONTENT, _POLICY_CONTENT),
    (SPAM_OR_POLICY, None, _POLICY_OTHER),
    (INVALID_ADDRESS, None, _INVALID_ADDRESS),
    (TEMPORARY, None, _TEMPORARY),
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
        for key, value in details.items():  # a loop, not update() of a comprehension: a third less (once per event)
            if value is not None:
                record[key] = value
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


def _words_in(text: str) -> tuple[str, str | None] | None:
    """The category (and finer reason) the remote server's own words prove, strongest rule first."""
    if not text:
        return None
    for category, detail, pattern in _STRONG_RULES:
        if pattern.search(text):
            return category, detail
    return None


def _transient_form(category: str, transient: bool) -> str:
    # A 4xx reply for a bad address only says "not now": the address is not proven wrong.
    if transient and category in (INVALID_ADDRESS, UNKNOWN):
        return TEMPORARY
    return category


# Bare reply codes that say something on their own; 550, 553 and 554 serve unknown users and spam blocks alike.
_TELLING_BASIC = {"521": INVALID_ADDRESS, "556": INVALID_ADDRESS, "541": SPAM_OR_POLICY, "571": SPAM_OR_POLICY}


@dataclass(frozen=True)
class _Reading:
    """What one diagnostic text says, parsed once (cached: the same texts come back again and again)."""

    remote_text: str
    remote: _Codes
    outer_status: str | None
    words: tuple[str, str | None] | None
    weak: str | None
    bare_rejected: bool


@functools.lru_cache(maxsize=4096)
def _read(diagnostic: str) -> _Reading:
    text = _DIAGNOSTIC_TYPE.sub("", diagnostic, count=1).strip()
    outer = None
    wrapped = _SES_WRAPPER.match(text)
    if wrapped:
        outer = smtp_codes.parse_code(wrapped.group("outer"))
        text = " ".join(part for part in (wrapped.group("basic"), wrapped.group("inner")) if part)
    words = _ADDRESS.sub("<address>", _URL.sub(r"\1", _CONTINUATION.sub(" ", text))).lower()
    weak = None
    if _WEAK_INVALID.search(words):
        weak = INVALID_ADDRESS
    elif _WEAK_POLICY.search(words):
        weak = SPAM_OR_POLICY
    return _Reading(text, _codes_in(text), outer, _words_in(words), weak, bool(_BARE_REJECTED.match(words)))


def _status_and_code(reading: _Reading | None, status: str | None) -> tuple[str | None, str | None]:
    # The remote server's most specific enhanced code wins; SES's reported status (for a wrapped reply, SES's own
    # outer code) only fills in when the reply has none.
    remote = list(reading.remote.enhanced) if reading else []
    smtp_status = _most_specific(remote)
    reported = _valid_status(status)
    if smtp_status is None or _specificity(smtp_status) >= 2:
        # SES's outer "5.1.0 - Unknown address error" / "5.3.0 - Other mail system problem" are generic guesses.
        outer = reading.outer_status if reading else None
        if outer and outer.endswith(".0"):
            reported = None if reported == outer else reported
            outer = None
        fallback = [code for code in (reported, outer) if code]
        better = _most_specific(fallback)
        if better and (smtp_status is None or _specificity(better) < _specificity(smtp_status)):
            smtp_status = better
    codes = reading.remote if reading else _Codes((), (), {})
    smtp_code = codes.basic_before.get(smtp_status or "") or (codes.basic[0] if codes.basic else None)
    return smtp_status, smtp_code


def _remote_specific(reading: _Reading | None) -> str | None:
    remote = _most_specific(list(reading.remote.enhanced)) if reading else None
    return smtp_codes.category_of(remote) if remote and _specificity(remote) <= 1 else None


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
    return _classify_bounce(bounce_type, bounce_subtype, action, status, diagnostic)


# SES's own bounce after its retry window: "4.4.7 Message expired ... <421 4.4.0 Unable to lookup DNS for x.com>".
_EXPIRED_UNRESOLVABLE = re.compile(
    r"message expired.*unable to (?:look ?up|resolve) (?:dns|the domain|host)", re.IGNORECASE | re.DOTALL
)


@functools.lru_cache(maxsize=4096)
def _classify_bounce(
    bounce_type: str | None,
    bounce_subtype: str | None,
    action: str | None,
    status: str | None,
    diagnostic: str | None,
) -> FailureClass:
    reading = _read(diagnostic) if diagnostic else None
    smtp_status, smtp_code = _status_and_code(reading, status)

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
    if diagnostic and _EXPIRED_UNRESOLVABLE.search(diagnostic):
        # SES retried for its whole retry window and the domain never resolved: whatever bounce type and 4.x code
        # it reports (Transient in older captures, Permanent 550 4.4.7 in newer ones), the address cannot be reached.
        return FailureClass(INVALID_ADDRESS, True, smtp_status, smtp_code)
    if bounce_type == "Transient" and bounce_subtype in (None, "", "General") and not (status or diagnostic or action):
        return FailureClass(AUTO_REPLY, False)

    detail: str | None = None
    category: str | None = None
    typed = bounce_type != "Undetermined"  # only an explicit "SES could not type it" keeps weak words out
    reported = _valid_status(status)
    if reading and (reading.outer_status == reported or reported in ("5.0.0", "4.0.0")):
        reported = None  # SES's echo of its own wrapper code, or "only the class is known"
    if reading and reading.words:
        # The remote server's words outrank every code (its own, and SES's wrapper around it).
        category, detail = reading.words
    if category is None:
        category = (
            _remote_specific(reading)
            or (smtp_codes.category_of(reported) if reported and _specificity(reported) <= 1 else None)
            or _SUBTYPE_CATEGORY.get(bounce_subtype or "")
        )
    if category is None and reading and typed:
        # Weak words only refine a bounce SES could type; an Undetermined one stays unknown.
        if reading.bare_rejected:
            category, detail = SPAM_OR_POLICY, POLICY_REPUTATION
        else:
            category = reading.weak
    if category is None and smtp_status and _specificity(smtp_status) <= 1:
        category = smtp_codes.category_of(smtp_status)
    if category is None and smtp_code and typed:
        category = _TELLING_BASIC.get(smtp_code)
    if category is None:
        # Nothing in the reply justifies a category: a 4xx or a Transient bounce is at least "not now".
        category = TEMPORARY if transient or bounce_type == "Transient" else UNKNOWN
    return FailureClass(_transient_form(category, transient), permanent, smtp_status, smtp_code, detail)


def classify_delay(delay_type: str | None, *, status: str | None = None, diagnostic: str | None = None) -> FailureClass:
    """A DeliveryDelay recipient: never permanent, but the reason can already be a full mailbox or a block."""
    reading = _read(diagnostic) if diagnostic else None
    smtp_status, smtp_code = _status_and_code(reading, status)
    category = _DELAY_TYPE_CATEGORY.get(delay_type or "")
    detail: str | None = None
    if category is None and reading and reading.words:
        category, detail = reading.words
    if category is None:
        category = _remote_specific(reading)
    if category is None and smtp_status and _specificity(smtp_status) == 0:
        category = smtp_codes.category_of(smtp_status)
    return FailureClass(_transient_form(category or TEMPORARY, True), False, smtp_status, smtp_code, detail)


def clear_caches() -> None:
    """Forget cached readings (bench measures first-sight cost with it)."""
    _read.cache_clear()
    _classify_bounce.cache_clear()


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
        SUPPRESSED: _("The address is on the Amazon SES suppression list, so the email was not sent"),
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
            "This is a block on the sender's side, not a bad address: ask your email administrator to check the "
            "sending domain's authentication (SPF, DKIM, DMARC), its reputation and block lists, and the message "
            "content, then resend by adding a public comment."
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
        POLICY_AUTHENTICATION: _(
            "The address is fine: ask your email administrator to fix SPF, DKIM and DMARC of the sending domain "
            "(with Amazon SES, the domain's DKIM signature is what lets DMARC pass), then resend by adding a public "
            "comment."
        ),
        POLICY_REPUTATION: _(
            "The address is fine: ask your email administrator to check the reputation and block-list entries of "
            "the sending domain and IP addresses and to request delisting; meanwhile contact the end-user another way."
        ),
        POLICY_CONTENT: _(
            "The address is fine: remove attachments or links that may look suspicious, or fix the message format, "
            "then resend by adding a public comment."
        ),
        RECIPIENT_RATE_LIMITED: _("The address is fine: resend later by adding a public comment."),
    }
    return remedies.get(reason_detail or "")


def _detail_reason(reason_detail: str | None, tr: gettext.NullTranslations) -> str | None:
    _ = tr.gettext
    reasons = {
        GLOBAL_SUPPRESSION_LIST: _(
            "Amazon SES did not send the email: the address is on its global suppression list after recent bounces"
        ),
        ACCOUNT_SUPPRESSION_LIST: _(
            "Amazon SES did not send the email: the address is on the account's suppression list"
        ),
        POLICY_AUTHENTICATION: _(
            "The recipient's mail server refused the message because the sending domain failed authentication "
            "(SPF, DKIM or DMARC)"
        ),
        POLICY_REPUTATION: _(
            "The recipient's mail server blocks mail from the sending server or domain (block list or reputation)"
        ),
        POLICY_CONTENT: _(
            "The recipient's mail server refused the content of the message (spam filter, attachment or format)"
        ),
        RECIPIENT_RATE_LIMITED: _("The recipient's mailbox is receiving too much mail right now"),
    }
    return reasons.get(reason_detail or "")


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
        "reason": _detail_reason(failure.reason_detail, tr) or failure_reason(failure.category, tr),
        "remedy": remedy or failure_remedy(failure.category, tr),
        "code_summary": tr.gettext(entry.summary) if entry else None,
    }
