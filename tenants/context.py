"""The current store: a ContextVar set per request or job, and tenant_context() to bind one."""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cached_property

from werkzeug.local import LocalProxy


@dataclass(frozen=True)
class TenantRef:
    """A read-only snapshot of a store's identity, safe to pass between threads and jobs."""

    id: int
    slug: str
    name: str
    status: str
    plan: str
    theme: str
    primary_host: str

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    @cached_property
    def fingerprint(self) -> str:
        """Changes whenever anything a page shows about the store changes (cache keys use it)."""
        return hashlib.blake2b(repr(self).encode(), digest_size=8).hexdigest()


class NoTenantBound(RuntimeError):
    """Code that needs a store ran where none is bound."""


_current: ContextVar[TenantRef | None] = ContextVar("kameng_tenant", default=None)


def get_current_tenant() -> TenantRef | None:
    return _current.get()


def require_tenant() -> TenantRef:
    tenant = _current.get()
    if tenant is None:
        raise NoTenantBound("no store is bound to this request or job")
    return tenant


@contextmanager
def tenant_context(tenant: TenantRef | None):
    """Bind `tenant` (None = the platform) for the duration of the block."""
    token = _current.set(tenant)
    try:
        yield tenant
    finally:
        _current.reset(token)


def bind_tenant(tenant: TenantRef | None):
    """Bind a store for the rest of the current request; returns the token for unbind_tenant."""
    return _current.set(tenant)


def unbind_tenant(token) -> None:
    _current.reset(token)


current_tenant: TenantRef = LocalProxy(require_tenant)  # type: ignore[assignment]
