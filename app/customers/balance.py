"""A customer's balance (余额) in a store: topped up through the store's payment providers, spent
on orders, refunded into, adjusted by the store — all in the shared ledger.

The balance is the ledger account `customer:<store>:<customer>:balance` (a liability: its ledger
balance is negative when the customer has money). Every change locks that account row first and
checks, under the lock, that it never goes below zero; the ledger's idempotency keys make a
repeated callback or click change nothing twice.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.audit.services import Actor, record
from app.customers.models import BalanceTopup, Customer
from app.db import utcnow
from app.extensions import db
from app.i18n import N_
from app.ledger.models import LedgerAccount, LedgerEntry, LedgerTransaction
from app.ledger.parties import store as store_party
from app.ledger.services import lock_accounts, post
from app.payments.models import Payment
from tenants.context import TenantRef

BALANCE = "balance"  # the "provider" of payments made with a customer's balance
TOPUP_PREFIX = "B"
MIN_TOPUP_CENTS = 100
MAX_TOPUP_CENTS = 5_000_000
MAX_ADJUSTMENT_CENTS = 10_000_000


class BalanceError(ValueError):
    """A refused balance operation; `message` is a message id, `params` fill it in."""

    def __init__(self, message: str, **params):
        super().__init__(message)
        self.message = message
        self.params = params


def account_code(tenant_id: int, customer_id: int) -> str:
    return f"customer:{tenant_id}:{customer_id}:balance"


def balance_cents(tenant_id: int, customer_id: int, currency: str = "CNY") -> int:
    """What the customer has to spend (read without a lock: for display)."""
    ledger_balance = db.session.scalar(
        select(LedgerAccount.balance_cents).where(
            LedgerAccount.code == account_code(tenant_id, customer_id),
            LedgerAccount.currency == currency,
        )
    )
    return -int(ledger_balance or 0)


def payment_source(tenant_id: int, customer_id: int | None, payment: Payment) -> str:
    """The ledger account an order's money came from: the customer's balance or the clearing
    account of the payment's provider."""
    if payment.provider == BALANCE:
        return account_code(tenant_id, customer_id)
    return f"clearing:{payment.provider}"


def source_in(payment: Payment, entries: dict[str, int]) -> str:
    """The source account of `payment` among its ledger transaction's entries (a refund
    returns the money there)."""
    if payment.provider != BALANCE:
        return f"clearing:{payment.provider}"
    prefix = f"customer:{payment.tenant_id}:"
    return next(code for code, amount in entries.items() if code.startswith(prefix) and amount > 0)


def spare_referrer_balances(
    entries: dict[str, int], *, source: str, absorber: str, currency: str
) -> dict[str, int]:
    """A refund takes a referral commission back from the referrer's balance only as far as the
    balance goes (never below zero); the store's profit (`absorber`) bears the rest."""
    taken = {
        code: amount
        for code, amount in entries.items()
        if code.startswith("customer:") and code != source and amount > 0
    }
    if not taken:
        return entries
    entries = dict(entries)
    # Every account the reversal may touch, locked now in the ledger's fixed order (post() then
    # finds them held), so this never waits on a payment that waits on it.
    store = store_party(int(absorber.split(":")[1]))
    locked = lock_accounts(set(entries) | {absorber, store.available, store.owed}, currency)
    for code, amount in taken.items():
        spendable = max(0, -locked[code].balance_cents)
        if amount > spendable:
            entries[code] = spendable
            entries[absorber] = entries.get(absorber, 0) + amount - spendable
    return entries


# -- top-ups -------------------------------------------------------------------------------------


def is_topup_no(number: str) -> bool:
    return number.startswith(TOPUP_PREFIX)


def new_topup_no(now: datetime | None = None) -> str:
    """B, the date, 12 random digits: never guessable, never an order number (digits only)."""
    now = now or utcnow()
    return f"{TOPUP_PREFIX}{now:%y%m%d}{secrets.randbelow(10**12):012d}"


