"""Host header -> site: the platform (apex), a store (subdomain or verified domain), or nothing."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import idna
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import aliased

from tenants.context import TenantRef
from tenants.engines import EngineRegistry
from tenants.models import Tenant, TenantDomain

PLATFORM = "platform"
STORE = "store"
REDIRECT = "redirect"
UNKNOWN = "unknown"

_MAX_CACHED_HOSTS = 50_000
EXTENSION_KEY = "kameng.resolver"


@dataclass(frozen=True)
class Resolution:
    """What a host name means. `redirect_host` is set for kind REDIRECT only."""

    kind: str
    host: str | None
    tenant: TenantRef | None = None
    redirect_host: str | None = None


def normalize_host(raw: str | None) -> str | None:
    """Lower-case ASCII host without port or trailing dot; None when it is not a valid host name."""
    if not raw:
        return None
    host = raw.strip()
    if host.startswith("["):  # IPv6 literal: never a store
        return None
    host = host.rsplit(":", 1)[0] if ":" in host else host
    host = host.rstrip(".")
    if not host or len(host) > 253:
        return None
    try:
        host = idna.encode(host, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        return None
    return host.lower()


def _tenant_ref(row) -> TenantRef:
    return TenantRef(
        id=row.id,
        slug=row.slug,
        name=row.name,
        status=row.status,
        plan=row.plan,
        theme=row.theme,
        primary_host=row.primary_host,
    )


class HostResolver:
    """Resolves hosts against the shared `tenant_domains` table, with a local cache.

    Entries live HOST_CACHE_TTL_SECONDS at most and are stamped with the shared "hosts" version:
    invalidate() bumps it, so every process drops its entries on its next request (versions are
    mirrored in-process, see app.cache), not only the process that made the change.
    """

    VERSION_KEY = "hosts:version"

    def __init__(
        self,
        engines: EngineRegistry,
        platform_domain: str,
        ttl_seconds: float = 60.0,
        shared_cache=None,
    ):
        self._engines = engines
        self.platform_domain = normalize_host(platform_domain) or "localhost"
        self._ttl = ttl_seconds
        self._shared = shared_cache
        self._cache: dict[str, tuple[float, Resolution]] = {}
        self._cache_version = self._version()
        self._lock = threading.Lock()

    def _version(self) -> int:
        return self._shared.get_int(self.VERSION_KEY) if self._shared is not None else 0

    def resolve(self, raw_host: str | None) -> Resolution:
        version = self._version()
        if version != self._cache_version:
            with self._lock:
                self._cache.clear()
                self._cache_version = version
        # Fast path: the Host header exactly as seen before (no parsing, no IDNA work).
        now = time.monotonic()
        cached = self._cache.get(raw_host or "")
        if cached is not None and cached[0] > now:
            return cached[1]
        host = normalize_host(raw_host)
        if host is None:
            resolution = Resolution(UNKNOWN, None)
        else:
            cached = self._cache.get(host)
            if cached is not None and cached[0] > now:
                resolution = cached[1]
            else:
                resolution = self._resolve_uncached(host)
        with self._lock:
            if len(self._cache) >= _MAX_CACHED_HOSTS:
                self._cache.clear()
            expires = now + self._ttl
            self._cache[raw_host or ""] = (expires, resolution)
            if host is not None:
                self._cache.setdefault(host, (expires, resolution))
        return resolution

    def invalidate(self) -> None:
        """A store or domain changed (and committed): every process forgets what it knew."""
        with self._lock:
            self._cache.clear()
        if self._shared is not None:
            self._shared.incr(self.VERSION_KEY)

    def _resolve_uncached(self, host: str) -> Resolution:
        apex = self.platform_domain
        if host == apex:
            return Resolution(PLATFORM, host)
        if host == f"www.{apex}":
            return Resolution(REDIRECT, host, redirect_host=apex)
        found = self._lookup(host)
        if found is not None:
            tenant, is_primary = found
            if is_primary:
                return Resolution(STORE, host, tenant=tenant)
            return Resolution(REDIRECT, host, tenant=tenant, redirect_host=tenant.primary_host)
        if host.startswith("www."):
            found = self._lookup(host[4:])
            if found is not None:
                tenant = found[0]
                return Resolution(REDIRECT, host, tenant=tenant, redirect_host=tenant.primary_host)
        return Resolution(UNKNOWN, host)

    def by_id(self, tenant_id: int) -> TenantRef | None:
        """A store by id, whatever its status (jobs and the CLI use this; no cache)."""
        tenant = Tenant.__table__
        row = self._fetch_one(self._tenant_query().where(tenant.c.id == tenant_id))
        return _tenant_ref(row) if row is not None else None

    def _lookup(self, host: str) -> tuple[TenantRef, bool] | None:
        """The store that a verified host belongs to, and whether the host is its primary."""
        domain = TenantDomain.__table__
        tenant = Tenant.__table__
        query = (
            self._tenant_query()
            .add_columns(domain.c.is_primary)
            .join(domain, domain.c.tenant_id == tenant.c.id)
            .where(
                domain.c.host == host,
                domain.c.verified_at.is_not(None),
                tenant.c.status != "provisioning",
            )
        )
        row = self._fetch_one(query)
        if row is None:
            return None
        return _tenant_ref(row), bool(row.is_primary)

    @staticmethod
    def _tenant_query():
        tenant = Tenant.__table__
        primary = aliased(TenantDomain.__table__, name="primary_domain")
        return (
            select(
                tenant.c.id,
                tenant.c.slug,
                tenant.c.name,
                tenant.c.status,
                tenant.c.plan,
                tenant.c.theme,
                primary.c.host.label("primary_host"),
            )
            .select_from(tenant)
            .join(primary, (primary.c.tenant_id == tenant.c.id) & primary.c.is_primary)
        )

    def _fetch_one(self, query):
        with self._engines.platform().connect() as conn:
            return conn.execute(query).first()


def resolver() -> HostResolver:
    return current_app.extensions[EXTENSION_KEY]


def tenant_by_id(tenant_id: int) -> TenantRef | None:
    return resolver().by_id(tenant_id)


def init_app(app, engines: EngineRegistry, shared_cache=None) -> HostResolver:
    host_resolver = HostResolver(
        engines,
        app.config["PLATFORM_DOMAIN"],
        app.config["HOST_CACHE_TTL_SECONDS"],
        shared_cache,
    )
    app.extensions[EXTENSION_KEY] = host_resolver
    return host_resolver
