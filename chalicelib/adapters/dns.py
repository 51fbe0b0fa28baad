"""SPF lookups with dnspython behind a resolver the caller can replace (tests answer without a network)."""

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

    def spf_record(self, domain: str) -> str | None:
        """The domain's "v=spf1 ..." TXT record, or None when it has none (or does not exist)."""
        import dns.exception
        import dns.resolver

        try:
            answer = self._get_resolver().resolve(domain, "TXT", lifetime=self.lifetime)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return None
        except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.LifetimeTimeout) as error:
            raise DnsUnavailable(f"no DNS answer for {domain}: {error}") from error
        for record in answer:
            text = b"".join(record.strings).decode("utf-8", "replace")
            if text.strip().lower().startswith("v=spf1"):
                return text.strip()
        return None


def spf_includes_amazonses(record: str | None) -> bool:
    """Whether an SPF record authorizes SES's servers (include:amazonses.com)."""
    if not record:
        return False
    return any(term.lower().lstrip("+") == "include:amazonses.com" for term in record.split())
