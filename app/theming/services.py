"""Theme rules for a store: values checked against the pack's schema (colours and their contrast,
text lengths, images through Pillow, rich text through nh3), one draft that staff edit and
preview, publishing (the pack is recorded on the store and its cache version bumped, so cached
pages refresh), and rollback to an earlier published version (which publishes a copy of it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import nh3
from sqlalchemy import select

from app.catalog.cache import bump_store_version, cached_store
from app.db import utcnow
from app.extensions import db
from app.i18n import N_
from app.images import ImageRefused, reencode_image, store_media
from app.theming import css, entitlements
from app.theming.manifest import BASE_THEME, COLOUR_RE, Schema, Setting, Theme
from app.theming.models import ThemeRevision
from tenants.context import TenantRef

KEEP_PUBLISHED = 10  # the published version and the nine before it
RICH_TEXT_TAGS = {
    "p", "br", "strong", "em", "b", "i", "u", "s", "ul", "ol", "li", "a", "h3", "h4", "blockquote",
    "hr", "span", "small",
}  # fmt: skip
IMAGE_REFUSALS = {
    "size": N_("The image must be at most %(size)s KB."),
    "format": N_("Use a PNG, JPEG, WebP or GIF image."),
    "pixels": N_("The image must be at most %(pixels)s pixels wide and high."),
    "unreadable": N_("This file is not an image we can read."),
}


class ThemeError(ValueError):
    """A refused theme operation: `field` names the input at fault, `message` is a message id."""

    def __init__(self, field: str, message: str, **params):
        super().__init__(message)
        self.field = field
        self.message = message
        self.params = params


class ThemeValuesError(ValueError):
    """Submitted settings that do not fit the schema: setting id → (message id, params)."""

    def __init__(self, errors: dict[str, tuple[str, dict]]):
        super().__init__(", ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Submission:
    """What the editor's form sent, by setting id: text as typed, lists for multiple choices,
    booleans for checkboxes, new image bytes, and the images to remove."""

    values: dict[str, Any]
    uploads: dict[str, bytes]
    removals: frozenset[str] = frozenset()


def packs() -> dict[str, Theme]:
    from app.web.themes import themes

    return themes()


def pack_or_base(name: str | None) -> Theme:
    available = packs()
    return available.get(name or BASE_THEME) or available[BASE_THEME]


def may_use(store: TenantRef, pack: Theme) -> bool:
    return not pack.is_premium or entitlements.may_use_premium_themes(store)


def sanitise_html(html: str) -> str:
    """Rich text as stores may give it: a few formatting tags and safe links, nothing that runs."""
    return nh3.clean(
        html or "",
        tags=RICH_TEXT_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    ).strip()


# -- values ----------------------------------------------------------------------------------------


def normalise_values(schema: Schema, stored: dict | None) -> dict[str, Any]:
    """Defaults, overlaid with the stored values that still fit the schema (a pack update may
    have changed a setting since they were saved). Rich text is sanitised again."""
    values = schema.defaults()
    for setting in schema.settings.values():
        if setting.id not in (stored or {}):
            continue
        value = stored[setting.id]
        if _fits(setting, value):
            values[setting.id] = list(value) if isinstance(value, list) else value
    for setting in schema.settings.values():
        if setting.type == "richtext":
            values[setting.id] = sanitise_html(values[setting.id])
    return values


def _fits(setting: Setting, value) -> bool:
    kind = setting.type
    if kind == "colour":
        return isinstance(value, str) and bool(COLOUR_RE.match(value))
    if kind == "image":
        return value is None or (isinstance(value, str) and value.startswith("store/"))
    if kind in ("text", "richtext"):
        return isinstance(value, str) and len(value) <= setting.max_length
    if kind == "select":
        return value in setting.option_values
    if kind == "checkbox":
        return isinstance(value, bool)
    if kind == "range":
        is_int = isinstance(value, int) and not isinstance(value, bool)
        return is_int and setting.minimum <= value <= setting.maximum
    if kind == "product":
        if setting.multiple:
            return isinstance(value, list) and all(isinstance(v, int) for v in value)
        return value is None or isinstance(value, int)
    if kind == "category":
        return value is None or isinstance(value, int)
    if kind == "sections":
        return isinstance(value, list) and all(v in setting.option_values for v in value)
    return False


def picker_choices(store: TenantRef) -> dict[str, list[tuple[int, str]]]:
    """The products and categories this store's customers can see, for the pickers."""
    from app.storefront import catalog

    data = catalog.listing(store)
    return {
        "product": [(p["id"], p["title"]) for p in data["products"]],
        "category": [(c["id"], c["name"]) for c in data["categories"]],
    }


