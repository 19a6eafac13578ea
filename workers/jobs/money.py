"""Money jobs: settlement of held store and supplier money (safe to run twice: one ledger
transaction per hold, keyed by the hold)."""

from __future__ import annotations

from app.ledger.settlement import settle_due


def settle_due_holds() -> int:
    return settle_due()
