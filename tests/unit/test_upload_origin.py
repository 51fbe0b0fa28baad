"""The presigned upload's origin is the one origin the page's CSP allows (issue 18): the stack sets
DESKMAIL_ATTACHMENTS_ORIGIN to https://<bucket>.s3.<region>.amazonaws.com, and the presigner must produce exactly
that (botocore's default is the global endpoint, which redirects a browser's POST outside us-east-1)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from chalicelib import runtime, web


@pytest.fixture
def region_env(monkeypatch):
    def use(region: str):
        monkeypatch.setenv("AWS_REGION", region)
        monkeypatch.setenv("AWS_DEFAULT_REGION", region)
        monkeypatch.setenv("DESKMAIL_ATTACHMENTS_BUCKET", "deskmail-attachments-prod-123456789012")
        monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
        runtime.reset()

    yield use
    runtime.reset()


@pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "ap-southeast-2"])
def test_presigned_uploads_and_downloads_use_the_origin_the_csp_allows(region_env, monkeypatch, region):
    region_env(region)
    files = runtime.files()
    upload = files.presigned_upload("attachments/t/a", 10, 60)
    download = files.presigned_download("attachments/t/a", "attachment", "text/plain", 60)
    stack_origin = f"https://deskmail-attachments-prod-123456789012.s3.{region}.amazonaws.com"  # deskmail_stack.py
    for url in (upload["url"], download):
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}" == stack_origin, url
    monkeypatch.setenv(web.UPLOAD_ORIGIN_ENV, stack_origin)
    assert f"connect-src 'self' {stack_origin};" in web.content_security_policy()


def test_a_local_endpoint_keeps_path_style_urls_on_its_own_origin(region_env, monkeypatch):
    region_env("us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5999")
    url = runtime.files().presigned_upload("attachments/t/a", 10, 60)["url"]
    assert url == "http://127.0.0.1:5999/deskmail-attachments-prod-123456789012"
