"""Customer referral inside a store: invite codes (`?ref=`), who invited whom, and the
commission an inviting customer earns on their invitees' paid orders.

The commission is a store-set share (basis points, 0 = off) of the invitee's order total, taken
from the store's profit on that order (never more than the profit), and credited straight to the
referrer's balance in the order's payment transaction — spendable at once, like a top-up. A
refund reverses it in proportion with the rest of the payment, but never takes the referrer's
balance below zero: what they already spent is borne by the store's profit instead.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select

from app.customers.models import Customer, CustomerProgram
from app.extensions import db
from app.i18n import N_
from app.pricing.engine import BASIS_POINTS

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
MAX_REFERRAL_BP = 3000
COOKIE = "ref"
COOKIE_MAX_AGE = 30 * 24 * 3600


class ReferralError(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def referral_bp() -> int:
    program = db.session.get(CustomerProgram, 1)
    return program.referral_bp if program else 0


def set_referral_bp(value: int) -> None:
    """The store's commission rate (caller commits)."""
    if not 0 <= value <= MAX_REFERRAL_BP:
        raise ReferralError(N_("A referral commission is from 0 to 30 percent."))
    program = db.session.get(CustomerProgram, 1) or CustomerProgram(id=1)
    program.referral_bp = value
    db.session.add(program)


def invite_code(customer: Customer) -> str:
    """The customer's invite code, made on first use (caller commits)."""
    if not customer.invite_code:
        customer.invite_code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
        db.session.flush()
    return customer.invite_code


def customer_by_code(code: str | None) -> Customer | None:
    code = (code or "").strip().upper()[:16]
    if not code:
        return None
    return db.session.scalar(select(Customer).where(Customer.invite_code == code))


def set_referrer(customer: Customer, referrer: Customer) -> None:
    """Record who invited `customer`. Refused: inviting oneself, and any chain that would come
    back round to the customer (A invites B invites A). Caller commits."""
    if referrer.id == customer.id:
        raise ReferralError(N_("A customer cannot invite themselves."))
    seen, node = {customer.id}, referrer
    while node is not None:
        if node.id in seen:
            raise ReferralError(N_("This invitation would go round in a circle."))
        seen.add(node.id)
        node = db.session.get(Customer, node.referrer_id) if node.referrer_id else None
    customer.referrer_id = referrer.id


def attribute_first_order(customer: Customer, code: str | None, order_id: int) -> bool:
    """A customer who signed up before following an invite link: the inviter is recorded with
    their first order (`order_id`, just placed), if they have no other order and no referrer
    yet. A bad code, oneself or a circle is ignored. Caller commits."""
    from app.orders.models import Order

    if customer.referrer_id or not code:
        return False
    earlier = db.session.scalar(
        select(Order.id).where(Order.customer_id == customer.id, Order.id != order_id).limit(1)
    )
    referrer = customer_by_code(code) if earlier is None else None
    if referrer is None:
        return False
    try:
        set_referrer(customer, referrer)
    except ReferralError:
        return False
    return True


def invitees(customer_id: int) -> list[Customer]:
    return list(
        db.session.scalars(
            select(Customer).where(Customer.referrer_id == customer_id).order_by(Customer.id)
        )
    )


def commission_entries(
    tenant_id: int, customer_id: int | None, order_total_cents: int, store_share_cents: int
) -> list[tuple[str, int]]:
    """The referrer's commission on an invitee's paid order: out of the store's pending profit,
    into the referrer's balance. Empty when off, for guests and uninvited customers."""
    from app.customers.balance import account_code
    from app.ledger.parties import store as store_party

    if customer_id is None or store_share_cents <= 0:
        return []
    customer = db.session.get(Customer, customer_id)
    if customer is None or not customer.referrer_id or customer.referrer_id == customer_id:
        return []
    rate = referral_bp()
    if rate <= 0:
        return []
    commission = min(order_total_cents * rate // BASIS_POINTS, store_share_cents)
    if commission <= 0:
        return []
    return [
        (store_party(tenant_id).pending, commission),
        (account_code(tenant_id, customer.referrer_id), -commission),
    ]
