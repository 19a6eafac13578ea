"""Versions that key cached storefront data: bump one and everything it covers is rebuilt.

- `catalog` — the shared catalog and stock *states* (all stores);
- `store:<id>` — one store's rules, listings and settings;
- `stock` — exact stock counts (only stores that show counts depend on it).
Bump after the change has committed. Versions are read from the shared cache (mirrored in each
process), and values built under a version are memoised in-process and in the shared cache.
"""

from __future__ import annotations

from app.cache import cache

TTL_SECONDS = 600


def versions(tenant_id: int) -> tuple[int, int, int]:
    """(catalog, store, stock) versions in one cache round trip (none when mirrored)."""
    catalog, store, stock = cache().get_ints(
        ["catalog:version", f"store:{tenant_id}:version", "stock:version"]
    )
    return catalog, store, stock


def bump_catalog_version() -> None:
    cache().incr("catalog:version")


def bump_store_version(tenant_id: int) -> None:
    cache().incr(f"store:{tenant_id}:version")


def bump_stock_version() -> None:
    cache().incr("stock:version")


def _memoised(key: str, build):
    store = cache()
    value = store.memo.get(key)
    if value is None:
        value = store.get(key)
        if value is None:
            value = build()
            store.set(key, value, TTL_SECONDS)
        store.memo.put(key, value)
    return value


def cached_global(name: str, build, version: str = "catalog"):
    """A value shared by all stores, rebuilt when `version` moves."""
    return _memoised(f"global:{name}:{cache().get_int(f'{version}:version')}", build)


def _store_key(tenant_id: int, name: str) -> str:
    return f"store:{tenant_id}:{name}:{cache().get_int(f'store:{tenant_id}:version')}"


def cached_store(tenant_id: int, name: str, build):
    """A value of one store, rebuilt when its store version moves."""
    return _memoised(_store_key(tenant_id, name), build)


def peek_store(tenant_id: int, name: str):
    """The current value of one store if this process already holds it, else None (no work)."""
    return cache().memo.get(_store_key(tenant_id, name))
