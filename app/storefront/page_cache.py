"""Whole-page cache for anonymous storefront visits.

A page is stored under everything that can change it: the store (and its name, theme, status),
the UI language, the catalog and store versions, and the full path with query string. Any
catalog, price, listing, stock-status or settings change bumps a version, so the next request
renders afresh. Visitors with a session identity (signed in, flashed messages) always get a
fresh page, as do non-GET requests.
"""

from __future__ import annotations

import zlib
from functools import wraps

from flask import Response, current_app, request, session
from flask_babel import get_locale

from app.cache import cache
from app.storefront.catalog import page_versions
from tenants.context import require_tenant

PAGE_TTL_SECONDS = 600


def _cacheable() -> bool:
    if request.method not in ("GET", "HEAD") or current_app.config.get("PAGE_CACHE") is False:
        return False
    return not any(key for key in session if key not in ("lang", "_site"))


def _key() -> str:
    tenant = require_tenant()
    stamp = ".".join(map(str, page_versions(tenant)))
    return f"page:{tenant.id}:{tenant.fingerprint}:{get_locale()}:{stamp}:{request.full_path}"


def _gzip(html: str) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: a gzip stream
    return compressor.compress(html.encode()) + compressor.flush()


def _respond(packed: bytes) -> Response:
    """Browsers take the stored gzip body as it is; others get it inflated."""
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        response = Response(packed, mimetype="text/html")
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = Response(zlib.decompress(packed, 31), mimetype="text/html")
    response.vary.update(("Accept-Language", "Accept-Encoding", "Cookie"))
    return response


def cached_page(view):
    """Serve `view` from the page cache when the visitor is anonymous."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not _cacheable():
            return view(*args, **kwargs)
        key = _key()
        store = cache()
        packed = store.pages.get(key)
        if packed is None:
            packed = store.get_bytes(key)
            if packed is None:
                result = view(*args, **kwargs)
                if not isinstance(result, str):
                    return result
                packed = _gzip(result)
                store.set_bytes(key, packed, PAGE_TTL_SECONDS)
            store.pages.put(key, packed)
        return _respond(packed)

    return wrapper
