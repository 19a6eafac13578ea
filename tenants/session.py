"""The ORM session class: every query goes to the engine of the store bound in tenants.context."""

from __future__ import annotations

import flask_sqlalchemy.session

from tenants import engines
from tenants.context import get_current_tenant

_UNBOUND = object()


class TenantSwitchError(RuntimeError):
    """A session that already worked for one store was asked to work for another."""


class TenantSession(flask_sqlalchemy.session.Session):
    """One session = one store (or the platform, when no store is bound).

    The store is taken from the current tenant context at first use. Changing the context while the
    session still holds a transaction or loaded objects is an error, never a silent switch.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._bound_tenant_id = _UNBOUND

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is not None:
            return bind
        tenant = get_current_tenant()
        tenant_id = tenant.id if tenant is not None else None
        switching = self._bound_tenant_id is not _UNBOUND and self._bound_tenant_id != tenant_id
        if switching and (self.in_transaction() or len(self.identity_map)):
            raise TenantSwitchError(
                f"session bound to store {self._bound_tenant_id} used for store {tenant_id}"
            )
        self._bound_tenant_id = tenant_id
        return engines.engine_for(tenant_id)
