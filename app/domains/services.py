"""Custom domains: a store adds a host name it owns, proves it with a DNS TXT record at
`_kameng.<host>`, may make it its primary host, and may remove it. Only verified hosts ever
serve a store (tenants.resolver reads verified rows only)."""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.audit.services import Actor, record
from app.db import utcnow
from app.extensions import db
from app.i18n import N_
from tenants.models import Tenant, TenantDomain
from tenants.resolver import normalize_host, resolver

TXT_PREFIX = "_kameng"
TOKEN_PREFIX = "kameng-verify="
MAX_CUSTOM_DOMAINS = 5
# A host another store added but never verified may be claimed after this long.
UNVERIFIED_CLAIM_DAYS = 7


class DomainError(ValueError):
    def __init__(self, message: str, **params):
        super().__init__(message)
        self.message = message
        self.params = params


@dataclass(frozen=True)
class VerificationRecord:
    name: str
    value: str


def verification_record(domain: TenantDomain) -> VerificationRecord:
    """The TXT record the store publishes to prove it owns `domain`."""
    return VerificationRecord(
        f"{TXT_PREFIX}.{domain.host}", TOKEN_PREFIX + domain.verification_token
    )


def clean_host(raw: str) -> str:
    """A custom domain as stored (lower-case ASCII, IDNA); DomainError says what is wrong."""
    text = (raw or "").strip()
    if "://" in text:
        text = text.split("://", 1)[1]
    text = text.split("/", 1)[0]
    if not text or any(c in text for c in " @?#:[]"):
        raise DomainError(N_("Enter a domain name such as shop.example.com."))
    host = normalize_host(text)
    if host is None or "." not in host:
        raise DomainError(N_("Enter a domain name such as shop.example.com."))
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        raise DomainError(N_("Enter a domain name, not an IP address."))
    labels = host.split(".")
    if any(not label or len(label) > 63 for label in labels) or labels[-1].isdecimal():
        raise DomainError(N_("Enter a domain name such as shop.example.com."))
    apex = normalize_host(current_app.config["PLATFORM_DOMAIN"]) or ""
    if host == apex or host.endswith("." + apex):
        raise DomainError(N_("This is the platform's own domain; add a domain that you own."))
    return host


