import jwt

from tests.helpers import Api, agent_token

PROTECTED = [
    ("get", "/triggers"),
    ("post", "/users"),
    ("get", "/tickets?tag=x"),
    ("get", "/users/01jd2x7r9m8v3k4q5w6e7t8y9z"),
]


def call(client, method, path, authorization=None):
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    body = "{}" if method == "post" else None
    return getattr(client.http, method)(path, headers=headers, body=body)


def test_protected_routes_answer_401_without_a_token(client):
    for method, path in PROTECTED:
        response = call(client, method, path)
        assert response.status_code == 401, path
        assert b"UnauthorizedError" in response.body


def test_bad_expired_or_foreign_tokens_are_401(client):
    expired = agent_token(ttl_seconds=-10)
    wrong_key = jwt.encode(
        {"sub": "x", "iss": "deskmail", "aud": "deskmail-agents", "exp": 4102444800}, "other", algorithm="HS256"
    )
    none_alg = jwt.encode(
        {"sub": "x", "iss": "deskmail", "aud": "deskmail-agents", "exp": 4102444800}, None, algorithm="none"
    )
    import os

    wrong_audience = jwt.encode(
        {"sub": "x", "iss": "deskmail", "aud": "someone-else", "exp": 4102444800},
        os.environ["DESKMAIL_JWT_SECRET"],
        algorithm="HS256",
    )
    for authorization in (
        f"Bearer {expired}",
        f"Bearer {wrong_key}",
        f"Bearer {none_alg}",
        f"Bearer {wrong_audience}",
        "Bearer",
        "Basic dXNlcjpwYXNz",
        f"Token {agent_token()}",
    ):
        response = call(client, "get", "/triggers", authorization)
        assert response.status_code == 401, authorization
    assert b"expired" in call(client, "get", "/triggers", f"Bearer {expired}").body


def test_valid_token_passes_and_health_is_open(client):
    assert call(client, "get", "/triggers", f"Bearer {agent_token()}").status_code == 200
    assert call(client, "get", "/health").status_code == 200
    assert Api(client).ok("get", "/health") == {"status": "ok"}
