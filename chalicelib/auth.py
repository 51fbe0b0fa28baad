"""Agent sign-in: RS256 access tokens from Amazon Cognito (or any OIDC issuer) checked against the issuer's JWKS.

Only asymmetric tokens are accepted: the API holds no secret that could mint one. The algorithm is pinned to RS256
before a key is chosen, so a token that names HS256 (signed with the public key, or a guessed secret) is refused
without ever reaching a MAC check.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from chalicelib.config import AuthSettings, auth_settings

OPEN_PATHS = ("/health", "/", "/static/")
ALGORITHM = "RS256"
ADMIN = "admin"
AGENT = "agent"
ROLE_RANK = {AGENT: 1, ADMIN: 2}
# Group (or role claim) values that grant a deskmail role: Cognito groups are plural, Okta/Entra apps often singular.
ROLE_NAMES = {"admins": ADMIN, "admin": ADMIN, "agents": AGENT, "agent": AGENT}
# A token whose clock is a little ahead of ours is still valid; more than that is a token from the future.
LEEWAY_SECONDS = 5
# An unknown `kid` refetches the JWKS at most this often: a flood of made-up kids costs one fetch per interval.
REFETCH_INTERVAL_SECONDS = 30.0
MAX_JWKS_BYTES = 64 * 1024
MAX_KEYS = 32

JwksFetcher = Callable[[str], dict]


class Unauthenticated(Exception):
    """No token, or one that is not valid now; the message says which, without echoing the token."""


class IdentityProviderUnavailable(Exception):
    """The JWKS could not be fetched: no token can be checked until it can (503, not 401)."""


@dataclass(frozen=True)
class Identity:
    """Who a valid access token says signed in, and the deskmail role its groups (or role claim) grant."""

    subject: str
    username: str
    role: str | None
    issuer: str


def is_open(path: str) -> bool:
    return path in OPEN_PATHS[:2] or path.startswith(OPEN_PATHS[2])


def role_allows(role: str | None, needed: str) -> bool:
    """Admins may do everything agents may."""
    return role is not None and ROLE_RANK.get(role, 0) >= ROLE_RANK[needed]


def lower_role(first: str | None, second: str | None) -> str | None:
    if first is None or second is None:
        return None
    return first if ROLE_RANK.get(first, 0) <= ROLE_RANK.get(second, 0) else second


def fetch_jwks(url: str) -> dict:
    """GET the JWKS document (small, bounded, 3-second timeout)."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=3) as response:  # noqa: S310 (the URL is configuration)
        raw = response.read(MAX_JWKS_BYTES + 1)
    if len(raw) > MAX_JWKS_BYTES:
        raise ValueError("JWKS document too large")
    return json.loads(raw)


class JwksCache:
    """The issuer's signing keys by `kid`, kept for the container's life; an unknown kid refetches, at most once
    per REFETCH_INTERVAL_SECONDS (key rotation is picked up, a kid flood is not an amplifier)."""

    def __init__(self, url: str, fetch: JwksFetcher, clock: Callable[[], float] = time.monotonic):
        self.url = url
        self.fetch = fetch
        self.clock = clock
        self.keys: dict[str, Any] = {}
        self.fetched_at: float | None = None
        self.fetches = 0
        self._lock = threading.Lock()

    def key(self, kid: str) -> Any:
        found = self.keys.get(kid)
        if found is not None:
            return found
        with self._lock:
            found = self.keys.get(kid)
            due = self.fetched_at is None or self.clock() - self.fetched_at >= REFETCH_INTERVAL_SECONDS
            if found is None and due:
                self._refresh()
                found = self.keys.get(kid)
        if found is None:
            raise Unauthenticated("The token was signed with a key the identity provider does not publish.")
        return found

    def _refresh(self) -> None:
        import jwt

        self.fetched_at = self.clock()
        self.fetches += 1
        try:
            document = self.fetch(self.url)
        except Exception as error:  # network, HTTP or JSON: all mean "cannot check tokens now"
            raise IdentityProviderUnavailable(f"the identity provider's keys could not be read: {error}") from None
        keys: dict[str, Any] = {}
        for entry in (document.get("keys") or [])[:MAX_KEYS] if isinstance(document, dict) else []:
            if not isinstance(entry, dict) or entry.get("kty") != "RSA" or not isinstance(entry.get("kid"), str):
                continue
            if entry.get("use", "sig") != "sig" or entry.get("alg", ALGORITHM) != ALGORITHM:
                continue
            try:
                keys[entry["kid"]] = jwt.PyJWK(entry, algorithm=ALGORITHM).key
            except jwt.PyJWKError:
                continue
        self.keys = keys


