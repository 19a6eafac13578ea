"""Absolute URLs, always built from configuration and a store's primary host, never from Host."""

from __future__ import annotations

from flask import current_app

from tenants.context import TenantRef


def origin(host: str, config=None) -> str:
    config = config if config is not None else current_app.config
    scheme = config["PREFERRED_URL_SCHEME"]
    port = config["PUBLIC_PORT"]
    default_port = 443 if scheme == "https" else 80
    suffix = f":{port}" if port and int(port) != default_port else ""
    return f"{scheme}://{host}{suffix}"


def tenant_url(tenant: TenantRef, path: str = "/") -> str:
    return origin(tenant.primary_host) + path


def platform_url(path: str = "/") -> str:
    return origin(current_app.config["PLATFORM_DOMAIN"]) + path
