"""Per-request site binding: which site this is, its store bound, sessions kept to their site."""

from __future__ import annotations

from flask import g, render_template, request, session

from app.web.routing import RESOLUTION_ENVIRON_KEY
from app.web.themes import render_theme
from tenants.context import bind_tenant, unbind_tenant
from tenants.resolver import PLATFORM, STORE, UNKNOWN, Resolution

SESSION_SITE_KEY = "_site"
# Paths a suspended store still serves, so its owner can read why and sort it out.
SUSPENDED_ALLOWED_PREFIXES = ("/admin", "/static/", "/theme/")


def current_site() -> Resolution:
    return g.get("site") or request.environ.get(RESOLUTION_ENVIRON_KEY) or Resolution(UNKNOWN, None)


def site_key(site: Resolution) -> str | None:
    if site.kind == PLATFORM:
        return "platform"
    if site.kind == STORE:
        return f"store:{site.tenant.id}"
    return None


def bind_site():
    """before_request: bind the store, refuse foreign sessions, close suspended storefronts."""
    site = request.environ.get(RESOLUTION_ENVIRON_KEY) or Resolution(UNKNOWN, None)
    g.site = site
    if site.kind == STORE:
        g.tenant_token = bind_tenant(site.tenant)
    # A session cookie is only honoured on the site that issued it.
    owner = session.get(SESSION_SITE_KEY)
    if owner is not None and owner != site_key(site):
        session.clear()
    if site.kind == STORE and not site.tenant.is_active:
        allowed = site.tenant.status == "suspended" and request.path.startswith(
            SUSPENDED_ALLOWED_PREFIXES
        )
        if not allowed:
            return render_theme("shop/closed.html", store=site.tenant), 503
    return None


def claim_session_for_site() -> None:
    """Mark the session as belonging to this site (called when someone signs in)."""
    session[SESSION_SITE_KEY] = site_key(current_site())


def unbind_site(_exc=None) -> None:
    token = g.pop("tenant_token", None)
    if token is not None:
        unbind_tenant(token)


def render_console(template: str, **context):
    """Render a back-office template (platform console or store admin)."""
    return render_template(template, site=current_site(), **context)


def init_app(app) -> None:
    app.before_request(bind_site)
    app.teardown_request(unbind_site)
