"""The agent workspace page: a static HTML shell, native ES modules (one per view), a stylesheet, an icon, UI strings.

Served by the Chalice app itself (no build step, no CDN). Only the files named in ASSETS are ever read.
"""

from __future__ import annotations

import hashlib
import os
import re
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

# The page posts attachments straight to S3 (a presigned POST, issue 18): connect-src allows that one origin, the
# presigned URLs' (the stack sets it to https://<bucket>.s3.<region>.amazonaws.com, the local stack to moto's).
UPLOAD_ORIGIN_ENV = "DESKMAIL_ATTACHMENTS_ORIGIN"
# One scheme://host[:port], nothing a CSP would read as more: no wildcard, path, space, quote or semicolon.
_ORIGIN = re.compile(r"(?:https://[a-z0-9.-]+|http://(?:localhost|127\.0\.0\.1))(?::\d{1,5})?")
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src {connect}; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def upload_origin() -> str:
    """The origin the page may upload to, or "" (none configured): a malformed value is refused, never widened."""
    raw = os.environ.get(UPLOAD_ORIGIN_ENV, "").strip().rstrip("/").lower()
    if raw and not _ORIGIN.fullmatch(raw):
        raise ValueError(f"{UPLOAD_ORIGIN_ENV} must be one origin such as https://bucket.s3.region.amazonaws.com")
    return raw


def content_security_policy() -> str:
    origin = upload_origin()
    return CSP.format(connect=f"'self' {origin}" if origin else "'self'")


# The shell is never cached (it names the current asset version); versioned assets may be kept for a day.
SHELL_HEADERS = {
    "Cache-Control": "no-cache",
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
    if name == "index.html":
        return {"Content-Type": content_type, **SHELL_HEADERS, "Content-Security-Policy": content_security_policy()}
    return {"Content-Type": content_type, **ASSET_HEADERS}
