"""The feedback reader's fast paths answer as the full readings do: addresses, and the stable ids keys derive from."""

from __future__ import annotations

import hashlib
import random

import pytest

from chalicelib.domain import feedback
from chalicelib.ids import stable_id

PIECES = [
    "a",
    "Rita.R",
    "carl",
    "@",
    "@@",
    "example.com",
    "EXAMPLE.org",
    " ",
    "\t",
    "\n",
    "<",
    ">",
    "\x00",
    "\x7f",
    "\u2028",
    "\u00a0",
    "é",
    "Name ",
    '"',
    "x" * 70,
    "-",
    ".",
]


def _candidates() -> list[str]:
    rng = random.Random(15)
    made = [
        "rita@example.com",
        "Rita@Example.COM",
        " rita@example.com ",
        "Rita <rita@example.com>",
        "a@b@c",
        "@b",
        "a@",
        "",
        "no-at-sign",
        "a b@c",
        "a\u2028@b.com",
        "x" * 300 + "@example.com",
        "a@" + "b" * 330,
    ]
    made += ["".join(rng.choice(PIECES) for _ in range(rng.randrange(1, 8))) for _ in range(3000)]
    return made


@pytest.mark.parametrize("value", _candidates())
def test_the_bare_address_fast_path_reads_as_the_full_reading(value):
    assert feedback._address(value) == feedback._read_address(value)


@pytest.mark.parametrize("value", [None, 5, ["a@b.com"], {"a": "b"}, b"a@b.com"])
def test_what_is_not_text_is_no_address(value):
    assert feedback._address(value) is None


@pytest.mark.parametrize(
    "parts",
    [("0100-msg", "bounce", "carl@example.com", "fb-1"), ("m", None, 3, ""), ("only",), ("é€", "\u2028", None)],
)
def test_stable_ids_are_the_digests_already_stored(parts):
    # A different id for the same notification would write a second copy on a replay instead of the same keys.
    text = "\x1f".join("" if part is None else str(part) for part in parts)
    assert stable_id(*parts) == hashlib.sha256(text.encode()).hexdigest()[:24]
