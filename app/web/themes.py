"""Theme packs: manifests, the template loader with fallback to `_base`, and their static files.

A template is addressed with its theme in the name ("aurora:shop/home.html"), so Jinja's cache
never mixes two stores' looks; lookups walk the pack's `extends` chain and end at `_base`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from flask import abort, current_app, render_template, send_from_directory
from jinja2 import BaseLoader, TemplateNotFound

from app.config import PROJECT_ROOT
from tenants.context import get_current_tenant

THEMES_DIR = PROJECT_ROOT / "themes"
BASE_THEME = "_base"


@dataclass(frozen=True)
class Theme:
    name: str
    path: Path
    title: str
    extends: str | None
    manifest: dict = field(hash=False, compare=False)


def load_themes(themes_dir: Path = THEMES_DIR) -> dict[str, Theme]:
    themes = {}
    for folder in sorted(themes_dir.iterdir()):
        manifest_file = folder / "theme.json"
        if not manifest_file.is_file():
            continue
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        extends = manifest.get("extends") or (None if folder.name == BASE_THEME else BASE_THEME)
        themes[folder.name] = Theme(
            folder.name, folder, manifest.get("name", folder.name), extends, manifest
        )
    return themes


def theme_chain(themes: dict[str, Theme], name: str) -> list[Theme]:
    """The pack, what it extends, ..., and `_base` last. Unknown names fall back to `_base`."""
    chain, seen = [], set()
    current = name if name in themes else BASE_THEME
    while current and current not in seen and current in themes:
        seen.add(current)
        chain.append(themes[current])
        current = themes[current].extends
    if themes.get(BASE_THEME) and themes[BASE_THEME] not in chain:
        chain.append(themes[BASE_THEME])
    return chain


class ThemeLoader(BaseLoader):
    """Loads "<theme>:<path>" templates from the pack, falling back along its chain."""

    def __init__(self, app):
        self.app = app

    def get_source(self, environment, template):
        theme_name, sep, name = template.partition(":")
        if not sep or not name:
            raise TemplateNotFound(template)
        themes = self.app.extensions["kameng.themes"]
        for theme in theme_chain(themes, theme_name):
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


def current_theme_name() -> str:
    tenant = get_current_tenant()
    return tenant.theme if tenant is not None else BASE_THEME


def render_theme(name: str, **context) -> str:
    """Render a storefront template in the current store's theme."""
    theme = current_theme_name()
    return render_template(f"{theme}:{name}", theme=theme, **context)


def theme_static(theme: str, filename: str):
    """Serve a theme's static file, falling back along its chain (path traversal refused)."""
    themes = current_app.extensions["kameng.themes"]
    if theme not in themes:
        abort(404)
    for pack in theme_chain(themes, theme):
        folder = pack.path / "static"
        if (folder / filename).is_file() and _is_inside(folder / filename, folder):
            return send_from_directory(folder, filename, max_age=3600)
    abort(404)


def init_app(app) -> None:
    app.extensions["kameng.themes"] = load_themes()
