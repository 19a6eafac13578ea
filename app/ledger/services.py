"""post(): the one way money moves; verify(): proof that it always balanced.

post() runs inside the caller's transaction, so a business event (a payment, a refund) and its
ledger transaction commit together. Idempotency keys make a repeated event a no-op.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.db import utcnow
from app.extensions import db
from app.ledger import holds
from app.ledger.models import LedgerAccount, LedgerEntry, LedgerTransaction
from app.ledger.parties import Party


class LedgerError(ValueError):
    pass


def _account(code: str, currency: str) -> LedgerAccount:
    account = db.session.scalar(
        select(LedgerAccount).where(LedgerAccount.code == code, LedgerAccount.currency == currency)
    )
    if account is None:
        savepoint = db.session.begin_nested()
        try:
            account = LedgerAccount(code=code, currency=currency, balance_cents=0)
            db.session.add(account)
            savepoint.commit()
        except IntegrityError:  # created concurrently: use that one
            savepoint.rollback()
            account = db.session.scalar(
                select(LedgerAccount).where(
                    LedgerAccount.code == code, LedgerAccount.currency == currency
                )
            )
    return account


def post(
    idempotency_key: str,
    kind: str,
    entries: Iterable[tuple[str, int]],
    *,
    currency: str,
    tenant_id: int | None = None,
    description: str = "",
    reference: str | None = None,
) -> tuple[LedgerTransaction, bool]:
    """Post one balanced transaction; returns (transaction, created). A key already posted
    returns the existing transaction and changes nothing.

    With a `reference` (e.g. "order:<tenant>:<order_no>"), credits to a store's or supplier's
    pending account are held for settlement, and debits to one already settled are taken from
    what that party has available (app.ledger.holds)."""
    existing = db.session.scalar(
        select(LedgerTransaction).where(LedgerTransaction.idempotency_key == idempotency_key)
    )
    if existing is not None:
        return existing, False
    lines = [(code, int(amount)) for code, amount in entries if int(amount) != 0]
    if not lines:
        raise LedgerError("a transaction needs at least one non-zero entry")
    if sum(amount for _, amount in lines) != 0:
        raise LedgerError(f"entries of {idempotency_key} do not sum to zero: {lines}")
    codes = {code for code, _ in lines} | holds.routing_targets(lines, reference)
    accounts = lock_accounts(codes, currency)
    lines = holds.route(
        lines, reference, currency, lambda code: accounts[code].balance_cents, utcnow()
    )
    transaction = LedgerTransaction(
        idempotency_key=idempotency_key,
        kind=kind,
        tenant_id=tenant_id,
        description=description,
        reference=reference,
    )
    for code, amount in lines:
        if amount == 0:
            continue
        account = accounts[code]
        account.balance_cents += amount
        transaction.entries.append(
            LedgerEntry(account_id=account.id, amount_cents=amount, currency=currency)
        )
    db.session.add(transaction)
    db.session.flush()
    return transaction, True


def charge(
    idempotency_key: str,
    kind: str,
    payer: Party,
    credits: Iterable[tuple[str, int]],
    *,
    currency: str,
    tenant_id: int | None = None,
    description: str = "",
) -> tuple[LedgerTransaction, bool]:
    """`payer` (a store or supplier) pays the credited accounts: from what it has available,
    and what that cannot cover becomes owed — its balances never go negative."""
    credits = [(code, int(amount)) for code, amount in credits if int(amount) != 0]
    amount = -sum(value for _, value in credits)
    if amount <= 0:
        raise LedgerError(f"{idempotency_key}: a charge credits a positive amount")
    # Every account of the transaction locked at once, in post()'s order (no lock cycles).
    accounts = lock_accounts({payer.available, payer.owed, *(c for c, _ in credits)}, currency)
    debits = holds.clawback(payer, amount, lambda code: accounts[code].balance_cents)
    return post(
        idempotency_key,
        kind,
        [*debits, *credits],
        currency=currency,
        tenant_id=tenant_id,
        description=description,
    )


def lock_accounts(codes, currency: str) -> dict[str, LedgerAccount]:
    """The accounts (created if new), locked for this transaction in a fixed order — so two
    transactions never wait on each other in a cycle — with balances re-read under the lock
    (populate_existing): objects loaded earlier may hold a balance since changed. New accounts
    are created in code order too: two first payments inserting the same new rows in their
    own orders (a set's order differs between processes) would deadlock on the unique index."""
    ids = {code: _account(code, currency).id for code in sorted(codes)}
    locked = db.session.scalars(
        select(LedgerAccount)
        .where(LedgerAccount.id.in_(ids.values()))
        .order_by(LedgerAccount.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    by_id = {account.id: account for account in locked}
    return {code: by_id[account_id] for code, account_id in ids.items()}


def order_paid_entries(
    *,
    tenant_id: int,
    source: str,
    supplier_id: int,
    retail_cents: int,
    wholesale_cents: int,
    cost_cents: int,
) -> list[tuple[str, int]]:
    """How a customer payment splits: the money arrives in `source` (the provider's clearing
    account, or the customer's balance it was paid from); the store is owed retail − wholesale
    (pending until settlement), the platform earns wholesale − cost, the supplier is owed cost."""
    return [
        (source, retail_cents),
        (f"store:{tenant_id}:pending", -(retail_cents - wholesale_cents)),
        ("platform:revenue", -(wholesale_cents - cost_cents)),
        (f"supplier:{supplier_id}:payable", -cost_cents),
    ]


def reversal_entries(transaction: LedgerTransaction) -> list[tuple[str, int]]:
    """The entries that undo a transaction (a full refund)."""
    return [(entry.account.code, -entry.amount_cents) for entry in transaction.entries]


@dataclass(frozen=True)
class Problem:
    what: str
    detail: str


def verify() -> list[Problem]:
    """Every transaction sums to zero per currency, and cached balances equal their entries."""
    problems = []
    unbalanced = db.session.execute(
        select(LedgerEntry.transaction_id, LedgerEntry.currency, func.sum(LedgerEntry.amount_cents))
        .group_by(LedgerEntry.transaction_id, LedgerEntry.currency)
        .having(func.sum(LedgerEntry.amount_cents) != 0)
    ).all()
    for transaction_id, currency, total in unbalanced:
        problems.append(
            Problem("unbalanced", f"transaction {transaction_id} sums to {total} {currency}")
        )
    sums = defaultdict(int)
    for account_id, total in db.session.execute(
        select(LedgerEntry.account_id, func.sum(LedgerEntry.amount_cents)).group_by(
            LedgerEntry.account_id
        )
    ):
        sums[account_id] = int(total)
    for account in db.session.scalars(select(LedgerAccount)):
        if account.balance_cents != sums[account.id]:
            problems.append(
                Problem(
                    "balance",
                    f"{account.code} ({account.currency}) caches {account.balance_cents}, "
                    f"entries sum to {sums[account.id]}",
                )
            )
    return problems
