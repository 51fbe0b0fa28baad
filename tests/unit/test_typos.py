"""Domain typo suggestions for addresses that bounced as invalid."""

import pytest

from chalicelib.domain.typos import distance, suggest_address, suggest_domain


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("gmial.com", "gmail.com"),
        ("gmal.com", "gmail.com"),
        ("gmail.co", "gmail.com"),
        ("gmail.con", "gmail.com"),
        ("hotmial.com", "hotmail.com"),
        ("hotmail.cmo", "hotmail.com"),
        ("yaho.com", "yahoo.com"),
        ("outlok.com", "outlook.com"),
        ("icloud.con", "icloud.com"),
        ("outllok.fr", "outlook.fr"),
        ("libreo.it", "libero.it"),
        ("GMIAL.COM", "gmail.com"),
        ("acme-corp.con", "acme-corp.com"),  # no such top-level domain: fix it even for an unknown host
    ],
)
def test_suggests_the_likely_domain(typed, meant):
    assert suggest_domain(typed) == meant


@pytest.mark.parametrize("domain", ["gmail.com", "example.com", "deskmail.example.com", "acme.co", "", "yahoo.fr"])
def test_no_suggestion_for_plausible_domains(domain):
    assert suggest_domain(domain) is None


def test_suggest_address_keeps_the_local_part():
    assert suggest_address("Carl.Cc@gmial.com") == "Carl.Cc@gmail.com"
    assert suggest_address("carl@example.com") is None
    assert suggest_address(None) is None
    assert suggest_address("no-at-sign") is None


def test_a_swap_of_neighbours_is_one_edit():
    assert distance("gmial", "gmail") == 1
    assert distance("gmail", "gmail") == 0
    assert distance("yaho", "yahoo") == 1
    assert distance("abc", "") == 3
