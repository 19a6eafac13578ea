"""Store lifecycle: create (with its owner), suspend, resume, close, drop."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit.services import SYSTEM, Actor, record
from app.auth.emails import email_problem
from app.auth.passwords import password_problem
from app.db import tenant_metadata, utcnow
from app.extensions import db
from app.i18n import N_
from app.merchant.models import StaffUser, StoreSettings
from app.merchant.services import SETTINGS_ROW_ID
from tenants import migrations
from tenants.context import TenantRef
from tenants.engines import registry
from tenants.models import Tenant, TenantDomain
from tenants.resolver import resolver
from tenants.slugs import slug_problem

log = logging.getLogger(__name__)


SLUG_TAKEN = N_("This store address is already taken.")


@dataclass(frozen=True)
class OpenedStore:
    tenant: TenantRef
    owner_id: int


class ProvisioningError(ValueError):
    """A store operation was refused; `field` names the input at fault, `message` says why."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def subdomain_host(slug: str) -> str:
    return f"{slug}.{current_app.config['PLATFORM_DOMAIN']}"


def tenant_ref(tenant: Tenant) -> TenantRef:
    primary = next((d.host for d in tenant.domains if d.is_primary), subdomain_host(tenant.slug))
    return TenantRef(
        id=tenant.id,
        slug=tenant.slug,
        name=tenant.name,
        status=tenant.status,
        plan=tenant.plan,
        theme=tenant.theme,
        primary_host=primary,
    )


def get_tenant(slug: str) -> Tenant | None:
    return db.session.scalar(select(Tenant).where(Tenant.slug == slug))


def slug_availability_problem(slug: str) -> str | None:
    """Why `slug` cannot be had right now (invalid, reserved or taken), or None."""
    if problem := slug_problem(slug):
        return problem
    if get_tenant(slug) is not None:
        return SLUG_TAKEN
    return None


def _invalidate_hosts() -> None:
    resolver().invalidate()


def create_tenant(
    *,
    slug: str,
    name: str,
    owner_email: str,
    owner_password: str,
    plan: str = "free",
    theme: str = "_base",
    referrer_id: int | None = None,
) -> OpenedStore:
    """Open a store: its row and subdomain, its schema at head, its owner; then welcome them.

    Two transactions by necessity (the schema cannot exist before the row that numbers it): the
    row is claimed first with status `provisioning` (the unique slug settles races), then the
    schema, owner and activation commit together. Any failure removes both, leaving nothing.
    """
    slug = (slug or "").strip().lower()
    name = (name or "").strip()
    owner_email = (owner_email or "").strip().lower()
    if problem := slug_problem(slug):
        raise ProvisioningError("slug", problem)
    if not name or len(name) > 100:
        raise ProvisioningError("name", N_("The store name must be 1 to 100 characters long."))
    if problem := email_problem(owner_email):
        raise ProvisioningError("owner_email", problem)
    if problem := password_problem(owner_password, email=owner_email):
        raise ProvisioningError("owner_password", problem)

    tenant = Tenant(
        slug=slug,
        name=name,
        owner_email=owner_email,
        plan=plan,
        theme=theme,
        referrer_id=referrer_id,
    )
    tenant.domains.append(
        TenantDomain(
            host=subdomain_host(slug),
            kind="subdomain",
            verified_at=utcnow(),
            is_primary=True,
        )
    )
    db.session.add(tenant)
    try:
        db.session.flush()
        tenant_id = tenant.id
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ProvisioningError("slug", SLUG_TAKEN) from None
    # Nothing may touch the session until the store transaction below is over: on SQLite a
    # reading session would hold the platform file's lock that the store transaction needs.

    engines = registry()
    try:
        engines.create_tenant_storage(tenant_id)
        with engines.for_tenant(tenant_id).begin() as conn:
            # A brand-new schema is empty: skip create_all's existence checks (which would look
            # in the default schema, not the translated one).
            tenant_metadata.create_all(conn, checkfirst=False)
            revision = migrations.stamp_tenant(engines, conn, tenant_id)
            with Session(bind=conn) as store_session:
                owner = StaffUser(email=owner_email, name=name, role="owner")
                owner.set_password(owner_password)
                store_session.add_all([owner, StoreSettings(id=SETTINGS_ROW_ID)])
                store_session.flush()
                owner_id = owner.id
            conn.execute(
                update(Tenant.__table__)
                .where(Tenant.__table__.c.id == tenant_id)
                .values(status="active", schema_revision=revision, updated_at=utcnow())
            )
    except Exception:
        log.exception("provisioning store %s failed; removing it", slug)
        engines.drop_tenant_storage(tenant_id)
        db.session.execute(delete(Tenant).where(Tenant.id == tenant_id))
        db.session.commit()
        raise

    db.session.expire_all()
    tenant = db.session.get(Tenant, tenant_id)
    ref = tenant_ref(tenant)
    db.session.commit()
    _invalidate_hosts()

    from workers.queue import enqueue

    enqueue(
        "workers.jobs.tenants.send_welcome_email",
        tenant_id,
        job_key=f"welcome:{tenant_id}",
    )
    log.info("store %s (%s) opened", slug, tenant_id)
    return OpenedStore(ref, owner_id)


def set_status(
    slug: str, status: str, reason: str | None = None, *, actor: Actor = SYSTEM
) -> TenantRef:
    """Suspend, resume (active) or close a store, audited in the same transaction."""
    if status not in ("active", "suspended", "closed"):
        raise ProvisioningError("status", N_("Unknown store status."))
    tenant = get_tenant(slug)
    if tenant is None or tenant.status == "provisioning":
        raise ProvisioningError("slug", N_("No store has this address."))
    before = {"status": tenant.status, "reason": tenant.status_reason}
    tenant.status = status
    tenant.status_reason = reason if status != "active" else None
    record(
        f"store.status.{status}",
        actor=actor,
        tenant_id=tenant.id,
        target=f"store:{tenant.slug}",
        before=before,
        after={"status": tenant.status, "reason": tenant.status_reason},
    )
    db.session.commit()
    _invalidate_hosts()
    return tenant_ref(tenant)


def drop_tenant(slug: str) -> None:
    """Delete a store, its domains and its whole schema. Irreversible."""
    tenant = get_tenant(slug)
    if tenant is None:
        raise ProvisioningError("slug", N_("No store has this address."))
    tenant_id = tenant.id
    db.session.delete(tenant)
    db.session.commit()
    registry().drop_tenant_storage(tenant_id)
    _invalidate_hosts()


def list_tenants() -> list[Tenant]:
    return list(db.session.scalars(select(Tenant).order_by(Tenant.id)))


def count_tenants() -> int:
    return db.session.scalar(select(func.count()).select_from(Tenant)) or 0
