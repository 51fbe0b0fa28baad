"""What the local SES simulator publishes, fed to the real feedback handler on moto: both feedback sources of the
deployed stack (configuration-set events and the identity's notifications) must make the same records as one."""

import json
from datetime import UTC, datetime

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from deskmail_local import simulator
from tests.helpers import Api, feed, message_ids, open_ticket, people
from tests.reliability.scenario import restore_table, table_items


def envelope(message: str, subject: str | None) -> str:
    document = {"Type": "Notification", "MessageId": "x", "TopicArn": "arn:aws:sns:us-east-1:1:t", "Message": message}
    if subject:
        document["Subject"] = subject
    return json.dumps(document)


@pytest.fixture
def sent_to_simulator(client):
    """A ticket whose agent reply went to a bouncing requester and a complaining CC in one SES message."""
    api = Api(client)
    who = people(api, domain="simulator.amazonses.com")
    rita = api.user("Rita", "bounce@simulator.amazonses.com")
    carl = api.user("Carl", "complaint@simulator.amazonses.com")
    who.update(requester=rita, cc=carl)
    ticket = open_ticket(api, who)
    api.ok("post", f"/tickets/{ticket['id']}/comments", {"author_id": who["agent"]["id"], "body": "Hi", "public": True})
    message_id = message_ids(api.comments(ticket["id"])[1])["bounce@simulator.amazonses.com"]
    (raw,) = [m for m in ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages if m.id == message_id]
    message = simulator.SentMessage.from_moto(raw, datetime.now(UTC))
    return api, ticket, message


def test_identity_notifications_beside_the_events_change_no_record(client, sent_to_simulator):
    api, ticket, message = sent_to_simulator
    events = simulator.events_for(message, "deskmail-dev", "us-east-1", DEFAULT_ACCOUNT_ID)
    event_bodies = [envelope(simulator.sns_message(e), simulator.EVENT_SUBJECT) for e in events]
    # What the deployed stack's identity topics send (Bounce, Complaint), and Delivery too where that topic is set.
    notifications = [n for n in (simulator.identity_notification(e) for e in events) if n is not None]
    assert [n["notificationType"] for n in notifications] == ["Delivery", "Bounce", "Complaint"]
    notification_bodies = [envelope(json.dumps(n), None) for n in notifications]
    before = table_items()

    assert feed(client, *event_bodies)[0] == {"batchItemFailures": []}
    events_only = table_items()
    timeline = api.ok("get", f"/tickets/{ticket['id']}/events")["events"]
    restore_table(before)

    # Both sources, interleaved as SNS may deliver them: the identity copy of each first, then the events.
    assert feed(client, *notification_bodies, *event_bodies)[0] == {"batchItemFailures": []}
    assert table_items() == events_only
    assert api.ok("get", f"/tickets/{ticket['id']}/events")["events"] == timeline
    assert [e["type"] for e in timeline].count("email_delivery_failure") == 1
    assert [e["type"] for e in timeline].count("email_complaint") == 1
