"""Order jobs: expiring unpaid orders in every store (periodic) and in one store."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.orders.services import expire_due_orders
from tenants.context import require_tenant
from tenants.models import Tenant
from workers.queue import enqueue


def expire_orders_everywhere() -> int:
    """Periodic: one expiry job per active store (each runs bound to its store)."""
    ids = db.session.scalars(select(Tenant.id).where(Tenant.status == "active")).all()
    for tenant_id in ids:
        enqueue(
            "workers.jobs.orders.expire_store_orders",
            tenant_id=tenant_id,
            job_key=f"expire-orders:{tenant_id}",
        )
    return len(ids)


def expire_store_orders() -> int:
    return expire_due_orders(require_tenant())
