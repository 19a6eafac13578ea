"""Storefront pages: home, category, product, search, and the store's theme stylesheet."""

from __future__ import annotations

import logging

from flask import abort, request

from app.analytics import visits
from app.merchant.services import get_settings
from app.storefront import appearance, catalog
from app.storefront.page_cache import cached_page
from app.web.routing import SiteBlueprint
from app.web.themes import render_theme
from tenants.context import current_tenant

bp = SiteBlueprint("storefront", __name__, site="store")
log = logging.getLogger(__name__)

# Page views that count as storefront visits (the dashboard's conversion).
VISIT_ENDPOINTS = frozenset(
    ("storefront.home", "storefront.category", "storefront.product", "storefront.search")
)


@bp.before_request
def count_visit():
    if request.method == "GET" and request.endpoint in VISIT_ENDPOINTS:
        try:
            visits.count_visit(current_tenant.id)
        except Exception:  # a lost count never costs a customer the page
            log.exception("visit not counted")


def _store():
    return current_tenant._get_current_object()


def _discount_bp() -> int:
    """A signed-in customer's level discount (anonymous pages, the cached ones, have none)."""
    from app.customers.views import current_discount_bp

    return current_discount_bp()


@bp.get("/")
@cached_page
def home():
    store = _store()
    discount_bp = _discount_bp()
    data = catalog.listing(store, discount_bp=discount_bp)
    sections = appearance.home_sections(
        store, appearance.current_look(), data, catalog.HOME_PRODUCTS, discount_bp
    )
    return render_theme(
        "shop/home.html",
        store=store,
        settings=get_settings(),
        categories=data["categories"],
        products=data["products"][: catalog.HOME_PRODUCTS],
        sections=sections,
        picks=_picks(store, discount_bp, data["products"]),
    )


def _picks(store, discount_bp: int, products: list[dict], product_id: int | None = None):
    """Buy again and recommendations (app.growth.recommendations). Personal picks only for a
    signed-in customer, whose pages are never cached."""
    from app.customers.views import current_customer
    from app.growth.recommendations import page_picks

    customer = current_customer()
    return page_picks(
        store,
        customer.id if customer is not None else None,
        catalog.store_catalog(store, discount_bp),
        products,
        product_id=product_id,
    )


@bp.get("/c/<int:category_id>")
@cached_page
def category(category_id: int):
    store = _store()
    found, products = catalog.products_in_category(store, category_id, _discount_bp())
    if found is None:
        abort(404)
    return render_theme(
        "shop/category.html",
        store=store,
        category=found,
        categories=catalog.listing(store)["categories"],
        products=products,
    )


@bp.get("/p/<int:product_id>")
@cached_page
def product(product_id: int):
    store = _store()
    discount_bp = _discount_bp()
    found = catalog.product(store, product_id, discount_bp=discount_bp)
    if found is None:
        abort(404)
    products = catalog.listing(store, discount_bp=discount_bp)["products"]
    return render_theme(
        "shop/product.html",
        store=store,
        product=found,
        picks=_picks(store, discount_bp, products, product_id),
        posters=_posters_on(store),
    )


def _posters_on(store) -> bool:
    from app.growth.services import has_marketing_tools

    return has_marketing_tools(store)


@bp.get("/search")
@cached_page
def search():
    store = _store()
    query = (request.args.get("q") or "").strip()[:100]
    return render_theme(
        "shop/search.html",
        store=store,
        query=query,
        products=catalog.search(store, query, _discount_bp()),
    )


@bp.get("/theme.css")
def theme_css():
    return appearance.theme_stylesheet()


import app.growth.storefront_views  # noqa: E402,F401  (routes on this blueprint)
import app.storefront.checkout  # noqa: E402,F401  (routes on this blueprint)
import app.storefront.seo  # noqa: E402,F401  (routes on this blueprint)
