"""Routes every site has: static files, theme assets, the language switch, health."""

from __future__ import annotations

from flask import abort, current_app, redirect, request, send_from_directory, session

from app.auth.guards import safe_next
from app.web.routing import BOTH, SiteBlueprint
from app.web.themes import theme_static

bp = SiteBlueprint("web", __name__, site=BOTH)
MEDIA_FOLDERS = ("catalog/", "store/")


@bp.get("/static/<path:filename>")
def static(filename: str):
    return send_from_directory(current_app.root_path + "/static", filename, max_age=3600)


@bp.get("/media/<path:filename>")
def media(filename: str):
    """Uploaded catalog and store theme images (re-encoded by Pillow when uploaded); nothing
    else is served."""
    from app.images import media_root

    if not filename.startswith(MEDIA_FOLDERS):
        abort(404)
    return send_from_directory(media_root(), filename, max_age=86400)


@bp.get("/theme/<theme>/<path:filename>")
def theme_asset(theme: str, filename: str):
    return theme_static(theme, filename)


@bp.get("/lang/<code>")
def set_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next"), "/"))


@bp.get("/healthz")
def healthz():
    """Alive: the process answers (a supervisor restarts it otherwise)."""
    return {"status": "ok"}


@bp.get("/readyz")
def readyz():
    """Ready for traffic: database, Redis and migrations (a load balancer stops sending
    requests otherwise)."""
    from app.observability.health import readiness

    checks = readiness()
    ready = all(check.ok for check in checks)
    body = {
        "status": "ok" if ready else "unavailable",
        "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in checks},
    }
    return body, 200 if ready else 503


@bp.get("/metrics")
def metrics():
    from app.observability.metrics import metrics_response

    return metrics_response()
