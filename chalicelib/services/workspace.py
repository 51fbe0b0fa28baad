"""Use cases of the agent workspace: users, tickets, comments and the notifications their triggers send."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import timedelta

from chalicelib import validation
from chalicelib.adapters import dynamo
from chalicelib.adapters.dynamo import DeskmailTable, WriteConflict
from chalicelib.adapters.files import FileStore
from chalicelib.adapters.ses import SesMailer
from chalicelib.addresses import validated_address
from chalicelib.config import Settings
from chalicelib.domain import attachments as attachment_rules
from chalicelib.domain import classification, deliverability, rendering, search, threads, triggers
from chalicelib.domain import outbox as outbox_states
from chalicelib.domain.messages import (
    OutgoingEmail,
    addresses,
    notification_message_id,
    thread_root_id,
)
from chalicelib.domain.model import (
    AGENT,
    FAILURE_TAG,
    NOT_SENT,
    ROLES,
    Attachment,
    Comment,
    Notification,
    Recipient,
    Ticket,
    User,
)
from chalicelib.domain.outbox import OutboxEntry
from chalicelib.errors import Conflict, InvalidInput, NotFound
from chalicelib.i18n import N_, SUPPORTED_LOCALES
from chalicelib.ids import new_id, stable_id
from chalicelib.services import attachments, notification_emails, outbox
from chalicelib.services.failures import EVENT_TAG_ADDED, EVENT_TAG_REMOVED
from chalicelib.services.outbox import EVENT_NOTIFICATION_NOT_SENT, EVENT_NOTIFICATION_SENT  # noqa: F401 (views)
from chalicelib.services.rate_limits import NotificationBrake

Clock = Callable[[], str]

EVENT_TICKET_CREATED = "ticket_created"
EVENT_COMMENT_ADDED = "comment_added"


# ---- users ---------------------------------------------------------------------------------------------------------


def _locale(body: dict) -> str | None:
    locale = validation.optional_text(body, "locale", 10)
    if locale is not None and locale.lower() not in SUPPORTED_LOCALES:
        raise InvalidInput(
            N_("'{field}' must be one of {choices}."), field="locale", choices=", ".join(SUPPORTED_LOCALES)
        )
    return locale.lower() if locale else None


def create_user(table: DeskmailTable, body: object, now: Clock) -> User:
    body = validation.body_object(body)
    role = body.get("role")
    if role not in ROLES:
        raise InvalidInput(N_('\'{field}\' must be "end-user" or "agent".'), field="role")
    email = None if body.get("email") is None else validated_address(body.get("email"))
    if role == AGENT and not email:
        raise InvalidInput(N_("An agent needs an email address."))
    stamp = now()
    user = User(
        id=new_id(),
        name=validation.header_text(body, "name", 200),
        role=role,
        email=email,
        locale=_locale(body),
        created_at=stamp,
        updated_at=stamp,
    )
    table.put_user(user)
    return user


def get_user(table: DeskmailTable, user_id: str) -> User:
    user = table.get_user(user_id) if validation.ID_PATTERN.match(user_id) else None
    if user is None:
        raise NotFound(N_("There is no user {user_id}."), user_id=user_id)
    return user


def update_user(table: DeskmailTable, user_id: str, body: object, now: Clock) -> User:
    """Fix a profile, typically a typo in the email address that made notifications bounce."""
    body = validation.body_object(body)
    user = get_user(table, user_id)
    changes: dict = {}
    if "email" in body:
        if body["email"] is None and user.role == AGENT:
            raise InvalidInput(N_("An agent needs an email address."))
        changes["email"] = None if body["email"] is None else validated_address(body["email"])
    if "name" in body:
        changes["name"] = validation.header_text(body, "name", 200)
    if "locale" in body:
        changes["locale"] = _locale(body)
    unknown = set(body) - {"email", "name", "locale"}
    if unknown:
        raise InvalidInput(N_("These fields cannot be changed: {fields}."), fields=", ".join(sorted(unknown)))
    if not changes:
        raise InvalidInput(N_("Nothing to change: send 'email', 'name' or 'locale'."))
    updated = User(**{**user.__dict__, **changes, "updated_at": now()})
    table.put_user(updated)
    return updated


# ---- triggers ------------------------------------------------------------------------------------------------------


def list_triggers(table: DeskmailTable) -> tuple[triggers.Trigger, ...]:
    return triggers.with_states(table.get_trigger_states())


def set_trigger_active(
    table: DeskmailTable, trigger_id: str, body: object, now: Clock, acting: dict | None = None
) -> triggers.Trigger:
    body = validation.body_object(body)
    if trigger_id not in triggers.TRIGGERS_BY_ID:
        raise NotFound(N_("There is no trigger {trigger_id}."), trigger_id=trigger_id)
    active = validation.required_bool(body, "active")
    table.put_trigger_state(trigger_id, active, now(), acting)
    return next(t for t in list_triggers(table) if t.id == trigger_id)


# ---- tickets and comments -------------------------------------------------------------------------------------------


def _comment_fields(body: object) -> tuple[str, str, bool]:
    comment = validation.body_object(body)
    return (
        validation.an_id(comment.get("author_id"), "author_id"),
        validation.required_text(comment, "body", 65536),
        validation.required_bool(comment, "public"),
    )


def known_users(table: DeskmailTable, user_ids: list[str]) -> dict[str, User]:
    users = table.get_users(user_ids)
    missing = [user_id for user_id in user_ids if user_id not in users]
    if missing:
        raise InvalidInput(N_("Unknown user(s): {user_ids}."), user_ids=", ".join(missing))
    return users


def create_ticket(
    table: DeskmailTable,
    mailer: SesMailer,
    settings: Settings,
    body: object,
    now: Clock,
    acting: dict | None = None,
    commit_updates: Iterable[dict] = (),
) -> dict:
    """acting: the signed-in agent ({"id", "name"}), recorded even when the first comment is the requester's.

    commit_updates: conditional updates that must land with the ticket (an Idempotency-Key's claim).
    """
    body = validation.body_object(body)
    subject = validation.header_text(body, "subject", 250)
    requester_id = validation.an_id(body.get("requester_id"), "requester_id")
    cc_ids = [cc for cc in validation.id_list(body, "cc_ids") if cc != requester_id]
    assignee_id = validation.optional_id(body, "assignee_id")
    if "comment" not in body:
        raise InvalidInput(N_("'{field}' is required: the ticket's first message."), field="comment")
    author_id, text, public = _comment_fields(body["comment"])
    users = known_users(table, [requester_id, *cc_ids, *([assignee_id] if assignee_id else []), author_id])
    if assignee_id and users[assignee_id].role != AGENT:
        raise InvalidInput(N_("The assignee must be an agent."))
    stamp = now()
    ticket = Ticket(
        id=new_id(),
        subject=subject,
        requester_id=requester_id,
        cc_ids=tuple(cc_ids),
        assignee_id=assignee_id,
        status="open" if assignee_id else "new",
        created_at=stamp,
        updated_at=stamp,
    )
    created_event = dynamo.event_item(
        ticket.id,
        new_id(),
        stamp,
        EVENT_TICKET_CREATED,
        {"subject": subject, "requester_id": requester_id, "author_id": author_id, **_acting_fields(acting)},
        with_ticket=True,
    )
    comment = _post_comment(
        table,
        mailer,
        settings,
        ticket,
        users,
        author_id,
        text,
        public,
        triggers.TICKET_CREATED,
        now,
        extra_items=[
            dynamo.ticket_item(ticket),
            created_event,
            *_search_items(ticket, users),
            dynamo.reference_item(ticket.id, rendering.ticket_reference(ticket.id), ticket.subject, stamp),
        ],
        commit_updates=commit_updates,
    )
    return {"ticket": ticket, "tags": [], "comment": comment}


def _search_items(ticket: Ticket, users: dict[str, User]) -> list[dict]:
    """The ticket list and search: found by subject and by its requester's and CCs' names and addresses."""
    people = [users[user_id] for user_id in (ticket.requester_id, *ticket.cc_ids) if user_id in users]
    words = search.ticket_words(ticket.subject, [(person.name, person.email) for person in people])
    return dynamo.ticket_index_items(ticket, words, users[ticket.requester_id].name)


def get_ticket(table: DeskmailTable, ticket_id: str) -> tuple[Ticket, list[str]]:
    ticket, tags = table.get_ticket_with_tags(ticket_id) if validation.ID_PATTERN.match(ticket_id) else (None, {})
    if ticket is None:
        raise NotFound(N_("There is no ticket {ticket_id}."), ticket_id=ticket_id)
    return ticket, sorted(tag for tag, item in tags.items() if item.get("active"))


def add_comment(
    table: DeskmailTable,
    mailer: SesMailer,
    settings: Settings,
    ticket_id: str,
    body: object,
    now: Clock,
    comment_id: str | None = None,
    commit_updates: Iterable[dict] = (),
    original_body: str = "",
    files: FileStore | None = None,
    kept_files: attachments.Kept | None = None,
) -> Comment:
    """`comment_id`: the id a retry must reuse (an inbound email's comment); a new one otherwise. `original_body`: an
    emailed reply's whole text, kept for the agent beside the new part (`body`).

    `body["attachment_ids"]`: uploads (POST .../attachments) the comment takes, checked in `files` before anything
    is written; `kept_files`: an emailed reply's files, already stored (chalicelib.services.inbound)."""
    author_id, text, public = _comment_fields(body)
    ticket, active_tags = get_ticket(table, ticket_id)
    user_ids = [ticket.requester_id, *ticket.cc_ids, *([ticket.assignee_id] if ticket.assignee_id else []), author_id]
    users = known_users(table, list(dict.fromkeys(user_ids)))
    event = triggers.COMMENT_ADDED
    draft_id = comment_id or new_id()
    checked = attachments.check_for_comment(table, files, settings, ticket.id, validation.body_object(body), draft_id)
    files_on_comment = checked.attachments + (kept_files.attachments if kept_files else ())
    return _post_comment(
        table,
        mailer,
        settings,
        ticket,
        users,
        author_id,
        text,
        public,
        event,
        now,
        comment_id=comment_id,
        commit_updates=[*checked.updates, *commit_updates],
        original_body=original_body,
        extra_items=list(kept_files.items) if kept_files else None,
        files_on_comment=files_on_comment,
        attachments_claimed=bool(checked.updates),
        draft_id=draft_id,
        ticket_had_failures=FAILURE_TAG in active_tags,
    )


def _post_comment(
    table: DeskmailTable,
    mailer: SesMailer,
    settings: Settings,
    ticket: Ticket,
    users: dict[str, User],
    author_id: str,
    text: str,
    public: bool,
    event: str,
    now: Clock,
    extra_items: list[dict] | None = None,
    comment_id: str | None = None,
    commit_updates: Iterable[dict] = (),
    original_body: str = "",
    files_on_comment: tuple[Attachment, ...] = (),
    attachments_claimed: bool = False,
    draft_id: str | None = None,
    ticket_had_failures: bool = False,
) -> Comment:
    stamp = now()
    draft = Comment(
        draft_id or comment_id or new_id(),
        ticket.id,
        author_id,
        users[author_id].name,
        text,
        public,
        stamp,
        original_body=original_body,
        attachments=files_on_comment,
    )
    evaluations = triggers.evaluate(list_triggers(table), event, ticket, draft, users)
    comment = Comment(**{**draft.__dict__, "trigger_evaluations": tuple(e.as_record() for e in evaluations)})
    created = event == triggers.TICKET_CREATED
    added_event = dynamo.event_item(
        ticket.id,
        stable_id(EVENT_COMMENT_ADDED, comment_id) if comment_id else new_id(),
        stamp,
        EVENT_COMMENT_ADDED,
        {"comment_id": comment.id, "author_id": author_id, "author_name": comment.author_name, "public": public},
        with_ticket=created,
    )
    # All or nothing: the comment, its events, the participation items (an address's tickets, found later without
    # a Scan) and every notification it will send, recorded in the outbox before the first SES call, are one
    # unit (write_together: the items that name the comment committing them go just ahead of its transaction).
    # Then each email is sent and recorded; a crash in between leaves it for the outbox sweep.
    # The ticket's own people took part from its first comment: later comments add only an author who is not one.
    members = {ticket.requester_id, *ticket.cc_ids, *([ticket.assignee_id] if ticket.assignee_id else [])}
    joining = users if created else [author_id] if author_id not in members else []
    participations = [
        # A new ticket's people are new keys, so theirs can go ahead named by the comment; a later author's may
        # overwrite one already there, which a failed transaction must not take back: it stays in the transaction.
        dynamo.participation_item(user_id, ticket.id, ticket.subject, stamp, comment.id if created else None)
        for user_id in joining
    ]
    entries, notification_records = prepare_notifications(
        table, settings, ticket, comment, evaluations, now, ticket_had_failures=ticket_had_failures, with_comment=True
    )
    try:
        table.write_together(
            [*participations, *(extra_items or []), dynamo.comment_item(comment), added_event, *notification_records],
            commit_updates,
        )
    except WriteConflict:
        if not attachments_claimed:
            raise
        # Another comment took one of the files between the check and this write: nothing was written.
        raise Conflict(N_("A file is already on another comment: upload it again.")) from None
    send_notifications(table, mailer, settings, ticket, comment, evaluations, now, recorded=entries)
    return comment


def send_notifications(
    table: DeskmailTable,
    mailer: SesMailer,
    settings: Settings,
    ticket: Ticket,
    comment: Comment,
    evaluations: list[triggers.TriggerEvaluation],
    now: Clock,
    acting: dict | None = None,
    commit_updates: Iterable[dict] = (),
    recorded: list[OutboxEntry] | None = None,
    attachments_mode: str = attachment_rules.AUTO,
) -> list[Notification]:
    """Sends what the fired evaluations ask for (an agent's resend: acting): in the outbox first, then sent.

    recorded: the outbox entries a caller already committed with its own writes (a new comment): only sent here.
    attachments_mode: "auto" (files inline up to the budget, links beyond) or "links" (every file as a link).
    """
    entries = recorded
    if entries is None:
        entries, records = prepare_notifications(
            table, settings, ticket, comment, evaluations, now, acting, attachments_mode
        )
        table.write_together(records, commit_updates)
    return outbox.deliver(table, mailer, entries, now)


def prepare_notifications(
    table: DeskmailTable,
    settings: Settings,
    ticket: Ticket,
    comment: Comment,
    evaluations: list[triggers.TriggerEvaluation],
    now: Clock,
    acting: dict | None = None,
    attachments_mode: str = attachment_rules.AUTO,
    ticket_had_failures: bool = True,
    with_comment: bool = False,
) -> tuple[list[OutboxEntry], list[dict]]:
    """What the fired evaluations will send, and the items to write before the first SES call (reads only).

    The items: each outbox entry (pending), the rate limit's held events, and the whole record of a
    notification nobody can be sent (no reachable recipient). Outbox entries come last (see write_together).

    A trigger's recipients get one message per language (their `locale`, else the help desk's default), cut into
    messages of at most 50 recipients (SES refuses more): people who read the same language still see each other
    on To/Cc and answer all, the agent sees one notification per language, and each message has its own SES id
    for the feedback. Each message threads on its recipients' earlier notifications on the ticket.

    ticket_had_failures: whether the ticket carries the failure tag (a resend: assumed), carried by each
    notification so that only their deliveries write the markers that close inbox rows.
    with_comment: the items are written in one unit with the new comment itself, whose commit makes the outbox
    entries real (they can then go ahead of its transaction: dynamo.outbox_items).
    """
    fired = [evaluation for evaluation in evaluations if evaluation.fired]
    if not fired:
        return [], []
    states = address_states(table, settings, fired_addresses(evaluations), now())
    user_ids = list(dict.fromkeys(r.user_id for evaluation in fired for r in evaluation.recipients))
    # The recipients' threads: their SES Message-IDs to thread on, and what the ticket sent them lately (the brake).
    chains = table.get_thread_chains(ticket.id, [*user_ids, threads.TICKET_CHAIN])
    brake = NotificationBrake(now(), [send for thread in chains.values() for send in thread.sends])
    composer = notification_emails.composer(
        table,
        settings,
        ticket,
        comment,
        [
            (evaluation.trigger.id, rendering.locale_of(r.locale, settings.default_locale))
            for evaluation in fired
            for r in evaluation.recipients
        ],
    )
    stamp = now()
    entries: list[OutboxEntry] = []
    records: list[dict] = []
    pending: list[dict] = []
    for evaluation in fired:
        evaluation, holds = brake.hold_over_limit(evaluation)
        for batch in _batches(settings, evaluation.recipients, states):
            notification, email, link_items = _prepare(
                settings, ticket, comment, evaluation, batch, stamp, composer, chains, attachments_mode
            )
            notification = replace(notification, ticket_had_failures=ticket_had_failures)
            records.extend(link_items)
            batch_ids = {recipient.user_id for recipient in batch}
            own_holds = [hold for hold in holds if hold[0].user_id in batch_ids]
            records.extend(brake.items_after_send(notification, own_holds, before_send=email is not None))
            entries.append(OutboxEntry(notification, email, ticket.subject, outbox_states.PENDING, 0, stamp, acting))
            if email is None:
                records.extend(outbox.record_items(table, notification, ticket.subject, acting))
            else:
                pending.extend(dynamo.outbox_items(notification, email, ticket.subject, stamp, acting, with_comment))
    return entries, records + pending


def _batches(
    settings: Settings, recipients: tuple[Recipient, ...], states: dict[str, deliverability.AddressState]
) -> list[list[Recipient]]:
    """The evaluation's recipients, screened and with their language, in messages: one per language and per 50
    recipients SES will take (recipients deskmail will not email ride along, recorded as not_sent)."""
    screened = [
        screen_recipient(replace(r, locale=rendering.locale_of(r.locale, settings.default_locale)), states)
        for r in recipients
    ]
    by_id = {recipient.user_id: recipient for recipient in screened}
    reachable = [(r.user_id, r.locale or "") for r in screened if r.status != NOT_SENT]
    batches = [[by_id[user_id] for user_id in batch.user_ids] for batch in threads.batches(reachable)]
    for recipient in screened:
        if recipient.status == NOT_SENT:
            home = next((b for b in batches if b[0].locale == recipient.locale), None)
            if home is None:
                batches.append([recipient])
            else:
                home.append(recipient)
    return batches


def _prepare(
    settings: Settings,
    ticket: Ticket,
    comment: Comment,
    evaluation: triggers.TriggerEvaluation,
    batch: list[Recipient],
    stamp: str,
    composer: notification_emails.Composer,
    chains: dict[str, threads.RecipientThread],
    attachments_mode: str = attachment_rules.AUTO,
) -> tuple[Notification, OutgoingEmail | None, list[dict]]:
    """The notification as it will be recorded, the email SES will get (None: nobody reachable), rendered in
    its recipients' language and threaded on their chains of SES Message-IDs, and the download links' items (the
    comment's files beyond the inline budget, or all of them in "links" mode)."""
    notification_id = new_id()
    link_items: list[dict] = []
    domain = settings.sender_domain
    recipients = list(batch)
    reachable = tuple(recipient for recipient in recipients if recipient.status != NOT_SENT)
    rfc_message_id = notification_message_id(ticket.id, notification_id, domain)
    email = None
    if reachable:
        to = addresses(reachable, "to") or addresses(reachable, "cc")[:1]
        cc = tuple(address for address in addresses(reachable, "cc") if address not in to)
        shown = [r for r in reachable if r.header == "to"] + [r for r in reachable if r.header != "to"]
        locale = reachable[0].locale or settings.default_locale
        plan = attachment_rules.plan_delivery(comment.attachments, settings.attachment_inline_budget, attachments_mode)
        links, link_items = attachments.links_for(
            settings, (ticket.id, comment.id, notification_id), reachable, plan.linked, stamp
        )
        downloads = tuple(
            rendering.Download(link.attachment.name, link.attachment.size, link.url, link.expires_at) for link in links
        )
        rendered = composer.render(evaluation.trigger, shown, locale, downloads=downloads)
        root = thread_root_id(ticket.id, domain)
        unthreaded = threads.RecipientThread()
        thread = threads.thread_headers(
            root,
            [chains.get(recipient.user_id, unthreaded).message_ids for recipient in shown],
            chains.get(threads.TICKET_CHAIN, unthreaded).message_ids,
        )
        email = OutgoingEmail(
            sender=settings.sender,
            to=to,
            cc=cc,
            subject=rendered.subject,
            body=rendered.text,
            rfc_message_id=rfc_message_id,
            thread_root_id=root,
            tags={
                "ticket_id": ticket.id,
                "comment_id": comment.id,
                "trigger_id": evaluation.trigger.id,
                "notification_id": notification_id,
            },
            configuration_set=settings.configuration_set,
            # Every trigger's email is automatic (RFC 3834): out-of-office responders stay silent, people answer.
            auto_submitted=True,
            html=rendered.html,
            content_language=locale,
            in_reply_to=thread.in_reply_to,
            references=thread.references,
            reply_to=threads.ticket_reply_address(settings.sender, ticket.id),
            attachments=plan.inline,
        )
    notification = Notification(
        id=notification_id,
        ticket_id=ticket.id,
        comment_id=comment.id,
        trigger_id=evaluation.trigger.id,
        trigger_title=evaluation.trigger.title,
        message_id=None,
        recipients=tuple(recipients),
        sent_at=stamp,
        rfc_message_id=rfc_message_id,
    )
    return notification, email, link_items


def fired_addresses(evaluations: list[triggers.TriggerEvaluation]) -> set[str]:
    return {r.email.lower() for e in evaluations if e.fired for r in e.recipients if r.email}


def address_states(
    table: DeskmailTable, settings: Settings, emails: set[str], now: str
) -> dict[str, deliverability.AddressState]:
    """Each address's deliverability: one BatchGetItem for all of them, a Query for each that has facts."""
    policy = deliverability.Policy(
        settings.transient_bounce_threshold, timedelta(days=settings.transient_bounce_window_days)
    )
    facts = table.list_addresses_facts(emails)
    return {email: deliverability.assess(facts[email.lower()], now, policy) for email in sorted(emails)}


def screen_recipient(recipient: Recipient, states: dict[str, deliverability.AddressState]) -> Recipient:
    """A recipient deskmail will not email is kept, as not_sent with the reason, never silently dropped."""
    if not recipient.email:
        return replace(recipient, status=NOT_SENT, failure={"category": classification.NO_ADDRESS})
    state = states.get(recipient.email.lower())
    if state is None or state.sendable:
        return recipient
    failure = {
        "category": deliverability.blocked_category(state),
        "permanent": True,
        "smtp_status": state.smtp_status,
        "smtp_code": state.smtp_code,
        "since": state.since,
        "cause": state.category,
    }
    return replace(recipient, status=NOT_SENT, failure=failure)


# ---- tags ----------------------------------------------------------------------------------------------------------


def set_tags(table: DeskmailTable, ticket_id: str, body: object, now: Clock, acting: dict | None = None) -> list[str]:
    """An agent sets the ticket's tags, typically clearing the failure tag after acting on it."""
    who = {"by": "agent", **_acting_fields(acting)}
    wanted = validation.tag_list(validation.body_object(body))
    ticket, current = get_ticket(table, ticket_id)
    stamp = now()
    items: list[dict] = []
    for tag in sorted(set(wanted) - set(current)):
        items.append(dynamo.tag_item(ticket.id, ticket.subject, tag, stamp, stamp))
        items.append(dynamo.event_item(ticket.id, new_id(), stamp, EVENT_TAG_ADDED, {"tag": tag, **who}))
    for tag in sorted(set(current) - set(wanted)):
        items.append(dynamo.cleared_tag_item(ticket.id, tag, stamp))
        items.append(dynamo.event_item(ticket.id, new_id(), stamp, EVENT_TAG_REMOVED, {"tag": tag, **who}))
    if items:
        table.write_items(items)
    return sorted(wanted)


_acting_fields = outbox.acting_fields
