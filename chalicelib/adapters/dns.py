"""SPF and DMARC lookups with dnspython behind a resolver the caller can replace (tests answer without a network)."""

from __future__ import annotations

from typing import Any


class DnsUnavailable(RuntimeError):
    """DNS could not answer (timeout, no reachable name server): the check's result is unknown, not negative."""


class SpfLookup:
    def __init__(self, resolver: Any = None, lifetime: float = 3.0):
        self._resolver = resolver
        self.lifetime = lifetime

    def _get_resolver(self) -> Any:
        if self._resolver is None:
            import dns.resolver  # lazily: the feedback handler shares this package and must start fast

            self._resolver = dns.resolver.Resolver()
        return self._resolver

    def txt_records(self, name: str) -> list[str]:
        """The TXT strings of a name ([] when it has none or does not exist); DnsUnavailable when DNS is down."""
        import dns.exception
        import dns.resolver

        try:
            answer = self._get_resolver().resolve(name, "TXT", lifetime=self.lifetime)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.LifetimeTimeout) as error:
            raise DnsUnavailable(f"no DNS answer for {name}: {error}") from error
        return [b"".join(record.strings).decode("utf-8", "replace").strip() for record in answer]

    def spf_records(self, domain: str) -> list[str]:
        """Every "v=spf1 ..." record of the domain (more than one is a permerror for receivers)."""
        return [text for text in self.txt_records(domain) if text.lower().startswith("v=spf1")]

    def spf_record(self, domain: str) -> str | None:
        """The domain's "v=spf1 ..." TXT record, or None when it has none (or does not exist)."""
        records = self.spf_records(domain)
        return records[0] if records else None

    def dmarc_record(self, domain: str) -> tuple[str | None, str]:
        """The DMARC record that applies to the domain and the name it was found at.

        Receivers read _dmarc.<domain> and, when it has none, _dmarc.<organizational domain> (RFC 7489 6.6.3).
        """
        from chalicelib.domain.sender_auth import organizational_domain

        names = [f"_dmarc.{domain}"]
        organizational = organizational_domain(domain)
        if organizational != domain.lower().rstrip("."):
            names.append(f"_dmarc.{organizational}")
        for name in names:
            records = [text for text in self.txt_records(name) if text.lower().startswith("v=dmarc1")]
            if records:
                return records[0], name
        return None, names[0]


DnsLookup = SpfLookup  # what it is now: SPF and DMARC; the old name stays for its callers


def spf_includes_amazonses(record: str | None) -> bool:
    """Whether an SPF record authorizes SES's servers (include:amazonses.com)."""
    if not record:
        return False
    return any(term.lower().lstrip("+") == "include:amazonses.com" for term in record.split())
