"""Agents and their sign-in: who a token belongs to in deskmail, inviting agents, roles, disabling, the page's
sign-in calls. The identity provider proves who signed in; deskmail's own record says whether they still may."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from chalicelib import auth, validation
from chalicelib.adapters import dynamo
from chalicelib.adapters.dynamo import DeskmailTable
from chalicelib.adapters.identity import (
    AccountExists,
    CognitoDirectory,
    DirectoryError,
    PasswordRejected,
    SignInRefused,
)
from chalicelib.addresses import validated_address
from chalicelib.domain.model import AGENT, User
from chalicelib.errors import Conflict, Forbidden, InvalidInput, NotFound
from chalicelib.i18n import N_
from chalicelib.ids import new_id

Clock = Callable[[], str]
ROLES = (auth.AGENT, auth.ADMIN)


@dataclass(frozen=True)
class SignedInAgent:
    """The agent behind a request: deskmail user id and the role in force (never above what deskmail records)."""

    user_id: str
    role: str
    subject: str


def signed_in(table: DeskmailTable, identity: auth.Identity) -> SignedInAgent:
    """Read on every request (one GetItem, no cache): a disabled agent's still-valid tokens are refused at once."""
    account = table.get_agent_account(identity.subject)
    if account is None:
        raise auth.Unauthenticated("This sign-in is not a deskmail agent: ask an admin to invite you.")
    if account.get("disabled"):
        raise auth.Unauthenticated("This agent is disabled.")
    # A role lowered in deskmail applies now, even while an older token still lists the former group.
    role = auth.lower_role(identity.role, account.get("role"))
    if role is None:
        raise auth.Unauthenticated("This sign-in grants no deskmail role (groups admins or agents).")
    return SignedInAgent(user_id=account["user_id"], role=role, subject=identity.subject)


def me(table: DeskmailTable, agent: SignedInAgent) -> dict:
    user = table.get_user(agent.user_id)
    if user is None:
        raise NotFound(N_("There is no user {user_id}."), user_id=agent.user_id)
    return {"id": user.id, "name": user.name, "email": user.email, "locale": user.locale, "role": agent.role}


def actor(table: DeskmailTable, agent: SignedInAgent) -> dict:
    """Who made a change, as the events log names them: {"id", "name"}."""
    user = table.get_user(agent.user_id)
    return {"id": agent.user_id, "name": user.name if user else agent.user_id}


# ---- admins manage agents ------------------------------------------------------------------------------------------


def _role(body: dict, default: str | None) -> str | None:
    role = body.get("role", default)
    if role is not None and role not in ROLES:
        raise InvalidInput(N_('\'{field}\' must be "agent" or "admin".'), field="role")
    return role


def invite(
    table: DeskmailTable,
    directory: CognitoDirectory,
    body: object,
    now: Clock,
    temporary_password: str | None = None,
) -> User:
    """POST /agents: the Cognito user (invitation email, group) and the deskmail agent user, linked by `sub`."""
    body = validation.body_object(body)
    name = validation.header_text(body, "name", 200)  # a name reaches email headers (and the identity provider)
    email = validated_address(body.get("email"))
    role = _role(body, auth.AGENT) or auth.AGENT
    locale = validation.optional_text(body, "locale", 10)
    if any(user.role == AGENT for user in table.find_users_by_email(email)):
        raise Conflict(N_("There is already an agent with the address {email}."), email=email)
    try:
        invitation = directory.invite(email, name, role, temporary_password)
    except AccountExists:
        raise Conflict(N_("There is already an agent with the address {email}."), email=email) from None
    except PasswordRejected as error:
        raise InvalidInput(N_("The password was refused: {reason}"), reason=str(error)) from None
    except DirectoryError as error:
        raise auth.IdentityProviderUnavailable(str(error)) from None
    try:
        return register(table, invitation.subject, invitation.username, name, email, role, now, locale)
    except Exception:
        directory.delete(invitation.username)  # nothing half-made: no Cognito user without its deskmail agent
        raise


def register(
    table: DeskmailTable,
    subject: str,
    username: str,
    name: str,
    email: str,
    role: str,
    now: Clock,
    locale: str | None = None,
) -> User:
    """The deskmail agent user of an identity provider's user (`sub`), and the link both ways, in one write."""
    stamp = now()
    user = User(id=new_id(), name=name, role=AGENT, email=email, locale=locale, created_at=stamp, updated_at=stamp)
    table.write_items(
        [dynamo.user_item(user), *dynamo.agent_account_items(subject, user.id, username, role, False, stamp)]
    )
    return user


