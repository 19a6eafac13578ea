"""Shared tables that define stores: `tenants` and the host names they answer on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import SharedModel, UtcDateTime, utcnow
from app.i18n import N_

TENANT_STATUSES = ("provisioning", "active", "suspended", "closed")
STATUS_LABELS = {
    "provisioning": N_("Opening"),
    "active": N_("Active"),
    "suspended": N_("Suspended"),
    "closed": N_("Closed"),
}
DOMAIN_KINDS = ("subdomain", "custom")


class Tenant(SharedModel):
    """A store (分站): its identity, lifecycle status, plan and theme."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(30), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default="provisioning")
    status_reason: Mapped[str | None] = mapped_column(Text)
    plan: Mapped[str] = mapped_column(String(30), default="free")
    theme: Mapped[str] = mapped_column(String(40), default="_base")
    owner_email: Mapped[str] = mapped_column(String(254))
    # The store whose invite link opened this one (store referral); set once, never changed.
    referrer_id: Mapped[int | None] = mapped_column(
        ForeignKey("tenants.id", ondelete="SET NULL"), index=True
    )
    # The store schema's Alembic revision, recorded here so `tenants migrate` knows who is behind.
    schema_revision: Mapped[str | None] = mapped_column(String(40))
    migration_error: Mapped[str | None] = mapped_column(Text)
    welcome_sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    domains: Mapped[list[TenantDomain]] = relationship(
        back_populates="tenant",
        cascade="all, delete-orphan",
        order_by="TenantDomain.id",
    )

    def __repr__(self) -> str:
        return f"<Tenant {self.id} {self.slug} {self.status}>"


class TenantDomain(SharedModel):
    """A host name a store answers on: its platform subdomain or a verified custom domain."""

    __tablename__ = "tenant_domains"
    __table_args__ = (
        # At most one primary host per store.
        Index(
            "uq_tenant_domains_primary",
            "tenant_id",
            unique=True,
            postgresql_where=text("is_primary"),
            sqlite_where=text("is_primary"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"), index=True)
    host: Mapped[str] = mapped_column(String(253), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    verification_token: Mapped[str | None] = mapped_column(String(64))
    verified_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    # The last DNS check of a custom domain and, if it failed, why (shown to the store).
    checked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    check_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    tenant: Mapped[Tenant] = relationship(back_populates="domains")

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None
