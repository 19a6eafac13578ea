"""API jobs: forgetting idempotent answers older than 24 hours, in every store (periodic)."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from tenants.models import Tenant
from workers.queue import enqueue


def purge_idempotency_everywhere() -> int:
    """Periodic: one purge job per active store (each runs bound to its store)."""
    ids = db.session.scalars(select(Tenant.id).where(Tenant.status == "active")).all()
    for tenant_id in ids:
        enqueue(
            "workers.jobs.api.purge_store_idempotency",
            tenant_id=tenant_id,
            job_key=f"api-idempotency:{tenant_id}",
        )
    return len(ids)


def purge_store_idempotency() -> int:
    from app.api.idempotency import purge_expired

    return purge_expired()
