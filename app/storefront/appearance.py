"""The store's look on this request: its published theme, or its draft for a staff member who
is previewing it; the stylesheet generated from the settings; the home page's sections.

A draft is shown only to a signed-in staff member of this store who turned preview on in the
theme editor. Such responses are marked `no-store` and never enter the page cache (staff carry
a session cookie, and cached_page stores nothing for a session that holds more than the language),
so customers never see one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import Response, abort, g, request, session
from flask_login import current_user
from markupsafe import Markup

from app.theming import services as theming
from app.web.urls import tenant_url
from tenants.context import get_current_tenant

PREVIEW_KEY = "theme_preview"
HOT_PRODUCTS_FALLBACK = 8


@dataclass(frozen=True)
class Look:
    """A pack and its setting values as templates use them (`look.values.accent`)."""

    pack: str
    values: dict
    revision_id: int | None = None
    css_version: str = ""
    is_draft: bool = False
    css: str = field(default="", repr=False)

    @classmethod
    def from_data(cls, data: dict, *, is_draft: bool = False) -> Look:
        pack = theming.pack_or_base(data["pack"])
        values = dict(data["values"])
        for setting in pack.schema.settings.values():
            if setting.type == "richtext":
                values[setting.id] = Markup(values.get(setting.id) or "")  # sanitised on save
        return cls(
            pack=pack.name,
            values=values,
            revision_id=data["revision_id"],
            css_version=data["css_version"],
            is_draft=is_draft,
            css=data["css"],
        )


def is_previewing() -> bool:
    """A staff member of this store, signed in here, with preview turned on."""
    return bool(
        session.get(PREVIEW_KEY)
        and current_user.is_authenticated
        and getattr(current_user, "login_kind", None) == "store"
    )


def current_look() -> Look:
    """The look for this request (computed once per request)."""
    look = g.get("theme_look")
    if look is not None:
        return look
    store = get_current_tenant()
    if store is None or not store.is_active:
        # The platform, or a closed store's notice: its pack with the defaults, no queries.
        pack = theming.pack_or_base(store.theme if store else None)
        look = Look.from_data(theming.look_data(pack, pack.schema.defaults(), None))
    else:
        draft = theming.draft_look_data(store) if is_previewing() else None
        if draft is not None:
            look = Look.from_data(draft, is_draft=True)
        else:
            look = Look.from_data(theming.published_look_data(store))
    g.theme_look = look
    return look


def no_store_for_previews(response: Response) -> Response:
    look = g.get("theme_look")
    if look is not None and look.is_draft:
        response.headers["Cache-Control"] = "private, no-store"
    return response


def theme_stylesheet():
    """The store's settings as CSS variables. Versioned URLs are cached for a year; a preview's
    is not cached at all."""
    if get_current_tenant() is None:
        abort(404)
    look = current_look()
    response = Response(look.css, mimetype="text/css")
    if look.is_draft:
        response.headers["Cache-Control"] = "private, no-store"
    elif request.args.get("v") == look.css_version:
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    else:
        response.headers["Cache-Control"] = "no-cache"
    return response


def canonical_url() -> str:
    """This page on the store's primary domain, without the query string."""
    return tenant_url(get_current_tenant(), request.path)


def absolute_url(path: str) -> str:
    return tenant_url(get_current_tenant(), path)


# -- the home page ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    id: str
    title: str = ""
    products: list = field(default_factory=list)
    categories: list = field(default_factory=list)
    category: dict | None = None


def home_sections(
    store, look: Look, listing: dict, limit: int, discount_bp: int = 0
) -> list[Section]:
    """The sections the store chose for its home page, in its order, with what each shows
    (priced for the signed-in customer's level, like `listing`). Sections with nothing to show
    are left out."""
    from app.storefront.catalog import products_in_category

    values = look.values
    products = listing["products"]
    by_id = {p["id"]: p for p in products}
    sections = []
    for section_id in values.get("sections") or []:
        if section_id == "hot":
            picked = [by_id[i] for i in values.get("hot_products") or [] if i in by_id]
            shown = picked or products[:HOT_PRODUCTS_FALLBACK]
            if shown:
                sections.append(Section("hot", values.get("hot_title", ""), products=shown))
        elif section_id == "spotlight":
            chosen = values.get("spotlight_category")
            category, found = (
                products_in_category(store, chosen, discount_bp) if chosen else (None, [])
            )
            if category is not None and found:
                sections.append(Section("spotlight", category["name"], found, category=category))
        elif section_id == "categories":
            if listing["categories"]:
                sections.append(Section("categories", categories=listing["categories"]))
        elif section_id == "products":
            sections.append(Section("products", products=products[:limit]))
        elif section_id == "notice":
            if values.get("notice"):
                sections.append(Section("notice"))
        else:  # banner, announcement, search: drawn from settings alone
            sections.append(Section(section_id))
    return sections


def init_app(app) -> None:
    app.after_request(no_store_for_previews)
    app.jinja_env.globals.update(canonical_url=canonical_url, absolute_url=absolute_url)
