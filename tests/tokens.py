"""Access tokens for tests: a test RSA key pair whose JWKS the verifier reads through a fake fetcher (no network),
shaped like Cognito's (iss of the dev stage's pool, client_id, token_use, cognito:groups)."""

from __future__ import annotations

import json
import os
import time
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

KID = "deskmail-test-key"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)  # a key the JWKS does not publish
GROUPS = {"agent": "agents", "admin": "admins"}


def public_jwk(key=KEY, kid=KID) -> dict:
    return {**json.loads(RSAAlgorithm.to_jwk(key.public_key())), "kid": kid, "alg": "RS256", "use": "sig"}


class FakeJwksFetcher:
    """What the issuer publishes, counted: tests check the cache refetches only when it should."""

    def __init__(self, keys=None):
        self.keys = keys if keys is not None else [public_jwk()]
        self.urls: list[str] = []

    def __call__(self, url: str) -> dict:
        self.urls.append(url)
        return {"keys": list(self.keys)}


def access_token(
    subject: str,
    role: str | None = "agent",
    *,
    issuer: str | None = None,
    client_id: str | None = None,
    token_use: str = "access",
    ttl: int = 3600,
    not_before: int | None = None,
    key=KEY,
    kid: str = KID,
    algorithm: str = "RS256",
    extra: dict | None = None,
) -> str:
    now = int(time.time())
    claims = {
        "sub": subject,
        "iss": issuer or os.environ["DESKMAIL_AUTH_ISSUER"],
        "token_use": token_use,
        "iat": now,
        "auth_time": now,
        "exp": now + ttl,
        "jti": str(uuid.uuid4()),
        "username": subject,
    }
    audience = client_id or os.environ["DESKMAIL_AUTH_AUDIENCE"]
    claims["client_id" if token_use == "access" else "aud"] = audience
    if role:
        claims["cognito:groups"] = [GROUPS[role]]
    if not_before is not None:
        claims["nbf"] = not_before
    claims.update(extra or {})
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid})


def sign_in_with_test_keys(expected_issuer: str) -> None:
    """The dev stage's user pool on moto (same ids as .chalice/config.json) and a verifier reading the test JWKS.

    Call inside moto (tests' `aws` fixture, the benchmarks' moto world)."""
    import boto3

    from chalicelib import auth
    from chalicelib.config import auth_settings
    from deskmail_local import cognito

    cognito.use_reproducible_ids()
    pool = cognito.create_pool(boto3.client("cognito-idp"), "us-east-1")
    assert pool.issuer == expected_issuer, "moto's pool id changed: update .chalice/config.json"
    auth.use_verifier(auth.TokenVerifier(auth_settings(), fetch=FakeJwksFetcher()))
