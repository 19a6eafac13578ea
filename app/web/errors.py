"""Error pages: plain for unknown hosts (reveal nothing), branded on stores, consoles otherwise."""

from __future__ import annotations

import logging

from flask import request
from werkzeug.exceptions import HTTPException, InternalServerError

from app.web.site import current_site
from app.web.themes import render_theme
from tenants.resolver import STORE, UNKNOWN

log = logging.getLogger(__name__)

PLAIN_NOT_FOUND = (
    "<!doctype html><meta charset=utf-8><title>404 Not Found</title><h1>404 Not Found</h1>"
)


def handle_http_error(error: HTTPException):
    site = current_site()
    if site.kind == UNKNOWN:
        if error.code == 503:
            return (
                "Service unavailable",
                503,
                {"Content-Type": "text/plain; charset=utf-8"},
            )
        return PLAIN_NOT_FOUND, 404
    if error.code in (301, 302, 307, 308) or error.code is None or error.code < 400:
        return error
    if request.path.startswith("/api/"):
        from app.api.views import http_problem

        return http_problem(error)
    if request.path.startswith("/shared/") and site.kind == STORE:
        from app.docking.views import http_error

        return http_error(error)
    try:
        if site.kind == STORE:
            return render_theme("errors/error.html", error=error), error.code
        from app.web.site import render_console

        return render_console("errors/error.html", error=error), error.code
    except Exception:  # never let an error page fail the error
        log.exception("error page failed")
        return error


def handle_unexpected(error: Exception):
    log.exception("unhandled error on %s %s", request.method, request.path)
    return handle_http_error(InternalServerError())


def init_app(app) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
    if not app.config.get("TESTING"):
        app.register_error_handler(Exception, handle_unexpected)
