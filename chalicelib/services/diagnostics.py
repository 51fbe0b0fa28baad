"""Why did a user (not) get the notifications on a ticket? Five checks, in the order an agent works through them."""

from __future__ import annotations

import gettext
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.adapters.dns import DnsUnavailable, SpfLookup
from chalicelib.adapters.dynamo import DeskmailTable
from chalicelib.adapters.ses_account import COMPLAINT, SesIdentities, SuppressionList
from chalicelib.config import Settings
from chalicelib.domain import delivery, sender_auth, triggers
from chalicelib.domain.model import (
    BOUNCED,
    COMPLAINED,
    DELAYED,
    DELIVERED,
    NOT_SENT,
    REJECTED,
    SENT,
    SUPPRESSED,
    Comment,
    Notification,
    OutcomeEvent,
    Ticket,
    User,
)
from chalicelib.errors import InvalidInput
from chalicelib.i18n import N_
from chalicelib.services import views, workspace

OK = "ok"
PROBLEM = "problem"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Check:
    check: str
    status: str
    detail: str
    fix: str
    facts: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"check": self.check, "status": self.status, "detail": self.detail, "fix": self.fix, **self.facts}


Conversation = list[tuple[Comment, list[tuple[Notification, list[OutcomeEvent]]]]]


def _whole_conversation(table: DeskmailTable, ticket_id: str) -> Conversation:
    groups: Conversation = []
    token = None
    while True:
        page, token = table.list_conversation_page(ticket_id, token, views.PAGE_SIZE)
        groups.extend(page)
        if not token:
            return groups


def diagnose(
    table: DeskmailTable,
    suppressions: SuppressionList,
    identities: SesIdentities,
    spf: SpfLookup,
    settings: Settings,
    ticket_id: str,
    user_id: str | None,
    tr: gettext.NullTranslations,
) -> dict:
    if not user_id:
        raise InvalidInput(N_("'{field}' is required: whose notifications should be checked?"), field="user_id")
    ticket, _ = workspace.get_ticket(table, ticket_id)
    user = workspace.get_user(table, user_id)
    conversation = _whole_conversation(table, ticket.id)
    checks = [
        email_address_check(user, tr),
        triggers_check(ticket, user, conversation, workspace.list_triggers(table), tr),
        deliveries_check(user, conversation, settings, tr),
        suppression_check(user, suppressions, tr),
        sending_domain_check(settings.sender_domain, identities, spf, tr),
    ]
    return {"ticket_id": ticket.id, "user_id": user.id, "checks": [check.as_dict() for check in checks]}


# ---- 1. the address --------------------------------------------------------------------------------------------------


def email_address_check(user: User, tr: gettext.NullTranslations) -> Check:
    _ = tr.gettext
    if not user.email:
        return Check(
            "email_address",
            PROBLEM,
            _("{name} has no email address on their profile, so no notification can reach them.").format(
                name=user.name
            ),
            _("Add their email address to their profile (PATCH /users/<id>), then resend the notification."),
            {"email": None},
        )
    return Check(
        "email_address",
        OK,
        _("{name}'s profile has the address {email}.").format(name=user.name, email=user.email),
        _("No action needed."),
        {"email": user.email},
    )


# ---- 2. the triggers -------------------------------------------------------------------------------------------------

AUTHOR = "author"
NOT_IN_AUDIENCE = "not_in_audience"


def _in_audience(trigger: triggers.Trigger, ticket: Ticket, user_id: str) -> bool:
    if trigger.audience == "requester":
        return user_id == ticket.requester_id
    if trigger.audience == "requester_and_ccs":
        return user_id == ticket.requester_id or user_id in ticket.cc_ids
    if trigger.audience == "assignee":
        return user_id == ticket.assignee_id
    return False


def _why_not(reason: str, title: str, tr: gettext.NullTranslations) -> str:
    _ = tr.gettext
    texts = {
        triggers.NOT_FIRED_INACTIVE: _("“{trigger}” was inactive"),
        triggers.NOT_FIRED_PRIVATE_COMMENT: _("“{trigger}” only emails public comments and this one was private"),
        triggers.NOT_FIRED_NO_RECIPIENT: _("“{trigger}” had nobody to email (for example, no assignee)"),
        AUTHOR: _("“{trigger}” does not email the comment's own author"),
        NOT_IN_AUDIENCE: _("“{trigger}” did not count them among its recipients then"),
    }
    return texts.get(reason, texts[NOT_IN_AUDIENCE]).format(trigger=title)


