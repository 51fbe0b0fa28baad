"""The agent workspace page: a static HTML shell, native ES modules (one per view), a stylesheet, an icon, UI strings.

Served by the Chalice app itself (no build step, no CDN). Only the files named in ASSETS are ever read.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

ROOT = Path(__file__).parent
UI_LOCALES = ("en", "it", "de", "es", "fr")

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json; charset=utf-8",
}
# The page's modules: every .js file beside this one, listed once at import (a new view module needs no edit here).
MODULES = tuple(sorted(path.name for path in ROOT.glob("*.js")))
ASSETS = frozenset(
    ["index.html", "app.css", "warning.svg", *MODULES] + [f"i18n/{locale}.json" for locale in UI_LOCALES]
)
# Files whose `{{version}}` is filled in when served: the shell, and the modules, whose imports say
# `./dom.js?v={{version}}` so that every module of one release loads with that release's version (cache-busting).
_VERSIONED = frozenset(["index.html", *MODULES])

# The shell is never cached (it names the current asset version); versioned assets may be kept for a day.
SHELL_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
ASSET_HEADERS = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}


@cache
def version() -> str:
    """A short hash of every asset: the shell asks for `static/app.js?v=<version>`, so a new release is fetched anew."""
    digest = hashlib.sha256()
    for name in sorted(ASSETS - {"index.html"}):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()[:12]


@cache
def asset(name: str) -> tuple[bytes, str] | None:
    """(body, content type) of a whitelisted asset, or None (the route answers 404)."""
    if name not in ASSETS:
        return None
    body = (ROOT / name).read_bytes()
    if name in _VERSIONED:
        body = body.replace(b"{{version}}", version().encode())
    return body, _TYPES[Path(name).suffix]


def headers(name: str) -> dict[str, str]:
    found = asset(name)
    content_type = found[1] if found else "text/plain"
    return {"Content-Type": content_type, **(SHELL_HEADERS if name == "index.html" else ASSET_HEADERS)}
