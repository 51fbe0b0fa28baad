"""SPF and DMARC as receivers evaluate them for mail sent through Amazon SES (no I/O: DNS answers come in).

SES facts this relies on: without a custom MAIL FROM domain, SES sends with an envelope sender under
amazonses.com, so SPF passes for amazonses.com and never aligns with the From domain; DMARC can then only pass
through the DKIM signature SES adds for a verified domain (Easy DKIM or BYODKIM, d= the domain). With a custom
MAIL FROM domain (a subdomain of the From domain), SPF is checked on that subdomain and aligns in relaxed mode.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

SES_ENVELOPE_DOMAIN = "amazonses.com"
SPF_LOOKUP_LIMIT = 10  # RFC 7208 4.6.4: more DNS-querying terms than this is a permerror
# Terms that cost a DNS lookup (RFC 7208 4.6.4); ip4/ip6/all do not.
_LOOKUP_TERMS = {"include", "a", "mx", "ptr", "exists", "redirect"}
_TERM_NAME = re.compile(r"[:=/]")
# Second-level labels under which registrations sit (co.uk, com.au ...): enough for an organizational domain.
_PUBLIC_SECOND_LEVEL = {"co", "com", "net", "org", "gov", "edu", "ac", "ne", "or", "go", "gr", "ed", "lg"}


def organizational_domain(domain: str) -> str:
    """The registered domain (RFC 7489 3.2, approximated without the public suffix list)."""
    labels = domain.lower().rstrip(".").split(".")
    if len(labels) >= 3 and labels[-2] in _PUBLIC_SECOND_LEVEL and len(labels[-1]) == 2:
        return ".".join(labels[-3:])
    return ".".join(labels[-2:])


def aligned(domain: str, other: str, mode: str) -> bool:
    """DMARC identifier alignment: strict needs the same domain, relaxed the same organizational domain."""
    if mode == "s":
        return domain.lower().rstrip(".") == other.lower().rstrip(".")
    return organizational_domain(domain) == organizational_domain(other)


@dataclass(frozen=True)
class Dmarc:
    record: str
    found_at: str  # the name the record was read from (_dmarc.<domain> or the organizational domain's)
    policy: str  # none | quarantine | reject (an unknown value reads as none, as receivers do)
    subdomain_policy: str
    adkim: str
    aspf: str
    pct: int


def parse_dmarc(record: str | None, found_at: str) -> Dmarc | None:
    if not record or not record.strip().lower().startswith("v=dmarc1"):
        return None
    tags: dict[str, str] = {}
    for part in record.split(";"):
        key, _, value = part.strip().partition("=")
        if key:
            tags[key.strip().lower()] = value.strip()
    policy = tags.get("p", "none").lower()
    policy = policy if policy in ("none", "quarantine", "reject") else "none"
    subdomain = tags.get("sp", policy).lower()
    try:
        pct = int(tags.get("pct", "100"))
    except ValueError:
        pct = 100
    return Dmarc(
        record=record.strip(),
        found_at=found_at,
        policy=policy,
        subdomain_policy=subdomain if subdomain in ("none", "quarantine", "reject") else policy,
        adkim="s" if tags.get("adkim", "r").lower() == "s" else "r",
        aspf="s" if tags.get("aspf", "r").lower() == "s" else "r",
        pct=pct,
    )


@dataclass
class SpfWalk:
    """What following an SPF record's includes and redirects found."""

    domain: str
    record: str | None = None
    lookups: int = 0
    includes_amazonses: bool = False
    multiple_records: bool = False
    missing: list[str] = field(default_factory=list)  # included or redirected domains without an SPF record

    @property
    def too_many_lookups(self) -> bool:
        return self.lookups > SPF_LOOKUP_LIMIT

    @property
    def passes_for_ses(self) -> bool:
        """Whether a receiver would get "pass" for mail SES sends with this envelope domain."""
        return bool(self.record) and self.includes_amazonses and not self.too_many_lookups and not self.multiple_records


def walk_spf(domain: str, records_of: Callable[[str], list[str]]) -> SpfWalk:
    """Follow include: and redirect= terms, counting DNS lookups up to (just past) the 10-lookup limit.

    records_of(name) returns the "v=spf1" TXT records of a name ([] when it has none); DNS outages propagate.
    """
    walk = SpfWalk(domain)
    records = records_of(domain)
    walk.multiple_records = len(records) > 1
    walk.record = records[0] if records else None
    if walk.record:
        _follow(walk.record, records_of, walk, {domain.lower()})
    return walk


def _follow(record: str, records_of: Callable[[str], list[str]], walk: SpfWalk, seen: set[str]) -> None:
    for term in record.split()[1:]:
        if walk.too_many_lookups:
            return  # a receiver stops here with a permerror; so do we (and save the lookups)
        term = term.lower().lstrip("+-~?")
        if _TERM_NAME.split(term, maxsplit=1)[0] not in _LOOKUP_TERMS:
            continue
        walk.lookups += 1
        target = term.split(":", 1)[1] if term.startswith("include:") else None
        if term.startswith("redirect="):
            target = term.split("=", 1)[1]
        if not target:
            continue
        if target == SES_ENVELOPE_DOMAIN:
            walk.includes_amazonses = True  # SES's own record lists IP ranges only: no further lookups
            continue
        if target in seen:
            continue
        seen.add(target)
        nested = records_of(target)
        if not nested:
            walk.missing.append(target)
            continue
        _follow(nested[0], records_of, walk, seen)


@dataclass(frozen=True)
class DmarcOutcome:
    """How DMARC would judge mail from the domain as SES sends it now."""

    envelope_domain: str
    spf_matters: bool  # False without a custom MAIL FROM domain: SPF is checked on amazonses.com
    spf_aligned: bool
    dkim_aligned: bool

    @property
    def passes(self) -> bool:
        return self.spf_aligned or self.dkim_aligned


def dmarc_outcome(
    from_domain: str,
    *,
    dkim_signing: bool,
    custom_mail_from: str | None,
    spf: SpfWalk | None,
    dmarc: Dmarc | None,
) -> DmarcOutcome:
    """DMARC's verdict: aligned DKIM (SES signs with d=<domain> once DKIM is verified) or aligned SPF pass."""
    adkim = dmarc.adkim if dmarc else "r"
    aspf = dmarc.aspf if dmarc else "r"
    envelope = custom_mail_from or SES_ENVELOPE_DOMAIN
    spf_pass = bool(custom_mail_from) and spf is not None and spf.passes_for_ses
    return DmarcOutcome(
        envelope_domain=envelope,
        spf_matters=bool(custom_mail_from),
        spf_aligned=spf_pass and aligned(envelope, from_domain, aspf),
        dkim_aligned=dkim_signing and aligned(from_domain, from_domain, adkim),
    )
