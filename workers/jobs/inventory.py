"""Inventory jobs: low-stock checks and the alert e-mail to platform staff."""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy import select

from app.catalog.models import Sku
from app.extensions import db
from app.inventory.services import check_low_stock
from app.mail.services import send_template
from app.platform.models import PlatformUser
from app.web.urls import platform_url


def check_low_stock_job(sku_id: int) -> bool:
    return check_low_stock(sku_id)


def send_low_stock_alert(sku_id: int, available: int) -> int:
    """E-mail every active platform user that a SKU's stock fell below its threshold."""
    sku = db.session.get(Sku, sku_id)
    if sku is None:
        return 0
    recipients = db.session.scalars(
        select(PlatformUser.email).where(PlatformUser.is_active.is_(True))
    ).all()
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        for email in recipients:
            send_template(
                email,
                gettext("Low stock: %(sku)s", sku=sku.code),
                "low_stock",
                sku=sku,
                available=available,
                url=platform_url(f"/platform/inventory/{sku.id}"),
            )
    return len(recipients)
