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