def clean_values(
    store: TenantRef, pack: Theme, submission: Submission, current: dict
) -> dict[str, Any]:
    """Check every submitted setting against the pack's schema; the values to save, or
    ThemeValuesError naming each setting at fault (and nothing is stored, images included)."""
    schema = pack.schema
    errors: dict[str, tuple[str, dict]] = {}
    values: dict[str, Any] = {}
    choices = None
    images: dict[str, tuple[bytes, str]] = {}
    for setting in schema.settings.values():
        raw = submission.values.get(setting.id)
        kind = setting.type
        if kind == "image":
            values[setting.id] = (
                None if setting.id in submission.removals else current.get(setting.id)
            )
            data = submission.uploads.get(setting.id)
            if data:
                try:
                    images[setting.id] = reencode_image(
                        data, max_bytes=setting.max_kb * 1024, max_pixels=setting.max_pixels
                    )
                except ImageRefused as refused:
                    errors[setting.id] = (
                        IMAGE_REFUSALS[refused.reason],
                        {"size": setting.max_kb, "pixels": setting.max_pixels},
                    )
        elif kind == "colour":
            value = (raw or "").strip().lower()
            if not COLOUR_RE.match(value):
                errors[setting.id] = (N_("Enter a colour like #1a2b3c."), {})
            values[setting.id] = value
        elif kind == "text":
            value = " ".join((raw or "").split())
            if len(value) > setting.max_length:
                errors[setting.id] = (_too_long(), {"max": setting.max_length})
            values[setting.id] = value
        elif kind == "richtext":
            value = sanitise_html(raw or "")
            if len(value) > setting.max_length:
                errors[setting.id] = (_too_long(), {"max": setting.max_length})
            values[setting.id] = value
        elif kind == "select":
            if raw not in setting.option_values:
                errors[setting.id] = (N_("Choose one of the options."), {})
            values[setting.id] = raw
        elif kind == "checkbox":
            values[setting.id] = bool(raw)
        elif kind == "range":
            number = _int(raw)
            fits = number is not None and setting.minimum <= number <= setting.maximum
            if not fits or (number - setting.minimum) % setting.step:
                errors[setting.id] = (
                    N_("Choose a number from %(min)s to %(max)s."),
                    {"min": setting.minimum, "max": setting.maximum},
                )
            values[setting.id] = number
        elif kind in ("product", "category"):
            if choices is None:
                choices = picker_choices(store)
            known = {choice_id for choice_id, _ in choices[kind]}
            picked = raw if isinstance(raw, list) else ([raw] if raw not in (None, "") else [])
            ids = [_int(v) for v in picked if v not in (None, "")]
            if any(i is None or i not in known for i in ids):
                errors[setting.id] = (N_("Choose among the products and categories shown."), {})
            elif len(set(ids)) != len(ids):
                errors[setting.id] = (N_("Choose each product once."), {})
            elif setting.multiple and len(ids) > setting.max_items:
                errors[setting.id] = (
                    N_("Choose at most %(max)s products."),
                    {"max": setting.max_items},
                )
            elif not setting.multiple and len(ids) > 1:
                errors[setting.id] = (N_("Choose one."), {})
            values[setting.id] = ids if setting.multiple else (ids[0] if ids else None)
        elif kind == "sections":
            picked = raw if isinstance(raw, list) else []
            if len(set(picked)) != len(picked) or any(
                v not in setting.option_values for v in picked
            ):
                errors[setting.id] = (N_("Choose among the sections shown."), {})
            values[setting.id] = list(picked)
    errors.update(_contrast_problems(schema, values, errors))
    if errors:
        raise ThemeValuesError(errors)
    for setting_id, (data, extension) in images.items():
        values[setting_id] = store_media(f"store/{store.id}/theme", data, extension)
    return values


