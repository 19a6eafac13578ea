"""A customer's API keys: created with a secret shown once, sealed at rest, scoped, optionally
limited to some addresses, revoked for good."""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Iterable

from sqlalchemy import func, select

from app.api.models import SCOPES, ApiKey
from app.crypto import open_text, seal_text
from app.db import utcnow
from app.extensions import db
from app.i18n import N_
from tenants.context import TenantRef

MAX_ACTIVE_KEYS = 10
MAX_ALLOWED_IPS = 20
KEY_ID_PREFIX = "kk_"
SECRET_PREFIX = "ks_"


class ApiKeyError(ValueError):
    def __init__(self, field: str, message: str, **params):
        super().__init__(message)
        self.field, self.message, self.params = field, message, params


def _purpose(store_id: int, key_id: str) -> str:
    return f"api-key:{store_id}:{key_id}"


def parse_allowed_ips(text: str | Iterable[str]) -> list[str]:
    """Addresses and networks, one per line or comma-separated, normalised (CIDR)."""
    items = text.replace(",", "\n").split() if isinstance(text, str) else list(text)
    networks = []
    for item in items:
        try:
            networks.append(str(ipaddress.ip_network(item.strip(), strict=False)))
        except ValueError:
            raise ApiKeyError(
                "allowed_ips", N_("%(value)s is not an IP address or network."), value=item
            ) from None
    if len(networks) > MAX_ALLOWED_IPS:
        raise ApiKeyError(
            "allowed_ips", N_("List at most %(max)s addresses or networks."), max=MAX_ALLOWED_IPS
        )
    return list(dict.fromkeys(networks))


def active_keys(customer_id: int) -> list[ApiKey]:
    return db.session.scalars(
        select(ApiKey)
        .where(ApiKey.customer_id == customer_id, ApiKey.revoked_at.is_(None))
        .order_by(ApiKey.id)
    ).all()


def create_key(
    store: TenantRef,
    customer_id: int,
    *,
    name: str,
    scopes: Iterable[str],
    allowed_ips: str | Iterable[str] = "",
) -> tuple[ApiKey, str]:
    """A new key for the customer; returns it and its secret (shown once). Commits."""
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise ApiKeyError("name", N_("Name the key (up to 80 characters)."))
    chosen = [scope for scope in SCOPES if scope in set(scopes or ())]
    if not chosen or len(chosen) != len(set(scopes)):
        raise ApiKeyError("scopes", N_("Choose at least one scope."))
    networks = parse_allowed_ips(allowed_ips)
    active = select(func.count()).where(
        ApiKey.customer_id == customer_id, ApiKey.revoked_at.is_(None)
    )
    if db.session.scalar(active) >= MAX_ACTIVE_KEYS:
        raise ApiKeyError(
            "name", N_("You can have up to %(max)s active keys."), max=MAX_ACTIVE_KEYS
        )
    key_id = KEY_ID_PREFIX + secrets.token_hex(12)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        key_id=key_id,
        customer_id=customer_id,
        name=name,
        secret_sealed=seal_text(secret, _purpose(store.id, key_id)),
        secret_hint=secret[-4:],
        scopes=chosen,
        allowed_ips=networks,
        created_at=utcnow(),
    )
    db.session.add(key)
    db.session.commit()
    return key, secret


def key_secret(store: TenantRef, key: ApiKey) -> str:
    return open_text(key.secret_sealed, _purpose(store.id, key.key_id))


def find_key(key_id: str) -> ApiKey | None:
    if not key_id.startswith(KEY_ID_PREFIX) or len(key_id) > 40:
        return None
    return db.session.scalar(select(ApiKey).where(ApiKey.key_id == key_id))


def revoke_key(key: ApiKey) -> None:
    """Revoke for good (a revoked key never works again). Commits."""
    if key.revoked_at is None:
        key.revoked_at = utcnow()
    db.session.commit()


def ip_allowed(key: ApiKey, address: str) -> bool:
    if not key.allowed_ips:
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net) for net in key.allowed_ips)
