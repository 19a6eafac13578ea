"""Scheduled announcements: a bar on every storefront page, banners on the home page and an
optional popup, each shown from its start until its end.

Storefront pages are cached whole for anonymous visitors (app.storefront.page_cache), so the
schedule is part of the page's key: the store's coming and current announcements are cached
under the store version, and `schedule_stamp()` counts the start and end times already passed.
The count moves the moment one starts or ends, so the next request renders afresh, on time to
the second and without a query (edits bump the store version as any setting does).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select

from app.audit.services import Actor, record
from app.catalog.cache import bump_store_version, cached_store, peek_store
from app.db import utcnow
from app.extensions import db
from app.growth.models import ANNOUNCEMENT_KINDS, Announcement
from app.i18n import N_
from app.images import ImageRefused, reencode_image, store_media
from tenants.context import TenantRef

LINK_RE = re.compile(r"^(?:/(?!/)[^\s]*|https?://[^\s/]+[^\s]*)$")
BANNER_IMAGE_MAX_BYTES = 1024 * 1024
BANNER_IMAGE_MAX_PIXELS = 2400
IMAGE_REFUSALS = {
    "size": N_("The image must be at most 1 MB."),
    "format": N_("Use a PNG, JPEG, WebP or GIF image."),
    "pixels": N_("The image must be at most 2400 pixels wide and high."),
    "unreadable": N_("This file is not an image we can read."),
}


class AnnouncementError(ValueError):
    def __init__(self, field: str, message: str, **params):
        super().__init__(message)
        self.field = field
        self.message = message
        self.params = params


@dataclass(frozen=True)
class AnnouncementTerms:
    kind: str
    title: str
    body: str = ""
    link: str = ""
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    position: int = 0
    is_active: bool = True


def clock() -> float:
    """Now, in seconds since the epoch (one place, so the schedule has one idea of now)."""
    return time.time()


def _checked(terms: AnnouncementTerms) -> AnnouncementTerms:
    if terms.kind not in ANNOUNCEMENT_KINDS:
        raise AnnouncementError("kind", N_("Choose where the announcement is shown."))
    if not terms.title.strip():
        raise AnnouncementError("title", N_("Enter a title."))
    if len(terms.title) > 120:
        raise AnnouncementError("title", N_("The title must be at most 120 characters long."))
    if len(terms.body) > 1000:
        raise AnnouncementError("body", N_("The text must be at most 1000 characters long."))
    link = terms.link.strip()
    if link and (len(link) > 300 or not LINK_RE.match(link)):
        raise AnnouncementError(
            "link",
            N_("Enter a path on your store such as /p/12, or an address starting with https://."),
        )
    if terms.starts_at and terms.ends_at and terms.ends_at <= terms.starts_at:
        raise AnnouncementError("ends_at", N_("The end must come after the start."))
    return terms


def save_announcement(
    store: TenantRef,
    terms: AnnouncementTerms,
    *,
    actor: Actor,
    announcement: Announcement | None = None,
    image: bytes | None = None,
    remove_image: bool = False,
) -> Announcement:
    """Create or update an announcement; commits, then bumps the store version so cached pages
    show the change at once. AnnouncementError names the field at fault (nothing stored)."""
    terms = _checked(terms)
    stored_image = None
    if image:
        try:
            data, extension = reencode_image(
                image, max_bytes=BANNER_IMAGE_MAX_BYTES, max_pixels=BANNER_IMAGE_MAX_PIXELS
            )
        except ImageRefused as refused:
            raise AnnouncementError("image", IMAGE_REFUSALS[refused.reason]) from None
        stored_image = store_media(f"store/{store.id}/announcements", data, extension)
    is_new = announcement is None
    announcement = announcement or Announcement()
    announcement.kind = terms.kind
    announcement.title = terms.title.strip()
    announcement.body = terms.body.strip()
    announcement.link = terms.link.strip()
    announcement.starts_at = terms.starts_at
    announcement.ends_at = terms.ends_at
    announcement.position = terms.position
    announcement.is_active = terms.is_active
    if stored_image:
        announcement.image = stored_image
    elif remove_image:
        announcement.image = ""
    db.session.add(announcement)
    db.session.flush()
    record(
        "announcement.created" if is_new else "announcement.updated",
        actor=actor,
        tenant_id=store.id,
        target=f"announcement:{announcement.id}",
        after=_audit_view(announcement),
    )
    db.session.commit()
    bump_store_version(store.id)
    return announcement


def delete_announcement(store: TenantRef, announcement: Announcement, *, actor: Actor) -> None:
    record(
        "announcement.deleted",
        actor=actor,
        tenant_id=store.id,
        target=f"announcement:{announcement.id}",
        before=_audit_view(announcement),
    )
    db.session.delete(announcement)
    db.session.commit()
    bump_store_version(store.id)


def _audit_view(announcement: Announcement) -> dict:
    return {
        "kind": announcement.kind,
        "title": announcement.title,
        "starts_at": announcement.starts_at.isoformat() if announcement.starts_at else None,
        "ends_at": announcement.ends_at.isoformat() if announcement.ends_at else None,
        "is_active": announcement.is_active,
    }


def all_announcements() -> list[Announcement]:
    return list(
        db.session.scalars(
            select(Announcement).order_by(
                Announcement.kind, Announcement.position, Announcement.id.desc()
            )
        )
    )


def status_of(announcement: Announcement, now: datetime | None = None) -> str:
    """ "scheduled", "showing", "ended" or "off" (for the back-office list)."""
    now = now or utcnow()
    if not announcement.is_active:
        return "off"
    if announcement.ends_at and announcement.ends_at <= now:
        return "ended"
    if announcement.starts_at and announcement.starts_at > now:
        return "scheduled"
    return "showing"


# -- the storefront ------------------------------------------------------------------------------


def _build_schedule() -> dict:
    """Active announcements not yet ended, with their times as epoch seconds, and the latest
    end already passed among the others (cached under the store version)."""
    now = utcnow()
    rows = db.session.scalars(
        select(Announcement)
        .where(
            Announcement.is_active.is_(True),
            or_(Announcement.ends_at.is_(None), Announcement.ends_at > now),
        )
        .order_by(Announcement.position, Announcement.id)
    )
    last_end = db.session.scalar(
        select(func.max(Announcement.ends_at)).where(
            Announcement.is_active.is_(True), Announcement.ends_at <= now
        )
    )
    return {
        "items": [
            {
                "id": a.id,
                "kind": a.kind,
                "title": a.title,
                "body": a.body,
                "link": a.link,
                "image": a.image,
                "starts": a.starts_at.timestamp() if a.starts_at else None,
                "ends": a.ends_at.timestamp() if a.ends_at else None,
            }
            for a in rows
        ],
        "passed": last_end.timestamp() if last_end else 0.0,
    }


def schedule(tenant: TenantRef) -> dict:
    return cached_store(tenant.id, "announcements", _build_schedule)


def schedule_stamp(data: dict, now: float | None = None) -> int:
    """The latest start or end time already passed (milliseconds): a page-cache key part that
    moves exactly when an announcement appears or disappears, and only forward (a rebuilt
    schedule that no longer lists an ended announcement still counts its end)."""
    now = clock() if now is None else now
    latest = data["passed"]
    for item in data["items"]:
        for moment in (item["starts"], item["ends"]):
            if moment is not None and latest < moment <= now:
                latest = moment
    return int(latest * 1000)


def page_stamp(tenant: TenantRef) -> int:
    return schedule_stamp(schedule(tenant))


def known_page_stamp(tenant: TenantRef) -> int | None:
    """page_stamp() if this process holds the schedule already, else None (no queries)."""
    data = peek_store(tenant.id, "announcements")
    return schedule_stamp(data) if data is not None else None


def showing(tenant: TenantRef, now: float | None = None) -> dict:
    """What the storefront shows now: {"bar": [...], "banners": [...], "popup": item or None}."""
    now = clock() if now is None else now
    shown = {"bar": [], "banner": [], "popup": []}
    for item in schedule(tenant)["items"]:
        if (item["starts"] is None or item["starts"] <= now) and (
            item["ends"] is None or item["ends"] > now
        ):
            shown[item["kind"]].append(item)
    return {
        "bar": shown["bar"],
        "banners": shown["banner"],
        "popup": shown["popup"][0] if shown["popup"] else None,
    }
