"""Logs carry what finds a message (ids, masked addresses), never a full recipient address or an email's text."""

from __future__ import annotations

import json
import logging
import time

import pytest

from chalicelib.adapters.dynamo import RAW_RETENTION_SECONDS
from chalicelib.observability import logger, mask_address
from tests import ses_payloads as ses
from tests.helpers import Api, message_ids, open_ticket, people
from tests.reliability.scenario import CARL, RITA, feed, table_items

STRANGER = "stranger.danger@example.org"
SECRET_TEXT = "the door code is 4711 and my passport number is X1234567"


@pytest.fixture
def debug_logging():
    """Everything the service can log, DEBUG included, as an operator who turned it up would see it."""
    level = logger.log_level
    logger.setLevel(logging.DEBUG)
    yield
    logger.setLevel(level)


def test_logs_name_no_recipient_and_quote_no_email_text(client, capfd, caplog, debug_logging):
    # botocore's own DEBUG wire log prints request bodies; it is off in Lambda and is not the service's logging.
    caplog.set_level(logging.DEBUG, logger="aws_lambda_powertools")
    api = Api(client)
    who = people(api)
    ticket = open_ticket(api, who)
    api.ok(
        "post",
        f"/tickets/{ticket['id']}/comments",
        {"author_id": who["agent"]["id"], "body": SECRET_TEXT, "public": True},
    )
    reply = api.comments(ticket["id"])[1]
    message_id = message_ids(reply)[RITA]
    malformed = json.dumps(
        {"eventType": "Bounce", "bounce": "550 user unknown", "mail": {"messageId": message_id, "destination": [RITA]}}
    )
    started = int(time.time())
    response, event = feed(
        client,
        [
            ses.bounce(message_id, [RITA, CARL], [ses.hard_bounce_recipient(CARL)]),
            malformed,
            # SES names an address deskmail did not send to: logged (masked) so the message can still be found.
            ses.bounce(message_id, [RITA, CARL], [ses.hard_bounce_recipient(STRANGER)]),
            ses.delivery("0100-never-sent-by-deskmail", [RITA]),  # unknown message: warned about, retried
        ],
    )
    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [event["Records"][3]["messageId"]]

    # capfd, not capsys: Powertools' handler keeps the sys.stdout it found at import, so only fd capture sees it.
    captured = capfd.readouterr()
    service_records = [r for r in caplog.records if r.name.startswith(("deskmail", "aws_lambda_powertools"))]
    logged = "\n".join([captured.out, captured.err, *(json.dumps(r.__dict__, default=str) for r in service_records)])
    assert "malformed SES feedback kept for inspection" in logged  # the capture did see the service's logs
    assert message_id in logged or "0100-never-sent-by-deskmail" in logged  # ids are logged: they find the message
    for address in (RITA, CARL, STRANGER, who["agent"]["email"]):
        assert address not in logged, f"{address} appears in the logs"
    assert mask_address(STRANGER) in logged  # "s***@example.org": enough to find it, not to read it back
    assert SECRET_TEXT not in logged and "4711" not in logged

    # The unreadable record is kept for inspection, and expires (DynamoDB TTL on expires_at) after ~30 days.
    (raw,) = [item for item in table_items() if item["PK"]["S"].startswith("RAW#")]
    assert raw["SK"]["S"] == event["Records"][1]["messageId"]
    expires_in = int(raw["expires_at"]["N"]) - started
    assert RAW_RETENTION_SECONDS == 30 * 24 * 3600
    assert RAW_RETENTION_SECONDS - 5 <= expires_in <= RAW_RETENTION_SECONDS + 60


def test_mask_address_keeps_the_domain_and_one_letter():
    assert mask_address("rita.requester@example.com") == "r***@example.com"
    assert mask_address(None) is None and mask_address("not-an-address") == "not-an-address"