def start_topup(
    tenant: TenantRef,
    customer: Customer,
    amount_cents: int,
    provider_name: str,
    *,
    return_url: str,
    client_ip: str = "",
    mobile: bool = False,
) -> tuple[BalanceTopup, Payment]:
    """Open a top-up and its payment at one of the store's providers. Commits."""
    from app.payments.services import open_payment

    if not MIN_TOPUP_CENTS <= amount_cents <= MAX_TOPUP_CENTS:
        raise BalanceError(
            N_("Top up between %(low)s and %(high)s."),
            low=f"{MIN_TOPUP_CENTS / 100:.2f}",
            high=f"{MAX_TOPUP_CENTS / 100:.2f}",
        )
    topup = BalanceTopup(
        topup_no=new_topup_no(),
        customer_id=customer.id,
        amount_cents=amount_cents,
        currency="CNY",
        status="pending",
        provider=provider_name,
    )
    db.session.add(topup)
    db.session.flush()
    try:
        payment = open_payment(
            tenant,
            provider_name,
            subject_no=topup.topup_no,
            amount_cents=amount_cents,
            currency=topup.currency,
            description=f"balance top-up ({topup.topup_no})",
            return_url=return_url,
            client_ip=client_ip,
            mobile=mobile,
        )  # commits the top-up with it
    except Exception:
        db.session.rollback()  # no top-up without its payment
        raise
    topup.payment_no = payment.payment_no
    db.session.commit()
    return topup, payment


def topup_ledger_key(tenant_id: int, topup_no: str) -> str:
    return f"topup:{tenant_id}:{topup_no}:paid"


def credit_topup(tenant: TenantRef, payment: Payment, event) -> str:
    """A verified notification for a top-up's payment (the payment row is locked): credit the
    balance once. Commits; duplicates and late declines change nothing."""
    from app.payments.providers import InvalidCallback

    topup = db.session.scalar(
        select(BalanceTopup).where(BalanceTopup.topup_no == payment.order_no).with_for_update()
    )
    if topup is None:
        raise InvalidCallback("the payment's top-up is not in this store")
    if payment.status not in ("pending", "failed") or topup.status == "paid":
        db.session.rollback()
        return "duplicate"
    if not event.succeeded:
        payment.status = topup.status = "failed"
        db.session.commit()
        return "declined"
    payment.status, payment.succeeded_at = "succeeded", utcnow()
    payment.provider_txn_id = f"{payment.provider}:{event.provider_txn_id}"[:80]
    topup.status, topup.paid_at, topup.payment_no = "paid", utcnow(), payment.payment_no
    post(
        topup_ledger_key(tenant.id, topup.topup_no),
        "balance_topup",
        [
            (f"clearing:{payment.provider}", topup.amount_cents),
            (account_code(tenant.id, topup.customer_id), -topup.amount_cents),
        ],
        currency=topup.currency,
        tenant_id=tenant.id,
        description=f"top-up {topup.topup_no} ({payment.payment_no})",
        reference=f"topup:{tenant.id}:{topup.topup_no}",
    )
    try:
        db.session.commit()
    except IntegrityError:  # the gateway transaction id was already used by another payment
        db.session.rollback()
        raise InvalidCallback("transaction id already recorded for another payment") from None
    return "credited"


# -- paying with the balance ---------------------------------------------------------------------


