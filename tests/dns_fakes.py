"""Stand-ins for the SPF resolver and the SES identity reads, so diagnostics tests need no network and no SES."""

from __future__ import annotations

import dns.resolver

from chalicelib.adapters.ses_account import SendingIdentity


class TxtRecord:
    def __init__(self, *chunks: str):
        self.strings = tuple(chunk.encode() for chunk in chunks)


class FakeResolver:
    """dnspython's Resolver.resolve(), answering from a dict; an exception class as the answer is raised."""

    def __init__(self, answers):
        self.answers = answers
        self.asked = []

    def resolve(self, name, rdtype, lifetime=None):
        self.asked.append((name, rdtype))
        answer = self.answers.get(name, dns.resolver.NXDOMAIN)
        if isinstance(answer, type) and issubclass(answer, Exception):
            raise answer()
        return answer


class FakeIdentities:
    def __init__(self, identity: SendingIdentity):
        self.identity = identity

    def get(self, domain):
        return self.identity


HEALTHY_IDENTITY = SendingIdentity(
    "deskmail.example.com",
    exists=True,
    verified=True,
    dkim_status="SUCCESS",
    mail_from_domain="mail.deskmail.example.com",
    mail_from_status="SUCCESS",
)
SPF_OK = {
    "mail.deskmail.example.com": [TxtRecord("v=spf1 include:amazonses.com ~all")],
    "_dmarc.deskmail.example.com": [TxtRecord("v=DMARC1; p=quarantine; rua=mailto:dmarc@deskmail.example.com")],
}
DNS_OK = SPF_OK  # SPF of the custom MAIL FROM domain and DMARC of the sender domain, both in order

# The same domain sending without a custom MAIL FROM domain (envelope sender under amazonses.com).
NO_MAIL_FROM_IDENTITY = SendingIdentity(
    "deskmail.example.com", exists=True, verified=True, dkim_status="SUCCESS", mail_from_domain=None
)
