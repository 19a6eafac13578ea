"""Signed links to an order's page: whoever holds the link is the buyer (no guessing numbers)."""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from app.web.urls import tenant_url
from tenants.context import TenantRef


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="order-page")


def order_token(tenant: TenantRef, order_no: str) -> str:
    return _serializer().dumps([tenant.id, order_no])


def token_matches(tenant: TenantRef, order_no: str, token: str) -> bool:
    try:
        return _serializer().loads(token or "") == [tenant.id, order_no]
    except BadSignature:
        return False


def order_page_url(tenant: TenantRef, order_no: str) -> str:
    return tenant_url(tenant, f"/order/{order_no}?t={order_token(tenant, order_no)}")
