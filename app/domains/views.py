"""The apex's internal endpoint for the TLS proxy: may a certificate be issued for this host?"""

from __future__ import annotations

from flask import request

from app.domains.services import may_have_certificate
from app.extensions import limiter
from app.web.routing import SiteBlueprint

bp = SiteBlueprint("domains", __name__, site="platform")


@bp.get("/internal/tls-ask")
@limiter.exempt
def tls_ask():
    """Caddy's on_demand_tls `ask`: 200 for hosts we serve, 404 for anything else."""
    if may_have_certificate(request.args.get("domain")):
        return "ok", 200, {"Content-Type": "text/plain", "Cache-Control": "no-store"}
    return "unknown host", 404, {"Content-Type": "text/plain", "Cache-Control": "no-store"}
