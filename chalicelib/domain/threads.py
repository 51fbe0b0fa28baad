"""Threads that survive SES, and messages SES accepts: Message-IDs as SES rewrites them, each recipient's chain (and
latest sends), and a notification's recipients split into messages by language and SES's 50-recipient limit. No I/O."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import parseaddr

MAX_RECIPIENTS_PER_MESSAGE = 50  # SES rejects a whole send above this (To + Cc + Bcc)
CHAIN_LIMIT = 10  # Message-IDs kept per recipient and ticket: the first and the latest ones
TICKET_CHAIN = "ticket"  # the chain key of the ticket's first notification, whoever got it (written once)

_SES_ID = re.compile(r"^[0-9A-Za-z][0-9A-Za-z\-]{0,99}$")


def ses_message_id_header(ses_message_id: str, region: str) -> str:
    """The Message-ID SES gives a message it sends: <{id}@email.amazonses.com> in us-east-1, else
    <{id}@{region}.amazonses.com> (SES developer guide, "Amazon SES header fields")."""
    if not _SES_ID.match(ses_message_id):
        raise ValueError(f"not an SES message id: {ses_message_id!r}")
    host = "email.amazonses.com" if region == "us-east-1" else f"{region}.amazonses.com"
    return f"<{ses_message_id}@{host}>"


_MESSAGE_ID = re.compile(r"^<[!-;=?-~]{1,250}@[A-Za-z0-9.\-]{1,250}>$")


def is_message_id(value: str) -> bool:
    """A msg-id we would put in a header as it is (RFC 5322 3.6.4, dot-atom-ish): nothing that can fold or inject."""
    return bool(_MESSAGE_ID.match(value))


def extended_chain(chain: Iterable[str], message_id: str, limit: int = CHAIN_LIMIT) -> tuple[str, ...]:
    """A recipient's chain after one more notification: the first id (the thread's start) and the latest ones."""
    ids = [value for value in dict.fromkeys([*chain, message_id]) if is_message_id(value)]
    if len(ids) > limit:
        ids = [ids[0], *ids[-(limit - 1) :]]
    return tuple(ids)


# Sends kept per recipient thread: those within the loop brake's longest window, which holds a recipient at its
# hourly limit (25 by default), so this many only matters for a limit configured above it.
SENDS_LIMIT = 1000


@dataclass(frozen=True)
class RecipientThread:
    """What one ticket sent one recipient: their chain of SES Message-IDs (In-Reply-To, References) and their latest
    sends, (address, sent at), for the loop brake (chalicelib.domain.rate_limit) to count without a send log."""

    message_ids: tuple[str, ...] = ()
    sends: tuple[tuple[str, str], ...] = ()

    def after(self, message_id: str, address: str | None, sent_at: str, since: str) -> RecipientThread:
        """This thread once `message_id` reached `address` at `sent_at`: sends before `since` are dropped."""
        sends = [send for send in self.sends if send[1] >= since]
        if address:
            sends.append((address.lower(), sent_at))
        return RecipientThread(extended_chain(self.message_ids, message_id), tuple(sends[-SENDS_LIMIT:]))


@dataclass(frozen=True)
class ThreadHeaders:
    in_reply_to: str
    references: tuple[str, ...]


def thread_headers(
    root: str, chains: list[tuple[str, ...]], ticket_chain: tuple[str, ...] = (), limit: int = CHAIN_LIMIT
) -> ThreadHeaders:
    """In-Reply-To names the latest notification the message's first recipient got on this ticket (SES's id), else
    another recipient's latest, else the ticket chain's last (the send path keeps the ticket's first notification
    there), else the ticket's root; References is the root, the ticket's first notification, then the
    recipients' chains, bounded (RFC 5322 3.6.4 lets the middle go). `chains` come in recipient order, To first."""
    merged: list[str] = []
    for chain in [ticket_chain[:1], *chains]:
        merged.extend(value for value in chain if is_message_id(value) and value not in merged and value != root)
    first = next((chain for chain in [*chains, ticket_chain] if chain and is_message_id(chain[-1])), ())
    latest = first[-1] if first else root
    if len(merged) > limit - 1:
        merged = [merged[0], *merged[-(limit - 2) :]]
    return ThreadHeaders(in_reply_to=latest, references=(root, *merged))


@dataclass(frozen=True)
class Batch:
    """One SES message: its recipients' language and user ids (at most 50)."""

    locale: str
    user_ids: tuple[str, ...]


def batches(recipients: Iterable[tuple[str, str]], limit: int = MAX_RECIPIENTS_PER_MESSAGE) -> list[Batch]:
    """(user_id, locale) pairs grouped by language in first-seen order, each group cut into messages of at most
    `limit` recipients: one message per language keeps SES calls and the agent's view small."""
    groups: dict[str, list[str]] = {}
    for user_id, locale in recipients:
        groups.setdefault(locale, []).append(user_id)
    return [
        Batch(locale, tuple(user_ids[start : start + limit]))
        for locale, user_ids in groups.items()
        for start in range(0, len(user_ids), limit)
    ]


def ticket_reply_address(sender: str, ticket_id: str) -> tuple[str, str]:
    """(name, address) of the per-ticket reply address, `support+{ticket id}@domain` under the sender's name:
    Reply-To routes answers to the ticket even when a client drops In-Reply-To and References (inbound_mail
    matches the plus label)."""
    name, address = parseaddr(sender)
    local, _, domain = address.partition("@")
    return name, f"{local.split('+', 1)[0]}+{ticket_id}@{domain}"
