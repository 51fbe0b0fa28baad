"""Sign-in: which tokens the API accepts (RS256 access tokens of the configured pool and client only), roles per
route, and who is the author of what."""

import json
import os
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from chalicelib import auth
from chalicelib.config import AuthSettings, auth_settings
from tests.helpers import Api, agent_token, open_ticket, people, signed_in_agent
from tests.tokens import KEY, OTHER_KEY, FakeJwksFetcher, access_token, public_jwk

PROTECTED = [
    ("get", "/triggers"),
    ("post", "/users"),
    ("get", "/tickets?tag=x"),
    ("get", "/users/01jd2x7r9m8v3k4q5w6e7t8y9z"),
    ("get", "/me"),
]


def call(client, method, path, authorization=None, body="{}"):
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    return getattr(client.http, method)(path, headers=headers, body=body if method in ("post", "patch") else None)


def status(client, token, method="get", path="/triggers"):
    response = call(client, method, path, f"Bearer {token}")
    return response.status_code, json.loads(response.body) if response.body else None


def test_protected_routes_answer_401_without_a_token(client):
    for method, path in PROTECTED:
        response = call(client, method, path)
        assert response.status_code == 401, path
        assert json.loads(response.body)["Code"] == "UnauthorizedError"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_signed_in_agent_passes_and_health_is_open(client):
    user, token = signed_in_agent("Ada Agent")
    assert status(client, token)[0] == 200
    assert status(client, token, path="/me")[1] == {
        "id": user.id,
        "name": "Ada Agent",
        "email": user.email,
        "locale": None,
        "role": "agent",
    }
    assert call(client, "get", "/health").status_code == 200


def test_tokens_of_another_pool_or_client_are_401(client):
    user, _ = signed_in_agent()
    subject = _subject(user.id)
    other_pool = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_SomeoneElse"
    for token in (access_token(subject, issuer=other_pool), access_token(subject, client_id="another-app-client")):
        code, body = status(client, token)
        assert code == 401 and body["Code"] == "UnauthorizedError", body


def test_an_id_token_is_not_an_access_token(client):
    user, _ = signed_in_agent()
    code, body = status(client, access_token(_subject(user.id), token_use="id"))
    assert code == 401 and "access token" in body["Message"]


def test_hs256_alg_confusion_is_401(client):
    user, _ = signed_in_agent()
    claims = jwt.decode(access_token(_subject(user.id)), options={"verify_signature": False})
    public_pem = KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    jwk_text = json.dumps(public_jwk())
    forged = [
        _hmac(claims, public_pem),  # the classic: the RSA public key (PEM) used as an HMAC secret
        _hmac(claims, jwk_text.encode()),  # the JWKS entry itself as the secret
        _hmac(claims, b"local-development-only-not-a-secret"),  # the shared secret deskmail used to have
        _hmac(claims, b"secret"),
        jwt.encode(claims, None, algorithm="none", headers={"kid": "deskmail-test-key"}),
    ]
    for token in forged:
        code, body = status(client, token)
        assert code == 401, token
    # Unit-level: the verifier refuses before any key is chosen, whatever the JWKS holds.
    with pytest.raises(auth.Unauthenticated, match="RS256"):
        auth.verifier().verify(f"Bearer {forged[0]}")


def test_expired_not_yet_valid_and_unknown_key_are_401(client):
    user, _ = signed_in_agent()
    subject = _subject(user.id)
    now = int(time.time())
    cases = {
        "expired": access_token(subject, ttl=-60),
        "not valid yet": access_token(subject, not_before=now + 600),
        "key the identity provider does not publish": access_token(subject, kid="rotated-away"),
        "not valid": access_token(subject, key=OTHER_KEY),  # right kid, wrong key: the signature fails
    }
    for words, token in cases.items():
        code, body = status(client, token)
        assert code == 401 and words in body["Message"], (words, body)


def test_garbage_authorization_headers_are_401(client):
    for authorization in ("Bearer", "Basic dXNlcjpwYXNz", f"Token {agent_token()}", "Bearer not.a.jwt", "Bearer a"):
        assert call(client, "get", "/triggers", authorization).status_code == 401, authorization


def test_a_valid_token_without_a_deskmail_agent_or_role_is_401(client):
    assert status(client, agent_token())[0] == 401  # a pool user nobody invited to deskmail
    user, _ = signed_in_agent()
    code, body = status(client, access_token(_subject(user.id), role=None))  # in no group
    assert code == 401 and "role" in body["Message"]


