"""Who invited whom, and the commission lines added to each paid order's ledger transaction.

A store's referrer is set once, when it opens (from an invite link `/open?ref=<slug>`), and
never changes, so chains cannot loop. Commissions are part of the order's payment transaction:
pending with the order and settled with it (T+N of the referrer's plan), and a refund reverses
them in proportion like every other line.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select

from app.config import ConfigError
from app.extensions import db
from app.ledger.models import LedgerAccount, LedgerEntry, LedgerTransaction
from app.ledger.parties import store as store_party
from tenants.models import Tenant

MAX_DEPTH = 3
FUNDERS = ("platform", "store")


def rates_bps() -> list[int]:
    """The commission of each level above the selling store, in basis points of its profit."""
    raw = str(current_app.config["REFERRAL_RATES_BPS"]).replace(" ", "")
    rates = [int(part) for part in raw.split(",") if part] if raw else []
    if len(rates) > MAX_DEPTH or any(not 0 <= rate <= 10000 for rate in rates):
        raise ConfigError(
            f"REFERRAL_RATES_BPS={raw!r}: at most {MAX_DEPTH} levels, each 0 to 10000"
        )
    return rates


def find_referrer(code: str | None) -> Tenant | None:
    """The active store an invite code (its slug) names, or None."""
    code = (code or "").strip().lower()
    if not code:
        return None
    return db.session.scalar(select(Tenant).where(Tenant.slug == code, Tenant.status == "active"))


def referrer_chain(tenant_id: int, depth: int) -> list[int]:
    """The stores above `tenant_id`, nearest first, at most `depth` of them."""
    chain: list[int] = []
    current = tenant_id
    while len(chain) < depth:
        current = db.session.scalar(select(Tenant.referrer_id).where(Tenant.id == current))
        if current is None or current == tenant_id or current in chain:
            break
        chain.append(current)
    return chain


def commission_entries(
    tenant_id: int, *, store_share_cents: int, platform_share_cents: int
) -> list[tuple[str, int]]:
    """Ledger lines paying the selling store's referrers: each level earns its rate of the
    store's profit, paid by the funder (the platform's margin by default) and never more than
    the funder's share of this order."""
    rates = rates_bps()
    if not rates or store_share_cents <= 0:
        return []
    funder = current_app.config["REFERRAL_FUNDED_BY"]
    if funder not in FUNDERS:
        raise ConfigError(f"REFERRAL_FUNDED_BY must be one of {FUNDERS}, not {funder!r}")
    source = "platform:revenue" if funder == "platform" else store_party(tenant_id).pending
    budget = platform_share_cents if funder == "platform" else store_share_cents
    entries: list[tuple[str, int]] = []
    for referrer_id, rate in zip(referrer_chain(tenant_id, len(rates)), rates, strict=False):
        commission = min(store_share_cents * rate // 10000, max(0, budget))
        if commission <= 0:
            continue
        budget -= commission
        entries += [(source, commission), (store_party(referrer_id).pending, -commission)]
    return entries


@dataclass(frozen=True)
class ReferralSummary:
    invited_stores: int
    earned_cents: int  # commissions net of refunds, pending and settled


def summary(tenant_id: int, currency: str = "CNY") -> ReferralSummary:
    invited = db.session.scalar(
        select(func.count()).select_from(Tenant).where(Tenant.referrer_id == tenant_id)
    )
    earned = db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0))
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(
            LedgerAccount.code == store_party(tenant_id).pending,
            LedgerAccount.currency == currency,
            LedgerTransaction.kind.in_(("order_paid", "refund")),
            LedgerTransaction.tenant_id != tenant_id,
        )
    )
    return ReferralSummary(int(invited or 0), -int(earned))


def invited_stores(tenant_id: int) -> list[Tenant]:
    return list(
        db.session.scalars(
            select(Tenant).where(Tenant.referrer_id == tenant_id).order_by(Tenant.id.desc())
        )
    )