def _missed_on(comment: Comment, user_id: str, relevant: dict[str, triggers.Trigger]) -> list[dict]:
    missed = []
    for evaluation in comment.trigger_evaluations:
        trigger = relevant.get(evaluation.get("trigger_id", ""))
        if trigger is None or evaluation.get("reason") == triggers.NOT_FIRED_OTHER_EVENT:
            continue
        if any(skipped.get("user_id") == user_id for skipped in evaluation.get("skipped") or ()):
            reason = AUTHOR
        elif not evaluation.get("fired"):
            reason = evaluation.get("reason") or NOT_IN_AUDIENCE
        else:
            reason = NOT_IN_AUDIENCE
        missed.append({"trigger_id": trigger.id, "title": evaluation.get("title", trigger.title), "reason": reason})
    return missed


def triggers_check(
    ticket: Ticket,
    user: User,
    conversation: Conversation,
    current: tuple[triggers.Trigger, ...],
    tr: gettext.NullTranslations,
) -> Check:
    _ = tr.gettext
    relevant = {trigger.id: trigger for trigger in current if _in_audience(trigger, ticket, user.id)}
    if not relevant:
        return Check(
            "triggers",
            PROBLEM,
            _("{name} is not the requester, a CC or the assignee of this ticket, so no trigger emails them.").format(
                name=user.name
            ),
            _("Add them to the ticket if they should follow it."),
        )
    inactive = [trigger for trigger in relevant.values() if not trigger.active]
    comments: list[dict[str, Any]] = []
    lines = []
    emailed = 0
    for comment, _notifications in conversation:
        hit = any(
            evaluation.get("fired") and user.id in (evaluation.get("recipient_ids") or ())
            for evaluation in comment.trigger_evaluations
        )
        missed = [] if hit else _missed_on(comment, user.id, relevant)
        emailed += hit
        comments.append({"comment_id": comment.id, "created_at": comment.created_at, "emailed": hit, "missed": missed})
        if missed:
            reasons = "; ".join(_why_not(entry["reason"], entry["title"], tr) for entry in missed)
            lines.append(_("Comment of {time}: {reasons}.").format(time=comment.created_at, reasons=reasons))
    unexplained = [entry for c in comments for entry in c["missed"] if entry["reason"] != AUTHOR]
    detail = tr.ngettext(
        "Triggers emailed {name} about {emailed} of {total} comment.",
        "Triggers emailed {name} about {emailed} of {total} comments.",
        len(comments),
    ).format(name=user.name, emailed=emailed, total=len(comments))
    detail = " ".join([detail, *lines])
    fixes = []
    if inactive:
        titles = ", ".join(f"“{trigger.title}”" for trigger in inactive)
        detail += " " + _("Inactive now: {triggers}.").format(triggers=titles)
        fixes.append(
            _("Activate {triggers} if they should email this user (PATCH /triggers/<id>).").format(triggers=titles)
        )
    if any(entry["reason"] == triggers.NOT_FIRED_PRIVATE_COMMENT for entry in unexplained):
        fixes.append(_("Private comments are not emailed to end-users: add a public comment if they should read it."))
    if any(entry["reason"] == triggers.NOT_FIRED_NO_RECIPIENT for entry in unexplained):
        fixes.append(_("Assign the ticket so that the assignee's trigger has someone to email."))
    facts = {
        "comments": comments,
        "inactive_triggers": [{"id": trigger.id, "title": trigger.title} for trigger in inactive],
    }
    if inactive or unexplained:
        return Check("triggers", PROBLEM, detail, " ".join(fixes) or _("Check the triggers' conditions."), facts)
    return Check("triggers", OK, detail, _("No action needed."), facts)


# ---- 3. what happened to each email ----------------------------------------------------------------------------------


def _status_words(tr: gettext.NullTranslations) -> dict[str, str]:
    _ = tr.gettext
    return {
        SENT: _("sent, no report yet"),
        DELIVERED: _("delivered"),
        DELAYED: _("delayed"),
        BOUNCED: _("bounced"),
        COMPLAINED: _("marked as spam"),
        REJECTED: _("rejected"),
        SUPPRESSED: _("suppressed"),
        NOT_SENT: _("not sent"),
    }


