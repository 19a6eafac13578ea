"""TXT look-ups for domain verification, through the configured name servers (DNS_NAMESERVERS:
"1.1.1.1,8.8.8.8" or "127.0.0.1:5353"; unset: the system's resolver)."""

from __future__ import annotations

import dns.exception
import dns.resolver
from flask import current_app


class LookupFailed(Exception):
    """The name servers did not answer (timeout, SERVFAIL): try again later."""


def _resolver() -> dns.resolver.Resolver:
    configured = (current_app.config.get("DNS_NAMESERVERS") or "").strip()
    if not configured:
        resolver = dns.resolver.Resolver()
    else:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = []
        for entry in configured.split(","):
            address, _, port = entry.strip().rpartition(":")
            if not address or "]" in port or address.count(":") > 1 and not address.endswith("]"):
                address, port = entry.strip(), ""  # a bare address (IPv4 or IPv6)
            address = address.strip("[]")
            resolver.nameservers.append(address)
            if port:
                resolver.nameserver_ports[address] = int(port)
    resolver.lifetime = float(current_app.config.get("DNS_TIMEOUT_SECONDS", 5.0))
    resolver.cache = None  # a record just added must be seen on the next check
    return resolver


def txt_records(name: str) -> list[str]:
    """The TXT strings at `name` (each record's strings joined); [] when there are none."""
    try:
        answer = _resolver().resolve(name, "TXT", raise_on_no_answer=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except (dns.exception.Timeout, dns.resolver.NoNameservers) as error:
        raise LookupFailed(str(error)) from None
    if answer.rrset is None:
        return []
    return [b"".join(record.strings).decode("utf-8", "replace") for record in answer.rrset]
