"""Jobs about stores themselves: the welcome e-mail and its sweeper."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.mail.services import send_template
from app.web.urls import tenant_url
from tenants.models import Tenant
from tenants.provisioning import tenant_ref
from workers.queue import enqueue


def send_welcome_email(tenant_id: int) -> bool:
    """E-mail a new store's owner the links to their store; once per store."""
    tenant = db.session.get(Tenant, tenant_id, with_for_update=True)
    if tenant is None or tenant.welcome_sent_at is not None or tenant.status != "active":
        return False
    ref = tenant_ref(tenant)
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        send_template(
            tenant.owner_email,
            gettext("Your store %(name)s is open", name=tenant.name),
            "welcome",
            store_name=tenant.name,
            store_url=tenant_url(ref, "/"),
            admin_url=tenant_url(ref, "/admin"),
            owner_email=tenant.owner_email,
            platform_name=current_app.config["PLATFORM_NAME"],
        )
    tenant.welcome_sent_at = utcnow()
    return True


def sweep_welcome_emails() -> int:
    """Re-enqueue welcome e-mails that a lost job never sent (periodic)."""
    cutoff = utcnow() - timedelta(minutes=2)
    ids = db.session.scalars(
        select(Tenant.id).where(
            Tenant.status == "active",
            Tenant.welcome_sent_at.is_(None),
            Tenant.created_at < cutoff,
        )
    ).all()
    for tenant_id in ids:
        enqueue(
            "workers.jobs.tenants.send_welcome_email",
            tenant_id,
            queue="notifications",
            job_key=f"welcome:{tenant_id}",
        )
    return len(ids)
