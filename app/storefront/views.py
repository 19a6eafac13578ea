"""Storefront pages."""

from __future__ import annotations

from app.merchant.services import get_settings
from app.web.routing import SiteBlueprint
from app.web.themes import render_theme
from tenants.context import current_tenant

bp = SiteBlueprint("storefront", __name__, site="store")


@bp.get("/")
def home():
    return render_theme(
        "shop/home.html", store=current_tenant._get_current_object(), settings=get_settings()
    )
