"""The page is same-origin: no route answers with CORS headers that would let another site's script call the API."""

from tests.helpers import Api


def test_no_route_sends_cors_headers(client):
    from app import app

    assert all(not route.cors for methods in app.routes.values() for route in methods.values())
    api = Api(client)
    response = client.http.get(
        "/tickets/0123456789abcdefghijklmnop",
        headers={"Authorization": f"Bearer {api.token}", "Origin": "https://elsewhere.example"},
    )
    assert response.status_code == 404 and "Access-Control-Allow-Origin" not in response.headers
