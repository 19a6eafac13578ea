"""Store pricing: markup rules, wholesale by plan tier, and quotes for any set of SKUs.

Every store-facing price comes from quote_skus(), so the price a customer is shown is the price
checkout and the API charge. SkuPrice carries no supplier cost: stores never see it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from app.billing.entitlements import entitlement
from app.catalog.cache import bump_store_version
from app.catalog.models import DEFAULT_TIER, Category, Product, Sku, SkuTierPrice
from app.extensions import db
from app.i18n import N_
from app.pricing.engine import (
    MARKUP_KINDS,
    ROUNDING_MODES,
    SCOPES,
    Markup,
    Quote,
    RuleSet,
    quote,
    unclamped_retail,
)
from app.pricing.models import PriceRule
from tenants.context import TenantRef

MAX_PERCENT_BP = 100_000  # +1000 %
MIN_PERCENT_BP = -9_999
MAX_FIXED_CENTS = 10**8


class PricingError(ValueError):
    def __init__(self, field: str, message: str, **params):
        super().__init__(message)
        self.field = field
        self.message = message
        self.params = params


@dataclass(frozen=True)
class SkuPrice:
    """A SKU as a store sees it: its wholesale and retail, never the supplier cost."""

    sku_id: int
    product_id: int
    code: str
    name: str
    currency: str
    face_value_cents: int
    quote: Quote


def tier_for(tenant: TenantRef) -> str:
    """The wholesale tier of a store: its plan's `wholesale_tier` entitlement (by default named
    after the plan; a tier without tier prices pays the default wholesale)."""
    return entitlement(tenant, "wholesale_tier") or DEFAULT_TIER


def wholesale_prices(skus: Iterable[Sku], tier: str) -> dict[int, int]:
    skus = list(skus)
    prices = {sku.id: sku.wholesale_cents for sku in skus}
    if tier != DEFAULT_TIER and skus:
        rows = db.session.execute(
            select(SkuTierPrice.sku_id, SkuTierPrice.wholesale_cents).where(
                SkuTierPrice.sku_id.in_(prices), SkuTierPrice.tier == tier
            )
        )
        prices.update(dict(rows.all()))
    return prices


def load_rules() -> RuleSet:
    """The bound store's rules."""
    rows = db.session.scalars(select(PriceRule)).all()
    return RuleSet({(r.scope, r.target_id): Markup(r.kind, r.value, r.rounding) for r in rows})


def category_paths() -> dict[int, list[int]]:
    """Each category's id followed by its ancestors' ids, nearest first."""
    parents = dict(db.session.execute(select(Category.id, Category.parent_id)).all())
    paths = {}
    for category_id in parents:
        path, node = [], category_id
        while node is not None and node not in path:
            path.append(node)
            node = parents.get(node)
        paths[category_id] = path
    return paths


def quote_for(
    rules: RuleSet,
    sku_id: int,
    product_id: int,
    category_path,
    wholesale_cents: int,
    discount_bp: int = 0,
) -> Quote:
    """The one way a SKU is priced for a store: its most specific rule on its wholesale."""
    scope, markup = rules.for_sku(sku_id, product_id, category_path)
    return quote(wholesale_cents, markup, scope, discount_bp)


def quote_skus(
    tenant: TenantRef, skus: Iterable[Sku], rules: RuleSet | None = None, discount_bp: int = 0
) -> dict[int, SkuPrice]:
    """Prices of `skus` in the bound store (`tenant`), for a customer with `discount_bp`."""
    skus = list(skus)
    rules = rules if rules is not None else load_rules()
    wholesale = wholesale_prices(skus, tier_for(tenant))
    paths = category_paths()
    priced = {}
    for sku in skus:
        sku_quote = quote_for(
            rules,
            sku.id,
            sku.product_id,
            paths.get(sku.product.category_id, []),
            wholesale[sku.id],
            discount_bp,
        )
        priced[sku.id] = SkuPrice(
            sku_id=sku.id,
            product_id=sku.product_id,
            code=sku.code,
            name=sku.name,
            currency=sku.currency,
            face_value_cents=sku.face_value_cents,
            quote=sku_quote,
        )
    return priced


def affected_skus(scope: str, target_id: int) -> list[Sku]:
    """The SKUs a rule at this level can price (store: every SKU)."""
    statement = select(Sku).join(Product)
    if scope == "sku":
        statement = statement.where(Sku.id == target_id)
    elif scope == "product":
        statement = statement.where(Sku.product_id == target_id)
    elif scope == "category":
        paths = category_paths()
        inside = [cid for cid, path in paths.items() if target_id in path]
        statement = statement.where(Product.category_id.in_(inside))
    return list(db.session.scalars(statement))


def validate_rule(scope: str, target_id: int, kind: str, value: int, rounding: str) -> Markup:
    if scope not in SCOPES:
        raise PricingError("scope", N_("Unknown rule level."))
    if kind not in MARKUP_KINDS:
        raise PricingError("kind", N_("Choose a percentage or a fixed amount."))
    if rounding not in ROUNDING_MODES:
        raise PricingError("rounding", N_("Unknown rounding."))
    if kind == "percent" and not MIN_PERCENT_BP <= value <= MAX_PERCENT_BP:
        raise PricingError("value", N_("A percentage markup must be between -99.99 % and 1000 %."))
    if kind == "fixed" and abs(value) > MAX_FIXED_CENTS:
        raise PricingError("value", N_("This fixed markup is too large."))
    if scope == "store":
        target_id = 0
    elif not _target_exists(scope, target_id):
        raise PricingError("target_id", N_("This item does not exist in the catalog."))
    return Markup(kind, value, rounding)


