"""The Chalice API as a WSGI app, through Chalice's own local API Gateway (what `chalice local` serves)."""

from __future__ import annotations

import base64
import os
from http import HTTPStatus
from urllib.parse import quote

PROJECT_DIR = os.path.join(os.path.dirname(__file__), "..", "..")


class ChaliceWsgiApp:
    """Hands each WSGI request to chalice.local.LocalGateway, as `chalice local` does for a socket."""

    def __init__(self, app, stage: str = "dev"):
        from chalice.cli.factory import CLIFactory
        from chalice.local import LocalGateway

        self.gateway = LocalGateway(app, CLIFactory(PROJECT_DIR).create_config_obj(chalice_stage_name=stage))
        self.requests = 0
        self.statuses: dict[int, int] = {}

    def __call__(self, environ, start_response):
        from chalice.local import LocalGatewayException

        self.requests += 1
        # `chalice local` hands the gateway the raw, still-encoded request path: do the same.
        path = quote(environ.get("PATH_INFO") or "/", safe="/:@!$&'()*+,;=-._~")
        if environ.get("QUERY_STRING"):
            path = f"{path}?{environ['QUERY_STRING']}"
        headers = {
            key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")
        }
        if environ.get("CONTENT_TYPE"):
            headers["content-type"] = environ["CONTENT_TYPE"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length > 0 else None
        try:
            response = self.gateway.handle_request(environ["REQUEST_METHOD"], path, headers, body)
            status, response_headers = response["statusCode"], dict(response.get("headers") or {})
            payload = response.get("body") or b""
            if response.get("isBase64Encoded"):
                payload = base64.b64decode(payload)
        except LocalGatewayException as error:
            status, response_headers, payload = error.CODE, dict(error.headers or {}), error.body or b""
        if isinstance(payload, str):
            payload = payload.encode()
        self.statuses[status] = self.statuses.get(status, 0) + 1
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
        start_response(f"{status} {phrase}", [(name, str(value)) for name, value in response_headers.items()])
        return [payload]
