"""What a store's customers can browse: visible products with the store's prices and stock status.

Three layers, each cached under the versions that cover it (app.catalog.cache):
- the catalog base, shared by every store: published products, SKUs with wholesale prices per
  plan tier, categories and stock states (catalog version; stock states bump it only when a SKU
  moves between in stock / low / sold out — for top-ups, when a supplier becomes available or
  not: app.suppliers.offers.refresh_availability);
- a store's own data: markup rules, listing choices, settings (store version);
- exact stock counts, for stores that show them (stock version, bumped on every stock change).
A store's listing is computed from these in Python, with the pricing engine, without queries.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.catalog.cache import cached_global, cached_store, peek_store, versions
from app.catalog.models import Category, Product, Sku, SkuTierPrice
from app.extensions import db
from app.inventory.models import CardKey
from app.merchant.services import get_settings
from app.pricing.engine import Markup, RuleSet
from app.pricing.models import PriceRule, ProductListing
from app.pricing.services import category_paths, quote_for, tier_for
from app.suppliers.offers import saleable_topup_skus
from tenants.context import TenantRef

LOW_STOCK_SHOWN_BELOW = 10
HOME_PRODUCTS = 48
SEARCH_RESULTS = 48


def stock_state(delivery_type: str, available: int | None, can_supply: bool = True) -> str:
    """What customers see: card keys by count; a direct top-up is sold out while no supplier
    may take it (app.suppliers.offers); manual delivery is always in stock."""
    if delivery_type == "direct_topup":
        return "in_stock" if can_supply else "sold_out"
    if delivery_type != "card_key":
        return "in_stock"
    if not available:
        return "sold_out"
    return "low" if available < LOW_STOCK_SHOWN_BELOW else "in_stock"


# -- layer 1: the shared catalog base -------------------------------------------------------------


def available_by_sku() -> dict[int, int]:
    rows = db.session.execute(
        select(CardKey.sku_id, func.count())
        .where(CardKey.status == "available")
        .group_by(CardKey.sku_id)
    )
    return dict(rows.all())


def build_base() -> dict:
    categories = db.session.scalars(select(Category).order_by(Category.position, Category.id)).all()
    paths = category_paths()
    tiers: dict[int, dict[str, int]] = {}
    for sku_id, tier, cents in db.session.execute(
        select(SkuTierPrice.sku_id, SkuTierPrice.tier, SkuTierPrice.wholesale_cents)
    ):
        tiers.setdefault(sku_id, {})[tier] = cents
    available = available_by_sku()
    saleable_topups = saleable_topup_skus()
    products = []
    for product in db.session.scalars(
        select(Product)
        .where(Product.is_published.is_(True))
        .options(selectinload(Product.skus))
        .order_by(Product.position, Product.id)
    ):
        skus = [
            {
                "id": s.id,
                "code": s.code,
                "name": s.name,
                "currency": s.currency,
                "face_value_cents": s.face_value_cents,
                "min_quantity": s.min_quantity,
                "max_quantity": s.max_quantity,
                "wholesale": {"standard": s.wholesale_cents, **tiers.get(s.id, {})},
                "stock": stock_state(
                    product.delivery_type, available.get(s.id, 0), s.id in saleable_topups
                ),
            }
            for s in product.skus
            if s.is_active
        ]
        if not skus:
            continue
        products.append(
            {
                "id": product.id,
                "name": product.name,
                "category_id": product.category_id,
                "category_path": paths.get(product.category_id, []),
                "delivery_type": product.delivery_type,
                "image": product.image_path,
                "description_html": product.description_html,
                "input_schema": [
                    {k: f[k] for k in ("name", "label", "example", "regex")}
                    for f in product.input_schema or []
                ],
                "skus": skus,
            }
        )
    return {
        "categories": [
            {"id": c.id, "name": c.name, "icon": c.icon, "parent_id": c.parent_id}
            for c in categories
        ],
        "products": products,
    }


def catalog_base() -> dict:
    return cached_global("base", build_base)


# -- layer 2: a store's own data ------------------------------------------------------------------


def build_store_data() -> dict:
    settings = get_settings()
    return {
        "rules": [
            [r.scope, r.target_id, r.kind, r.value, r.rounding]
            for r in db.session.scalars(select(PriceRule))
        ],
        "listings": {
            str(row.product_id): {
                "hidden": row.is_hidden,
                "title": row.title,
                "description": row.description,
                "position": row.position,
            }
            for row in db.session.scalars(select(ProductListing))
        },
        "show_stock_counts": settings.show_stock_counts,
        "profile": profile_of(settings),
    }


PROFILE_FIELDS = (
    "logo", "support_qq", "support_wechat", "support_telegram", "support_email",
    "seo_title", "seo_description", "guest_checkout", "query_password_policy",
)  # fmt: skip


def profile_of(settings) -> dict:
    """What every storefront page shows of the store's settings (logo, contacts, SEO texts) and
    the checkout rules."""
    return {name: getattr(settings, name) for name in PROFILE_FIELDS}


def store_profile(tenant: TenantRef) -> dict:
    data = store_data(tenant)
    return data.get("profile") or profile_of(get_settings())


def store_data(tenant: TenantRef) -> dict:
    return cached_store(tenant.id, "data", build_store_data)


def stock_counts_snapshot() -> dict[str, int]:
    return cached_global(
        "counts", lambda: {str(k): v for k, v in available_by_sku().items()}, "stock"
    )


# -- layer 3: the store's view, computed --------------------------------------------------------


class StoreCatalog:
    """The catalog as one store's customers see it."""

    def __init__(
        self, tenant: TenantRef, base: dict, data: dict, counts: dict | None, discount_bp: int = 0
    ):
        self.tenant = tenant
        self.discount_bp = discount_bp  # the signed-in customer's level discount
        self.base = base
        self.data = data
        self.counts = counts
        self.rules = RuleSet({(r[0], r[1]): Markup(r[2], r[3], r[4]) for r in data["rules"]})
        self.tier = tier_for(tenant)

    def _listing(self, product_id: int) -> dict | None:
        return self.data["listings"].get(str(product_id))

    def _visible(self, product: dict) -> bool:
        listing = self._listing(product["id"])
        return not (listing and listing["hidden"])

    def _skus(self, product: dict) -> list[dict]:
        rows = []
        for sku in product["skus"]:
            wholesale = sku["wholesale"].get(self.tier, sku["wholesale"]["standard"])
            quote = quote_for(
                self.rules,
                sku["id"],
                product["id"],
                product["category_path"],
                wholesale,
                discount_bp=self.discount_bp,
            )
            available = None
            if self.counts is not None and product["delivery_type"] == "card_key":
                available = self.counts.get(str(sku["id"]), 0)
            rows.append(
                {
                    "id": sku["id"],
                    "code": sku["code"],
                    "name": sku["name"],
                    "currency": sku["currency"],
                    "face_value_cents": sku["face_value_cents"],
                    "price_cents": quote.price_cents,
                    "retail_cents": quote.retail_cents,
                    "min_quantity": sku["min_quantity"],
                    "max_quantity": sku["max_quantity"],
                    "stock": sku["stock"],
                    "available": available,
                }
            )
        return rows

    def _card(self, product: dict, skus: list[dict] | None = None) -> dict:
        skus = skus if skus is not None else self._skus(product)
        listing = self._listing(product["id"]) or {}
        states = {s["stock"] for s in skus}
        stock = "in_stock" if "in_stock" in states else ("low" if "low" in states else "sold_out")
        return {
            "id": product["id"],
            "title": listing.get("title") or product["name"],
            "category_id": product["category_id"],
            "delivery_type": product["delivery_type"],
            "asks_account": bool(product["input_schema"]),
            "image": product["image"],
            "min_price_cents": min(s["price_cents"] for s in skus),
            "currency": skus[0]["currency"],
            "stock": stock,
            "position": listing.get("position") if listing.get("position") is not None else 10**6,
        }

    def products(self) -> list[dict]:
        cards = [self._card(p) for p in self.base["products"] if self._visible(p)]
        cards.sort(key=lambda c: c["position"])
        return cards

    def categories(self, products: list[dict]) -> list[dict]:
        used = {p["category_id"] for p in products}
        parents = {c["id"]: c["parent_id"] for c in self.base["categories"]}
        shown = set()
        for category_id in used:
            node = category_id
            while node is not None and node not in shown:
                shown.add(node)
                node = parents.get(node)
        return [c for c in self.base["categories"] if c["id"] in shown]

    def product(self, product_id: int) -> dict | None:
        product = next((p for p in self.base["products"] if p["id"] == product_id), None)
        if product is None or not self._visible(product):
            return None
        skus = self._skus(product)
        card = self._card(product, skus)
        listing = self._listing(product_id) or {}
        category = next(c for c in self.base["categories"] if c["id"] == product["category_id"])
        card.update(
            description_html=product["description_html"],
            store_description=listing.get("description", ""),
            input_schema=product["input_schema"],
            skus=skus,
            category_name=category["name"],
        )
        return card


