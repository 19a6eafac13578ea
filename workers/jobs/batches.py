"""Batch top-up jobs: placing a confirmed batch (bound to its store)."""

from __future__ import annotations

from app.batches.services import place
from tenants.context import require_tenant


def place_batch(batch_id: int) -> str:
    return place(require_tenant(), batch_id)