class TokenVerifier:
    """Checks an access token: RS256 only, a published key, issuer, token_use/client_id (Cognito) or aud (other
    OIDC issuers), exp and nbf; returns the Identity with the role its role claim grants."""

    def __init__(self, config: AuthSettings, fetch: JwksFetcher = fetch_jwks):
        self.config = config
        self.jwks = JwksCache(config.jwks_url, fetch)

    def verify(self, authorization: str | None) -> Identity:
        import jwt

        token = _bearer(authorization)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise Unauthenticated("The token is not valid.") from None
        if header.get("alg") != ALGORITHM:
            raise Unauthenticated("The token must be signed with RS256 by the identity provider.")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise Unauthenticated("The token does not name its signing key.")
        key = self.jwks.key(kid)
        cognito = self.config.is_cognito
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                issuer=self.config.issuer,
                audience=None if cognito else self.config.audience,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "sub"], "verify_aud": not cognito},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("The token has expired: sign in again.") from None
        except jwt.ImmatureSignatureError:
            raise Unauthenticated("The token is not valid yet.") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("The token comes from another identity provider or user pool.") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated("The token was issued to another application.") from None
        except jwt.InvalidTokenError:
            raise Unauthenticated("The token is not valid.") from None
        # Cognito: access tokens say token_use "access" and carry the app client in client_id (an id token has
        # aud instead). Other issuers: aud was checked above; a token_use, if present, must still be "access".
        if claims.get("token_use", "access" if not cognito else None) != "access":
            raise Unauthenticated("An access token is needed here, not an id token.")
        if cognito and claims.get("client_id") != self.config.audience:
            raise Unauthenticated("The token was issued to another application.")
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject:
            raise Unauthenticated("The token is not valid.")
        return Identity(
            subject=subject,
            username=str(claims.get("username") or claims.get("preferred_username") or subject),
            role=_role(claims.get(self.config.role_claim)),
            issuer=self.config.issuer,
        )


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise Unauthenticated("Sign in: this API needs an 'Authorization: Bearer <token>' header.")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("The Authorization header must be 'Bearer <token>'.")
    return token.strip()


def _role(value: object) -> str | None:
    """The highest deskmail role among the claim's values (a list, or a space-separated string)."""
    values = value.split() if isinstance(value, str) else value if isinstance(value, list) else []
    roles = [ROLE_NAMES[v.lower()] for v in values if isinstance(v, str) and v.lower() in ROLE_NAMES]
    return max(roles, key=ROLE_RANK.__getitem__) if roles else None


_verifier: list[TokenVerifier] = []
_verifier_lock = threading.Lock()


def verifier() -> TokenVerifier:
    """One verifier (and JWKS cache) per container, built from the configuration on first use."""
    if not _verifier:
        with _verifier_lock:
            if not _verifier:
                _verifier.append(TokenVerifier(auth_settings()))
    return _verifier[0]


def use_verifier(replacement: TokenVerifier | None) -> None:
    """Tests and the local stack: a verifier with another fetcher (None: build from the configuration again)."""
    with _verifier_lock:
        _verifier.clear()
        if replacement is not None:
            _verifier.append(replacement)


def verify(authorization: str | None) -> Identity:
    return verifier().verify(authorization)
