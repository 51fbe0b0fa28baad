from chalicelib.domain import triggers
from chalicelib.domain.model import Comment, Ticket, User

USERS = {
    "req": User("req", "Rita", "end-user", "rita@example.com"),
    "cc1": User("cc1", "Carl", "end-user", "carl@example.com"),
    "noemail": User("noemail", "Nina", "end-user", None),
    "agent": User("agent", "Ada", "agent", "ada@deskmail.example.com"),
}
TICKET = Ticket("t1", "Subject", "req", ("cc1", "noemail"), "agent")


def comment(author="agent", public=True):
    return Comment("c1", "t1", author, USERS[author].name, "body", public, "2026-11-23T08:00:00.000Z")


def fired(evaluations):
    return {e.trigger.id: [(r.user_id, r.header) for r in e.recipients] for e in evaluations if e.fired}


def reasons(evaluations):
    return {e.trigger.id: e.reason for e in evaluations if not e.fired}


def test_public_agent_comment_notifies_requester_and_ccs_but_not_the_authoring_assignee():
    result = triggers.evaluate(triggers.DEFAULT_TRIGGERS, triggers.COMMENT_ADDED, TICKET, comment(), USERS)
    assert fired(result) == {"notify-requester-ccs-comment": [("req", "to"), ("cc1", "cc"), ("noemail", "cc")]}
    assert reasons(result)["notify-assignee-comment"] == triggers.NOT_FIRED_NO_RECIPIENT
    assignee = next(e for e in result if e.trigger.id == "notify-assignee-comment")
    assert assignee.skipped == ({"user_id": "agent", "reason": "author"},)


def test_private_comment_reaches_only_the_assignee():
    result = triggers.evaluate(triggers.DEFAULT_TRIGGERS, triggers.COMMENT_ADDED, TICKET, comment("req", False), USERS)
    assert fired(result) == {"notify-assignee-comment": [("agent", "to")]}
    assert reasons(result)["notify-requester-ccs-comment"] == triggers.NOT_FIRED_PRIVATE_COMMENT


def test_requester_commenting_moves_first_cc_to_the_to_line():
    result = triggers.evaluate(triggers.DEFAULT_TRIGGERS, triggers.COMMENT_ADDED, TICKET, comment("req"), USERS)
    assert fired(result)["notify-requester-ccs-comment"] == [("cc1", "to"), ("noemail", "cc")]


def test_inactive_trigger_sends_nothing_and_says_so():
    states = triggers.with_states({"notify-requester-ccs-comment": False})
    result = triggers.evaluate(states, triggers.COMMENT_ADDED, TICKET, comment(), USERS)
    assert "notify-requester-ccs-comment" not in fired(result)
    assert reasons(result)["notify-requester-ccs-comment"] == triggers.NOT_FIRED_INACTIVE


def test_ticket_creation_fires_only_the_received_request_trigger():
    result = triggers.evaluate(triggers.DEFAULT_TRIGGERS, triggers.TICKET_CREATED, TICKET, comment("req"), USERS)
    assert fired(result) == {"notify-requester-received": [("req", "to")]}
    assert reasons(result) == {
        "notify-requester-ccs-comment": triggers.NOT_FIRED_OTHER_EVENT,
        "notify-assignee-comment": triggers.NOT_FIRED_OTHER_EVENT,
    }


def test_ticket_without_assignee_does_not_fire_assignee_trigger():
    ticket = Ticket("t1", "Subject", "req")
    result = triggers.evaluate(triggers.DEFAULT_TRIGGERS, triggers.COMMENT_ADDED, ticket, comment("req"), USERS)
    assert reasons(result)["notify-assignee-comment"] == triggers.NOT_FIRED_NO_RECIPIENT
    assert reasons(result)["notify-requester-ccs-comment"] == triggers.NOT_FIRED_NO_RECIPIENT
