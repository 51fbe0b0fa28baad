"""Ticket search words: what a ticket is found by (subject, requester's name and address), and a query's words.

Each word becomes one search row written with the ticket (`FIND#{word}#{shard}`), so a search is one Query per
shard of the query's most selective word, whatever the number of tickets: no Scan, and no hot partition.
"""

from __future__ import annotations

import re
import unicodedata

MAX_WORDS = 24  # index items per ticket: bounded, so creating a ticket stays one small write
MIN_LENGTH = 2
_WORD = re.compile(r"[a-z0-9]+")
_ADDRESS = re.compile(r"[^\s<>,;]+@[^\s<>,;]+")


def _fold(text: str) -> str:
    """Lowercase without accents: "Müller" is found by "muller" and by "müller"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _words(text: str) -> list[str]:
    folded = _fold(text)
    found = [address for address in _ADDRESS.findall(folded)]
    found += [word for word in _WORD.findall(folded) if len(word) >= MIN_LENGTH]
    return found


def ticket_words(subject: str, people: list[tuple[str, str | None]]) -> list[str]:
    """The words a ticket is found by, at most MAX_WORDS: each person's name and whole address first (a long
    subject must not crowd them out), then the subject's words, then the addresses' parts (local part, domain)."""
    words: list[str] = []
    parts: list[str] = []
    for name, email in people:
        words += _words(name or "")
        if email:
            words.append(_fold(email.strip()))
            parts += _words(email)
    return list(dict.fromkeys([*words, *_words(subject), *parts]))[:MAX_WORDS]


def query_words(query: str) -> list[str]:
    """The words of what the agent typed, most selective (longest) first; empty when nothing can be looked up."""
    return sorted(dict.fromkeys(_words(query)), key=lambda word: (-len(word), word))
