"""Statements: every ledger line on one of a party's accounts, with its running balance, and
the platform's finance overview."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, cast, func, literal, select

from app.extensions import db
from app.ledger.models import LedgerAccount, LedgerEntry, LedgerTransaction
from app.ledger.parties import Party

ACCOUNT_NAMES = ("available", "pending", "withdrawing", "owed")


@dataclass(frozen=True)
class StatementLine:
    at: datetime
    kind: str
    description: str
    reference: str
    amount_cents: int  # positive: the party's balance grew
    balance_cents: int  # after this line


def _account_code(party: Party, name: str) -> str:
    if name not in ACCOUNT_NAMES:
        raise ValueError(f"unknown account {name!r}")
    return getattr(party, name)


def statement(
    party: Party,
    account: str = "available",
    *,
    currency: str = "CNY",
    since: datetime | None = None,
    until: datetime | None = None,
    batch: int = 1000,
) -> Iterator[StatementLine]:
    """Lines oldest first, streamed in batches; balances count what the party is owed (for
    `owed`: what it owes). The opening balance is everything before `since`."""
    code = _account_code(party, account)
    sign = 1 if account == "owed" else -1
    account_id = db.session.scalar(
        select(LedgerAccount.id).where(
            LedgerAccount.code == code, LedgerAccount.currency == currency
        )
    )
    if account_id is None:
        return
    running = 0
    if since is not None:
        running = sign * int(
            db.session.scalar(
                select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0))
                .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
                .where(LedgerEntry.account_id == account_id, LedgerTransaction.created_at < since)
            )
        )
    after_id = 0
    while True:
        query = (
            select(
                LedgerEntry.id,
                LedgerEntry.amount_cents,
                LedgerTransaction.created_at,
                LedgerTransaction.kind,
                LedgerTransaction.description,
                LedgerTransaction.reference,
            )
            .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
            .where(LedgerEntry.account_id == account_id, LedgerEntry.id > after_id)
            .order_by(LedgerEntry.id)
            .limit(batch)
        )
        if since is not None:
            query = query.where(LedgerTransaction.created_at >= since)
        if until is not None:
            query = query.where(LedgerTransaction.created_at < until)
        rows = db.session.execute(query).all()
        for entry_id, amount, at, kind, description, reference in rows:
            running += sign * amount
            yield StatementLine(at, kind, description, reference or "", sign * amount, running)
            after_id = entry_id
        if len(rows) < batch:
            return


@dataclass(frozen=True)
class FinanceOverview:
    gmv_cents: int  # customer payments received (before refunds), balance top-ups included
    refunded_cents: int
    platform_revenue_cents: int  # margin + fees − commissions paid from it
    withdrawal_fees_cents: int
    supplier_pending_cents: int
    supplier_available_cents: int
    store_pending_cents: int
    store_available_cents: int
    store_withdrawing_cents: int
    owed_to_platform_cents: int
    commissions_cents: int
    paid_out_cents: int
    customer_balances_cents: int = 0  # what store customers hold in their balances


def _sum_accounts(pattern: str, currency: str) -> int:
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(LedgerAccount.balance_cents), 0)).where(
                LedgerAccount.code.like(pattern), LedgerAccount.currency == currency
            )
        )
    )


def _sum_entries(account_pattern: str, kinds: tuple[str, ...], currency: str, sign: int) -> int:
    return sign * int(
        db.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0))
            .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
            .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
            .where(
                LedgerAccount.code.like(account_pattern),
                LedgerAccount.currency == currency,
                LedgerTransaction.kind.in_(kinds),
            )
        )
    )


def commissions_cents(currency: str = "CNY") -> int:
    """Referral commissions net of refunds: credits to a store's pending account in another
    store's payment or refund transactions."""
    own_pending = literal("store:") + cast(LedgerTransaction.tenant_id, String) + ":pending"
    return -int(
        db.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0))
            .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
            .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
            .where(
                LedgerAccount.code.like("store:%:pending"),
                LedgerAccount.currency == currency,
                LedgerTransaction.kind.in_(("order_paid", "refund")),
                LedgerAccount.code != own_pending,
            )
        )
    )


def overview(currency: str = "CNY") -> FinanceOverview:
    return FinanceOverview(
        gmv_cents=_sum_entries("clearing:%", ("order_paid", "balance_topup"), currency, 1),
        refunded_cents=_sum_entries("clearing:%", ("refund",), currency, -1),
        platform_revenue_cents=-_sum_accounts("platform:revenue", currency),
        withdrawal_fees_cents=-_sum_accounts("platform:withdrawal_fees", currency),
        supplier_pending_cents=-_sum_accounts("supplier:%:payable", currency),
        supplier_available_cents=-_sum_accounts("supplier:%:available", currency),
        store_pending_cents=-_sum_accounts("store:%:pending", currency),
        store_available_cents=-_sum_accounts("store:%:available", currency),
        store_withdrawing_cents=-_sum_accounts("store:%:withdrawing", currency),
        owed_to_platform_cents=_sum_accounts("%:owed", currency),
        commissions_cents=commissions_cents(currency),
        paid_out_cents=-_sum_accounts("payout:%", currency),
        customer_balances_cents=-_sum_accounts("customer:%:balance", currency),
    )
