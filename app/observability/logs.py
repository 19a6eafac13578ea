"""Structured logs: one JSON object per line with the request id and the store, when
LOG_FORMAT=json. Secrets never reach a log line: nothing logs request bodies or headers, fields
whose names look secret are replaced before formatting, and RedactionFilter (on every handler,
text or JSON) scrubs messages and tracebacks of the configured secrets, `name=value` pairs with
secret-sounding names, bearer tokens, passwords in URLs and API keys."""

from __future__ import annotations

import json
import logging
import re
import uuid

from flask import g, has_request_context, request

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
SECRET_NAMES = re.compile(r"pass|secret|token|key|authorization|cookie", re.I)
REDACTED = "[redacted]"
# The settings whose values are secrets: their exact values never appear in a log line.
SECRET_SETTINGS = (
    "SECRET_KEY", "DATA_ENCRYPTION_KEYS", "DATA_HMAC_KEY", "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET", "MAIL_SMTP_PASSWORD", "METRICS_TOKEN",
)  # fmt: skip
# name=value, name: value, "name": "value" where the name sounds secret (password, api_key,
# token, sign, authorization …); the value ends at a separator or a closing quote.
_PAIR = re.compile(
    r"""(?P<name>[\w.-]*?(?:pass(?:wd|word)?|secret|token|(?<![a-z])key|sign(?:ature)?|"""
    r"""authorization|cookie|credential)s?[\w.-]*)"""
    r"""(?P<sep>["']?\s*[:=]\s*["']?)(?P<value>(?:Bearer\s+|Basic\s+)?[^\s"'&,;}]+)""",
    re.I,
)
_BEARER = re.compile(r"\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}", re.I)
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^/\s:@]+:)[^@\s/]+(?P<at>@)", re.I)
# Keys of outside services that have a recognisable shape (Stripe and the like).
_API_KEYS = re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{8,}|\bwhsec_[A-Za-z0-9+/=]{8,}")


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """`text` with every secret replaced by [redacted]."""
    if not text:
        return text
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _URL_PASSWORD.sub(lambda m: m["head"] + REDACTED + m["at"], text)
    text = _BEARER.sub(lambda m: f"{m[1]} {REDACTED}", text)
    text = _API_KEYS.sub(REDACTED, text)
    return _PAIR.sub(lambda m: m["name"] + m["sep"] + REDACTED, text)


def configured_secrets(config) -> tuple[str, ...]:
    """The secret values in the settings (each key of a key ring separately), longest first so
    a secret that contains another is replaced whole."""
    found = set()
    for name in SECRET_SETTINGS:
        value = config.get(name)
        if not value:
            continue
        found.add(str(value))
        for part in str(value).split(","):
            part = part.strip()
            found.add(part)
            found.add(part.partition(":")[2])  # "k1:<key>": the key alone too
    return tuple(sorted((s for s in found if len(s) >= 8), key=len, reverse=True))


class RedactionFilter(logging.Filter):
    """Rewrites each record before any handler formats it: the message (arguments merged in),
    extra `kameng_*` fields with secret-sounding names, and the traceback text."""

    def __init__(self, secrets: tuple[str, ...] = ()):
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: keep what there is, still redacted
            message = f"{record.msg} {record.args}"
        record.msg, record.args = redact(message, self.secrets), None
        for name, value in list(record.__dict__.items()):
            if name.startswith("kameng_"):
                if SECRET_NAMES.search(name.removeprefix("kameng_")):
                    setattr(record, name, REDACTED)
                elif isinstance(value, str):
                    setattr(record, name, redact(value, self.secrets))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


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
        if record.exc_text:
            entry["exception"] = record.exc_text
        elif record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(app) -> None:
    root = logging.getLogger()
    if app.config.get("LOG_FORMAT") == "json":
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        root.handlers = [handler]
        root.setLevel(logging.INFO)
    redaction = RedactionFilter(configured_secrets(app.config))
    for handler in root.handlers:
        if not any(isinstance(f, ContextFilter) for f in handler.filters):
            handler.addFilter(ContextFilter())
        # One redaction filter per handler, holding this application's secrets.
        handler.filters = [f for f in handler.filters if not isinstance(f, RedactionFilter)]
        handler.addFilter(redaction)

    @app.before_request
    def _request_id():
        given = request.headers.get("X-Request-ID", "")
        g.request_id = given if REQUEST_ID.match(given) else uuid.uuid4().hex

    @app.after_request
    def _echo_request_id(response):
        if getattr(g, "request_id", None):
            response.headers["X-Request-ID"] = g.request_id
        return response
