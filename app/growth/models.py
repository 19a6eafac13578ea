"""Growth tables: announcements, recommendations, marketing settings and campaigns (store
schema), and the platform's campaign assets library (shared schema)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import BigId, SharedModel, TenantModel, UtcDateTime, utcnow
from app.i18n import N_

ANNOUNCEMENT_KINDS = {
    "bar": N_("Bar at the top of every page"),
    "banner": N_("Home page banner"),
    "popup": N_("Popup notice"),
}


class Announcement(TenantModel):
    """A scheduled notice on the storefront: a bar on every page, a banner on the home page or
    a popup, shown from `starts_at` (None: at once) until `ends_at` (None: until removed)."""

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10), default="bar")  # bar | banner | popup
    title: Mapped[str] = mapped_column(String(120), default="")
    body: Mapped[str] = mapped_column(Text, default="")  # plain text
    link: Mapped[str] = mapped_column(String(300), default="")  # a path on the store or https
    image: Mapped[str] = mapped_column(String(200), default="")  # a media path (banners)
    starts_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


class ProductPair(TenantModel):
    """Co-purchase: how many of the store's buyers bought both products (recomputed by the
    recommendations job; only pairs bought by at least RecommendationRules.min_buyers)."""

    __tablename__ = "recommendation_pairs"

    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    other_product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    buyers: Mapped[int] = mapped_column(Integer, default=0)


class PopularProduct(TenantModel):
    """The store's best sellers over the recent window (distinct buyers), for everyone."""

    __tablename__ = "recommendation_popular"

    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    buyers: Mapped[int] = mapped_column(Integer, default=0)
    quantity: Mapped[int] = mapped_column(Integer, default=0)


class CustomerFavourite(TenantModel):
    """A SKU a customer buys often: their paid orders of it, what they paid last time."""

    __tablename__ = "customer_favourites"

    customer_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer)
    orders_count: Mapped[int] = mapped_column(Integer, default=0)
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    last_unit_price_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    last_ordered_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class MarketingSettings(TenantModel):
    """The store's marketing choices (one row): its poster template and headline."""

    __tablename__ = "marketing_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # "builtin:<layout>" or "asset:<campaign asset id>" (a platform poster template)
    poster_template: Mapped[str] = mapped_column(String(40), default="builtin:card")
    poster_headline: Mapped[str] = mapped_column(String(60), default="")
    recommendations_on: Mapped[bool] = mapped_column(Boolean, default=True)
    recommendations_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)


CAMPAIGN_STATUS_LABELS = {
    "draft": N_("Draft"),
    "sending": N_("Sending"),
    "sent": N_("Sent"),
    "cancelled": N_("Cancelled"),
}


class MarketingCampaign(TenantModel):
    """A marketing e-mail to the customers who opted in, sent in batches by jobs."""

    __tablename__ = "marketing_campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(150))
    body: Mapped[str] = mapped_column(Text)  # plain text
    status: Mapped[str] = mapped_column(String(10), default="draft", index=True)
    created_by: Mapped[str] = mapped_column(String(254), default="")
    recipients_total: Mapped[int] = mapped_column(Integer, default=0)
    sent_count: Mapped[int] = mapped_column(Integer, default=0)
    skipped_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class CampaignRecipient(TenantModel):
    """One customer of a campaign: queued, then sent or skipped (opted out since, blocked)."""

    __tablename__ = "campaign_recipients"
    __table_args__ = (
        Index("uq_campaign_recipients_customer", "campaign_id", "customer_id", unique=True),
        Index("ix_campaign_recipients_sent", "status", "sent_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("marketing_campaigns.id", ondelete="CASCADE")
    )
    customer_id: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), default="queued")  # queued | sent | skipped
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


ASSET_KINDS = {
    "image": N_("Image"),
    "copy": N_("Copy text"),
    "poster_template": N_("Poster template"),
}


class CampaignAsset(SharedModel):
    """The platform's campaign assets library (营销素材库): images, copy texts and poster
    templates that stores on a plan with marketing tools pick and brand."""

    __tablename__ = "campaign_assets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)  # image | copy | poster_template
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(Text, default="")  # copy text, with {store} and {url}
    image: Mapped[str] = mapped_column(String(200), default="")  # media path
    layout: Mapped[str] = mapped_column(String(20), default="card")  # poster templates
    text_colour: Mapped[str] = mapped_column(String(7), default="")  # poster templates
    is_published: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class CampaignQueue(SharedModel):
    """A store's campaign while it is sending: what the periodic driver reads to enqueue the
    next batch (the console and scheduler never read store schemas to find them)."""

    __tablename__ = "campaign_queue"

    tenant_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_run_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