def pay_with_balance(tenant: TenantRef, order_no: str, customer_id: int) -> str:
    """Pay the customer's unpaid order from their balance: the balance is debited and the order
    paid in one transaction, under the row locks of the order and the ledger accounts. Commits;
    returns what happened to the order (delivered, fulfilling, paid).

    The ledger accounts are locked by post() in its fixed order (locking the balance first
    could deadlock with a payment crediting a referrer); the balance is checked again after the
    posting, under its lock, and the whole payment is rolled back if it went below zero."""
    from app.orders.models import Order
    from app.orders.services import email_delivery
    from app.payments.services import settle_order_payment

    order = db.session.scalar(select(Order).where(Order.order_no == order_no).with_for_update())
    if order is None or order.customer_id != customer_id:
        raise BalanceError(N_("Only your own orders can be paid with your balance."))
    customer = db.session.get(Customer, customer_id)
    if customer is None or not customer.can_sign_in:
        raise BalanceError(N_("Only your own orders can be paid with your balance."))
    if order.status != "pending_payment" or order.expires_at <= utcnow():
        raise BalanceError(N_("This order is not awaiting payment."))
    code = account_code(tenant.id, customer_id)
    spendable = balance_cents(tenant.id, customer_id, order.currency)  # checked again below
    if spendable < order.total_cents:
        db.session.rollback()
        raise _not_covered(spendable)
    payment = _balance_payment(tenant, order)
    db.session.add(payment)
    db.session.flush()
    outcome = settle_order_payment(tenant, order, payment)
    left = -lock_accounts([code], order.currency)[code].balance_cents
    if left < 0:  # another payment spent it first
        db.session.rollback()
        raise _not_covered(left + order.total_cents)
    db.session.commit()
    if outcome == "delivered":
        email_delivery(tenant, order.order_no)
    return outcome


def _balance_payment(tenant: TenantRef, order) -> Payment:
    now = utcnow()
    return Payment(
        payment_no=f"P{order.order_no}{secrets.token_hex(3).upper()}",
        tenant_id=tenant.id,
        order_no=order.order_no,
        provider=BALANCE,
        amount_cents=order.total_cents,
        currency=order.currency,
        status="succeeded",
        checkout_kind=BALANCE,
        created_at=now,
        succeeded_at=now,
    )


def pay_orders_with_balance(tenant: TenantRef, orders: list, customer_id: int) -> list[str]:
    """Pay several unpaid orders of one customer from their balance as ONE charge, in the
    caller's transaction (a batch top-up, app.batches): all are paid or, on a BalanceError,
    none (the caller rolls back; it commits otherwise). Returns each order's outcome.

    Every ledger account the payments post to is locked first, at once, in the ledger's
    order — so this long transaction never waits in a cycle with another payment — and the
    balance is checked against the total under that lock, then again after posting."""
    from app.customers.levels import refresh_spend
    from app.payments.services import paid_accounts, settle_order_payment

    customer = db.session.get(Customer, customer_id)
    if customer is None or not customer.can_sign_in:
        raise BalanceError(N_("Only your own orders can be paid with your balance."))
    if not orders:
        return []
    currency = orders[0].currency
    code = account_code(tenant.id, customer_id)
    payments, codes, total = [], {code}, 0
    for order in orders:
        if order.customer_id != customer_id or order.currency != currency:
            raise BalanceError(N_("Only your own orders can be paid with your balance."))
        if order.status != "pending_payment" or order.expires_at <= utcnow():
            raise BalanceError(N_("This order is not awaiting payment."))
        payment = _balance_payment(tenant, order)
        payments.append(payment)
        codes |= paid_accounts(tenant, order, payment)
        total += order.total_cents
    spendable = -lock_accounts(codes, currency)[code].balance_cents
    if spendable < total:
        raise _not_covered(spendable)
    outcomes = []
    for order, payment in zip(orders, payments, strict=True):
        db.session.add(payment)
        db.session.flush()
        outcomes.append(settle_order_payment(tenant, order, payment, refresh_level=False))
    refresh_spend(customer_id)
    left = -lock_accounts([code], currency)[code].balance_cents
    if left < 0:  # cannot happen while the lock is held; checked as pay_with_balance does
        raise _not_covered(left + total)
    return outcomes


def _not_covered(spendable_cents: int) -> BalanceError:
    return BalanceError(
        N_("Your balance (%(balance)s) does not cover this order."),
        balance=f"{max(spendable_cents, 0) / 100:.2f}",
    )


