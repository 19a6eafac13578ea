"""Country by IP address from a MaxMind-format database (GEOIP_DATABASE), when one is set.

Optional: with no database (the default), or an address it does not know (private ranges,
unassigned space), the country is "" and no country rule applies. The reader is opened once per
path and shared by threads (maxminddb readers are thread-safe for lookups).
"""

from __future__ import annotations

import ipaddress
import logging
import threading

from flask import current_app

log = logging.getLogger(__name__)

_readers: dict[str, object] = {}
_lock = threading.Lock()


def _reader(path: str):
    reader = _readers.get(path)
    if reader is None:
        with _lock:
            reader = _readers.get(path)
            if reader is None:
                import maxminddb

                reader = maxminddb.open_database(path)
                _readers[path] = reader
    return reader


def country_of(ip: str, database: str | None = None) -> str:
    """The ISO 3166 code of the country `ip` is in ("CN"), or "" when unknown."""
    database = database if database is not None else current_app.config.get("GEOIP_DATABASE")
    if not database or not ip:
        return ""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ""
    if not address.is_global:
        return ""
    try:
        record = _reader(database).get(str(address))
    except (OSError, ValueError) as error:  # a missing or broken file: sell, but say so
        log.warning("GeoIP lookup in %s failed: %s", database, error)
        return ""
    if not isinstance(record, dict):
        return ""
    for key in ("country", "registered_country"):
        code = (record.get(key) or {}).get("iso_code")
        if code:
            return str(code).upper()
    return ""


def country_set(setting: str) -> frozenset[str]:
    """ "CN, hk ,MO" → {"CN", "HK", "MO"}."""
    return frozenset(code.strip().upper() for code in (setting or "").split(",") if code.strip())


def close_all() -> None:
    """Close the open readers (tests that write a new database at the same path)."""
    with _lock:
        for reader in _readers.values():
            reader.close()
        _readers.clear()
