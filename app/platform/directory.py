"""The platform's store directory: search and page through stores, and one store's file."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, or_, select

from app.audit.models import AuditEvent
from app.audit.services import AuditQuery, search
from app.billing.models import StoreSubscription
from app.db import utcnow
from app.extensions import db
from app.kyc import services as kyc
from app.kyc.models import Verification
from app.ledger.parties import store as store_party
from app.platform.insights import Sales, StoreActivity, sales_by_store
from app.withdrawals.services import Balances, balances
from tenants.models import TENANT_STATUSES, Tenant

PAGE_SIZE = 50


@dataclass(frozen=True)
class StoreRow:
    tenant: Tenant
    activity: StoreActivity | None  # last 30 days; None: no sales

    @property
    def sales(self) -> Sales:
        return self.activity.sales if self.activity else Sales()


@dataclass(frozen=True)
class StoresPage:
    rows: list[StoreRow]
    total: int
    page: int
    pages: int


def find_stores(text: str = "", status: str = "", page: int = 1) -> StoresPage:
    """Newest first; `text` matches the address, name or owner e-mail."""
    where = [Tenant.status != "provisioning"]
    if status in TENANT_STATUSES:
        where.append(Tenant.status == status)
    if text := text.strip().lower():
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        where.append(
            or_(
                Tenant.slug.like(pattern, escape="\\"),
                func.lower(Tenant.name).like(pattern, escape="\\"),
                func.lower(Tenant.owner_email).like(pattern, escape="\\"),
            )
        )
    total = db.session.scalar(select(func.count()).select_from(Tenant).where(*where)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages)
    tenants = list(
        db.session.scalars(
            select(Tenant)
            .where(*where)
            .order_by(Tenant.id.desc())
            .offset((page - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE)
        )
    )
    activity = sales_by_store(utcnow() - timedelta(days=30), [t.id for t in tenants])
    return StoresPage([StoreRow(t, activity.get(t.id)) for t in tenants], total, page, pages)


@dataclass(frozen=True)
class StoreFile:
    tenant: Tenant
    subscription: StoreSubscription | None
    sales_30d: Sales
    sales_all: Sales
    last_sale_at: object
    balances: Balances
    verification: Verification | None
    referrer: Tenant | None
    invited: int
    recent_events: list[AuditEvent]


def store_file(tenant: Tenant) -> StoreFile:
    """What the platform knows about one store, for its console page."""
    recent = sales_by_store(utcnow() - timedelta(days=30), [tenant.id]).get(tenant.id)
    ever = sales_by_store(None, [tenant.id]).get(tenant.id)
    party = store_party(tenant.id)
    return StoreFile(
        tenant=tenant,
        subscription=db.session.scalar(
            select(StoreSubscription).where(StoreSubscription.tenant_id == tenant.id)
        ),
        sales_30d=recent.sales if recent else Sales(),
        sales_all=ever.sales if ever else Sales(),
        last_sale_at=ever.last_sale_at if ever else None,
        balances=balances(party),
        verification=kyc.current(party.key),
        referrer=db.session.get(Tenant, tenant.referrer_id) if tenant.referrer_id else None,
        invited=db.session.scalar(
            select(func.count()).select_from(Tenant).where(Tenant.referrer_id == tenant.id)
        )
        or 0,
        recent_events=search(AuditQuery(tenant_id=tenant.id), limit=20),
    )