def _too_long() -> str:
    return N_("At most %(max)s characters.")


def _int(raw) -> int | None:
    try:
        return int(str(raw).strip())
    except (TypeError, ValueError):
        return None


def _contrast_problems(schema: Schema, values: dict, errors: dict) -> dict:
    """Text must stay readable on the page and card backgrounds (WCAG AA, 4.5:1)."""
    by_var = {s.css_var: s for s in schema.settings.values() if s.type == "colour" and s.css_var}
    ink = by_var.get("--ink")
    if ink is None or ink.id in errors:
        return {}
    for background in ("--bg", "--surface"):
        setting = by_var.get(background)
        if setting is None or setting.id in errors:
            continue
        if css.contrast(values[ink.id], values[setting.id]) < css.MIN_TEXT_CONTRAST:
            return {
                ink.id: (
                    N_(
                        "The text colour needs more contrast with the backgrounds "
                        "(at least 4.5 to 1) to stay readable."
                    ),
                    {},
                )
            }
    return {}


# -- revisions -------------------------------------------------------------------------------------


def _copy(value):
    return list(value) if isinstance(value, tuple) else value


def _revision(state: str, *, lock: bool = False) -> ThemeRevision | None:
    query = select(ThemeRevision).where(ThemeRevision.state == state)
    if lock:
        query = query.with_for_update()
    return db.session.scalar(query)


def published_revision() -> ThemeRevision | None:
    return _revision("published")


def draft_revision() -> ThemeRevision | None:
    return _revision("draft")


def history() -> list[ThemeRevision]:
    """Published versions, the live one first."""
    return list(
        db.session.scalars(
            select(ThemeRevision)
            .where(ThemeRevision.state.in_(("published", "retired")))
            .order_by(ThemeRevision.published_at.desc(), ThemeRevision.id.desc())
        )
    )


def live_state(store: TenantRef) -> tuple[Theme, dict]:
    """The published pack and values (the store's pack with its defaults before any publish).
    A premium pack the store's plan no longer includes falls back to the base pack, which shows
    what of the saved settings it understands; the revision is kept, so upgrading again brings
    the premium look back unchanged."""
    revision = published_revision()
    pack = pack_or_base(revision.pack if revision else store.theme)
    if not may_use(store, pack):
        pack = pack_or_base(None)
    return pack, normalise_values(pack.schema, revision.values if revision else {})


def editor_state(store: TenantRef) -> tuple[Theme, dict, ThemeRevision | None]:
    """What the editor shows: the draft if there is one, else the published look."""
    draft = draft_revision()
    if draft is not None:
        pack = pack_or_base(draft.pack)
        return pack, normalise_values(pack.schema, draft.values), draft
    pack, values = live_state(store)
    return pack, values, None


def _require_pack(store: TenantRef, name: str) -> Theme:
    pack = packs().get(name)
    if pack is None:
        raise ThemeError("pack", N_("This theme pack does not exist."))
    if not may_use(store, pack):
        raise ThemeError("pack", N_("This theme pack needs a plan with premium themes."))
    return pack


def _draft_for_update(store: TenantRef, author: str) -> ThemeRevision:
    draft = _revision("draft", lock=True)
    if draft is None:
        pack, values = live_state(store)
        draft = ThemeRevision(pack=pack.name, values=values, state="draft", author=author)
        db.session.add(draft)
    return draft


def choose_pack(store: TenantRef, name: str, *, author: str) -> ThemeRevision:
    """Start (or change) the draft with another pack. What the store chose for settings the packs
    share (words, images, sections, picks) is kept; colours are a pack's palette, and settings
    left at the old pack's defaults take the new pack's."""
    pack = _require_pack(store, name)
    draft = _draft_for_update(store, author)
    old = pack_or_base(draft.pack).schema
    carried = {
        key: value
        for key, value in (draft.values or {}).items()
        if key in pack.schema.settings
        and pack.schema.settings[key].type != "colour"
        and (key not in old.settings or value != _copy(old.settings[key].default))
    }
    draft.pack = pack.name
    draft.values = normalise_values(pack.schema, carried)
    draft.author = author
    db.session.commit()
    return draft


