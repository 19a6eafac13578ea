"""Facts about the current HTTP client, read once in one place."""

from flask import request


def client_ip() -> str:
    """The client's address; ProxyFix (TRUSTED_PROXIES) has already applied X-Forwarded-For."""
    return request.remote_addr or "0.0.0.0"
