"""Entitlements: what each plan unlocks, and the one place every feature asks.

    entitled(store, "custom_domain")      -> bool
    entitlement(store, "staff_seats")     -> 5

`store` is anything with a `plan` (a TenantRef or a Tenant row): `tenants.plan` always holds the
store's *effective* plan (billing services keep it in sync with the subscription and the grace
period), so asking costs no query. Plans' entitlements are read once per process and plans
version (bumped when the platform edits a plan), never per request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from app.billing.models import FREE_PLAN, Plan
from app.cache import cache
from app.extensions import db
from app.i18n import N_

PLANS_VERSION = "plans:version"
TIER_RE = re.compile(r"^[a-z][a-z0-9_-]{0,29}$")


@dataclass(frozen=True)
class Entitlement:
    """One thing a plan can unlock: a switch ("bool"), a number ("int") or a price tier."""

    name: str
    kind: str
    label: str
    default: bool | int | str  # what a store gets when its plan is unknown (Free's level)
    minimum: int = 0
    maximum: int = 0
    hint: str = ""


ENTITLEMENTS: dict[str, Entitlement] = {
    e.name: e
    for e in (
        Entitlement("custom_domain", "bool", N_("Custom domain"), False),
        Entitlement("premium_themes", "bool", N_("Premium themes"), False),
        Entitlement("api_access", "bool", N_("API access"), False),
        Entitlement("crm", "bool", N_("Customer relationship tools (CRM)"), False),
        Entitlement(
            "marketing_posters", "bool", N_("Marketing tools"), False,
            hint=N_("Share posters, the campaign assets library and recommendations."),
        ),
        Entitlement(
            "marketing_email_daily", "int", N_("Marketing e-mails per day"), 0, 0, 1_000_000,
            hint=N_("0: no marketing e-mail. Sent only to customers who opted in."),
        ),
        Entitlement("staff_seats", "int", N_("Staff seats"), 1, 1, 1000),
        Entitlement(
            "wholesale_tier", "tier", N_("Wholesale price tier"), FREE_PLAN,
            hint=N_("The tier name of the SKU tier prices this plan buys at."),
        ),
        Entitlement(
            "settlement_days", "int", N_("Settlement period (days)"), 1, 0, 30,
            hint=N_("Profit becomes available this many days after payment (T+n)."),
        ),
        Entitlement(
            "platform_fee_bps", "int", N_("Platform fee (basis points)"), 100, 0, 5000,
            hint=N_("100 basis points = 1 percent of each sale."),
        ),
    )
}  # fmt: skip


class EntitlementError(ValueError):
    def __init__(self, field: str, message: str, **params):
        super().__init__(message)
        self.field = field
        self.message = message
        self.params = params


def clean_entitlements(values: dict) -> dict:
    """Every entitlement with a value of its kind; unknown names are refused, missing ones get
    the default. Raises EntitlementError naming the first bad value."""
    unknown = sorted(set(values) - set(ENTITLEMENTS))
    if unknown:
        raise EntitlementError(unknown[0], N_("Unknown entitlement."))
    cleaned = {}
    for name, spec in ENTITLEMENTS.items():
        value = values.get(name, spec.default)
        if spec.kind == "bool":
            cleaned[name] = bool(value)
        elif spec.kind == "int":
            try:
                number = int(value)
            except (TypeError, ValueError):
                raise EntitlementError(name, N_("Enter a whole number.")) from None
            if not spec.minimum <= number <= spec.maximum:
                raise EntitlementError(
                    name,
                    N_("Enter a number from %(minimum)s to %(maximum)s."),
                    minimum=spec.minimum,
                    maximum=spec.maximum,
                )
            cleaned[name] = number
        else:
            tier = str(value or "").strip().lower()
            if not TIER_RE.match(tier):
                raise EntitlementError(
                    name, N_("Use lower-case letters, digits, - and _ (up to 30).")
                )
            cleaned[name] = tier
    return cleaned


def _stored(values) -> dict:
    """A plan's stored entitlements, completed with defaults (a plan saved before an entitlement
    existed gets its default)."""
    values = values if isinstance(values, dict) else {}
    try:
        return clean_entitlements({k: v for k, v in values.items() if k in ENTITLEMENTS})
    except EntitlementError:
        return {name: spec.default for name, spec in ENTITLEMENTS.items()}


def plan_table() -> dict[str, dict]:
    """Every plan's entitlements by code: built once per process and plans version."""
    key = f"plans:{cache().get_int(PLANS_VERSION)}"
    table = cache().memo.get(key)
    if table is None:
        rows = db.session.execute(select(Plan.code, Plan.entitlements)).all()
        table = {code: _stored(values) for code, values in rows}
        cache().memo.put(key, table)
    return table


def plan_entitlements(plan_code: str | None) -> dict:
    """What `plan_code` unlocks; an unknown plan gets Free's entitlements."""
    table = plan_table()
    found = table.get(plan_code or FREE_PLAN) or table.get(FREE_PLAN)
    return found or {name: spec.default for name, spec in ENTITLEMENTS.items()}


def entitlement(store, name: str):
    """The value of entitlement `name` for `store` (its effective plan)."""
    if name not in ENTITLEMENTS:
        raise KeyError(f"unknown entitlement {name!r}")
    return plan_entitlements(getattr(store, "plan", None))[name]


def entitled(store, feature: str) -> bool:
    """Whether `store` may use `feature` now (a number: at least one)."""
    return bool(entitlement(store, feature))


def bump_plans_version() -> None:
    """A plan changed (and committed): every process rebuilds its table on next use."""
    cache().incr(PLANS_VERSION)
