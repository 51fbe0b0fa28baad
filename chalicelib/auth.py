"""Agent authentication: a signed bearer token (JWT, HS256) on every route but the health check and page shell."""

from __future__ import annotations

import os
import time
from functools import lru_cache

ISSUER = "deskmail"
AUDIENCE = "deskmail-agents"
OPEN_PATHS = ("/health", "/", "/static/")


class Unauthenticated(Exception):
    """No token, or one that is not valid now; the message says which, without echoing the token."""


def is_open(path: str) -> bool:
    return path in OPEN_PATHS[:2] or path.startswith(OPEN_PATHS[2])


@lru_cache(maxsize=1)
def signing_key() -> str:
    """The HS256 key: DESKMAIL_JWT_SECRET (local and tests) or the Secrets Manager secret named by its ARN."""
    secret = os.environ.get("DESKMAIL_JWT_SECRET")
    if secret:
        return secret
    arn = os.environ.get("DESKMAIL_JWT_SECRET_ARN")
    if not arn:
        raise RuntimeError("set DESKMAIL_JWT_SECRET or DESKMAIL_JWT_SECRET_ARN")
    import boto3  # only on a cold start of the API function

    return boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]


def issue_token(subject: str, ttl_seconds: int = 12 * 3600, key: str | None = None, now: float | None = None) -> str:
    import jwt

    issued = int(now if now is not None else time.time())
    claims = {"sub": subject, "iss": ISSUER, "aud": AUDIENCE, "iat": issued, "exp": issued + ttl_seconds}
    return jwt.encode(claims, key or signing_key(), algorithm="HS256")


def verify(authorization: str | None) -> dict:
    """The token's claims, or Unauthenticated. Accepts only HS256 with our issuer and audience, unexpired."""
    import jwt

    if not authorization:
        raise Unauthenticated("Sign in: this API needs an 'Authorization: Bearer <token>' header.")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("The Authorization header must be 'Bearer <token>'.")
    try:
        return jwt.decode(
            token.strip(),
            signing_key(),
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "sub", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("The token has expired: sign in again.") from None
    except jwt.InvalidTokenError:
        raise Unauthenticated("The token is not valid.") from None
