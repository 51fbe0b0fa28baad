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


# ---- hostile input: refused before Cognito is called, with the field named; Cognito's refusals never a 5xx -------

# Each is a value Cognito could not use as a username, a session or a refresh token (its username pattern is
# [\p{L}\p{M}\p{S}\p{N}\p{P}]+, at most 128 characters).
NOT_ONE_WORD = ["a b", "nia@deskmail.example.com\r\nBcc: a@b.c", "\x00", "\t", "x\u2028", "x\u0085", "\u202e", "\ufeff"]
NOT_A_PASSWORD = ["\x00", "Passw0rd\r\n", "a\nb", "x\u2028y", "x\u2029", "x\u0085", "\x1b[31m", "x" * 257]
SIGN_IN_FIELDS = {
    "/auth/sign-in": ("username", "password"),
    "/auth/new-password": ("username", "session", "new_password"),
    "/auth/refresh": ("refresh_token",),
}
VALID = {
    "username": "nia@deskmail.example.com",
    "password": "Some-Passw0rd",
    "session": "0123456789abcdef0123456789abcdef",
    "new_password": CHOSEN,
    "refresh_token": "0123456789abcdef0123456789abcdef",
}


class NoDirectory:
    """Fails the test if the directory is asked: refused input must never reach Cognito."""

    def __getattr__(self, name):
        raise AssertionError(f"Cognito was called ({name}) with input it should never have seen")


def _hostile_cases():
    for path, fields in SIGN_IN_FIELDS.items():
        for field in fields:
            values = NOT_A_PASSWORD if field.endswith("password") else NOT_ONE_WORD + ["x" * 4097]
            for value in ["", None, 7, *values]:
                yield path, field, value


def test_hostile_credentials_are_400s_naming_the_field_and_never_reach_cognito(client, monkeypatch):
    monkeypatch.setattr(runtime, "directory", lambda: NoDirectory())
    for path, field, value in _hostile_cases():
        body = {name: VALID[name] for name in SIGN_IN_FIELDS[path]} | {field: value}
        status, answer = post(client, path, body)
        assert status == 400 and f"'{field}'" in answer["Message"], (path, field, value, status, answer)


def test_lengths_follow_cognito_limits():
    from chalicelib import validation
    from chalicelib.errors import InvalidInput

    for field, limit in {"username": 128, "password": 256, "session": 2048, "refresh_token": 4096}.items():
        assert validation.credential({field: "x" * limit}, field) == "x" * limit
        try:
            validation.credential({field: "x" * (limit + 1)}, field)
        except InvalidInput as error:
            assert error.params == {"field": field, "max_length": limit}
        else:
            raise AssertionError(f"{field} of {limit + 1} characters was accepted")
    # What is a legitimate password stays one: spaces inside, any script, emoji joined by U+200D.
    for password in ("correct horse battery staple", "Pässwörd-日本-🏳️‍🌈", "\u202eabc"):
        assert validation.credential({"password": password}, "password") == password


def test_hostile_but_usable_values_reach_cognito_and_get_its_401_not_a_503(client):
    """Values Cognito can take but that match nothing: wrong, unknown, expired: every one a 401."""
    agents.invite(runtime.table(), runtime.directory(), {"name": "Nia", "email": VALID["username"]}, utc_now, TEMPORARY)
    status, challenge = post(client, "/auth/sign-in", {"username": VALID["username"], "password": TEMPORARY})
    session = challenge["session"]
    odd = ['"><script>', "Subj=?utf-8?q?x=0D=0ABcc:_a@b.c?=", "𝕏" * 70, "x" * 128]
    for value in odd:
        assert post(client, "/auth/sign-in", {"username": value, "password": "x"})[0] == 401, value
        assert post(client, "/auth/refresh", {"refresh_token": value})[0] == 401, value
        body = {"username": VALID["username"], "session": value, "new_password": CHOSEN}
        assert post(client, "/auth/new-password", body)[0] == 401, value  # an unknown session
    # The username must be the session's: another user's name is refused, and the session still works after.
    body = {"username": "who@deskmail.example.com", "session": session, "new_password": CHOSEN}
    assert post(client, "/auth/new-password", body)[0] == 401
    body = {"username": VALID["username"], "session": session, "new_password": "short"}
    status, answer = post(client, "/auth/new-password", body)
    assert status == 400 and answer["Message"].startswith("The password was refused: ")
    assert "An error occurred" not in answer["Message"]  # Cognito's sentence, not botocore's wrapper
    body = {"username": VALID["username"], "session": session, "new_password": CHOSEN}
    assert post(client, "/auth/new-password", body)[0] == 200
    # Found by the live fuzz: a session used once answered 503 ("the identity provider cannot be reached").
    status, answer = post(client, "/auth/new-password", body)
    assert status == 401 and answer["Code"] == "UnauthorizedError"