def test_an_agent_on_an_admin_route_is_403_saying_which_role(client):
    agent = Api(client)
    cases = [
        ("patch", "/triggers/notify-assignee-comment", {"active": False}),
        ("post", "/agents", {"name": "Eve", "email": "eve@deskmail.example.com"}),
        ("post", "/users", {"name": "Eve", "email": "eve@deskmail.example.com", "role": "agent"}),
        ("patch", f"/agents/{agent.me.id}", {"role": "admin"}),
    ]
    for method, path, body in cases:
        code, payload = agent._call(method, path, body)
        assert code == 403, (path, payload)
        assert payload["Code"] == "ForbiddenError" and payload["RequiredRole"] == "admin"
        assert "admin" in payload["Message"]
    response = client.http.delete("/suppressions/x@example.com", headers={"Authorization": f"Bearer {agent.token}"})
    assert response.status_code == 403
    # In the agent's language (the role name itself stays as the API spells it).
    code, payload = agent._call("patch", "/triggers/notify-assignee-comment?locale=it", {"active": False})
    assert code == 403 and "admin" in payload["Message"] and payload["Message"] != "This needs the admin role."
    # Admins may do what agents may, and the admin routes.
    admin = Api(client, role="admin")
    assert admin.ok("patch", "/triggers/notify-assignee-comment", {"active": False})["active"] is False
    from chalicelib import runtime

    state = runtime.table()._get("TRIGGERS", "TRIGGER#notify-assignee-comment")
    assert (state["updated_by"], state["updated_by_name"]) == (admin.me.id, admin.me.name)
    assert admin.ok("get", "/triggers")["triggers"]


def test_every_route_declares_who_may_call_it(client):
    import app as deskmail

    undeclared = [
        (path, method)
        for path, entries in deskmail.app.routes.items()
        for method in entries
        if method != "OPTIONS" and (path, method) not in deskmail.ROUTE_ROLES
    ]
    assert undeclared == []
    assert set(deskmail.ROUTE_ROLES.values()) <= {auth.AGENT, auth.ADMIN, deskmail.PUBLIC}
    public = {key for key, role in deskmail.ROUTE_ROLES.items() if role == deskmail.PUBLIC}
    assert {path for path, _ in public} == {
        "/health",
        "/",
        "/static/{name}",
        "/static/i18n/{name}",
        "/auth/sign-in",
        "/auth/new-password",
        "/auth/refresh",
        "/files/{token}",  # an emailed download link: its unguessable, expiring token is the authorisation
    }


def test_comments_are_the_signed_in_agents_and_impersonation_is_403(client):
    api = Api(client)
    who = people(api)
    ticket = open_ticket(api, who)
    # author_id left out: the signed-in agent (Ada) is the author.
    created = api.ok("post", f"/tickets/{ticket['id']}/comments", {"body": "On it.", "public": True})
    comment = next(c for c in api.comments(ticket["id"]) if c["id"] == created["id"])
    assert comment["author_id"] == who["agent"]["id"]
    for someone_else in (who["requester"]["id"], Api(client).me.id):
        code, body = api.post(
            f"/tickets/{ticket['id']}/comments", {"author_id": someone_else, "body": "Not me.", "public": True}
        )
        assert code == 403 and body["Code"] == "ForbiddenError", body
    assert len(api.comments(ticket["id"])) == 2  # nothing was written by the refused attempts


def test_a_ticket_on_a_customers_behalf_records_the_acting_agent(client):
    api = Api(client)
    who = people(api)
    ticket = open_ticket(api, who)  # comment.author_id = the requester: a phone call
    created = next(
        e for e in api.ok("get", f"/tickets/{ticket['id']}/events")["events"] if e["type"] == "ticket_created"
    )
    assert created["author_id"] == who["requester"]["id"]
    assert (created["agent_id"], created["agent_name"]) == (who["agent"]["id"], "Ada Agent")
    body = {
        "subject": "Not yours",
        "requester_id": who["requester"]["id"],
        "comment": {"author_id": who["cc"]["id"], "body": "x", "public": True},
    }
    assert api.post("/tickets", body)[0] == 403


def test_tag_changes_name_the_agent(client):
    api = Api(client)
    who = people(api)
    ticket = open_ticket(api, who)
    api.ok("put", f"/tickets/{ticket['id']}/tags", {"tags": ["vip"]})
    events = api.ok("get", f"/tickets/{ticket['id']}/events")["events"]
    added = next(e for e in events if e["type"] == "tag_added")
    assert (added["agent_id"], added["agent_name"], added["by"]) == (who["agent"]["id"], "Ada Agent", "agent")


