"""The workspace page's assets: a whitelist, content types, the version stamped into the shell, UI strings."""

import json

from chalicelib import web


def test_only_whitelisted_names_are_served_with_their_types():
    assert web.asset("app.js")[1].startswith("text/javascript")
    assert web.asset("app.css")[1].startswith("text/css")
    assert web.asset("warning.svg")[1] == "image/svg+xml"
    assert web.asset("i18n/de.json")[1].startswith("application/json")
    for name in ("../app.py", "__init__.py", "i18n/xx.json", "", "APP.JS", "static/app.js"):
        assert web.asset(name) is None


def test_the_shell_names_versioned_assets_and_is_not_cached():
    body, content_type = web.asset("index.html")
    assert content_type.startswith("text/html")
    assert f"static/app.js?v={web.version()}".encode() in body and b"{{version}}" not in body
    assert web.headers("index.html")["Cache-Control"] == "no-cache"
    assert "max-age" in web.headers("app.js")["Cache-Control"]


def test_every_language_has_every_ui_string():
    strings = {locale: json.loads(web.asset(f"i18n/{locale}.json")[0]) for locale in web.UI_LOCALES}
    for locale, table in strings.items():
        assert table.keys() == strings["en"].keys(), locale
        assert all(value.strip() for value in table.values()), locale
    assert strings["it"]["delivery_failed"] == "Recapito non riuscito"


def test_every_counted_string_has_a_singular_form():
    """Plural rules everywhere (issue 17 item 9, "1 emails sent"): a string with {count} has its `_one` form, which
    i18n.js picks by Intl.PluralRules. A count shown as "12+" (ticket_count_more) is never one."""
    never_one = {"ticket_count_more"}
    for locale in web.UI_LOCALES:
        table = json.loads(web.asset(f"i18n/{locale}.json")[0])
        counted = {key for key, value in table.items() if "{count}" in value and not key.endswith("_one")}
        missing = sorted(key for key in counted - never_one if f"{key}_one" not in table)
        assert missing == [], (locale, missing)


def test_every_module_is_served_and_imports_its_siblings_at_the_release_version():
    import re

    assert {"app.js", "api.js", "dom.js", "conversation.js", "events.js", "inbox.js", "compose.js"} <= set(web.MODULES)
    imports = re.compile(r'^import [^;]* from "([^"]+)";', re.M)
    for name in web.MODULES:
        body, content_type = web.asset(name)
        assert content_type.startswith("text/javascript"), name
        assert b"{{version}}" not in body, name
        for target in imports.findall(body.decode()):
            # One URL per module: an import without the version would load a second copy with its own state.
            module, _, version = target.partition("?v=")
            assert module.startswith("./") and module[2:] in web.MODULES and version == web.version(), (name, target)


def test_the_shell_may_connect_to_its_own_origin_and_the_configured_upload_origin_only(monkeypatch):
    monkeypatch.delenv(web.UPLOAD_ORIGIN_ENV, raising=False)
    assert "connect-src 'self';" in web.headers("index.html")["Content-Security-Policy"]
    origin = "https://deskmail-attachments-prod-123456789012.s3.eu-west-1.amazonaws.com"
    monkeypatch.setenv(web.UPLOAD_ORIGIN_ENV, origin + "/")
    policy = web.headers("index.html")["Content-Security-Policy"]
    assert f"connect-src 'self' {origin};" in policy
    # Forms still post nowhere (the upload is a fetch), and no other asset carries a policy of its own.
    assert "form-action 'none'" in policy and "default-src 'none'" in policy
    assert "Content-Security-Policy" not in web.headers("app.js")
    monkeypatch.setenv(web.UPLOAD_ORIGIN_ENV, "http://127.0.0.1:5101")
    assert "connect-src 'self' http://127.0.0.1:5101;" in web.headers("index.html")["Content-Security-Policy"]


def test_an_upload_origin_that_would_widen_the_policy_is_refused(monkeypatch):
    import pytest

    for bad in (
        "*",
        "https://*.amazonaws.com",
        "https://a.example; script-src *",
        "http://evil.example",
        "https://bucket.s3.amazonaws.com/path",
        "https://a.example 'unsafe-inline'",
    ):
        monkeypatch.setenv(web.UPLOAD_ORIGIN_ENV, bad)
        with pytest.raises(ValueError):
            web.headers("index.html")
