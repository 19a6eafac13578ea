"""Theme packs on the web: the template loader with fallback to `_base`, rendering in a store's
look, and the packs' static files. Manifests are read and validated by app.theming.manifest.

A template is addressed with its theme in the name ("aurora:shop/home.html"), so Jinja's cache
never mixes two stores' looks; lookups walk the pack's `extends` chain and end at `_base`.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import abort, current_app, render_template, send_from_directory
from jinja2 import BaseLoader, TemplateNotFound

from app.config import PROJECT_ROOT
from app.theming.manifest import BASE_THEME, Theme, load_packs

THEMES_DIR = PROJECT_ROOT / "themes"
EXTENSION_KEY = "kameng.themes"

__all__ = ["BASE_THEME", "Theme", "load_themes", "render_theme", "theme_chain", "themes"]


def load_themes(themes_dir: Path = THEMES_DIR) -> dict[str, Theme]:
    """Every pack, validated (app.theming.manifest.ManifestError lists what is wrong)."""
    return load_packs(themes_dir)


def themes() -> dict[str, Theme]:
    return current_app.extensions[EXTENSION_KEY]


def theme_chain(packs: dict[str, Theme], name: str) -> list[Theme]:
    """The pack, what it extends, ..., and `_base` last. Unknown names fall back to `_base`."""
    chain, seen = [], set()
    current = name if name in packs else BASE_THEME
    while current and current not in seen and current in packs:
        seen.add(current)
        chain.append(packs[current])
        current = packs[current].extends
    if packs.get(BASE_THEME) and packs[BASE_THEME] not in chain:
        chain.append(packs[BASE_THEME])
    return chain


class ThemeLoader(BaseLoader):
    """Loads "<theme>:<path>" templates from the pack, falling back along its chain."""

    def __init__(self, app):
        self.app = app

    def get_source(self, environment, template):
        theme_name, sep, name = template.partition(":")
        if not sep or not name:
            raise TemplateNotFound(template)
        packs = self.app.extensions[EXTENSION_KEY]
        for theme in theme_chain(packs, theme_name):
            path = theme.path / "templates" / name
            if path.is_file() and _is_inside(path, theme.path / "templates"):
                source = path.read_text(encoding="utf-8")
                mtime = os.path.getmtime(path)
                return (
                    source,
                    str(path),
                    lambda p=path, m=mtime: os.path.getmtime(p) == m,
                )
        raise TemplateNotFound(template)


def _is_inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def render_theme(name: str, **context) -> str:
    """Render a storefront template in the current store's look: its published pack and
    settings, or its draft for a staff member previewing it (app.storefront.appearance)."""
    from app.storefront.appearance import current_look
    from app.storefront.catalog import store_profile
    from tenants.context import current_tenant

    look = current_look()
    pack = themes()[look.pack]
    store = current_tenant._get_current_object()
    context.setdefault("profile", store_profile(store))
    context.setdefault("notices", _notices(store))
    return render_template(f"{look.pack}:{name}", theme=look.pack, pack=pack, look=look, **context)


def _notices(store) -> dict | None:
    """The store's scheduled announcements showing now (none on a closed store's page)."""
    from app.growth.announcements import showing

    return showing(store) if store.is_active else None


def theme_static(theme: str, filename: str):
    """Serve a theme's static file, falling back along its chain (path traversal refused)."""
    packs = themes()
    if theme not in packs:
        abort(404)
    for pack in theme_chain(packs, theme):
        folder = pack.path / "static"
        if (folder / filename).is_file() and _is_inside(folder / filename, folder):
            return send_from_directory(folder, filename, max_age=86400)
    abort(404)


def init_app(app) -> None:
    app.extensions[EXTENSION_KEY] = load_themes()
