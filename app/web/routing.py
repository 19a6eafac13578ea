"""Routes are matched per site kind: one path can mean one thing on the apex, another on a store.

The URL map uses host matching with two pseudo-hosts, "platform" and "store"; the application binds
each request's URL adapter to the pseudo-host its real Host resolves to. Unknown hosts bind to a
pseudo-host with no routes at all, so they can only ever get a 404.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask
from jinja2 import ChoiceLoader
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import ServiceUnavailable
from werkzeug.routing import RequestRedirect

from tenants.resolver import PLATFORM, REDIRECT, STORE, UNKNOWN, Resolution

log = logging.getLogger(__name__)

RESOLUTION_ENVIRON_KEY = "kameng.resolution"
BOTH = (PLATFORM, STORE)
SITE_KIND_ARG = "site_kind"


class SiteBlueprint(Blueprint):
    """A blueprint whose routes exist only on one kind of site (or on both)."""

    def __init__(self, *args, site: str | tuple[str, ...] = STORE, **kwargs):
        super().__init__(*args, **kwargs)
        self.sites = (site,) if isinstance(site, str) else tuple(site)

    def add_url_rule(self, rule, endpoint=None, view_func=None, **options):
        if len(self.sites) == 1:
            options.setdefault("host", self.sites[0])
        else:
            # One rule for several sites: the pseudo-host is a variable that url_for fills in.
            options.setdefault("host", f"<any({', '.join(self.sites)}):{SITE_KIND_ARG}>")
        return super().add_url_rule(rule, endpoint, view_func, **options)


def _default_site_kind(endpoint, values):
    from flask import current_app, g

    site = g.get("site")
    if site is not None and current_app.url_map.is_endpoint_expecting(endpoint, SITE_KIND_ARG):
        values.setdefault(SITE_KIND_ARG, site.kind)


def _drop_site_kind(endpoint, values):
    if values:
        values.pop(SITE_KIND_ARG, None)


def init_app(app: Flask) -> None:
    app.url_defaults(_default_site_kind)
    app.url_value_preprocessor(_drop_site_kind)


class KamengFlask(Flask):
    def create_url_adapter(self, request):
        if request is None:
            return super().create_url_adapter(None)
        from app.web.urls import origin

        try:
            resolution = self.extensions["kameng.resolver"].resolve(request.host)
        except SQLAlchemyError:
            log.exception("host resolution failed")
            request.environ[RESOLUTION_ENVIRON_KEY] = Resolution(UNKNOWN, None)
            raise ServiceUnavailable() from None
        request.environ[RESOLUTION_ENVIRON_KEY] = resolution
        if resolution.kind == REDIRECT:
            target = origin(resolution.redirect_host, self.config) + request.full_path.rstrip("?")
            raise RequestRedirect(target)
        return self.url_map.bind_to_environ(request.environ, server_name=resolution.kind)

    def create_global_jinja_loader(self):
        from app.web.themes import ThemeLoader

        return ChoiceLoader([ThemeLoader(self), super().create_global_jinja_loader()])