def deliveries_check(user: User, conversation: Conversation, settings: Settings, tr: gettext.NullTranslations) -> Check:
    _ = tr.gettext
    words = _status_words(tr)
    rows: list[dict[str, Any]] = []
    for comment, notifications in conversation:
        for notification, events in notifications:
            for recipient in delivery.recipient_deliveries(notification, events):
                if recipient.user_id != user.id:
                    continue
                failure = views.failure_view(recipient.failure, tr, recipient.email)
                rows.append(
                    {
                        "comment_id": comment.id,
                        "trigger": notification.trigger_title,
                        "sent_at": notification.sent_at,
                        "email": recipient.email,
                        "message_id": recipient.message_id,
                        "status": recipient.status,
                        "reason": failure["reason"] if failure else None,
                        "remedy": failure["remedy"] if failure else None,
                    }
                )
    rows.sort(key=lambda row: row["sent_at"])
    if not rows:
        return Check(
            "deliveries",
            PROBLEM,
            _("No notification was sent to {name} on this ticket.").format(name=user.name),
            _("See the email address and triggers checks."),
            {"deliveries": []},
        )
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
    tally = ", ".join(f"{count} {words.get(status, status)}" for status, count in counts.items())
    last = rows[-1]
    summary = tr.ngettext("{count} email to {name}: {tally}.", "{count} emails to {name}: {tally}.", len(rows)).format(
        count=len(rows), name=user.name, tally=tally
    )
    facts = {"deliveries": rows}
    if last["status"] == DELIVERED:
        detail = _(
            "The last one ({time}) reached their mail server. If they cannot find it, it was filtered on their side: "
            "spam or junk folder, or a rule."
        ).format(time=last["sent_at"])
        fix = _("Ask them to look in their spam or junk folder and to add {sender} to their contacts.").format(
            sender=settings.sender
        )
        return Check("deliveries", OK, f"{summary} {detail}", fix, facts)
    if last["status"] == SENT:
        detail = _("The last one ({time}) was accepted by Amazon SES; no delivery report yet.").format(
            time=last["sent_at"]
        )
        return Check("deliveries", OK, f"{summary} {detail}", _("Wait a few minutes, then check again."), facts)
    detail = _("The last one ({time}) was {status}: {reason}.").format(
        time=last["sent_at"], status=words.get(last["status"], last["status"]), reason=last["reason"] or "-"
    )
    return Check("deliveries", PROBLEM, f"{summary} {detail}", last["remedy"] or _("Check the diagnostic."), facts)


# ---- 4. the suppression list -----------------------------------------------------------------------------------------


def suppression_check(user: User, suppressions: SuppressionList, tr: gettext.NullTranslations) -> Check:
    _ = tr.gettext
    if not user.email:
        return Check("suppression", UNKNOWN, _("There is no address to look up."), _("Add an email address first."))
    try:
        entry = suppressions.get(user.email)
    except (ClientError, BotoCoreError) as error:
        return Check(
            "suppression",
            UNKNOWN,
            _("The suppression list could not be read: {error}").format(error=error),
            _("Try again later."),
        )
    if entry is None:
        return Check(
            "suppression",
            OK,
            _("{email} is not on the account's suppression list.").format(email=user.email),
            _("No action needed."),
            {"suppressed": False},
        )
    cause = _("a complaint") if entry.reason == COMPLAINT else _("a bounce")
    return Check(
        "suppression",
        PROBLEM,
        _(
            "{email} is on the account's suppression list since {time} because of {cause}: SES sends nothing to it."
        ).format(email=user.email, time=entry.last_update, cause=cause),
        _("Fix the cause with the end-user, then remove the address (DELETE /suppressions/{email}) and resend.").format(
            email=user.email
        ),
        {"suppressed": True, "reason": entry.reason, "last_update": entry.last_update},
    )


# ---- 5. the sending domain -------------------------------------------------------------------------------------------


