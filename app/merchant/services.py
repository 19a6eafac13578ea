"""Store back-office rules: the store's settings."""

from __future__ import annotations

from dataclasses import dataclass

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


def get_settings() -> SettingsView:
    """The bound store's settings (defaults if the row is missing)."""
    row = db.session.get(StoreSettings, SETTINGS_ROW_ID)
    if row is None:
        return SettingsView(tagline="", announcement="")
    return SettingsView(tagline=row.tagline, announcement=row.announcement)


def update_settings(*, tagline: str, announcement: str) -> SettingsView:
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
    db.session.commit()
    return SettingsView(tagline=tagline, announcement=announcement)
