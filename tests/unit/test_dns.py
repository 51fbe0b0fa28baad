"""SPF lookups with an injected resolver: no network."""

import dns.exception
import dns.resolver
import pytest

from chalicelib.adapters.dns import DnsUnavailable, SpfLookup, spf_includes_amazonses
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
