"""Signed links to a ticket's page: whoever holds the link is the buyer who opened it."""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from app.web.urls import tenant_url
from tenants.context import TenantRef


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="ticket-page")


def ticket_token(tenant: TenantRef, ticket_no: str) -> str:
    return _serializer().dumps([tenant.id, ticket_no])


def token_matches(tenant: TenantRef, ticket_no: str, token: str) -> bool:
    try:
        return _serializer().loads(token or "") == [tenant.id, ticket_no]
    except BadSignature:
        return False


def ticket_page_url(tenant: TenantRef, ticket_no: str) -> str:
    return tenant_url(tenant, f"/ticket/{ticket_no}?t={ticket_token(tenant, ticket_no)}")
