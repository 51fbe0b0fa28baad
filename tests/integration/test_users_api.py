from tests.helpers import Api


def test_create_get_and_fix_a_typo_in_an_address(client):
    api = Api(client)
    user = api.user("Rita", "Rita@GMIAL.com", locale="it")
    assert user["email"] == "Rita@gmial.com" and user["locale"] == "it" and user["role"] == "end-user"
    assert api.ok("get", f"/users/{user['id']}") == {
        **user,
        "deliverability": {
            "state": "ok",
            "since": None,
            "category": None,
            "smtp_status": None,
            "smtp_code": None,
            "reason": None,
        },
    }
    assert user["email_suggestion"] == "Rita@gmail.com"  # a likely typo, offered on the page (issue 17 item 8)
    fixed = api.ok("patch", f"/users/{user['id']}", {"email": "rita@gmail.com"})
    assert fixed["email"] == "rita@gmail.com" and fixed["email_suggestion"] is None
    assert api.ok("get", f"/users/{user['id']}")["email"] == "rita@gmail.com"


def test_end_user_may_have_no_address_but_an_agent_must(client):
    api = Api(client)
    assert api.user("Nina")["email"] is None
    status, body = Api(client, role="admin").post("/users", {"name": "Ada", "role": "agent"})
    assert status == 400 and "email" in body["Message"]


def test_only_an_admin_creates_agent_users(client):
    status, body = Api(client).post("/users", {"name": "Ada", "email": "ada@deskmail.example.com", "role": "agent"})
    assert status == 403 and body["Code"] == "ForbiddenError" and body["RequiredRole"] == "admin"
    agent = Api(client, role="admin").user("Ada", "ada@deskmail.example.com", role="agent")
    assert agent["role"] == "agent"
    # It is a real agent: invited to the user pool and able to sign in as herself.
    assert Api(client).sign_in_as(agent).ok("get", "/me") == {
        "id": agent["id"],
        "name": "Ada",
        "email": "ada@deskmail.example.com",
        "locale": None,
        "role": "agent",
    }


def test_bad_input_is_a_400_with_a_readable_message(client):
    api = Api(client)
    cases = [
        ({"name": "X", "role": "boss"}, "role"),
        ({"role": "end-user"}, "name"),
        ({"name": "X", "role": "end-user", "email": "not-an-address"}, "email"),
        ({"name": "X", "role": "end-user", "email": 42}, "email"),
        ({"name": "X", "role": "end-user", "locale": "xx"}, "locale"),
        ([1, 2], "JSON object"),
    ]
    for body, word in cases:
        status, payload = api.post("/users", body)
        assert status == 400, body
        assert payload["Code"] == "BadRequestError" and word in payload["Message"], payload


def test_invalid_json_body_is_a_400(client):
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {Api(client).token}"}
    response = client.http.post("/users", headers=headers, body="{nope")
    assert response.status_code == 400


def test_patch_validates_the_new_address_and_unknown_fields(client):
    api = Api(client)
    user = api.user("Rita", "rita@example.com")
    status, payload = api.patch(f"/users/{user['id']}", {"email": "rita@@example.com"})
    assert status == 400 and "email" in payload["Message"]
    status, payload = api.patch(f"/users/{user['id']}", {"role": "agent"})
    assert status == 400 and "role" in payload["Message"]
    status, payload = api.patch(f"/users/{user['id']}", {})
    assert status == 400


def test_unknown_user_is_404(client):
    api = Api(client)
    for path in ("/users/01jd2x7r9m8v3k4q5w6e7t8y9z", "/users/not-an-id"):
        status, payload = api.get(path)
        assert status == 404 and payload["Code"] == "NotFoundError"
    status, _ = api.patch("/users/01jd2x7r9m8v3k4q5w6e7t8y9z", {"email": "a@example.com"})
    assert status == 404


def test_health(client):
    assert Api(client).ok("get", "/health") == {"status": "ok"}