# -- adjustments by the store --------------------------------------------------------------------


def adjust(
    tenant: TenantRef, customer_id: int, amount_cents: int, *, reason: str, actor: Actor
) -> int:
    """Credit (amount > 0) or debit (< 0) a customer's balance by the store's hand. The store
    funds it: a credit comes out of the store's available money, a debit goes back into it;
    neither may go below zero. Audited. Commits; returns the new balance."""
    reason = (reason or "").strip()
    if not reason:
        raise BalanceError(N_("Give a reason for the adjustment."))
    if amount_cents == 0 or abs(amount_cents) > MAX_ADJUSTMENT_CENTS:
        raise BalanceError(N_("Enter a non-zero amount up to %(max)s."), max="100000.00")
    customer = db.session.get(Customer, customer_id)
    if customer is None:
        raise BalanceError(N_("No such customer."))
    code, store_available = account_code(tenant.id, customer_id), store_party(tenant.id).available
    accounts = lock_accounts([code, store_available], "CNY")
    before = -accounts[code].balance_cents
    if before + amount_cents < 0:
        db.session.rollback()
        raise BalanceError(
            N_("The balance is %(balance)s; it cannot go below zero."),
            balance=f"{before / 100:.2f}",
        )
    store_has = -accounts[store_available].balance_cents
    if amount_cents > store_has:
        db.session.rollback()
        raise BalanceError(
            N_("Your store has %(available)s available to fund this."),
            available=f"{store_has / 100:.2f}",
        )
    number = secrets.token_hex(8)
    post(
        f"balance-adjustment:{tenant.id}:{customer_id}:{number}",
        "balance_adjustment",
        [(code, -amount_cents), (store_available, amount_cents)],
        currency="CNY",
        tenant_id=tenant.id,
        description=reason[:500],
    )
    record(
        "customer.balance_adjusted",
        actor=actor,
        tenant_id=tenant.id,
        target=f"customer:{customer_id}",
        before={"balance_cents": before},
        after={"balance_cents": before + amount_cents, "reason": reason[:500]},
    )
    db.session.commit()
    return before + amount_cents


# -- statement -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class BalanceLine:
    at: datetime
    kind: str
    description: str
    amount_cents: int  # positive: the balance grew
    balance_cents: int  # after this line


def statement(tenant_id: int, customer_id: int, currency: str = "CNY") -> list[BalanceLine]:
    """Every change of the balance, newest first, each with the balance after it."""
    account_id = db.session.scalar(
        select(LedgerAccount.id).where(
            LedgerAccount.code == account_code(tenant_id, customer_id),
            LedgerAccount.currency == currency,
        )
    )
    if account_id is None:
        return []
    rows = db.session.execute(
        select(
            LedgerEntry.amount_cents,
            LedgerTransaction.created_at,
            LedgerTransaction.kind,
            LedgerTransaction.description,
        )
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .where(LedgerEntry.account_id == account_id)
        .order_by(LedgerEntry.id)
    ).all()
    lines, running = [], 0
    for amount, at, kind, description in rows:
        running -= amount
        lines.append(BalanceLine(at, kind, description, -amount, running))
    return lines[::-1]


def topups_of(customer_id: int, limit: int = 20) -> list[BalanceTopup]:
    return list(
        db.session.scalars(
            select(BalanceTopup)
            .where(BalanceTopup.customer_id == customer_id)
            .order_by(BalanceTopup.id.desc())
            .limit(limit)
        )
    )


def total_balances(tenant_id: int) -> int:
    """What the store's customers hold in all (for the back-office)."""
    return -int(
        db.session.scalar(
            select(func.coalesce(func.sum(LedgerAccount.balance_cents), 0)).where(
                LedgerAccount.code.like(f"customer:{tenant_id}:%:balance")
            )
        )
    )