def store_catalog(tenant: TenantRef, discount_bp: int = 0) -> StoreCatalog:
    data = store_data(tenant)
    counts = stock_counts_snapshot() if data["show_stock_counts"] else None
    return StoreCatalog(tenant, catalog_base(), data, counts, discount_bp)


def listing(tenant: TenantRef, limit: int | None = None, discount_bp: int = 0) -> dict:
    view = store_catalog(tenant, discount_bp)
    products = view.products()
    return {
        "categories": view.categories(products),
        "products": products[:limit] if limit else products,
    }


def products_in_category(
    tenant: TenantRef, category_id: int, discount_bp: int = 0
) -> tuple[dict | None, list[dict]]:
    data = listing(tenant, discount_bp=discount_bp)
    categories = {c["id"]: c for c in data["categories"]}
    if category_id not in categories:
        return None, []
    inside = {category_id}
    changed = True
    while changed:
        changed = False
        for c in data["categories"]:
            if c["parent_id"] in inside and c["id"] not in inside:
                inside.add(c["id"])
                changed = True
    return categories[category_id], [p for p in data["products"] if p["category_id"] in inside]


def search(tenant: TenantRef, query: str, discount_bp: int = 0) -> list[dict]:
    needle = (query or "").strip().casefold()
    if not needle:
        return []
    products = listing(tenant, discount_bp=discount_bp)["products"]
    found = [p for p in products if needle in p["title"].casefold()]
    return found[:SEARCH_RESULTS]


