"""Amazon Cognito as deskmail's directory of agents: invite, group (role), disable, and the page's sign-in calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The Cognito group of each deskmail role (auth.ADMIN, auth.AGENT).
GROUPS = {"admin": "admins", "agent": "agents"}


class SignInRefused(Exception):
    """Wrong email or password, an unknown or disabled user, an expired session or refresh token."""


class AccountExists(Exception):
    """The directory already has a user with this email."""


class PasswordRejected(Exception):
    """The new password does not meet the pool's policy; the message is Cognito's."""


class DirectoryError(Exception):
    """Any other refusal of the directory (throttling, misconfiguration): the caller answers 502/503."""


@dataclass(frozen=True)
class Invitation:
    subject: str  # the user's `sub`: what their tokens carry
    username: str


def _code(error: Exception) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))


class CognitoDirectory:
    def __init__(self, client: Any, user_pool_id: str, client_id: str):
        self.client = client
        self.user_pool_id = user_pool_id
        self.client_id = client_id

    # ---- admin side -------------------------------------------------------------------------------------------------

    def invite(self, email: str, name: str, role: str, temporary_password: str | None = None) -> Invitation:
        """AdminCreateUser (Cognito emails the invitation with a temporary password) and the role's group."""
        from botocore.exceptions import ClientError

        extra = {"TemporaryPassword": temporary_password} if temporary_password else {}
        try:
            created = self.client.admin_create_user(
                UserPoolId=self.user_pool_id,
                Username=email,
                UserAttributes=[
                    {"Name": "email", "Value": email},
                    {"Name": "email_verified", "Value": "true"},
                    {"Name": "name", "Value": name},
                ],
                DesiredDeliveryMediums=["EMAIL"],
                **extra,
            )["User"]
        except ClientError as error:
            if _code(error) == "UsernameExistsException":
                raise AccountExists(email) from None
            if _code(error) == "InvalidPasswordException":
                raise PasswordRejected(str(error)) from None
            raise DirectoryError(_code(error) or str(error)) from None
        attributes = {a["Name"]: a["Value"] for a in created.get("Attributes", [])}
        username = created["Username"]
        invitation = Invitation(subject=attributes.get("sub") or username, username=username)
        try:
            self.set_role(username, role)
        except DirectoryError:
            self.delete(username)  # no half-made agent: without a group the user could sign in to nothing
            raise
        return invitation

    def set_role(self, username: str, role: str) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.admin_add_user_to_group(UserPoolId=self.user_pool_id, Username=username, GroupName=GROUPS[role])
            for other_role, group in GROUPS.items():
                if other_role != role:
                    self.client.admin_remove_user_from_group(
                        UserPoolId=self.user_pool_id, Username=username, GroupName=group
                    )
        except ClientError as error:
            raise DirectoryError(_code(error) or str(error)) from None

    def set_disabled(self, username: str, disabled: bool) -> None:
        from botocore.exceptions import ClientError

        call = self.client.admin_disable_user if disabled else self.client.admin_enable_user
        try:
            call(UserPoolId=self.user_pool_id, Username=username)
            if disabled:  # refresh tokens stop working too; access tokens are refused by deskmail's own flag
                self.client.admin_user_global_sign_out(UserPoolId=self.user_pool_id, Username=username)
        except ClientError as error:
            raise DirectoryError(_code(error) or str(error)) from None

    def set_password(self, username: str, password: str) -> None:
        """A permanent password (the first admin's, or the local stack's demo users')."""
        from botocore.exceptions import ClientError

        try:
            self.client.admin_set_user_password(
                UserPoolId=self.user_pool_id, Username=username, Password=password, Permanent=True
            )
        except ClientError as error:
            if _code(error) == "InvalidPasswordException":
                raise PasswordRejected(str(error)) from None
            raise DirectoryError(_code(error) or str(error)) from None

    def delete(self, username: str) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.admin_delete_user(UserPoolId=self.user_pool_id, Username=username)
        except ClientError:
            pass  # best effort: only ever undoing our own half-finished invitation

    # ---- the page's sign-in (public app client, no secret) ---------------------------------------------------------

    def sign_in(self, username: str, password: str) -> dict:
        return self._auth(
            lambda: self.client.initiate_auth(
                ClientId=self.client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": username, "PASSWORD": password},
            )
        )

    def new_password(self, username: str, session: str, password: str) -> dict:
        return self._auth(
            lambda: self.client.respond_to_auth_challenge(
                ClientId=self.client_id,
                ChallengeName="NEW_PASSWORD_REQUIRED",
                Session=session,
                ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": password},
            )
        )

    def refresh(self, refresh_token: str) -> dict:
        return self._auth(
            lambda: self.client.initiate_auth(
                ClientId=self.client_id,
                AuthFlow="REFRESH_TOKEN_AUTH",
                AuthParameters={"REFRESH_TOKEN": refresh_token},
            )
        )

    @staticmethod
    def _auth(call) -> dict:
        """Cognito's answer as {tokens} or {challenge, session}; refusals as SignInRefused/PasswordRejected."""
        from botocore.exceptions import ClientError, ParamValidationError

        try:
            answer = call()
        except ParamValidationError:
            raise SignInRefused("InvalidParameter") from None  # e.g. a session that is no Cognito session
        except ClientError as error:
            code = _code(error)
            if code in ("InvalidPasswordException", "InvalidParameterException"):
                raise PasswordRejected(str(error)) from None
            if code in (
                "NotAuthorizedException",
                "UserNotFoundException",
                "UserNotConfirmedException",
                "PasswordResetRequiredException",
                "CodeMismatchException",
                "ExpiredCodeException",
            ):
                raise SignInRefused(code) from None
            raise DirectoryError(code or str(error)) from None
        if answer.get("ChallengeName"):
            return {"challenge": answer["ChallengeName"], "session": answer.get("Session")}
        result = answer.get("AuthenticationResult") or {}
        return {
            "access_token": result.get("AccessToken"),
            "id_token": result.get("IdToken"),
            "refresh_token": result.get("RefreshToken"),  # absent on a refresh: keep the one you have
            "expires_in": result.get("ExpiresIn"),
            "token_type": result.get("TokenType", "Bearer"),
        }
