"""The platform's campaign assets library (营销素材库): images, copy texts and poster templates
uploaded in the console; stores whose plan has marketing tools pick them and brand them (copy
with their name and link filled in, images as posters with their name and QR code)."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.audit.services import Actor, record
from app.extensions import db
from app.growth.models import ASSET_KINDS, CampaignAsset
from app.growth.posters import LAYOUTS, PosterTemplate
from app.i18n import N_
from app.images import ImageRefused, reencode_image, store_media
from app.web.urls import tenant_url

HEX_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
IMAGE_MAX_BYTES = 2 * 1024 * 1024
IMAGE_MAX_PIXELS = 3000
IMAGE_REFUSALS = {
    "size": N_("The image must be at most 2 MB."),
    "format": N_("Use a PNG, JPEG, WebP or GIF image."),
    "pixels": N_("The image must be at most 3000 pixels wide and high."),
    "unreadable": N_("This file is not an image we can read."),
}


class AssetError(ValueError):
    def __init__(self, field: str, message: str, **params):
        super().__init__(message)
        self.field = field
        self.message = message
        self.params = params


def add_asset(
    *, kind: str, title: str, body: str = "", image: bytes | None = None, layout: str = "card",
    text_colour: str = "", actor: Actor,
) -> CampaignAsset:  # fmt: skip
    """Add an asset to the library (commits). AssetError names the field at fault."""
    if kind not in ASSET_KINDS:
        raise AssetError("kind", N_("Choose a kind."))
    title = (title or "").strip()
    if not title:
        raise AssetError("title", N_("Enter a title."))
    body = (body or "").strip()
    if kind == "copy" and not body:
        raise AssetError("body", N_("Write the copy text."))
    if layout not in LAYOUTS:
        raise AssetError("layout", N_("Choose a layout."))
    text_colour = (text_colour or "").strip()
    if text_colour and not HEX_RE.match(text_colour):
        raise AssetError("text_colour", N_("Enter a colour such as #1d2330."))
    path = ""
    if kind in ("image", "poster_template"):
        if not image:
            raise AssetError("image", N_("Choose an image."))
        try:
            data, extension = reencode_image(
                image, max_bytes=IMAGE_MAX_BYTES, max_pixels=IMAGE_MAX_PIXELS
            )
        except ImageRefused as refused:
            raise AssetError("image", IMAGE_REFUSALS[refused.reason]) from None
        path = store_media("campaign-assets", data, extension)
    asset = CampaignAsset(
        kind=kind, title=title[:120], body=body if kind == "copy" else "", image=path,
        layout=layout, text_colour=text_colour, created_by=actor.email,
    )  # fmt: skip
    db.session.add(asset)
    db.session.flush()
    record("campaign_asset.added", actor=actor, target=f"campaign_asset:{asset.id}",
           after={"kind": kind, "title": asset.title})  # fmt: skip
    db.session.commit()
    return asset


def set_published(asset: CampaignAsset, published: bool, *, actor: Actor) -> None:
    asset.is_published = bool(published)
    record(
        "campaign_asset.published" if published else "campaign_asset.withdrawn",
        actor=actor, target=f"campaign_asset:{asset.id}",
    )  # fmt: skip
    db.session.commit()


def library(*, published_only: bool = True) -> list[CampaignAsset]:
    query = select(CampaignAsset).order_by(CampaignAsset.kind, CampaignAsset.id.desc())
    if published_only:
        query = query.where(CampaignAsset.is_published.is_(True))
    return list(db.session.scalars(query))


def published_asset(asset_id: int) -> CampaignAsset | None:
    asset = db.session.get(CampaignAsset, asset_id)
    return asset if asset is not None and asset.is_published else None


def branded_copy(asset: CampaignAsset, store) -> str:
    """The copy text with the store's name and link in place of {store} and {url}."""
    return asset.body.replace("{store}", store.name).replace("{url}", tenant_url(store, "/"))


def image_template(asset: CampaignAsset) -> PosterTemplate:
    """An image asset as a poster background: the store's name and QR code drawn on it."""
    return PosterTemplate(f"image:{asset.id}", asset.title, "minimal", asset.image, "")
