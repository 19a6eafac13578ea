"""What search engines read on a store's host: robots.txt and sitemap.xml, with every URL on the
store's primary domain. A store can ask to stay out of search results (its SEO settings)."""

from __future__ import annotations

from xml.sax.saxutils import escape

from flask import Response, url_for

from app.storefront import catalog
from app.storefront.views import bp
from app.theming.services import published_look_data
from app.web.urls import tenant_url
from tenants.context import current_tenant

# Pages with per-visitor content or no value in search results.
PRIVATE_PATHS = ("/admin", "/account", "/checkout", "/order/", "/lookup", "/search")
MAX_AGE_SECONDS = 3600


def _hidden(store) -> bool:
    return bool(published_look_data(store)["values"].get("hide_from_search"))


@bp.get("/robots.txt")
def robots_txt():
    store = current_tenant._get_current_object()
    if _hidden(store):
        lines = ["User-agent: *", "Disallow: /"]
    else:
        lines = ["User-agent: *", *(f"Disallow: {path}" for path in PRIVATE_PATHS)]
        lines.append(f"Sitemap: {tenant_url(store, '/sitemap.xml')}")
    return Response(
        "\n".join(lines) + "\n",
        mimetype="text/plain",
        headers={"Cache-Control": f"public, max-age={MAX_AGE_SECONDS}"},
    )


def sitemap_urls(store) -> list[str]:
    """The home page, every category with something to show, and every visible product."""
    if _hidden(store):
        return []
    data = catalog.listing(store)
    paths = ["/"]
    paths += [url_for("storefront.category", category_id=c["id"]) for c in data["categories"]]
    paths += [url_for("storefront.product", product_id=p["id"]) for p in data["products"]]
    return [tenant_url(store, path) for path in paths]


@bp.get("/sitemap.xml")
def sitemap_xml():
    store = current_tenant._get_current_object()
    entries = "".join(f"<url><loc>{escape(url)}</loc></url>" for url in sitemap_urls(store))
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>\n'
    )
    return Response(
        body,
        mimetype="application/xml",
        headers={"Cache-Control": f"public, max-age={MAX_AGE_SECONDS}"},
    )
