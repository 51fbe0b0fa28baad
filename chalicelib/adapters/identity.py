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


# Cognito's answers to a credential it will not accept (wrong, unknown, expired, malformed): the caller's 401.
SIGN_IN_REFUSALS = frozenset(
    {
        "NotAuthorizedException",
        "UserNotFoundException",
        "UserNotConfirmedException",
        "PasswordResetRequiredException",
        "CodeMismatchException",
        "ExpiredCodeException",
        "InvalidParameterException",
        "InvalidPasswordException",
    }
)


def _code(error: Exception) -> str:
    return str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))


def _message(error: Exception) -> str:
    """Cognito's own sentence (the password policy it applies), without botocore's "An error occurred (...)"."""
    return str(getattr(error, "response", {}).get("Error", {}).get("Message", "")) or _code(error)


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
            ),
            # The new password is the one value Cognito judges here: its refusals are the caller's to fix (400).
            password_codes=("InvalidPasswordException", "InvalidParameterException"),
            # An unknown or already used session: Cognito says NotAuthorized, moto ResourceNotFound. (A deleted app
            # client would say so too, but then the sign-in before this call has already answered 503.)
            refused_codes=("ResourceNotFoundException",),
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
    def _auth(call, password_codes: tuple[str, ...] = (), refused_codes: tuple[str, ...] = ()) -> dict:
        """Cognito's answer as {tokens} or {challenge, session}.

        The caller's mistakes never look like an outage: a wrong or unknown credential is SignInRefused (401), a new
        password the pool refuses is PasswordRejected (400). Only what the caller cannot fix is DirectoryError (503):
        throttling, Cognito's internal errors, no connection, a misconfigured pool or app client."""
        from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

        try:
            answer = call()
        except ParamValidationError:
            raise SignInRefused("InvalidParameter") from None  # e.g. a session too short to be a Cognito session
        except ClientError as error:
            code = _code(error)
            if code in password_codes:
                raise PasswordRejected(_message(error)) from None
            if code in SIGN_IN_REFUSALS or code in refused_codes:
                raise SignInRefused(code) from None
            raise DirectoryError(code or str(error)) from None
        except BotoCoreError as error:  # no connection, a timeout: an outage, not the caller's fault
            raise DirectoryError(type(error).__name__) from None
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
