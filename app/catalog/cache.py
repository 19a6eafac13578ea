"""Versions that key cached storefront listings: bump one and every affected listing is rebuilt.

`catalog` covers the shared catalog and stock status (all stores); `store:<id>` covers one
store's prices, rules and listing choices. Bump after the change has committed.
"""

from __future__ import annotations

from app.cache import cache

LISTING_TTL_SECONDS = 300


def catalog_version() -> int:
    return cache().get_int("catalog:version")


def bump_catalog_version() -> None:
    cache().incr("catalog:version")


def store_version(tenant_id: int) -> int:
    return cache().get_int(f"store:{tenant_id}:version")


def bump_store_version(tenant_id: int) -> None:
    cache().incr(f"store:{tenant_id}:version")


def versions(tenant_id: int) -> tuple[int, int]:
    """(catalog version, store version) in one cache round trip."""
    catalog, store = cache().get_ints(["catalog:version", f"store:{tenant_id}:version"])
    return catalog, store


def cached(tenant_id: int, name: str, build):
    """The value of `build()` for this store and name, rebuilt whenever a version moved."""
    catalog, store = versions(tenant_id)
    key = f"listing:{tenant_id}:{name}:{catalog}:{store}"
    value = cache().get(key)
    if value is None:
        value = build()
        cache().set(key, value, LISTING_TTL_SECONDS)
    return value
