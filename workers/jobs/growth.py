"""Growth jobs: recomputing each store's recommendations, driving marketing e-mail campaigns
in batches, sweeping old poster files."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from tenants.context import require_tenant
from tenants.models import Tenant
from workers.queue import enqueue


def compute_recommendations_everywhere() -> int:
    """Periodic: one recommendations job per active store whose plan has marketing tools."""
    from app.growth.services import has_marketing_tools

    stores = db.session.execute(select(Tenant.id, Tenant.plan).where(Tenant.status == "active"))
    count = 0
    for tenant_id, plan in stores:
        if has_marketing_tools(_Plan(plan)):
            enqueue(
                "workers.jobs.growth.compute_store_recommendations",
                tenant_id=tenant_id,
                job_key=f"recommendations:{tenant_id}",
            )
            count += 1
    return count


class _Plan:
    def __init__(self, plan: str):
        self.plan = plan


def compute_store_recommendations() -> dict:
    from app.growth.recommendations import compute_for_store

    return compute_for_store(require_tenant())


def drive_campaigns() -> int:
    """Periodic: the next batch of every campaign that is due (from the shared queue)."""
    from app.growth.mailing import due_campaigns, enqueue_batch

    due = due_campaigns()
    for tenant_id, campaign_id in due:
        enqueue_batch(tenant_id, campaign_id)
    return len(due)


def send_campaign_batch(campaign_id: int) -> int:
    from app.growth.mailing import send_batch

    return send_batch(require_tenant(), campaign_id)


def purge_posters() -> int:
    from app.growth.posters import purge_posters as purge

    return purge(int(current_app.config.get("POSTER_TTL_DAYS") or 7))