def test_admins_invite_change_roles_and_disable_agents(client):
    admin = Api(client, role="admin")
    invited = admin.ok("post", "/agents", {"name": "Bob Agent", "email": "bob@deskmail.example.com"})
    assert (invited["role"], invited["disabled"], invited["email"]) == ("agent", False, "bob@deskmail.example.com")
    assert _cognito_user("bob@deskmail.example.com")["groups"] == ["agents"]
    bob = Api(client).sign_in_as(invited)
    assert bob.ok("get", "/me")["id"] == invited["id"]
    assert admin.post("/agents", {"name": "Bob Again", "email": "bob@deskmail.example.com"})[0] == 409

    promoted = admin.ok("patch", f"/agents/{invited['id']}", {"role": "admin"})
    assert promoted["role"] == "admin" and _cognito_user("bob@deskmail.example.com")["groups"] == ["admins"]
    # Demoted in deskmail: an older token that still lists "admins" gets the agent role at once.
    admin.ok("patch", f"/agents/{invited['id']}", {"role": "agent"})
    code, body = bob.sign_in_as(invited, role="admin").patch("/triggers/notify-assignee-comment", {"active": True})
    assert code == 403

    admin.ok("patch", f"/agents/{invited['id']}", {"disabled": True})
    assert _cognito_user("bob@deskmail.example.com")["enabled"] is False
    code, body = bob.get("/me")
    assert code == 401 and "disabled" in body["Message"]  # the same, still unexpired token: refused at once
    admin.ok("patch", f"/agents/{invited['id']}", {"disabled": False})
    assert bob.get("/me")[0] == 200
    for bad in ({"role": "boss"}, {"disabled": "yes"}, {"name": "x"}, {}):
        assert admin.patch(f"/agents/{invited['id']}", bad)[0] == 400, bad
    assert admin.patch("/agents/01jd2x7r9m8v3k4q5w6e7t8y9z", {"disabled": True})[0] == 404


def test_the_jwks_is_cached_and_an_unknown_kid_refetches_once(client):
    fetcher = FakeJwksFetcher()
    verifier = auth.TokenVerifier(auth_settings(), fetch=fetcher)
    token = access_token("someone")
    for _ in range(3):
        assert verifier.verify(f"Bearer {token}").role == "agent"
    assert len(fetcher.urls) == 1
    for kid in ("made-up-1", "made-up-2", "made-up-3"):
        with pytest.raises(auth.Unauthenticated):
            verifier.verify(f"Bearer {access_token('someone', kid=kid)}")
    assert len(fetcher.urls) == 1  # within the refetch interval: made-up kids cost no fetch
    verifier.jwks.fetched_at -= auth.REFETCH_INTERVAL_SECONDS
    fetcher.keys.append(public_jwk(OTHER_KEY, "rotated-in"))
    assert verifier.verify(f"Bearer {access_token('someone', key=OTHER_KEY, kid='rotated-in')}").subject == "someone"
    assert len(fetcher.urls) == 2


def test_other_oidc_issuers_need_aud_and_read_the_configured_role_claim():
    settings = AuthSettings(
        issuer="https://example.okta.com/oauth2/default",
        jwks_url="https://example.okta.com/oauth2/default/v1/keys",
        audience="api://deskmail",
        role_claim="groups",
    )
    verifier = auth.TokenVerifier(settings, fetch=FakeJwksFetcher())
    now = int(time.time())
    claims = {"iss": settings.issuer, "sub": "00u1", "aud": "api://deskmail", "exp": now + 60, "groups": ["Admins"]}
    identity = verifier.verify(f"Bearer {_rs256(claims)}")
    assert (identity.subject, identity.role) == ("00u1", "admin")
    with pytest.raises(auth.Unauthenticated, match="another application"):
        verifier.verify(f"Bearer {_rs256({**claims, 'aud': 'the-spa-client-id'})}")  # e.g. an id token
    with pytest.raises(auth.Unauthenticated):
        verifier.verify(f"Bearer {_rs256({k: v for k, v in claims.items() if k != 'aud'})}")


def _rs256(claims):
    return jwt.encode(claims, KEY, algorithm="RS256", headers={"kid": "deskmail-test-key"})


def _hmac(claims, secret):
    import base64
    import hashlib
    import hmac

    # PyJWT refuses to HMAC with a PEM key, so forge by hand what an attacker would send.
    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "deskmail-test-key"}).encode())
    payload = b64(json.dumps(claims).encode())
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


def _subject(user_id):
    from chalicelib import runtime

    return runtime.table().get_agent_account_of_user(user_id)["subject"]


def _cognito_user(email):
    import boto3

    cognito = boto3.client("cognito-idp")
    pool = auth_settings().user_pool_id
    user = cognito.admin_get_user(UserPoolId=pool, Username=email)
    groups = cognito.admin_list_groups_for_user(UserPoolId=pool, Username=user["Username"])["Groups"]
    return {"enabled": user["Enabled"], "groups": sorted(g["GroupName"] for g in groups)}


@pytest.mark.parametrize("name", ["Eve\r\nBcc: x@example.com", "Eve\x85Bcc", "Eve\u2028x", "=?utf-8?q?Eve?="])
def test_an_agent_name_that_could_reach_a_header_is_a_400_before_the_identity_provider(client, name):
    import boto3

    admin = Api(client, role="admin")
    pool = os.environ["DESKMAIL_COGNITO_USER_POOL_ID"]
    before = boto3.client("cognito-idp").list_users(UserPoolId=pool)["Users"]
    status, body = admin.post("/agents", {"name": name, "email": "eve@deskmail.example.com"})
    assert status == 400 and "'name'" in body["Message"], body
    assert boto3.client("cognito-idp").list_users(UserPoolId=pool)["Users"] == before  # nothing half-made
