"""The page's sign-in on moto's Cognito: password, the first sign-in's new-password challenge, refresh; the tokens
the pool issues are the ones the API then accepts (checked against moto's own JWKS)."""

import gzip
import json
from pathlib import Path

import moto.cognitoidp

from chalicelib import auth, runtime
from chalicelib.config import auth_settings
from chalicelib.ids import utc_now
from chalicelib.services import agents

MOTO_JWKS = Path(moto.cognitoidp.__file__).parent / "resources" / "jwks-public.json.gz"
TEMPORARY = "Temporary-Passw0rd"
CHOSEN = "Chosen-Passw0rd-2026"


def post(client, path, body, token=None):
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    response = client.http.post(path, headers=headers, body=json.dumps(body))
    return response.status_code, json.loads(response.body)


def get(client, path, token):
    response = client.http.get(path, headers={"Authorization": f"Bearer {token}"})
    return response.status_code, json.loads(response.body)


def test_first_sign_in_sets_a_password_then_tokens_work_and_refresh(client):
    auth.use_verifier(
        auth.TokenVerifier(auth_settings(), fetch=lambda url: json.loads(gzip.decompress(MOTO_JWKS.read_bytes())))
    )
    body = {"name": "Nia New", "email": "nia@deskmail.example.com"}
    user = agents.invite(runtime.table(), runtime.directory(), body, utc_now, temporary_password=TEMPORARY)

    status, challenge = post(client, "/auth/sign-in", {"username": "nia@deskmail.example.com", "password": TEMPORARY})
    assert status == 200 and challenge["challenge"] == "NEW_PASSWORD_REQUIRED" and challenge["session"]
    status, tokens = post(
        client,
        "/auth/new-password",
        {"username": "nia@deskmail.example.com", "session": challenge["session"], "new_password": CHOSEN},
    )
    assert status == 200 and tokens["access_token"] and tokens["refresh_token"]
    assert get(client, "/me", tokens["access_token"]) == (
        200,
        {"id": user.id, "name": "Nia New", "email": "nia@deskmail.example.com", "locale": None, "role": "agent"},
    )
    # The pool's id token is no access token.
    assert get(client, "/me", tokens["id_token"])[0] == 401

    status, renewed = post(client, "/auth/refresh", {"refresh_token": tokens["refresh_token"]})
    assert status == 200 and renewed["access_token"] and get(client, "/me", renewed["access_token"])[0] == 200

    status, again = post(client, "/auth/sign-in", {"username": "nia@deskmail.example.com", "password": CHOSEN})
    assert status == 200 and again["access_token"]


def test_wrong_passwords_and_unknown_users_get_the_same_401(client):
    agents.invite(
        runtime.table(),
        runtime.directory(),
        {"name": "Nia", "email": "nia@deskmail.example.com"},
        utc_now,
        temporary_password=TEMPORARY,
    )
    wrong = post(client, "/auth/sign-in", {"username": "nia@deskmail.example.com", "password": "Wrong-Passw0rd"})
    unknown = post(client, "/auth/sign-in", {"username": "who@deskmail.example.com", "password": "Wrong-Passw0rd"})
    assert wrong[0] == unknown[0] == 401 and wrong[1] == unknown[1]
    assert post(client, "/auth/refresh", {"refresh_token": "not-one"})[0] == 401
    for body in ({}, {"username": "x"}, {"username": "", "password": "y"}, []):
        assert post(client, "/auth/sign-in", body)[0] == 400, body
    # No CORS on the sign-in calls: the page is same-origin.
    response = client.http.post(
        "/auth/sign-in",
        headers={"Content-Type": "application/json", "Origin": "https://evil.example"},
        body=json.dumps({"username": "nia@deskmail.example.com", "password": "x"}),
    )
    assert "Access-Control-Allow-Origin" not in response.headers
