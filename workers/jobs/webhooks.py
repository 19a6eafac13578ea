"""Webhook jobs: one delivery attempt of a message, and the sweep that enqueues due retries."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.webhooks import services
from tenants.context import require_tenant
from tenants.models import Tenant
from workers.queue import enqueue


def deliver(message_id: str) -> str:
    """One attempt of one message (bound to its store); a message not due is left alone."""
    return services.deliver(require_tenant(), message_id)


def sweep_due_deliveries() -> int:
    """Periodic: one job per active store that enqueues its due webhook attempts."""
    ids = db.session.scalars(select(Tenant.id).where(Tenant.status == "active")).all()
    for tenant_id in ids:
        enqueue(
            "workers.jobs.webhooks.enqueue_due_deliveries",
            tenant_id=tenant_id,
            queue="notifications",
            job_key=f"webhooks-due:{tenant_id}",
        )
    return len(ids)


def enqueue_due_deliveries() -> int:
    return services.enqueue_due(require_tenant())