def update(table: DeskmailTable, directory: CognitoDirectory, user_id: str, body: object, now: Clock) -> dict:
    """PATCH /agents/{id} {role?, disabled?}: the Cognito group and enabled state, then deskmail's record."""
    body = validation.body_object(body)
    unknown = set(body) - {"role", "disabled"}
    if unknown:
        raise InvalidInput(N_("These fields cannot be changed: {fields}."), fields=", ".join(sorted(unknown)))
    if not body:
        raise InvalidInput(N_("Nothing to change: send 'role' or 'disabled'."))
    account = table.get_agent_account_of_user(user_id) if validation.ID_PATTERN.match(user_id) else None
    if account is None:
        raise NotFound(N_("There is no agent {user_id}."), user_id=user_id)
    role = _role(body, account["role"]) or account["role"]
    disabled = validation.required_bool(body, "disabled") if "disabled" in body else bool(account.get("disabled"))
    try:
        if role != account["role"]:
            directory.set_role(account["username"], role)
        if disabled != bool(account.get("disabled")):
            directory.set_disabled(account["username"], disabled)
    except DirectoryError as error:
        raise auth.IdentityProviderUnavailable(str(error)) from None
    table.write_items(
        dynamo.agent_account_items(account["subject"], user_id, account["username"], role, disabled, now())
    )
    return agent_view(table, user_id)


def agent_view(table: DeskmailTable, user_id: str) -> dict:
    user = table.get_user(user_id)
    account = table.get_agent_account_of_user(user_id)
    if user is None or account is None:
        raise NotFound(N_("There is no agent {user_id}."), user_id=user_id)
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "locale": user.locale,
        "role": account["role"],
        "disabled": bool(account.get("disabled")),
        "created_at": user.created_at,
        "updated_at": account.get("updated_at") or user.updated_at,
    }


# ---- the page's sign-in ------------------------------------------------------------------------------------------


def sign_in(directory: CognitoDirectory, body: object) -> dict:
    body = validation.body_object(body)
    username, password = (validation.credential(body, f) for f in ("username", "password"))
    return _signing_in(lambda: directory.sign_in(username, password))


def new_password(directory: CognitoDirectory, body: object) -> dict:
    body = validation.body_object(body)
    username, session, password = (validation.credential(body, f) for f in ("username", "session", "new_password"))
    return _signing_in(lambda: directory.new_password(username, session, password))


def refresh(directory: CognitoDirectory, body: object) -> dict:
    body = validation.body_object(body)
    token = validation.credential(body, "refresh_token")
    return _signing_in(lambda: directory.refresh(token))


def _signing_in(call: Callable[[], dict]) -> dict:
    try:
        return call()
    except SignInRefused:
        # One answer for a wrong password and an unknown user: the API does not tell which addresses exist.
        raise auth.Unauthenticated("Wrong email or password, or the session has expired: sign in again.") from None
    except PasswordRejected as error:
        raise InvalidInput(N_("The password was refused: {reason}"), reason=str(error)) from None
    except DirectoryError as error:
        raise auth.IdentityProviderUnavailable(str(error)) from None


# ---- who did it: the signed-in agent is the author --------------------------------------------------------------


def require(agent: SignedInAgent, role: str) -> None:
    """For the few rules that depend on the body (POST /users with role "agent"): the route's role is not enough."""
    if not auth.role_allows(agent.role, role):
        raise Forbidden(N_("This needs the {role} role."), role=role)


def _own_author(agent: SignedInAgent, comment: dict, *also_allowed: object) -> dict:
    author = comment.get("author_id")
    if author is not None and author != agent.user_id and author not in also_allowed:
        raise Forbidden(N_("Comments are posted as the signed-in agent: leave out 'author_id' or send your own id."))
    return {**comment, "author_id": agent.user_id if author is None else author}


def comment_as(agent: SignedInAgent, body: object) -> dict:
    """POST /tickets/{id}/comments: the author is the signed-in agent ('author_id' may be omitted)."""
    return _own_author(agent, validation.body_object(body))


def ticket_as(agent: SignedInAgent, body: object) -> dict:
    """POST /tickets: the first comment is the agent's, or the requester's when the agent opens it on their behalf
    (a phone call); the acting agent is recorded either way."""
    body = validation.body_object(body)
    if not isinstance(body.get("comment"), dict):
        return body  # workspace says what is missing
    return {**body, "comment": _own_author(agent, body["comment"], body.get("requester_id"))}


def recipient_check_as(agent: SignedInAgent, body: object) -> dict:
    """A recipient check writes nothing: it may ask about anyone's comment; without 'author_id', the agent's."""
    body = validation.body_object(body)
    if not isinstance(body.get("comment"), dict) or body["comment"].get("author_id") is not None:
        return body
    return {**body, "comment": {**body["comment"], "author_id": agent.user_id}}


def wants_agent(body: object) -> bool:
    return isinstance(body, dict) and body.get("role") == AGENT


def create_admin(
    table: DeskmailTable, directory: CognitoDirectory, name: str, email: str, now: Clock, password: str | None = None
) -> User:
    """The first admin (scripts/create_admin.py, the local stack): invited like any agent, with a permanent password
    when one is given (otherwise Cognito's invitation email carries a temporary one)."""
    user = invite(table, directory, {"name": name, "email": email, "role": auth.ADMIN}, now)
    if password:
        try:
            directory.set_password(email, password)
        except PasswordRejected as error:
            raise InvalidInput(N_("The password was refused: {reason}"), reason=str(error)) from None
    return user