def product(tenant: TenantRef, product_id: int, discount_bp: int = 0) -> dict | None:
    return store_catalog(tenant, discount_bp).product(product_id)


def _stamp(tenant_id: int, data: dict) -> str:
    catalog, store, stock = versions(tenant_id)
    parts = (catalog, store, stock) if data["show_stock_counts"] else (catalog, store)
    return ".".join(map(str, parts))


def page_stamp(tenant: TenantRef) -> str:
    """Every version a storefront page of this store depends on, as one key part, and where
    the announcements' schedule stands (app.growth.announcements)."""
    from app.growth import announcements

    return f"{_stamp(tenant.id, store_data(tenant))}.{announcements.page_stamp(tenant)}"


def known_page_stamp(tenant: TenantRef) -> str | None:
    """page_stamp() if this process already holds the store's data, else None (no queries)."""
    from app.growth import announcements

    data = peek_store(tenant.id, "data")
    schedule = announcements.known_page_stamp(tenant)
    if data is None or schedule is None:
        return None
    return f"{_stamp(tenant.id, data)}.{schedule}"


def visible_sku(tenant: TenantRef, sku_id: int) -> Sku | None:
    """A SKU that this store's customers may buy, or None (hidden, unpublished, inactive)."""
    sku = db.session.get(Sku, sku_id)
    if sku is None or not sku.is_active:
        return None
    return sku if product(tenant, sku.product_id) is not None else None
