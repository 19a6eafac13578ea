"""Store back-office rules: the store's settings."""

from __future__ import annotations

from dataclasses import dataclass

from app.catalog.cache import bump_store_version
from app.extensions import db
from app.i18n import N_
from app.merchant.models import StoreSettings

SETTINGS_ROW_ID = 1
MAX_TAGLINE = 200
MAX_ANNOUNCEMENT = 2000


class SettingsError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class SettingsView:
    tagline: str
    announcement: str
    show_stock_counts: bool = False


def get_settings() -> SettingsView:
    """The bound store's settings (defaults if the row is missing)."""
    row = db.session.get(StoreSettings, SETTINGS_ROW_ID)
    if row is None:
        return SettingsView(tagline="", announcement="")
    return SettingsView(row.tagline, row.announcement, row.show_stock_counts)


def update_settings(
    tenant_id: int, *, tagline: str, announcement: str, show_stock_counts: bool = False
) -> SettingsView:
    tagline = (tagline or "").strip()
    announcement = (announcement or "").strip()
    if len(tagline) > MAX_TAGLINE:
        raise SettingsError("tagline", N_("The tagline must be at most 200 characters long."))
    if len(announcement) > MAX_ANNOUNCEMENT:
        raise SettingsError(
            "announcement", N_("The announcement must be at most 2000 characters long.")
        )
    row = db.session.get(StoreSettings, SETTINGS_ROW_ID, with_for_update=True)
    if row is None:
        row = StoreSettings(id=SETTINGS_ROW_ID)
        db.session.add(row)
    row.tagline = tagline
    row.announcement = announcement
    row.show_stock_counts = bool(show_stock_counts)
    db.session.commit()
    bump_store_version(tenant_id)
    return SettingsView(tagline, announcement, row.show_stock_counts)


@dataclass(frozen=True)
class CheckoutSettings:
    payment_providers: tuple[str, ...] = ()  # empty: every provider the platform enabled
    order_expiry_minutes: int = 15
    max_unpaid_per_ip: int = 3
    max_unpaid_per_contact: int = 3


EXPIRY_RANGE = (5, 1440)
UNPAID_RANGE = (1, 20)


def get_checkout_settings() -> CheckoutSettings:
    row = db.session.get(StoreSettings, SETTINGS_ROW_ID)
    if row is None:
        return CheckoutSettings()
    return CheckoutSettings(
        tuple(row.payment_providers or ()),
        row.order_expiry_minutes,
        row.max_unpaid_per_ip,
        row.max_unpaid_per_contact,
    )


def update_checkout_settings(
    *,
    payment_providers: list[str],
    order_expiry_minutes: int,
    max_unpaid_per_ip: int,
    max_unpaid_per_contact: int,
) -> CheckoutSettings:
    """Choose the providers to offer (among those the platform enabled) and the order limits."""
    from app.payments.config import enabled_providers

    enabled = enabled_providers()
    unknown = [name for name in payment_providers if name not in enabled]
    if unknown:
        raise SettingsError("payment_providers", N_("Choose among the enabled payment methods."))
    if not EXPIRY_RANGE[0] <= order_expiry_minutes <= EXPIRY_RANGE[1]:
        raise SettingsError(
            "order_expiry_minutes", N_("Unpaid orders expire after 5 to 1440 minutes.")
        )
    for field, value in (
        ("max_unpaid_per_ip", max_unpaid_per_ip),
        ("max_unpaid_per_contact", max_unpaid_per_contact),
    ):
        if not UNPAID_RANGE[0] <= value <= UNPAID_RANGE[1]:
            raise SettingsError(field, N_("Allow 1 to 20 unpaid orders."))
    row = db.session.get(StoreSettings, SETTINGS_ROW_ID, with_for_update=True)
    if row is None:
        row = StoreSettings(id=SETTINGS_ROW_ID)
        db.session.add(row)
    row.payment_providers = [name for name in enabled if name in payment_providers]
    row.order_expiry_minutes = order_expiry_minutes
    row.max_unpaid_per_ip = max_unpaid_per_ip
    row.max_unpaid_per_contact = max_unpaid_per_contact
    db.session.commit()
    return get_checkout_settings()