def save_draft(store: TenantRef, submission: Submission, *, author: str) -> ThemeRevision:
    """Check and keep the editor's values in the draft (customers still see the published look)."""
    draft = _draft_for_update(store, author)
    pack = pack_or_base(draft.pack)
    current = normalise_values(pack.schema, draft.values)
    try:
        values = clean_values(store, pack, submission, current)
    except ThemeValuesError:
        db.session.rollback()
        raise
    draft.values = values
    draft.author = author
    db.session.commit()
    return draft


def discard_draft() -> bool:
    draft = _revision("draft", lock=True)
    if draft is None:
        return False
    db.session.delete(draft)
    db.session.commit()
    return True


def publish(store: TenantRef, *, author: str) -> ThemeRevision:
    """The draft becomes what customers see; the previous version is kept for rollback."""
    draft = _revision("draft", lock=True)
    if draft is None:
        raise ThemeError("draft", N_("There is no draft to publish."))
    pack = _require_pack(store, draft.pack)
    draft.values = normalise_values(pack.schema, draft.values)
    _make_live(store, draft, author)
    return draft


def rollback(store: TenantRef, revision_id: int, *, author: str) -> ThemeRevision:
    """Publish a copy of an earlier published version (the history stays as it happened)."""
    earlier = db.session.get(ThemeRevision, revision_id)
    if earlier is None or earlier.state != "retired":
        raise ThemeError("revision", N_("This version cannot be restored."))
    pack = _require_pack(store, earlier.pack)
    copy = ThemeRevision(  # added by _make_live, once the live version is retired
        pack=pack.name,
        values=normalise_values(pack.schema, earlier.values),
        state="published",
        restored_from=earlier.id,
        author=author,
    )
    _make_live(store, copy, author)
    return copy


def _make_live(store: TenantRef, revision: ThemeRevision, author: str) -> None:
    from tenants.models import Tenant
    from tenants.resolver import resolver

    current = _revision("published", lock=True)
    if current is not None:
        current.state = "retired"
        db.session.flush()  # one live row per state: retire before the new one goes live
    revision.state = "published"
    revision.author = author
    revision.published_at = utcnow()
    db.session.add(revision)
    tenant = db.session.get(Tenant, store.id)
    tenant.theme = revision.pack  # the store's pack, in the shared schema, same transaction
    db.session.flush()
    _prune_history()
    db.session.commit()
    resolver().invalidate()
    bump_store_version(store.id)


def _prune_history() -> None:
    kept = history()[:KEEP_PUBLISHED]
    for old in db.session.scalars(
        select(ThemeRevision).where(
            ThemeRevision.state == "retired", ThemeRevision.id.not_in([r.id for r in kept])
        )
    ):
        db.session.delete(old)


# -- what storefront pages read ------------------------------------------------------------------


def look_data(pack: Theme, values: dict, revision_id: int | None) -> dict:
    """Everything a page needs of the look, JSON-safe (cached): pack, values, stylesheet."""
    sheet = css.stylesheet(pack.name, css.css_variables(pack.schema, values))
    return {
        "pack": pack.name,
        "values": values,
        "revision_id": revision_id,
        "css": sheet,
        "css_version": css.fingerprint(sheet),
    }


def published_look_data(store: TenantRef) -> dict:
    """The published look, cached under the store's version (publishing bumps it)."""

    def build() -> dict:
        revision = published_revision()
        pack, values = live_state(store)
        return look_data(pack, values, revision.id if revision else None)

    return cached_store(store.id, "theme", build)


def draft_look_data(store: TenantRef) -> dict | None:
    """The draft's look for a previewing staff member (never cached), or None."""
    draft = draft_revision()
    if draft is None:
        return None
    pack = pack_or_base(draft.pack)
    return look_data(pack, normalise_values(pack.schema, draft.values), draft.id)
