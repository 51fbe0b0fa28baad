"""SPF and DMARC lookups with an injected resolver (no network), and how receivers judge SES mail."""

import dns.exception
import dns.resolver
import pytest

from chalicelib.adapters.dns import DnsUnavailable, SpfLookup, spf_includes_amazonses
from chalicelib.domain import sender_auth
from tests.dns_fakes import FakeResolver, TxtRecord


def test_finds_the_spf_record_among_txt_records():
    resolver = FakeResolver(
        {"example.com": [TxtRecord("google-site-verification=abc"), TxtRecord("v=spf1 include:amazonses.com", " ~all")]}
    )

    assert SpfLookup(resolver).spf_record("example.com") == "v=spf1 include:amazonses.com ~all"
    assert resolver.asked == [("example.com", "TXT")]


@pytest.mark.parametrize("error", [dns.resolver.NXDOMAIN, dns.resolver.NoAnswer])
def test_no_record(error):
    assert SpfLookup(FakeResolver({"example.com": error})).spf_record("example.com") is None
    assert SpfLookup(FakeResolver({"example.com": [TxtRecord("hello")]})).spf_record("example.com") is None


@pytest.mark.parametrize("error", [dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.LifetimeTimeout])
def test_unreachable_dns_is_unknown_not_missing(error):
    with pytest.raises(DnsUnavailable):
        SpfLookup(FakeResolver({"example.com": error})).spf_record("example.com")


@pytest.mark.parametrize(
    ("record", "includes"),
    [
        ("v=spf1 include:amazonses.com ~all", True),
        ("v=spf1 include:_spf.google.com +include:amazonses.com -all", True),
        ("v=spf1 include:_spf.google.com ~all", False),
        ("v=spf1 include:amazonses.com.evil.example ~all", False),
        (None, False),
    ],
)
def test_includes_amazonses(record, includes):
    assert spf_includes_amazonses(record) is includes


# ---- DMARC records, SPF includes up to the lookup limit, alignment as SES sends ----


def test_dmarc_record_of_the_domain_or_its_organizational_domain():
    resolver = FakeResolver({"_dmarc.example.co.uk": [TxtRecord("v=DMARC1; p=reject; adkim=s")]})
    lookup = SpfLookup(resolver)

    assert lookup.dmarc_record("mail.example.co.uk") == ("v=DMARC1; p=reject; adkim=s", "_dmarc.example.co.uk")
    assert resolver.asked == [("_dmarc.mail.example.co.uk", "TXT"), ("_dmarc.example.co.uk", "TXT")]
    assert lookup.dmarc_record("other.example") == (None, "_dmarc.other.example")


def test_dmarc_tags_are_parsed_with_receivers_defaults():
    dmarc = sender_auth.parse_dmarc("v=DMARC1; p=quarantine; sp=reject; aspf=s; pct=50", "_dmarc.example.com")

    assert (dmarc.policy, dmarc.subdomain_policy, dmarc.adkim, dmarc.aspf, dmarc.pct) == (
        "quarantine",
        "reject",
        "r",
        "s",
        50,
    )
    assert sender_auth.parse_dmarc("v=spf1 -all", "_dmarc.example.com") is None
    assert sender_auth.parse_dmarc("v=DMARC1; p=bogus", "x").policy == "none"


def test_spf_includes_are_followed_and_amazonses_found_nested():
    zone = {
        "mail.example.com": [TxtRecord("v=spf1 include:_spf.example.net ~all")],
        "_spf.example.net": [TxtRecord("v=spf1 ip4:192.0.2.0/24 include:amazonses.com -all")],
    }
    walk = sender_auth.walk_spf("mail.example.com", SpfLookup(FakeResolver(zone)).spf_records)

    assert (walk.includes_amazonses, walk.lookups, walk.passes_for_ses) == (True, 2, True)


def test_more_than_ten_lookups_is_a_permerror_and_the_walk_stops():
    zone = {"example.com": [TxtRecord("v=spf1 " + " ".join(f"include:s{i}.example.net" for i in range(12)) + " ~all")]}
    zone.update({f"s{i}.example.net": [TxtRecord("v=spf1 a mx ~all")] for i in range(12)})
    resolver = FakeResolver(zone)
    walk = sender_auth.walk_spf("example.com", SpfLookup(resolver).spf_records)

    assert walk.too_many_lookups and not walk.passes_for_ses
    assert len(resolver.asked) < 13  # stopped at the limit instead of reading every include


def test_two_spf_records_and_a_missing_include_are_reported():
    zone = {
        "example.com": [TxtRecord("v=spf1 include:amazonses.com ~all"), TxtRecord("v=spf1 include:gone.example -all")],
    }
    walk = sender_auth.walk_spf("example.com", SpfLookup(FakeResolver(zone)).spf_records)
    assert walk.multiple_records and not walk.passes_for_ses

    zone = {"example.com": [TxtRecord("v=spf1 include:gone.example include:amazonses.com ~all")]}
    walk = sender_auth.walk_spf("example.com", SpfLookup(FakeResolver(zone)).spf_records)
    assert walk.missing == ["gone.example"] and walk.includes_amazonses


@pytest.mark.parametrize(
    ("dkim", "mail_from", "aspf", "spf_aligned", "dkim_aligned"),
    [
        (True, None, "r", False, True),  # SES default: envelope under amazonses.com, DMARC through DKIM
        (False, None, "r", False, False),  # no DKIM and no custom MAIL FROM: DMARC fails
        (False, "mail.example.com", "r", True, False),  # custom MAIL FROM aligns in relaxed mode
        (False, "mail.example.com", "s", False, False),  # ... but not in strict mode
    ],
)
def test_dmarc_alignment_as_ses_sends(dkim, mail_from, aspf, spf_aligned, dkim_aligned):
    zone = {"mail.example.com": [TxtRecord("v=spf1 include:amazonses.com ~all")]}
    walk = sender_auth.walk_spf("mail.example.com", SpfLookup(FakeResolver(zone)).spf_records) if mail_from else None
    dmarc = sender_auth.parse_dmarc(f"v=DMARC1; p=reject; aspf={aspf}", "_dmarc.example.com")

    outcome = sender_auth.dmarc_outcome(
        "example.com", dkim_signing=dkim, custom_mail_from=mail_from, spf=walk, dmarc=dmarc
    )

    assert (outcome.spf_aligned, outcome.dkim_aligned, outcome.passes) == (
        spf_aligned,
        dkim_aligned,
        spf_aligned or dkim_aligned,
    )
    assert outcome.spf_matters is bool(mail_from)
