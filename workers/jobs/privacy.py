"""Privacy jobs: each store's retention periods, applied daily (one job per active store)."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.privacy.services import apply_retention
from tenants.context import require_tenant
from tenants.models import Tenant
from workers.queue import enqueue


def apply_retention_everywhere() -> int:
    """Periodic: one retention job per store that is open or suspended (its customers' data
    ages the same whether it sells or not)."""
    ids = db.session.scalars(
        select(Tenant.id).where(Tenant.status.in_(("active", "suspended")))
    ).all()
    for tenant_id in ids:
        enqueue(
            "workers.jobs.privacy.apply_store_retention",
            tenant_id=tenant_id,
            job_key=f"privacy-retention:{tenant_id}",
        )
    return len(ids)


def apply_store_retention() -> dict:
    """The bound store's retention periods; safe to run twice (the runner commits)."""
    result = apply_retention(require_tenant())
    return {
        "orders_erased": result.orders_erased,
        "customers_anonymised": result.customers_anonymised,
        "customers_skipped": result.customers_skipped,
    }