def _lock_store(tenant_id: int) -> Tenant:
    """Changes to one store's hosts run one at a time (the store row is the lock), so two
    concurrent "make primary" clicks cannot both pass the one-primary-per-store rule."""
    return db.session.scalar(
        select(Tenant)
        .where(Tenant.id == tenant_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def store_domains(tenant_id: int) -> list[TenantDomain]:
    return list(
        db.session.scalars(
            select(TenantDomain)
            .where(TenantDomain.tenant_id == tenant_id)
            .order_by(TenantDomain.kind.desc(), TenantDomain.id)
        )
    )


def store_domain(tenant_id: int, domain_id: int) -> TenantDomain | None:
    """One of the store's domains; None for another store's (callers answer 404)."""
    return db.session.scalar(
        select(TenantDomain).where(
            TenantDomain.id == domain_id, TenantDomain.tenant_id == tenant_id
        )
    )


def add_domain(tenant_id: int, raw_host: str, *, actor: Actor) -> TenantDomain:
    """Add a custom domain, unverified, with a fresh verification token."""
    host = clean_host(raw_host)
    owned = store_domains(tenant_id)
    if any(d.host == host for d in owned):
        raise DomainError(N_("Your store already has this domain."))
    if sum(1 for d in owned if d.kind == "custom") >= MAX_CUSTOM_DOMAINS:
        raise DomainError(
            N_("A store can have at most %(count)s domains."), count=MAX_CUSTOM_DOMAINS
        )
    taken = db.session.scalar(select(TenantDomain).where(TenantDomain.host == host))
    if taken is not None:
        stale = taken.verified_at is None and taken.created_at < utcnow() - timedelta(
            days=UNVERIFIED_CLAIM_DAYS
        )
        if not stale:
            raise DomainError(N_("Another store uses this domain."))
        db.session.delete(taken)  # an old unproven claim does not block the owner
        db.session.flush()
    domain = TenantDomain(
        tenant_id=tenant_id,
        host=host,
        kind="custom",
        verification_token=secrets.token_hex(16),
        is_primary=False,
    )
    db.session.add(domain)
    try:
        db.session.flush()
    except IntegrityError:  # another store added it at the same moment
        db.session.rollback()
        raise DomainError(N_("Another store uses this domain.")) from None
    record(
        "domain.added", actor=actor, tenant_id=tenant_id, target=f"domain:{host}",
        after={"host": host},
    )  # fmt: skip
    db.session.commit()
    return domain


def verify_domain(
    tenant_id: int,
    domain: TenantDomain,
    *,
    actor: Actor,
    lookup: Callable[[str], list[str]] | None = None,
) -> bool:
    """Look for the TXT record now; verified domains serve the store from the next request."""
    from app.domains.dns import LookupFailed, txt_records

    if domain.kind != "custom" or domain.tenant_id != tenant_id:
        raise DomainError(N_("Only your own custom domains are verified."))
    if domain.verified_at is not None:
        return True
    wanted = verification_record(domain)
    try:
        found = (lookup or txt_records)(wanted.name)
    except LookupFailed:
        found, problem = [], N_("The name servers did not answer; try again in a few minutes.")
    else:
        problem = None if wanted.value in found else N_("The TXT record was not found yet.")
    domain.checked_at = utcnow()
    domain.check_error = problem
    if problem is None:
        domain.verified_at = domain.checked_at
        record(
            "domain.verified", actor=actor, tenant_id=tenant_id, target=f"domain:{domain.host}",
            after={"host": domain.host},
        )  # fmt: skip
    db.session.commit()
    if problem is None:
        resolver().invalidate()
    return problem is None


def make_primary(tenant_id: int, domain: TenantDomain, *, actor: Actor) -> None:
    """Serve the store on `domain`; the previous primary host redirects to it from now on."""
    from app.billing import entitled

    if domain.tenant_id != tenant_id or domain.verified_at is None:
        raise DomainError(N_("Verify the domain before making it the primary one."))
    tenant = _lock_store(tenant_id)
    db.session.refresh(domain)
    if domain.kind == "custom" and not entitled(tenant, "custom_domain"):
        raise DomainError(N_("Your plan does not include custom domains."))
    if domain.is_primary:
        return
    current = db.session.scalar(
        select(TenantDomain)
        .where(TenantDomain.tenant_id == tenant_id, TenantDomain.is_primary)
        .execution_options(populate_existing=True)
    )
    if current is not None:
        current.is_primary = False
        db.session.flush()  # one primary per store, checked row by row: step aside first
    domain.is_primary = True
    record(
        "domain.primary", actor=actor, tenant_id=tenant_id, target=f"domain:{domain.host}",
        before={"host": current.host if current else None}, after={"host": domain.host},
    )  # fmt: skip
    db.session.commit()
    _hosts_changed(tenant_id)


def remove_domain(tenant_id: int, domain: TenantDomain, *, actor: Actor) -> None:
    """Remove a custom domain; if it was the primary, the store's subdomain takes over."""
    if domain.kind != "custom" or domain.tenant_id != tenant_id:
        raise DomainError(N_("The store's own subdomain cannot be removed."))
    _lock_store(tenant_id)
    db.session.refresh(domain)
    host, was_primary = domain.host, domain.is_primary
    db.session.delete(domain)
    db.session.flush()
    if was_primary:
        subdomain = db.session.scalar(
            select(TenantDomain).where(
                TenantDomain.tenant_id == tenant_id, TenantDomain.kind == "subdomain"
            )
        )
        subdomain.is_primary = True
    record(
        "domain.removed", actor=actor, tenant_id=tenant_id, target=f"domain:{host}",
        before={"host": host, "primary": was_primary},
    )  # fmt: skip
    db.session.commit()
    _hosts_changed(tenant_id)


def _hosts_changed(tenant_id: int) -> None:
    """After commit: every process forgets the store's hosts and its cached pages and links."""
    from app.catalog.cache import bump_store_version

    resolver().invalidate()
    bump_store_version(tenant_id)


def may_have_certificate(raw_host: str | None) -> bool:
    """For the proxy's on-demand TLS: is this a host we serve (a verified store host, or the
    www. form of one, which redirects)? Unverified, unknown and closed stores' hosts are not."""
    host = normalize_host(raw_host)
    if host is None:
        return False
    candidates = [host] + ([host[4:]] if host.startswith("www.") else [])
    found = db.session.scalar(
        select(TenantDomain.id)
        .join(Tenant, Tenant.id == TenantDomain.tenant_id)
        .where(
            TenantDomain.host.in_(candidates),
            TenantDomain.verified_at.is_not(None),
            Tenant.status.in_(("active", "suspended")),
        )
        .limit(1)
    )
    return found is not None
