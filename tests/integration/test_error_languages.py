"""Issue 17 item 9: a 400 the page can trigger reads in the agent's language throughout, in all five languages
(no English sentence continues after an Italian one: email-validator's own words used to)."""

import re

import pytest

from tests.helpers import Api, open_ticket, people

# Words of the English messages below that none of the four other languages uses.
ENGLISH = re.compile(
    r"\b(valid|address|nothing|before|after|the|is|not|must|least|letters|digits|write|plain|space|too|long|"
    r"search|empty|comment|body)\b",
    re.IGNORECASE,
)
BAD_ADDRESSES = ["rita", "@example.com", "rita@", "ri ta@example.com", "rita@example", "rita(x)@example.com"]


@pytest.fixture
def api(client):
    return Api(client)


def _errors(api, locale):
    """(case, status, Message) for the validation errors the page's forms can cause."""
    who = people(api)
    ticket = open_ticket(api, who)
    user_id = who["requester"]["id"]
    found = []
    for address in BAD_ADDRESSES:
        found.append((address, *api.patch(f"/users/{user_id}?locale={locale}", {"email": address})))
    found.append(("search", *api.get(f"/tickets?q=%20-%20&locale={locale}")))
    found.append(("tag", *api.get(f"/tickets?tag=no%20spaces&locale={locale}")))
    found.append(("since", *api.get(f"/delivery-failures?since=yesterday&locale={locale}")))
    found.append(("resend", *api.post(f"/tickets/{ticket['id']}/comments/nope/resend?locale={locale}", {})))
    return found


def test_english_messages_say_what_is_wrong(api):
    by_case = {case: message for case, _status, message in _errors(api, "en")}
    assert by_case["rita"]["Message"] == "'email' is not a valid email address: it has no @."
    assert by_case["rita@"]["Message"] == "'email' is not a valid email address: there is nothing after the @."
    assert "domain such as example.com" in by_case["rita@example"]["Message"]


@pytest.mark.parametrize("locale", ["it", "de", "es", "fr"])
def test_every_validation_message_is_wholly_in_the_agents_language(api, locale):
    english = {case: body["Message"] for case, _status, body in _errors(api, "en")}
    for case, status, body in _errors(api, locale):
        assert 400 <= status < 500, (case, status, body)
        message = body["Message"]
        assert message != english[case], (locale, case, message)
        assert not ENGLISH.findall(message.replace("'email'", "")), (locale, case, message)
