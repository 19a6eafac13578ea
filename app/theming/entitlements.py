"""Whether a store may use premium theme packs (billing's `premium_themes` entitlement)."""

from __future__ import annotations

from app.billing import entitled
from tenants.context import TenantRef

FEATURE = "premium_themes"


def may_use_premium_themes(store: TenantRef) -> bool:
    return entitled(store, FEATURE)
