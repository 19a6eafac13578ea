"""Buy again and recommendations, from the store's own orders only.

A periodic job (per store, `compute_for_store`) reads the store's kept orders (paid, fulfilling,
delivered, partly refunded; the last RECENT_DAYS) in the store's schema and writes three tables
there: co-purchase pairs (how many buyers bought both products), the best sellers, and each
customer's frequent SKUs with what they paid last. Nothing is read from or written to another
store, and what every visitor sees (bought together, popular) is an aggregate of at least
MIN_BUYERS different buyers, so it never describes one customer. A signed-in customer's own
picks (buy again, for you, new discounts on what they buy often) are shown only on pages that
are not cached (app.storefront.page_cache stores nothing for a signed-in session).

Buy again is read live from the customer's own orders (every plan); the rest needs the plan's
marketing tools and the store's switch (app.growth.services).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from datetime import timedelta
from itertools import combinations

from sqlalchemy import delete, func, or_, select

from app.catalog.cache import bump_store_version, cached_store
from app.coupons.models import Coupon, CouponCode
from app.db import utcnow
from app.extensions import db
from app.growth.models import CustomerFavourite, MarketingSettings, PopularProduct, ProductPair
from app.orders.models import Order, OrderItem
from tenants.context import TenantRef

KEPT = ("paid", "fulfilling", "delivered", "partially_refunded")
RECENT_DAYS = 365
POPULAR_DAYS = 30
MIN_BUYERS = 2
PAIRS_PER_PRODUCT = 8
PRODUCTS_PER_BUYER = 50  # a buyer's products counted for pairs (bounds the work per buyer)
FAVOURITES_PER_CUSTOMER = 20
OFTEN = 2  # paid orders of a SKU that make it "bought often"
NEW_DISCOUNT_DAYS = 30
SHOWN = 4


# -- the job -------------------------------------------------------------------------------------


def _buyer(customer_id, email, phone) -> str | None:
    if customer_id:
        return f"c:{customer_id}"
    if email:
        return f"e:{email}"
    if phone:
        return f"p:{phone}"
    return None


def compute_for_store(store: TenantRef) -> dict:
    """Recompute the store's recommendation tables (one transaction). Bumps the store version
    when what anonymous pages show (pairs, popular) changed. Returns the counts written."""
    now = utcnow()
    rows = db.session.execute(
        select(
            Order.customer_id,
            Order.contact_email,
            Order.contact_phone,
            Order.created_at,
            OrderItem.product_id,
            OrderItem.sku_id,
            OrderItem.quantity,
            OrderItem.unit_price_cents,
            Order.currency,
        )
        .join(OrderItem, OrderItem.order_id == Order.id)
        .where(Order.status.in_(KEPT), Order.created_at >= now - timedelta(days=RECENT_DAYS))
        .order_by(Order.created_at, Order.id)
    )
    products_of: dict[str, set[int]] = defaultdict(set)
    popular_buyers: dict[int, set[str]] = defaultdict(set)
    popular_quantity: Counter = Counter()
    favourites: dict[tuple[int, int], dict] = {}
    popular_since = now - timedelta(days=POPULAR_DAYS)
    for customer_id, email, phone, at, product_id, sku_id, quantity, price, currency in rows:
        buyer = _buyer(customer_id, email, phone)
        if buyer is None:
            continue
        if len(products_of[buyer]) < PRODUCTS_PER_BUYER:
            products_of[buyer].add(product_id)
        if at >= popular_since:
            popular_buyers[product_id].add(buyer)
            popular_quantity[product_id] += quantity
        if customer_id:
            entry = favourites.setdefault(
                (customer_id, sku_id),
                {"product_id": product_id, "orders": 0, "quantity": 0},
            )
            entry["orders"] += 1
            entry["quantity"] += quantity
            entry.update(price=price, currency=currency, at=at)  # rows come oldest first

    pair_counts: Counter = Counter()
    for products in products_of.values():
        for a, b in combinations(sorted(products), 2):
            pair_counts[(a, b)] += 1
            pair_counts[(b, a)] += 1
    by_product: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for (a, b), buyers in pair_counts.items():
        if buyers >= MIN_BUYERS:
            by_product[a].append((buyers, b))
    pairs = [
        (a, b, buyers)
        for a, found in by_product.items()
        for buyers, b in sorted(found, key=lambda x: (-x[0], x[1]))[:PAIRS_PER_PRODUCT]
    ]
    popular = [
        (pid, len(buyers), popular_quantity[pid])
        for pid, buyers in popular_buyers.items()
        if len(buyers) >= MIN_BUYERS
    ]
    per_customer: dict[int, list] = defaultdict(list)
    for (customer_id, sku_id), entry in favourites.items():
        per_customer[customer_id].append((sku_id, entry))

    before = _public_digest()
    db.session.execute(delete(ProductPair))
    db.session.execute(delete(PopularProduct))
    db.session.execute(delete(CustomerFavourite))
    db.session.add_all(ProductPair(product_id=a, other_product_id=b, buyers=n) for a, b, n in pairs)
    db.session.add_all(
        PopularProduct(product_id=pid, buyers=n, quantity=q) for pid, n, q in popular
    )
    kept_favourites = 0
    for customer_id, entries in per_customer.items():
        entries.sort(key=lambda x: (-x[1]["orders"], -x[1]["at"].timestamp()))
        for sku_id, entry in entries[:FAVOURITES_PER_CUSTOMER]:
            kept_favourites += 1
            db.session.add(
                CustomerFavourite(
                    customer_id=customer_id,
                    sku_id=sku_id,
                    product_id=entry["product_id"],
                    orders_count=entry["orders"],
                    quantity=entry["quantity"],
                    last_unit_price_cents=entry["price"],
                    currency=entry["currency"],
                    last_ordered_at=entry["at"],
                )
            )
    settings = db.session.get(MarketingSettings, 1) or MarketingSettings(id=1)
    settings.recommendations_at = now
    db.session.add(settings)
    db.session.flush()
    changed = _public_digest() != before
    db.session.commit()
    if changed:
        bump_store_version(store.id)
    return {"pairs": len(pairs), "popular": len(popular), "favourites": kept_favourites}


def _public_digest() -> str:
    pairs = db.session.execute(
        select(ProductPair.product_id, ProductPair.other_product_id, ProductPair.buyers).order_by(
            ProductPair.product_id, ProductPair.other_product_id
        )
    ).all()
    popular = db.session.execute(
        select(PopularProduct.product_id, PopularProduct.buyers).order_by(PopularProduct.product_id)
    ).all()
    data = json.dumps([[list(r) for r in pairs], [list(r) for r in popular]])
    return hashlib.sha256(data.encode()).hexdigest()


# -- what pages show -----------------------------------------------------------------------------


def _build_public() -> dict:
    pairs: dict[str, list[int]] = defaultdict(list)
    for a, b in db.session.execute(
        select(ProductPair.product_id, ProductPair.other_product_id).order_by(
            ProductPair.product_id, ProductPair.buyers.desc(), ProductPair.other_product_id
        )
    ):
        pairs[str(a)].append(b)
    popular = db.session.scalars(
        select(PopularProduct.product_id).order_by(
            PopularProduct.buyers.desc(), PopularProduct.quantity.desc(), PopularProduct.product_id
        )
    ).all()
    settings = db.session.get(MarketingSettings, 1)
    return {
        "pairs": dict(pairs),
        "popular": list(popular),
        "on": settings.recommendations_on if settings is not None else True,
    }


def public_picks(tenant: TenantRef) -> dict:
    """Bought together and popular, for every visitor (cached under the store version, which
    the job bumps when they change)."""
    return cached_store(tenant.id, "recommendations", _build_public)


def shown_to_everyone(tenant: TenantRef) -> bool:
    """Recommendations are on: the plan has marketing tools and the store has not turned them
    off."""
    from app.growth.services import has_marketing_tools

    return has_marketing_tools(tenant) and public_picks(tenant)["on"]


def page_picks(
    tenant: TenantRef, customer_id: int | None, store_view, products: list[dict], *,
    product_id: int | None = None,
) -> dict:  # fmt: skip
    """What a home page (`product_id` None) or product page shows: buy again (a signed-in
    customer, every plan), and with marketing tools bought together / popular, and for a
    signed-in customer "for you" and new discounts on what they buy often."""
    by_id = {p["id"]: p for p in products}
    picks = {"buy_again": [], "for_you": [], "deals": [], "popular": [], "together": []}
    if customer_id is not None and product_id is None:
        picks["buy_again"] = buy_again(customer_id, store_view, limit=SHOWN)
    if not shown_to_everyone(tenant):
        return picks
    if product_id is not None:
        picks["together"] = bought_together(tenant, product_id, by_id)
        return picks
    picks["popular"] = popular(tenant, by_id)
    if customer_id is not None:
        picks["for_you"] = for_you(tenant, customer_id, by_id)
        picks["deals"] = new_discounts(customer_id, store_view)
    return picks


def _cards(products_by_id: dict, ids, exclude=(), limit: int = SHOWN) -> list[dict]:
    shown, seen = [], set(exclude)
    for pid in ids:
        if pid in products_by_id and pid not in seen:
            seen.add(pid)
            shown.append(products_by_id[pid])
            if len(shown) == limit:
                break
    return shown


def bought_together(tenant: TenantRef, product_id: int, products_by_id: dict) -> list[dict]:
    ids = public_picks(tenant)["pairs"].get(str(product_id), [])
    return _cards(products_by_id, ids, exclude=(product_id,))


def popular(tenant: TenantRef, products_by_id: dict) -> list[dict]:
    return _cards(products_by_id, public_picks(tenant)["popular"])


def buy_again(customer_id: int, store_view, limit: int = 8) -> list[dict]:
    """The SKUs this customer bought (kept orders, most often then most recent first) that the
    store still sells: the product, the SKU at today's price, what they bought last time."""
    rows = db.session.execute(
        select(
            OrderItem.sku_id,
            OrderItem.product_id,
            func.count(func.distinct(Order.id)),
            func.max(Order.created_at),
        )
        .join(Order, OrderItem.order_id == Order.id)
        .where(Order.customer_id == customer_id, Order.status.in_(KEPT))
        .group_by(OrderItem.sku_id, OrderItem.product_id)
        .order_by(func.count(func.distinct(Order.id)).desc(), func.max(Order.created_at).desc())
        .limit(limit * 3)
    ).all()
    picks = []
    for sku_id, product_id, times, _last in rows:
        entry = again_entry(store_view, product_id, sku_id)
        if entry is not None:
            entry["times"] = times
            picks.append(entry)
        if len(picks) == limit:
            break
    return picks


