"""Analytics jobs: storefront visit counts moved from Redis into the database (periodic)."""

from __future__ import annotations

from app.analytics.visits import flush_counts


def flush_visit_counts() -> int:
    return flush_counts()
