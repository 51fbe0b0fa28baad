"""The local identity provider: a Cognito user pool on moto, shaped like production's, with reproducible ids.

moto derives pool and app client ids from their definitions when MOTO_COGNITO_IDP_*_ID_STRATEGY=HASH: the dev
stage in .chalice/config.json names those ids (issuer, audience), and the tests create the same pool in-process.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

POOL_NAME = "deskmail-dev-agents"
CLIENT_NAME = "deskmail-dev-page"
GROUPS = {
    "admins": "deskmail admins: agents, roles, triggers, templates, suppression list, settings",
    "agents": "deskmail agents: work tickets",
}
HASH_STRATEGY_ENV = {
    "MOTO_COGNITO_IDP_USER_POOL_ID_STRATEGY": "HASH",
    "MOTO_COGNITO_IDP_USER_POOL_CLIENT_ID_STRATEGY": "HASH",
}


@dataclass(frozen=True)
class LocalPool:
    user_pool_id: str
    client_id: str
    region: str

    @property
    def issuer(self) -> str:
        # moto signs with the real AWS issuer URL; its JWKS is served by moto itself (jwks_url).
        return f"https://cognito-idp.{self.region}.amazonaws.com/{self.user_pool_id}"

    def jwks_url(self, endpoint_url: str) -> str:
        return f"{endpoint_url.rstrip('/')}/{self.user_pool_id}/.well-known/jwks.json"


def use_reproducible_ids() -> None:
    os.environ.update(HASH_STRATEGY_ENV)


def create_pool(client: Any, region: str) -> LocalPool:
    """The pool, its public app client (USER_PASSWORD_AUTH, REFRESH_TOKEN_AUTH, no secret) and the two groups."""
    pool = client.create_user_pool(
        PoolName=POOL_NAME,
        UsernameAttributes=["email"],
        AutoVerifiedAttributes=["email"],
        Policies={
            "PasswordPolicy": {
                "MinimumLength": 12,
                "RequireUppercase": True,
                "RequireLowercase": True,
                "RequireNumbers": True,
                "RequireSymbols": False,
                "TemporaryPasswordValidityDays": 7,
            }
        },
        AdminCreateUserConfig={"AllowAdminCreateUserOnly": True},
    )["UserPool"]
    app_client = client.create_user_pool_client(
        UserPoolId=pool["Id"],
        ClientName=CLIENT_NAME,
        GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
        PreventUserExistenceErrors="ENABLED",
    )["UserPoolClient"]
    for group, description in GROUPS.items():
        client.create_group(UserPoolId=pool["Id"], GroupName=group, Description=description)
    return LocalPool(user_pool_id=pool["Id"], client_id=app_client["ClientId"], region=region)