def _target_exists(scope: str, target_id: int) -> bool:
    """Rules may name categories, and SKUs or products that the store can sell (published)."""
    if scope == "category":
        return db.session.get(Category, target_id) is not None
    if scope == "product":
        product = db.session.get(Product, target_id)
        return product is not None and product.is_published
    sku = db.session.get(Sku, target_id)
    return sku is not None and sku.product.is_published


@dataclass(frozen=True)
class PreviewLine:
    sku_id: int
    code: str
    name: str
    wholesale_cents: int
    retail_cents: int  # what the rule would charge (unclamped: may be below wholesale)

    @property
    def shortfall_cents(self) -> int:
        return max(self.wholesale_cents - self.retail_cents, 0)


def preview_rule(
    tenant: TenantRef, scope: str, target_id: int, kind: str, value: int, rounding: str
) -> list[PreviewLine]:
    """What the rule would charge for each SKU it would price (more specific rules aside)."""
    markup = validate_rule(scope, target_id, kind, value, rounding)
    skus = affected_skus(scope, target_id)
    wholesale = wholesale_prices(skus, tier_for(tenant))
    return [
        PreviewLine(
            s.id, s.code, s.name, wholesale[s.id], unclamped_retail(wholesale[s.id], markup)
        )
        for s in skus
    ]


def save_rule(
    tenant: TenantRef, scope: str, target_id: int, kind: str, value: int, rounding: str = "none"
) -> PriceRule:
    """Create or replace the rule at this level; refused if any SKU would sell below wholesale."""
    preview = preview_rule(tenant, scope, target_id, kind, value, rounding)
    below = [line for line in preview if line.shortfall_cents > 0]
    if below:
        listing = ", ".join(
            f"{line.code} ({line.shortfall_cents / 100:.2f})" for line in below[:10]
        )
        raise PricingError(
            "value",
            N_("This rule would sell below wholesale: %(skus)s."),
            skus=listing + (" …" if len(below) > 10 else ""),
        )
    target_id = 0 if scope == "store" else target_id
    rule = db.session.scalar(
        select(PriceRule).where(PriceRule.scope == scope, PriceRule.target_id == target_id)
    )
    if rule is None:
        rule = PriceRule(scope=scope, target_id=target_id)
        db.session.add(rule)
    rule.kind, rule.value, rule.rounding = kind, value, rounding
    db.session.commit()
    bump_store_version(tenant.id)
    return rule


def delete_rule(tenant: TenantRef, scope: str, target_id: int) -> bool:
    rule = db.session.scalar(
        select(PriceRule).where(PriceRule.scope == scope, PriceRule.target_id == target_id)
    )
    if rule is None:
        return False
    db.session.delete(rule)
    db.session.commit()
    bump_store_version(tenant.id)
    return True


def list_rules() -> list[PriceRule]:
    return list(
        db.session.scalars(select(PriceRule).order_by(PriceRule.scope, PriceRule.target_id))
    )


# -- what a store owner sees in /admin/catalog -----------------------------------------------------


@dataclass(frozen=True)
class ProductOverview:
    product_id: int
    name: str
    category_id: int
    delivery_type: str
    listing_title: str
    listing_description: str
    listing_position: int | None
    is_hidden: bool
    skus: list[SkuPrice]


def store_catalog_overview(tenant: TenantRef) -> list[tuple[Category, list[ProductOverview]]]:
    """Published products by category with the store's wholesale and retail side by side."""
    from sqlalchemy.orm import selectinload

    from app.pricing.models import ProductListing

    products = db.session.scalars(
        select(Product)
        .where(Product.is_published.is_(True))
        .options(selectinload(Product.skus))
        .order_by(Product.position, Product.id)
    ).all()
    listings = {row.product_id: row for row in db.session.scalars(select(ProductListing))}
    prices = quote_skus(tenant, [s for p in products for s in p.skus if s.is_active])
    by_category: dict[int, list[ProductOverview]] = {}
    for product in products:
        listing = listings.get(product.id)
        by_category.setdefault(product.category_id, []).append(
            ProductOverview(
                product_id=product.id,
                name=product.name,
                category_id=product.category_id,
                delivery_type=product.delivery_type,
                listing_title=listing.title if listing else "",
                listing_description=listing.description if listing else "",
                listing_position=listing.position if listing else None,
                is_hidden=bool(listing and listing.is_hidden),
                skus=[prices[s.id] for s in product.skus if s.id in prices],
            )
        )
    categories = db.session.scalars(select(Category).order_by(Category.position, Category.id))
    return [(c, by_category[c.id]) for c in categories if c.id in by_category]


def save_listing(
    tenant: TenantRef,
    product_id: int,
    *,
    is_hidden: bool,
    title: str = "",
    description: str = "",
    position: int | None = None,
):
    """A store's own title, description, order and visibility for a published product."""
    from app.pricing.models import ProductListing

    product = db.session.get(Product, product_id)
    if product is None or not product.is_published:
        raise PricingError("product_id", N_("This item does not exist in the catalog."))
    title, description = (title or "").strip(), (description or "").strip()
    if len(title) > 120:
        raise PricingError("title", N_("The title must be at most 120 characters long."))
    if len(description) > 5000:
        raise PricingError(
            "description", N_("The description must be at most 5000 characters long.")
        )
    listing = db.session.scalar(
        select(ProductListing).where(ProductListing.product_id == product_id)
    )
    if listing is None:
        listing = ProductListing(product_id=product_id)
        db.session.add(listing)
    listing.is_hidden, listing.title, listing.description = bool(is_hidden), title, description
    listing.position = position
    db.session.commit()
    bump_store_version(tenant.id)
    return listing