def sending_domain_check(domain: str, identities: SesIdentities, spf: SpfLookup, tr: gettext.NullTranslations) -> Check:
    _ = tr.gettext
    try:
        identity = identities.get(domain)
    except (ClientError, BotoCoreError) as error:
        return Check(
            "sending_domain",
            UNKNOWN,
            _("Amazon SES could not be asked about {domain}: {error}").format(domain=domain, error=error),
            _("Try again later."),
        )
    problems: list[str] = []
    fixes: list[str] = []
    if not identity.exists:
        problems.append(_("{domain} is not an identity in Amazon SES.").format(domain=domain))
        fixes.append(_("Ask your email administrator to add and verify the domain in Amazon SES."))
    else:
        if not identity.verified:
            problems.append(_("{domain} is not verified in Amazon SES.").format(domain=domain))
            fixes.append(_("Ask your email administrator to finish verifying the domain in Amazon SES."))
        if identity.dkim_status != "SUCCESS":
            problems.append(_("DKIM status is {status}.").format(status=identity.dkim_status or "-"))
            fixes.append(_("Publish the DKIM CNAME records Amazon SES shows for the domain."))
        if identity.mail_from_domain and identity.mail_from_status != "SUCCESS":
            problems.append(
                _("The custom MAIL FROM domain {mail_from} is {status}.").format(
                    mail_from=identity.mail_from_domain, status=identity.mail_from_status or "-"
                )
            )
            fixes.append(_("Publish the MX and SPF records Amazon SES shows for the custom MAIL FROM domain."))
    # SPF is checked on the envelope sender: the custom MAIL FROM domain, or amazonses.com without one (then the
    # domain's own SPF record cannot matter, and DMARC rests on DKIM alone).
    spf_domain = identity.mail_from_domain or domain
    custom_mail_from = identity.mail_from_domain if identity.mail_from_status == "SUCCESS" else None
    spf_matters = bool(identity.mail_from_domain)
    facts: dict = {
        "domain": domain,
        "identity_exists": identity.exists,
        "verified": identity.verified,
        "dkim_status": identity.dkim_status,
        "mail_from_domain": identity.mail_from_domain,
        "mail_from_status": identity.mail_from_status,
        "spf_domain": spf_domain,
        "spf_matters": spf_matters,
        "envelope_domain": custom_mail_from or sender_auth.SES_ENVELOPE_DOMAIN,
        "spf_record": None,
        "spf_includes_amazonses": None,
        "spf_lookups": None,
        "dmarc_record": None,
        "dmarc_policy": None,
        "dmarc_domain": None,
        "spf_aligned": None,
        "dkim_aligned": None,
        "dmarc_passes": None,
    }
    dns_unknown = False
    walk: sender_auth.SpfWalk | None = None
    try:
        walk = sender_auth.walk_spf(spf_domain, spf.spf_records)
    except DnsUnavailable:
        dns_unknown = True
    else:
        facts.update(spf_record=walk.record, spf_includes_amazonses=walk.includes_amazonses, spf_lookups=walk.lookups)
        if spf_matters:
            _spf_problems(walk, problems, fixes, tr)
    dmarc: sender_auth.Dmarc | None = None
    dmarc_read = False
    try:
        record, found_at = spf.dmarc_record(domain)
    except DnsUnavailable:
        dns_unknown = True
    else:
        dmarc_read = True
        dmarc = sender_auth.parse_dmarc(record, found_at)
        facts.update(dmarc_record=dmarc.record if dmarc else None, dmarc_domain=found_at)
        facts["dmarc_policy"] = dmarc.policy if dmarc else None
    outcome = sender_auth.dmarc_outcome(
        domain,
        dkim_signing=identity.exists and identity.dkim_status == "SUCCESS",
        custom_mail_from=custom_mail_from,
        spf=walk,
        dmarc=dmarc,
    )
    facts.update(spf_aligned=outcome.spf_aligned, dkim_aligned=outcome.dkim_aligned)
    if dmarc_read:
        facts["dmarc_passes"] = outcome.passes
        _dmarc_problems(domain, dmarc, outcome, problems, fixes, tr)
    if problems:
        return Check("sending_domain", PROBLEM, " ".join(problems), " ".join(fixes), facts)
    if dns_unknown:
        return Check(
            "sending_domain",
            UNKNOWN,
            _("{domain} is verified with DKIM, but DNS could not be reached to read the SPF or DMARC records.").format(
                domain=domain
            ),
            _("Try again later."),
            facts,
        )
    policy = dmarc.policy if dmarc else "none"
    if outcome.spf_aligned:
        detail = _(
            "{domain} is verified in Amazon SES with DKIM, the SPF record of {spf} includes amazonses.com, and "
            "DMARC (p={policy}) passes with DKIM and SPF aligned."
        ).format(domain=domain, spf=spf_domain, policy=policy)
    else:
        detail = _("{domain} is verified in Amazon SES with DKIM, and DMARC (p={policy}) passes through DKIM.").format(
            domain=domain, policy=policy
        )
        if not spf_matters:
            detail += " " + _(
                "Without a custom MAIL FROM domain, Amazon SES sends with an envelope sender under amazonses.com: "
                "SPF passes for amazonses.com and cannot align with {domain}, so the SPF record of {domain} does "
                "not matter for this mail."
            ).format(domain=domain)
    return Check("sending_domain", OK, detail, _("No action needed."), facts)


