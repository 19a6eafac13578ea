"""Supplier connectors by kind; modules load lazily (a missing one is simply not offered)."""

from __future__ import annotations

from importlib import import_module

from app.suppliers.connectors.base import Connector

_CLASSES = {
    "simulator": "app.suppliers.connectors.simulator:SimulatorConnector",
    "generic_http": "app.suppliers.connectors.generic_http:GenericHttpConnector",
    "kameng": "app.suppliers.connectors.kameng:KamengConnector",
    "acg_faka": "app.suppliers.connectors.acg_faka:AcgFakaConnector",
    "dujiao_next": "app.suppliers.connectors.dujiao_next:DujiaoNextConnector",
}


class UnknownConnector(LookupError):
    pass


def connector_class(kind: str) -> type[Connector]:
    path = _CLASSES.get(kind)
    if path is None:
        raise UnknownConnector(f"unknown supplier connector {kind!r}")
    module, _, attr = path.partition(":")
    try:
        return getattr(import_module(module), attr)
    except (ImportError, AttributeError):
        raise UnknownConnector(f"supplier connector {kind!r} is not installed") from None


def known_connectors() -> list[str]:
    found = []
    for kind in _CLASSES:
        try:
            connector_class(kind)
        except UnknownConnector:
            continue
        found.append(kind)
    return found