def again_entry(store_view, product_id: int, sku_id: int, quantity: int = 1) -> dict | None:
    """A "buy again" link for one SKU if the store still sells it (None otherwise)."""
    product = store_view.product(product_id)
    sku = next((s for s in (product or {}).get("skus", []) if s["id"] == sku_id), None)
    if product is None or sku is None or sku["stock"] == "sold_out":
        return None
    quantity = min(max(quantity, sku["min_quantity"]), sku["max_quantity"])
    return {
        "product": product,
        "sku": sku,
        "checkout": f"/checkout?sku={sku_id}&quantity={quantity}",
    }


def for_you(tenant: TenantRef, customer_id: int, products_by_id: dict) -> list[dict]:
    """Products bought together with what this customer buys, that they have not bought."""
    mine = db.session.scalars(
        select(CustomerFavourite.product_id)
        .where(CustomerFavourite.customer_id == customer_id)
        .order_by(CustomerFavourite.orders_count.desc(), CustomerFavourite.last_ordered_at.desc())
    ).all()
    pairs = public_picks(tenant)["pairs"]
    candidates = [b for a in mine for b in pairs.get(str(a), [])]
    return _cards(products_by_id, candidates, exclude=set(mine))


def new_discounts(customer_id: int, store_view) -> list[dict]:
    """What this customer buys often that is cheaper now: a lower price than they last paid,
    or a coupon with one code (typed, not single-use batches) on the product or its category
    that started in the last NEW_DISCOUNT_DAYS days."""
    now = utcnow()
    favourites = db.session.scalars(
        select(CustomerFavourite)
        .where(
            CustomerFavourite.customer_id == customer_id, CustomerFavourite.orders_count >= OFTEN
        )
        .order_by(CustomerFavourite.orders_count.desc())
    ).all()
    if not favourites:
        return []
    coupons = db.session.scalars(
        select(Coupon).where(
            Coupon.is_active.is_(True),
            Coupon.scope.in_(("product", "category")),
            or_(Coupon.starts_at.is_(None), Coupon.starts_at <= now),
            or_(Coupon.ends_at.is_(None), Coupon.ends_at > now),
            func.coalesce(Coupon.starts_at, Coupon.created_at)
            >= now - timedelta(days=NEW_DISCOUNT_DAYS),
        )
    ).all()
    deals = []
    for favourite in favourites:
        entry = again_entry(store_view, favourite.product_id, favourite.sku_id)
        if entry is None:
            continue
        product, sku = entry["product"], entry["sku"]
        if sku["currency"] == favourite.currency and sku["price_cents"] < (
            favourite.last_unit_price_cents
        ):
            deals.append(dict(entry, was_cents=favourite.last_unit_price_cents, coupon=None))
            continue
        coupon = next(
            (
                c
                for c in coupons
                if (c.scope == "product" and c.target_id == product["id"])
                or (c.scope == "category" and c.target_id == product["category_id"])
            ),
            None,
        )
        code = _typed_code(coupon) if coupon is not None else None
        if code:
            deals.append(dict(entry, was_cents=None, coupon=coupon, code=code))
    return deals[:SHOWN]


def _typed_code(coupon: Coupon) -> str | None:
    codes = db.session.scalars(
        select(CouponCode).where(CouponCode.coupon_id == coupon.id).limit(2)
    ).all()
    if len(codes) == 1 and codes[0].max_uses is None:
        return codes[0].code
    return None
