"""Whether a store may use premium theme packs: a thin adapter over billing's entitlements.

Billing (`app.billing`) decides what a plan unlocks with `entitled(store, feature)`. Until that
module exists every store may use every pack; once it does, this asks it, and nothing else in
theming needs to change.
"""

from __future__ import annotations

import importlib

from tenants.context import TenantRef

FEATURE = "premium_themes"
# Where billing's entitled() may live; the first module that has it is used.
BILLING_MODULES = ("app.billing", "app.billing.entitlements", "app.billing.services")


def _billing_entitled():
    for name in BILLING_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as missing:
            if missing.name and (name.startswith(missing.name) or missing.name.startswith(name)):
                continue  # billing (or this part of it) is not there yet
            raise  # billing is there but broken: fail loudly rather than unlock everything
        entitled = getattr(module, "entitled", None)
        if callable(entitled):
            return entitled
    return None


def may_use_premium_themes(store: TenantRef) -> bool:
    entitled = _billing_entitled()
    if entitled is None:
        return True
    return bool(entitled(store, FEATURE))
