"""Whole-page cache for anonymous storefront visits.

A page is stored under everything that can change it: the store (and its name, theme, status),
the UI language, the catalog and store versions, and the full path with query string. Any
catalog, price, listing, stock-status or settings change bumps a version, so the next request
renders afresh. Visitors with a session identity (signed in, flashed messages) always get a
fresh page, as do non-GET requests.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from functools import wraps

from flask import Response, current_app, request, session
from flask_babel import get_locale

from app.cache import cache
from app.catalog.cache import versions
from tenants.context import require_tenant

PAGE_TTL_SECONDS = 120
LOCAL_PAGES = 300  # per process: rendered pages under their full versioned key


class _LocalPages:
    """A small LRU in front of the shared cache. Keys carry the versions, which are always read
    from the shared cache, so a local hit is never stale."""

    def __init__(self, size: int):
        self._pages: OrderedDict[str, str] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            html = self._pages.get(key)
            if html is not None:
                self._pages.move_to_end(key)
            return html

    def clear(self) -> None:
        with self._lock:
            self._pages.clear()

    def put(self, key: str, html: str) -> None:
        with self._lock:
            self._pages[key] = html
            self._pages.move_to_end(key)
            while len(self._pages) > self._size:
                self._pages.popitem(last=False)


_local = _LocalPages(LOCAL_PAGES)


def init_app(app) -> None:
    # Versions can restart from zero when Redis does: drop pages keyed by the old numbers.
    reset = getattr(app.extensions["kameng.cache"], "on_reset", None)
    if reset is not None:
        reset(_local.clear)


def _cacheable() -> bool:
    if request.method not in ("GET", "HEAD") or current_app.config.get("PAGE_CACHE") is False:
        return False
    return not any(key for key in session if key not in ("lang", "_site"))


def _key() -> str:
    tenant = require_tenant()
    catalog, store = versions(tenant.id)
    return (
        f"page:{tenant.id}:{tenant.fingerprint}:{get_locale()}:{catalog}:{store}:"
        f"{request.full_path}"
    )


def cached_page(view):
    """Serve `view` from the page cache when the visitor is anonymous."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not _cacheable():
            return view(*args, **kwargs)
        key = _key()
        html = _local.get(key) or cache().get_text(key)
        if html is None:
            result = view(*args, **kwargs)
            if not isinstance(result, str):
                return result
            html = result
            cache().set_text(key, html, PAGE_TTL_SECONDS)
        _local.put(key, html)
        response = Response(html, mimetype="text/html")
        response.vary.update(("Accept-Language", "Cookie"))
        return response

    return wrapper
