"""Plans: what stores can subscribe to — Stripe prices, a trial, the entitlements unlocked.

Free, Pro and Business are seeded by the shared migration s0009; the platform edits them (and
adds more) in the console. A plan's code is also its wholesale tier's default name.
"""

from __future__ import annotations

import re

from sqlalchemy import or_, select

from app.billing.entitlements import EntitlementError, bump_plans_version, clean_entitlements
from app.billing.errors import BillingError
from app.billing.models import FREE_PLAN, Plan
from app.extensions import db
from app.i18n import N_

PLAN_CODE_RE = re.compile(r"^[a-z][a-z0-9_-]{1,29}$")
PRICE_ID_RE = re.compile(r"^price_[A-Za-z0-9_]{1,200}$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
MAX_PRICE_CENTS = 10**9


def list_plans(*, active_only: bool = False) -> list[Plan]:
    query = select(Plan).order_by(Plan.position, Plan.id)
    if active_only:
        query = query.where(Plan.is_active)
    return list(db.session.scalars(query))


def get_plan(code: str | None) -> Plan | None:
    if not code:
        return None
    return db.session.scalar(select(Plan).where(Plan.code == code))


def _price_id(field_name: str, value: str | None) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    if not PRICE_ID_RE.match(value):
        raise BillingError(field_name, N_("A Stripe price id looks like price_1Abc…"))
    return value


def _cents(field_name: str, value) -> int:
    try:
        cents = int(value)
    except (TypeError, ValueError):
        raise BillingError(field_name, N_("Enter an amount in cents.")) from None
    if not 0 <= cents <= MAX_PRICE_CENTS:
        raise BillingError(field_name, N_("Enter an amount in cents."))
    return cents


def save_plan(
    code: str,
    *,
    name: str,
    is_active: bool = True,
    position: int = 0,
    currency: str = "CNY",
    monthly_price_cents=0,
    yearly_price_cents=0,
    stripe_price_monthly: str | None = None,
    stripe_price_yearly: str | None = None,
    trial_days=0,
    entitlements: dict | None = None,
    create: bool = False,
) -> Plan:
    """Create (`create=True`) or update the plan `code`. Commits; stores on the plan see the new
    entitlements on their next request. Changes to a plan do not move any Stripe subscription:
    a new price applies to new subscriptions (and to changes made in the portal)."""
    code = (code or "").strip().lower()
    plan = get_plan(code)
    if create:
        if not PLAN_CODE_RE.match(code):
            raise BillingError("code", N_("Use 2 to 30 lower-case letters, digits, - and _."))
        if plan is not None:
            raise BillingError("code", N_("A plan with this code exists already."))
        plan = Plan(code=code)
    elif plan is None:
        raise BillingError("code", N_("Unknown plan."))
    name = (name or "").strip()
    if not 1 <= len(name) <= 60:
        raise BillingError("name", N_("The name must be 1 to 60 characters long."))
    currency = (currency or "").strip().upper()
    if not CURRENCY_RE.match(currency):
        raise BillingError("currency", N_("Enter a three-letter currency code, e.g. CNY."))
    monthly = _price_id("stripe_price_monthly", stripe_price_monthly)
    yearly = _price_id("stripe_price_yearly", stripe_price_yearly)
    if monthly and monthly == yearly:
        raise BillingError("stripe_price_yearly", N_("Monthly and yearly need different prices."))
    for field_name, price in (("stripe_price_monthly", monthly), ("stripe_price_yearly", yearly)):
        taken = price and db.session.scalar(
            select(Plan.code).where(
                Plan.code != code,
                or_(Plan.stripe_price_monthly == price, Plan.stripe_price_yearly == price),
            )
        )
        if taken:
            raise BillingError(field_name, N_("Plan %(plan)s uses this price already."), plan=taken)
    try:
        trial = int(trial_days)
    except (TypeError, ValueError):
        trial = -1
    if not 0 <= trial <= 365:
        raise BillingError("trial_days", N_("Enter 0 to 365 days."))
    try:
        cleaned = clean_entitlements(entitlements or {})
    except EntitlementError as error:
        raise BillingError(f"ent_{error.field}", error.message, **error.params) from None
    if code == FREE_PLAN and not is_active:
        raise BillingError("is_active", N_("The Free plan is where stores fall back: keep it."))

    plan.name = name
    plan.is_active = bool(is_active)
    plan.position = int(position or 0)
    plan.currency = currency
    plan.monthly_price_cents = _cents("monthly_price_cents", monthly_price_cents)
    plan.yearly_price_cents = _cents("yearly_price_cents", yearly_price_cents)
    plan.stripe_price_monthly, plan.stripe_price_yearly = monthly, yearly
    plan.trial_days = trial
    plan.entitlements = cleaned
    db.session.add(plan)
    db.session.commit()
    bump_plans_version()
    from app.billing.services import refresh_stores_on_plan

    refresh_stores_on_plan(code)
    return plan
