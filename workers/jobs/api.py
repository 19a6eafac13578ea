"""API jobs (periodic, in every store): forgetting idempotent answers older than 24 hours, and
docking calls older than DOCKING_LOG_DAYS."""

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


def purge_docking_logs_everywhere() -> int:
    ids = db.session.scalars(select(Tenant.id).where(Tenant.status == "active")).all()
    for tenant_id in ids:
        enqueue(
            "workers.jobs.api.purge_store_docking_log",
            tenant_id=tenant_id,
            job_key=f"docking-log:{tenant_id}",
        )
    return len(ids)


def purge_store_docking_log() -> int:
    from flask import current_app

    from app.docking.acg_services import purge_log

    return purge_log(current_app.config["DOCKING_LOG_DAYS"])
