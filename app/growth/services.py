"""What each plan gets of the growth tools, the store's marketing settings, and the share
posters of a store, a product or a customer's invite link.

Plans (app.billing.entitlements):
- every plan: scheduled announcements, banners and the popup; buy again; invite links (`?ref=`)
  and the referral landing;
- `marketing_posters` ("Marketing tools", Pro and Business): share posters for staff and
  customers, the campaign assets library, recommendations (bought together, popular, for you,
  new discounts on what a customer buys often);
- `marketing_email_daily` (Free 0, Pro 500, Business 5,000): marketing e-mails per day.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from app.audit.services import Actor, record
from app.billing.entitlements import entitled, entitlement
from app.catalog.cache import bump_store_version
from app.extensions import db
from app.growth import posters
from app.growth.models import CampaignAsset, MarketingSettings
from app.i18n import N_, translate
from app.money import format_money
from app.theming import services as theming
from app.web.urls import tenant_url
from tenants.context import TenantRef

HEX_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


class GrowthError(ValueError):
    def __init__(self, field: str, message: str, **params):
        super().__init__(message)
        self.field = field
        self.message = message
        self.params = params


# -- plans -----------------------------------------------------------------------------------------


def has_marketing_tools(store) -> bool:
    """Posters, the campaign assets library and recommendations."""
    return entitled(store, "marketing_posters")


def email_daily_cap(store) -> int:
    return int(entitlement(store, "marketing_email_daily"))


# -- settings --------------------------------------------------------------------------------------


def marketing_settings() -> MarketingSettings:
    """The bound store's marketing settings (defaults until first saved)."""
    row = db.session.get(MarketingSettings, 1)
    return row or MarketingSettings(
        id=1, poster_template="builtin:card", poster_headline="", recommendations_on=True
    )


def save_marketing_settings(
    store: TenantRef, *, poster_template: str, poster_headline: str, recommendations_on: bool,
    actor: Actor,
) -> MarketingSettings:  # fmt: skip
    if poster_template not in {t.key for t in templates_for(store)}:
        raise GrowthError("poster_template", N_("Choose one of the templates."))
    row = db.session.get(MarketingSettings, 1) or MarketingSettings(id=1)
    before = {"poster_template": row.poster_template, "poster_headline": row.poster_headline,
              "recommendations_on": row.recommendations_on}  # fmt: skip
    row.poster_template = poster_template
    row.poster_headline = (poster_headline or "").strip()[:60]
    row.recommendations_on = bool(recommendations_on)
    db.session.add(row)
    record(
        "marketing.settings_changed", actor=actor, tenant_id=store.id, target="marketing",
        before=before, after={"poster_template": row.poster_template,
                              "poster_headline": row.poster_headline,
                              "recommendations_on": row.recommendations_on},
    )  # fmt: skip
    db.session.commit()
    bump_store_version(store.id)  # recommendations shown or not on cached pages
    return row


# -- posters ---------------------------------------------------------------------------------------


def templates_for(store) -> list[posters.PosterTemplate]:
    """The built-in layouts and the platform's published poster templates."""
    found = posters.builtin_templates()
    rows = db.session.scalars(
        select(CampaignAsset)
        .where(CampaignAsset.kind == "poster_template", CampaignAsset.is_published.is_(True))
        .order_by(CampaignAsset.id)
    )
    for row in rows:
        found.append(
            posters.PosterTemplate(
                f"asset:{row.id}", row.title, row.layout, row.image, row.text_colour
            )
        )
    return found


def template_for(store, key: str | None = None) -> posters.PosterTemplate:
    """The template `key` if the store may use it, else the store's chosen one, else Card."""
    available = {t.key: t for t in templates_for(store)}
    for wanted in (key, marketing_settings().poster_template, "builtin:card"):
        if wanted in available:
            return available[wanted]
    return posters.builtin_templates()[0]


def poster_spec(
    store: TenantRef,
    *,
    product: dict | None = None,
    referral_code: str | None = None,
    template_key: str | None = None,
    template: posters.PosterTemplate | None = None,
) -> posters.PosterSpec:
    """A poster of `product` (a storefront product dict) or of the store, linking to it with
    `?ref=<referral_code>` when a customer shares it."""
    values = theming.published_look_data(store)["values"]
    settings = marketing_settings()
    from app.storefront.catalog import store_profile

    path = f"/p/{product['id']}" if product else "/"
    if referral_code:
        path += f"?ref={referral_code}"
    price = ""
    if product:
        price = format_money(product["min_price_cents"], product["currency"])
        if len({s["price_cents"] for s in product.get("skus", [])}) > 1:
            price = translate("from %(price)s", price=price)
    accent = values.get("accent") or "#d9480f"
    return posters.PosterSpec(
        store_name=store.name,
        accent=accent if HEX_RE.match(accent) else "#d9480f",
        page=_hex(values.get("background"), "#f6f7f9"),
        surface=_hex(values.get("surface"), "#ffffff"),
        text=_hex(values.get("text"), "#1d2330"),
        logo=store_profile(store).get("logo") or values.get("logo") or "",
        headline=settings.poster_headline or translate("Scan to buy, delivered the moment you pay"),
        title=product["title"] if product else (values.get("banner_title") or store.name),
        price=price,
        image=(product or {}).get("image") or ("" if product else values.get("banner_image") or ""),
        url=tenant_url(store, path),
        caption=translate("Scan or long-press the code"),
        template=template or template_for(store, template_key),
    )


def _hex(value, default: str) -> str:
    return value if isinstance(value, str) and HEX_RE.match(value) else default
