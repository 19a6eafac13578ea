"""Export jobs: building a large order export (bound to its store) and purging expired files."""

from __future__ import annotations

from app.exports.services import build_export, purge_expired
from tenants.context import require_tenant


def build_order_export(export_id: int) -> str | None:
    export = build_export(require_tenant().id, export_id)
    return export.status if export is not None else None


def purge_expired_exports() -> int:
    return purge_expired()
