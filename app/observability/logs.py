"""Structured logs: one JSON object per line with the request id and the store, when
LOG_FORMAT=json. Secrets never reach a log line: nothing logs request bodies or headers, and
fields whose names look secret are replaced before formatting."""

from __future__ import annotations

import json
import logging
import re
import uuid

from flask import g, has_request_context, request

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
SECRET_NAMES = re.compile(r"pass|secret|token|key|authorization|cookie", re.I)


def request_id() -> str | None:
    return getattr(g, "request_id", None) if has_request_context() else None


class ContextFilter(logging.Filter):
    """Adds request_id and store (the bound store's id) to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        from tenants.context import get_current_tenant

        record.request_id = request_id()
        tenant = get_current_tenant()
        record.store = tenant.id if tenant is not None else None
        return True


class JsonFormatter(logging.Formatter):
    BASE = ("name", "levelname", "request_id", "store")

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "store": getattr(record, "store", None),
        }
        for name, value in record.__dict__.items():
            if name.startswith("kameng_"):
                key = name.removeprefix("kameng_")
                entry[key] = "[redacted]" if SECRET_NAMES.search(key) else value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(app) -> None:
    root = logging.getLogger()
    if app.config.get("LOG_FORMAT") == "json":
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        root.handlers = [handler]
        root.setLevel(logging.INFO)
    for handler in root.handlers:
        if not any(isinstance(f, ContextFilter) for f in handler.filters):
            handler.addFilter(ContextFilter())

    @app.before_request
    def _request_id():
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex

    @app.after_request
    def _echo_request_id(response):
        if getattr(g, "request_id", None):
            response.headers["X-Request-ID"] = g.request_id
        return response
