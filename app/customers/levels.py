"""Customer levels (会员等级): reached by cumulative paid spend, each with a discount off retail.

A store starts with bronze, silver, gold and diamond; it edits their thresholds and discounts.
The discount itself is applied by the pricing engine (app.pricing.engine.discounted), after the
store's markup and never below wholesale.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from app.customers.models import LEVEL_LABELS, Customer, CustomerLevel
from app.extensions import db
from app.i18n import N_
from app.pricing.engine import BASIS_POINTS

# code → (threshold in cents of paid spend, discount in basis points)
DEFAULT_LEVELS = {
    "bronze": (0, 0),
    "silver": (50_000, 200),
    "gold": (200_000, 500),
    "diamond": (1_000_000, 800),
}
MAX_DISCOUNT_BP = 5000
SPENDING_STATUSES = (
    "paid",
    "review",
    "fulfilling",
    "delivered",
    "failed",
    "partially_refunded",
    "refunded",
)


class LevelError(ValueError):
    def __init__(self, field: str, message: str, **params):
        super().__init__(message)
        self.field = field
        self.message = message
        self.params = params


@dataclass(frozen=True)
class Level:
    code: str
    label: str  # a message id (translate it to show)
    threshold_cents: int
    discount_bp: int


def levels() -> list[Level]:
    """The bound store's levels, lowest first (the defaults until the store edits them)."""
    rows = {row.code: row for row in db.session.scalars(select(CustomerLevel))}
    result = []
    for code, (threshold, discount) in DEFAULT_LEVELS.items():
        row = rows.get(code)
        if row is not None:
            threshold, discount = row.threshold_cents, row.discount_bp
        result.append(Level(code, LEVEL_LABELS[code], threshold, discount))
    return sorted(
        result, key=lambda level: (level.threshold_cents, list(LEVEL_LABELS).index(level.code))
    )


def level_for(spend_cents: int, table: list[Level] | None = None) -> Level:
    """The highest level whose threshold the spend has reached."""
    table = table or levels()
    reached = [level for level in table if level.threshold_cents <= spend_cents]
    return reached[-1] if reached else table[0]


def customer_level(customer: Customer | None) -> Level | None:
    return level_for(customer.paid_spend_cents) if customer is not None else None


def discount_bp_for(customer_id: int | None) -> int:
    """The discount of the customer's level (0 for guests and unknown customers)."""
    if customer_id is None:
        return 0
    customer = db.session.get(Customer, customer_id)
    return customer_level(customer).discount_bp if customer is not None else 0


def customer_may_order(customer_id: int) -> bool:
    """A blocked (or closed) account places no orders."""
    customer = db.session.get(Customer, customer_id)
    return customer is not None and customer.can_sign_in


def save_levels(values: dict[str, tuple[int, int]]) -> None:
    """Set thresholds and discounts (code → (threshold_cents, discount_bp)). Bronze starts at 0;
    thresholds rise with the level. Caller commits."""
    codes = list(DEFAULT_LEVELS)
    if set(values) != set(codes):
        raise LevelError("levels", N_("Give every level a threshold and a discount."))
    previous = -1
    for code in codes:
        threshold, discount = values[code]
        if not 0 <= discount <= MAX_DISCOUNT_BP:
            raise LevelError(f"{code}_discount", N_("A discount is from 0 to 50 percent."))
        if code == "bronze" and threshold != 0:
            raise LevelError(f"{code}_threshold", N_("The first level starts at 0."))
        if code != "bronze" and threshold <= previous:
            raise LevelError(
                f"{code}_threshold", N_("Each level needs a higher threshold than the one below.")
            )
        previous = threshold
    rows = {row.code: row for row in db.session.scalars(select(CustomerLevel))}
    for position, code in enumerate(codes):
        row = rows.get(code) or CustomerLevel(code=code, position=position)
        row.threshold_cents, row.discount_bp = values[code]
        db.session.add(row)
    db.session.flush()


def paid_spend_cents(customer_id: int) -> int:
    """What the customer paid for their orders, less what was refunded (decided refunds count)."""
    from app.orders.models import Order
    from app.payments.models import Payment, Refund

    rows = db.session.execute(
        select(Order.payment_no, Order.total_cents).where(
            Order.customer_id == customer_id,
            Order.paid_at.is_not(None),
            Order.status.in_(SPENDING_STATUSES),
        )
    ).all()
    if not rows:
        return 0
    refunded = db.session.scalar(
        select(func.coalesce(func.sum(Refund.amount_cents), 0))
        .join(Payment, Payment.id == Refund.payment_id)
        .where(Payment.payment_no.in_([payment_no for payment_no, _ in rows if payment_no]))
    )
    return max(0, sum(total for _, total in rows) - int(refunded))


def refresh_spend(customer_id: int | None) -> None:
    """Recompute a customer's paid spend (after a payment or a refund, in its transaction)."""
    if customer_id is None:
        return
    # Locked first, so two payments of one customer at once each count the other's order
    # (the sum is read after the lock is granted) instead of overwriting it.
    customer = db.session.get(Customer, customer_id, with_for_update=True, populate_existing=True)
    if customer is not None:
        customer.paid_spend_cents = paid_spend_cents(customer_id)


def percent(discount_bp: int) -> str:
    return f"{discount_bp * 100 / BASIS_POINTS:g}"
