"""Whole-page cache for anonymous storefront visits.

A page is stored under everything that can change it: the store (its name, theme and status via
its fingerprint), the UI language, the versions its data depends on, and the full path with query
string. Any catalog, price, listing, stock-status or settings change bumps a version, so the next
request renders afresh. Visitors with a session cookie (signed in, a language choice, flashed
messages) and non-GET requests always go through the application.

Two ways in: `cached_page` wraps the storefront views (rendering and storing on a miss), and
`CachedPageMiddleware` answers hits for visitors without a cookie before Flask does any work —
most storefront traffic — using the same key. Pages are kept gzipped, in-process (64 MB) and in
the shared cache (10 minutes).
"""

from __future__ import annotations

import logging
import re
import zlib
from functools import wraps

from flask import Response, current_app, request, session
from flask_babel import get_locale
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from app.cache import cache
from app.i18n import choose_locale
from app.storefront.catalog import known_page_stamp, page_stamp
from app.web.security import SECURITY_HEADERS, hsts_value
from tenants.context import TenantRef, require_tenant
from tenants.resolver import STORE

PAGE_TTL_SECONDS = 600
VARY = "Accept-Language, Accept-Encoding, Cookie"
CACHEABLE_PATHS = re.compile(r"^/(?:c/\d+|p/\d+|search)?$")
# An invite link (`?ref=<code>`) goes through Flask even when its page is cached: the answer
# must set the visitor's referral cookie (app.customers.views.remember_referrer).
REFERRAL_QUERY = re.compile(r"(?:^|&)ref=")


def page_key(tenant: TenantRef, locale, stamp: str, full_path: str) -> str:
    return f"page:{tenant.id}:{tenant.fingerprint}:{locale}:{stamp}:{full_path}"


def _gzip(html: str) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: a gzip stream
    return compressor.compress(html.encode()) + compressor.flush()


def _body(packed: bytes, accept_encoding: str) -> tuple[bytes, bool]:
    """Browsers take the stored gzip body as it is; others get it inflated."""
    if "gzip" in accept_encoding:
        return packed, True
    return zlib.decompress(packed, 31), False


# -- inside Flask: the views ---------------------------------------------------------------------


def _cacheable() -> bool:
    if request.method not in ("GET", "HEAD") or current_app.config.get("PAGE_CACHE") is False:
        return False
    return not any(key for key in session if key not in ("lang", "_site"))


def cached_page(view):
    """Serve `view` from the page cache when the visitor is anonymous; store what it renders."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not _cacheable():
            return view(*args, **kwargs)
        tenant = require_tenant()
        key = page_key(tenant, get_locale(), page_stamp(tenant), request.full_path)
        store = cache()
        packed = store.pages.get(key) or store.get_bytes(key)
        if packed is None:
            result = view(*args, **kwargs)
            if not isinstance(result, str):
                return result
            packed = _gzip(result)
            store.set_bytes(key, packed, PAGE_TTL_SECONDS)
        store.pages.put(key, packed)
        body, zipped = _body(packed, request.headers.get("Accept-Encoding", ""))
        response = Response(body, mimetype="text/html")
        if zipped:
            response.headers["Content-Encoding"] = "gzip"
        response.headers["Vary"] = VARY
        return response

    return wrapper


# -- before Flask: cache hits for visitors without a cookie ---------------------------------------


class CachedPageMiddleware:
    """Answers storefront page-cache hits without entering Flask; everything else passes on."""

    def __init__(self, wsgi_app, flask_app):
        self.wsgi_app = wsgi_app
        self.flask_app = flask_app

    def __call__(self, environ, start_response):
        if (
            environ.get("REQUEST_METHOD") in ("GET", "HEAD")
            and "HTTP_COOKIE" not in environ
            and CACHEABLE_PATHS.match(environ.get("PATH_INFO", ""))
            and not REFERRAL_QUERY.search(environ.get("QUERY_STRING", ""))
            and self.flask_app.config.get("PAGE_CACHE") is not False
        ):
            hit = self._lookup(environ)
            if hit is not None:
                body, headers = hit
                start_response("200 OK", headers)
                return [b""] if environ["REQUEST_METHOD"] == "HEAD" else [body]
        return self.wsgi_app(environ, start_response)

    def _lookup(self, environ):
        extensions = self.flask_app.extensions
        resolution = extensions["kameng.resolver"].resolve(environ.get("HTTP_HOST"))
        if resolution.kind != STORE or not resolution.tenant.is_active:
            return None
        tenant = resolution.tenant
        store = extensions["kameng.cache"]
        with self.flask_app.app_context():
            stamp = known_page_stamp(tenant)
        if stamp is None:
            return None
        accept = parse_accept_header(environ.get("HTTP_ACCEPT_LANGUAGE"), LanguageAccept)
        locale = choose_locale(self.flask_app.config, None, accept)
        query = environ.get("QUERY_STRING", "")
        key = page_key(tenant, locale, stamp, f"{environ['PATH_INFO']}?{query}")
        packed = store.pages.get(key)
        if packed is None:
            return None
        _count_visit(self.flask_app, tenant.id)
        body, zipped = _body(packed, environ.get("HTTP_ACCEPT_ENCODING", ""))
        headers = [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Content-Length", str(len(body))),
            ("Vary", VARY),
        ]
        if zipped:
            headers.append(("Content-Encoding", "gzip"))
        headers.extend(SECURITY_HEADERS)
        seconds = self.flask_app.config.get("HSTS_SECONDS") or 0
        if seconds and environ.get("wsgi.url_scheme") == "https":
            headers.append(("Strict-Transport-Security", hsts_value(seconds)))
        return body, headers


def _count_visit(flask_app, tenant_id: int) -> None:
    """A page served from the cache is a storefront visit too (the dashboard's conversion)."""
    from app.analytics.visits import count_visit

    try:
        with flask_app.app_context():
            count_visit(tenant_id)
    except Exception:  # a lost count never costs a customer the page
        logging.getLogger(__name__).exception("visit not counted")


def init_app(app) -> None:
    app.wsgi_app = CachedPageMiddleware(app.wsgi_app, app)
