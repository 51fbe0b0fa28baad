"""Suggests the address a customer probably meant when theirs bounced: "rita@gmial.com" -> "rita@gmail.com"."""

from __future__ import annotations

# The mailbox providers most customers use, most popular first (a tie goes to the earlier one).
POPULAR_DOMAINS = (
    "gmail.com",
    "yahoo.com",
    "hotmail.com",
    "outlook.com",
    "icloud.com",
    "aol.com",
    "live.com",
    "msn.com",
    "me.com",
    "mac.com",
    "googlemail.com",
    "protonmail.com",
    "proton.me",
    "yandex.com",
    "zoho.com",
    "mail.com",
    "gmx.com",
    "ymail.com",
    "comcast.net",
    "verizon.net",
    "att.net",
    "hotmail.co.uk",
    "yahoo.co.uk",
    "btinternet.com",
    "gmx.de",
    "gmx.net",
    "web.de",
    "t-online.de",
    "outlook.de",
    "yahoo.de",
    "hotmail.de",
    "libero.it",
    "virgilio.it",
    "tiscali.it",
    "alice.it",
    "outlook.it",
    "hotmail.it",
    "yahoo.it",
    "orange.fr",
    "free.fr",
    "laposte.net",
    "sfr.fr",
    "wanadoo.fr",
    "outlook.fr",
    "hotmail.fr",
    "yahoo.fr",
    "telefonica.net",
    "movistar.es",
    "outlook.es",
    "hotmail.es",
    "yahoo.es",
)
_POPULAR = frozenset(POPULAR_DOMAINS)

# Top-level domains that do not exist but sit one slip of the finger from a real one.
_TLD_FIXES = {
    "con": "com",
    "cmo": "com",
    "ocm": "com",
    "vom": "com",
    "xom": "com",
    "comm": "com",
    "coom": "com",
    "cim": "com",
    "nte": "net",
    "ent": "net",
    "ner": "net",
    "ogr": "org",
    "rog": "org",
}
MAX_DISTANCE = 2


def distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance (optimal string alignment): a swap of neighbours counts as one edit."""
    rows = [list(range(len(b) + 1))] + [[i] + [0] * len(b) for i in range(1, len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                rows[i][j] = min(rows[i][j], rows[i - 2][j - 2] + 1)
    return rows[len(a)][len(b)]


def _allowed_distance(candidate: str) -> int:
    # Two edits turn one short domain into another real one (aol.com / aon.com): be stricter there.
    return 1 if len(candidate) < 8 else MAX_DISTANCE


def suggest_domain(domain: str) -> str | None:
    """The popular domain (or fixed top-level domain) the given one is probably a typo of; None if it looks fine."""
    domain = domain.strip().lower().rstrip(".")
    if not domain or domain in _POPULAR:
        return None
    host, _, tld = domain.rpartition(".")
    fixed_tld = f"{host}.{_TLD_FIXES[tld]}" if host and tld in _TLD_FIXES else None
    if fixed_tld in _POPULAR:
        return fixed_tld
    best: tuple[int, int, str] | None = None
    for rank, candidate in enumerate(POPULAR_DOMAINS):
        edits = distance(domain, candidate)
        if edits <= _allowed_distance(candidate) and (best is None or (edits, rank) < best[:2]):
            best = (edits, rank, candidate)
    if best is not None:
        return best[2]
    return fixed_tld


def suggest_address(address: str | None) -> str | None:
    """The address with its domain corrected, or None when there is nothing to suggest."""
    if not address or "@" not in address:
        return None
    local, _, domain = address.strip().rpartition("@")
    suggestion = suggest_domain(domain)
    return f"{local}@{suggestion}" if suggestion else None