def _spf_problems(
    walk: sender_auth.SpfWalk, problems: list[str], fixes: list[str], tr: gettext.NullTranslations
) -> None:
    _ = tr.gettext
    domain = walk.domain
    if walk.record is None:
        problems.append(_("{domain} has no SPF record.").format(domain=domain))
        fixes.append(
            _('Publish the TXT record "v=spf1 include:amazonses.com ~all" for {domain}.').format(domain=domain)
        )
        return
    if walk.multiple_records:
        problems.append(_("{domain} has more than one SPF record, so SPF fails (permerror).").format(domain=domain))
        fixes.append(_("Merge the SPF records of {domain} into one.").format(domain=domain))
    if walk.too_many_lookups:
        problems.append(
            _(
                "The SPF record of {domain} needs more than the 10 DNS lookups receivers allow, so SPF fails "
                "(permerror)."
            ).format(domain=domain)
        )
        fixes.append(
            _("Reduce the SPF record of {domain} to 10 DNS lookups or fewer (fewer includes, or IP ranges).").format(
                domain=domain
            )
        )
    elif not walk.includes_amazonses:
        problems.append(_("The SPF record of {domain} does not include amazonses.com.").format(domain=domain))
        fixes.append(_('Add "include:amazonses.com" to the SPF record of {domain}.').format(domain=domain))
    for missing in walk.missing:
        problems.append(
            _("The SPF record of {domain} includes {missing}, which has no SPF record.").format(
                domain=domain, missing=missing
            )
        )
        fixes.append(
            _("Remove or correct the include of {missing} in the SPF record of {domain}.").format(
                domain=domain, missing=missing
            )
        )


def _dmarc_problems(
    domain: str,
    dmarc: sender_auth.Dmarc | None,
    outcome: sender_auth.DmarcOutcome,
    problems: list[str],
    fixes: list[str],
    tr: gettext.NullTranslations,
) -> None:
    _ = tr.gettext
    if dmarc is None:
        problems.append(
            _(
                "{domain} has no DMARC record (_dmarc.{domain}). Gmail and Yahoo (since February 2024) and "
                "Outlook.com (since May 2025) require one, at least p=none and aligned with the From domain, from "
                "senders of more than 5,000 messages a day."
            ).format(domain=domain)
        )
        fixes.append(
            _(
                'Publish the TXT record "v=DMARC1; p=none; rua=mailto:dmarc-reports@{domain}" at _dmarc.{domain}, '
                "then tighten the policy once the reports show that all your mail passes."
            ).format(domain=domain)
        )
    if outcome.passes:
        return
    if dmarc is not None and dmarc.policy == "reject":
        problems.append(
            _(
                "DMARC will fail for mail from {domain}: neither DKIM nor SPF aligns with it, and its policy "
                "p=reject tells receivers to reject these messages."
            ).format(domain=domain)
        )
    elif dmarc is not None and dmarc.policy == "quarantine":
        problems.append(
            _(
                "DMARC will fail for mail from {domain}: neither DKIM nor SPF aligns with it, and its policy "
                "p=quarantine sends these messages to spam."
            ).format(domain=domain)
        )
    elif dmarc is not None:
        problems.append(
            _(
                "Mail from {domain} fails DMARC: neither DKIM nor SPF aligns with it. With p=none receivers still "
                "accept it, but Gmail, Yahoo and Outlook.com require DMARC alignment from bulk senders."
            ).format(domain=domain)
        )
    if dmarc is not None:
        fixes.append(
            _(
                "Ask your email administrator to get DKIM verified for {domain} in Amazon SES (its signature is what "
                "aligns), or to set up a custom MAIL FROM domain under {domain}."
            ).format(domain=domain)
        )
