"""Coupon rules: creating coupons and codes, the discount, and redemptions tied to orders.

A redemption is reserved in the transaction that creates the order, under the coupon's row lock,
so the total and per-customer limits hold however many checkouts race; it is redeemed when the
order is paid and released when the unpaid order expires or is cancelled. The store funds the
discount from its markup: it never takes a line below the wholesale price the store pays.
"""

from __future__ import annotations

import csv
import io
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

from flask_babel import format_datetime
from sqlalchemy import func, or_, select, update

from app.audit.services import Actor, record
from app.catalog.models import Category, Product
from app.coupons.models import COUNTING, KIND_LABELS, SCOPE_LABELS, Coupon, CouponCode
from app.coupons.models import CouponRedemption as Redemption
from app.db import utcnow
from app.extensions import db
from app.i18n import N_
from app.money import format_money
from app.pricing.engine import BASIS_POINTS
from tenants.context import TenantRef

CODE_RE = re.compile(r"[A-Z0-9][A-Z0-9_-]{2,39}")
# Random codes avoid characters people misread (0/O, 1/I/L).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
RANDOM_CODE_LENGTH = 10
MAX_BATCH = 5000


class CouponError(ValueError):
    def __init__(self, field: str, message: str, *, reason: str = "", **params):
        super().__init__(message)
        self.field = field
        self.message = message
        self.reason = reason  # for a code refused at checkout: a key of REFUSALS
        self.params = params


# Why a code is refused at checkout, each with its own message.
REFUSALS = {
    "unknown": N_("There is no coupon with this code."),
    "not_started": N_("This coupon can be used from %(start)s."),
    "expired": N_("This coupon has expired."),
    "not_applicable": N_("This coupon is not valid for this product."),
    "minimum_not_met": N_("This coupon needs a spend of at least %(amount)s."),
    "first_order_only": N_("This coupon is for a first order only."),
    "used_up": N_("This coupon has been used up."),
    "already_used": N_("You have already used this coupon."),
    "no_discount": N_("This coupon gives no discount on this item."),
}


def _refuse(reason: str, **params) -> CouponError:
    return CouponError("coupon_code", REFUSALS[reason], reason=reason, **params)


def normalise_code(code: str) -> str:
    return (code or "").strip().upper()


# --- the discount: pure arithmetic on integer cents -------------------------------------------


def discount_cents(
    kind: str, value: int, max_discount_cents: int | None, eligible_cents: int, markup_cents: int
) -> int:
    """What a coupon takes off `eligible_cents`: percent (basis points, floored to the cent; at
    most `max_discount_cents` when set) or a fixed amount (at most the eligible amount); never
    more than the store's markup on those lines (`markup_cents`), which funds it."""
    if kind == "percent":
        amount = eligible_cents * value // BASIS_POINTS
        if max_discount_cents is not None:
            amount = min(amount, max_discount_cents)
    elif kind == "fixed":
        amount = min(value, eligible_cents)
    else:
        raise ValueError(f"unknown coupon kind {kind!r}")
    return max(0, min(amount, markup_cents))


def allocate(amount_cents: int, markups: list[int]) -> list[int]:
    """Spread a discount over lines, each taking at most its own markup (first lines first)."""
    shares = []
    for markup in markups:
        share = min(amount_cents, max(markup, 0))
        shares.append(share)
        amount_cents -= share
    return shares


# --- back-office -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CouponTerms:
    """What a store fills in for a coupon (money in cents, percent in basis points)."""

    name: str
    kind: str
    value: int
    max_discount_cents: int | None = None
    scope: str = "store"
    target_id: int = 0
    min_spend_cents: int = 0
    total_limit: int | None = None
    per_customer_limit: int | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    is_first_order_only: bool = False


def _checked(terms: CouponTerms) -> CouponTerms:
    if not terms.name.strip() or len(terms.name) > 80:
        raise CouponError("name", N_("Give the coupon a name of up to 80 characters."))
    if terms.kind not in KIND_LABELS:
        raise CouponError("kind", N_("Choose percent off or amount off."))
    if terms.kind == "percent" and not 0 < terms.value <= BASIS_POINTS:
        raise CouponError("value", N_("A percentage is more than 0 and at most 100."))
    if terms.kind == "fixed" and terms.value <= 0:
        raise CouponError("value", N_("The amount off must be more than 0."))
    if terms.max_discount_cents is not None and terms.max_discount_cents <= 0:
        raise CouponError("max_discount", N_("The maximum discount must be more than 0."))
    if terms.scope not in SCOPE_LABELS:
        raise CouponError("applies_to", N_("Choose what the coupon applies to."))
    if terms.scope == "category" and db.session.get(Category, terms.target_id) is None:
        raise CouponError("applies_to", N_("This item does not exist in the catalog."))
    if terms.scope == "product" and db.session.get(Product, terms.target_id) is None:
        raise CouponError("applies_to", N_("This item does not exist in the catalog."))
    if terms.min_spend_cents < 0:
        raise CouponError("min_spend", N_("The minimum spend cannot be negative."))
    for field, limit in (
        ("total_limit", terms.total_limit),
        ("per_customer_limit", terms.per_customer_limit),
    ):
        if limit is not None and limit < 1:
            raise CouponError(field, N_("A limit is at least 1 (leave it empty for no limit)."))
    if terms.starts_at and terms.ends_at and terms.ends_at <= terms.starts_at:
        raise CouponError("ends_at", N_("The end must be after the start."))
    return terms


def create_coupon(tenant: TenantRef, terms: CouponTerms, *, code: str = "", actor: Actor) -> Coupon:
    """A new coupon, with the code the store typed if any (batches come later). Commits."""
    terms = _checked(terms)
    code = normalise_code(code)
    if code and not CODE_RE.fullmatch(code):
        raise CouponError(
            "code",
            N_("Use 3 to 40 letters, digits, - or _, starting with a letter or digit."),
        )
    if code and db.session.scalar(select(CouponCode.id).where(CouponCode.code == code)):
        raise CouponError("code", N_("This code is already used by another coupon."))
    coupon = Coupon(**vars(terms), used_count=0)
    if code:
        coupon.codes.append(CouponCode(code=code, max_uses=None, used_count=0))
    db.session.add(coupon)
    db.session.flush()
    record(
        "coupon.create",
        actor=actor,
        tenant_id=tenant.id,
        target=f"coupon:{coupon.id}",
        after={**_audit_terms(terms), "code": code},
    )
    db.session.commit()
    return coupon


def _audit_terms(terms: CouponTerms) -> dict:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in vars(terms).items()}


def set_active(tenant: TenantRef, coupon: Coupon, is_active: bool, *, actor: Actor) -> None:
    """Enable or disable a coupon (the wanted state, not a toggle). Commits."""
    if coupon.is_active != is_active:
        record(
            "coupon.enable" if is_active else "coupon.disable",
            actor=actor,
            tenant_id=tenant.id,
            target=f"coupon:{coupon.id}",
            before={"is_active": coupon.is_active},
            after={"is_active": is_active},
        )
        coupon.is_active = is_active
    db.session.commit()


def generate_codes(
    tenant: TenantRef, coupon: Coupon, count: int, *, max_uses: int | None, actor: Actor
) -> list[str]:
    """Add `count` unique random codes to a coupon (each usable `max_uses` times). Commits."""
    if not 1 <= count <= MAX_BATCH:
        raise CouponError("count", N_("Generate from 1 to %(max)s codes at a time."), max=MAX_BATCH)
    if max_uses is not None and max_uses < 1:
        raise CouponError("max_uses", N_("A limit is at least 1 (leave it empty for no limit)."))
    codes: set[str] = set()
    while len(codes) < count:
        wanted = count - len(codes)
        fresh = {
            "".join(secrets.choice(CODE_ALPHABET) for _ in range(RANDOM_CODE_LENGTH))
            for _ in range(wanted)
        }
        taken = set(db.session.scalars(select(CouponCode.code).where(CouponCode.code.in_(fresh))))
        codes |= fresh - taken
    made = sorted(codes)[:count]
    db.session.add_all(
        CouponCode(coupon_id=coupon.id, code=code, max_uses=max_uses, used_count=0) for code in made
    )
    record(
        "coupon.codes",
        actor=actor,
        tenant_id=tenant.id,
        target=f"coupon:{coupon.id}",
        after={"generated": count, "max_uses": max_uses},
    )
    db.session.commit()
    return made


def codes_csv(coupon: Coupon) -> str:
    """The coupon's codes with their use, for download."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["code", "max_uses", "used"])
    codes = db.session.scalars(
        select(CouponCode).where(CouponCode.coupon_id == coupon.id).order_by(CouponCode.id)
    )
    for code in codes:
        writer.writerow([code.code, code.max_uses or "", code.used_count])
    return out.getvalue()


def redemption_counts(coupon_ids: list[int]) -> dict[int, dict[str, int]]:
    """coupon id → {"reserved": n, "redeemed": n, "released": n}."""
    counts: dict[int, dict[str, int]] = {i: {} for i in coupon_ids}
    rows = db.session.execute(
        select(Redemption.coupon_id, Redemption.status, func.count())
        .where(Redemption.coupon_id.in_(coupon_ids))
        .group_by(Redemption.coupon_id, Redemption.status)
    ).all()
    for coupon_id, status, n in rows:
        counts[coupon_id][status] = n
    return counts


def code_summary(coupon_ids: list[int]) -> dict[int, tuple[int, str]]:
    """coupon id → (how many codes, its first code) without loading every code of a batch."""
    rows = db.session.execute(
        select(CouponCode.coupon_id, func.count(), func.min(CouponCode.code))
        .where(CouponCode.coupon_id.in_(coupon_ids))
        .group_by(CouponCode.coupon_id)
    ).all()
    summary = dict.fromkeys(coupon_ids, (0, ""))
    summary.update({coupon_id: (n, first) for coupon_id, n, first in rows})
    return summary


def first_codes(coupon: Coupon, limit: int = 20) -> list[CouponCode]:
    return list(
        db.session.scalars(
            select(CouponCode)
            .where(CouponCode.coupon_id == coupon.id)
            .order_by(CouponCode.id)
            .limit(limit)
        )
    )


def recent_redemptions(coupon: Coupon, limit: int = 50) -> list[tuple[Redemption, str]]:
    return list(
        db.session.execute(
            select(Redemption, CouponCode.code)
            .join(CouponCode, CouponCode.id == Redemption.code_id)
            .where(Redemption.coupon_id == coupon.id)
            .order_by(Redemption.id.desc())
            .limit(limit)
        ).tuples()
    )


# --- checkout --------------------------------------------------------------------------------


def _in_scope(coupon: Coupon, product_ids: list[int]) -> dict[int, bool]:
    if coupon.scope == "store":
        return dict.fromkeys(product_ids, True)
    if coupon.scope == "product":
        return {p: p == coupon.target_id for p in product_ids}
    from app.pricing.services import category_paths

    paths = category_paths()  # a category coupon covers its subcategories too
    categories = dict(
        db.session.execute(
            select(Product.id, Product.category_id).where(Product.id.in_(product_ids))
        ).all()
    )
    return {p: coupon.target_id in paths.get(categories.get(p), []) for p in product_ids}


def _contact_filter(model, customer_id, contact_email, contact_phone):
    conditions = []
    if customer_id:
        conditions.append(model.customer_id == customer_id)
    if contact_email:
        conditions.append(model.contact_email == contact_email)
    if contact_phone:
        conditions.append(model.contact_phone == contact_phone)
    return or_(*conditions) if conditions else None


def _has_paid_order(customer_id, contact_email, contact_phone) -> bool:
    from app.orders.models import Order

    who = _contact_filter(Order, customer_id, contact_email, contact_phone)
    if who is None:
        return False
    return bool(db.session.scalar(select(Order.id).where(Order.paid_at.is_not(None), who).limit(1)))


def _find(code: str, *, lock: bool) -> tuple[Coupon, CouponCode]:
    """The enabled coupon of a code; with `lock`, its row locked and read afresh: the lock every
    reservation of this coupon queues on."""
    code = normalise_code(code)
    found = db.session.scalar(select(CouponCode).where(CouponCode.code == code)) if code else None
    if found is None:
        raise _refuse("unknown")
    coupon_query = select(Coupon).where(Coupon.id == found.coupon_id)
    code_query = select(CouponCode).where(CouponCode.id == found.id)
    if lock:
        coupon_query = coupon_query.with_for_update()
        code_query = code_query.with_for_update()
    fresh = {"populate_existing": True}
    coupon = db.session.scalar(coupon_query.execution_options(**fresh))
    code_row = db.session.scalar(code_query.execution_options(**fresh))
    if coupon is None or not coupon.is_active:
        raise _refuse("unknown")
    return coupon, code_row


def _discount(coupon: Coupon, code_row: CouponCode, order, now: datetime) -> tuple[list, int]:
    """Every rule of the coupon checked for this order: (the lines it covers, the discount)."""
    if coupon.starts_at and now < coupon.starts_at:
        raise _refuse("not_started", start=format_datetime(coupon.starts_at, "short"))
    if coupon.ends_at and now >= coupon.ends_at:
        raise _refuse("expired")
    covered = _in_scope(coupon, [item.product_id for item in order.items])
    lines = [item for item in order.items if covered[item.product_id]]
    if not lines:
        raise _refuse("not_applicable")
    eligible = sum(item.unit_price_cents * item.quantity for item in lines)
    if eligible < coupon.min_spend_cents:
        raise _refuse(
            "minimum_not_met", amount=format_money(coupon.min_spend_cents, order.currency)
        )
    email, phone = order.contact_email, order.contact_phone
    if coupon.is_first_order_only and _has_paid_order(order.customer_id, email, phone):
        raise _refuse("first_order_only")
    if coupon.total_limit is not None and coupon.used_count >= coupon.total_limit:
        raise _refuse("used_up")
    if code_row.max_uses is not None and code_row.used_count >= code_row.max_uses:
        raise _refuse("used_up")
    who = _contact_filter(Redemption, order.customer_id, email, phone)
    if coupon.per_customer_limit is not None and who is not None:
        used = db.session.scalar(
            select(func.count())
            .select_from(Redemption)
            .where(Redemption.coupon_id == coupon.id, Redemption.status.in_(COUNTING), who)
        )
        if used >= coupon.per_customer_limit:
            raise _refuse("already_used")
    markups = [(i.unit_price_cents - i.unit_wholesale_cents) * i.quantity for i in lines]
    amount = discount_cents(
        coupon.kind, coupon.value, coupon.max_discount_cents, eligible, sum(markups)
    )
    if amount <= 0:
        raise _refuse("no_discount")
    return lines, amount


def apply_to_order(tenant: TenantRef, order, code: str, *, now: datetime | None = None) -> None:
    """Check `code` for this unpaid order (its items priced already), take the discount off its
    lines and total and reserve the redemption — in the caller's transaction, under the coupon's
    row lock, so two checkouts never both take the last use. Raises CouponError with the reason."""
    coupon, code_row = _find(code, lock=True)
    lines, amount = _discount(coupon, code_row, order, now or utcnow())
    markups = [(i.unit_price_cents - i.unit_wholesale_cents) * i.quantity for i in lines]
    for item, share in zip(lines, allocate(amount, markups), strict=True):
        item.discount_cents = share
    order.subtotal_cents = sum(i.unit_price_cents * i.quantity for i in order.items)
    order.discount_cents = amount
    order.total_cents = order.subtotal_cents - amount
    order.coupon_code = code_row.code
    _count(coupon.id, code_row.id, +1)
    db.session.add(
        Redemption(
            coupon_id=coupon.id,
            code_id=code_row.id,
            order_no=order.order_no,
            customer_id=order.customer_id,
            contact_email=order.contact_email,
            contact_phone=order.contact_phone,
            discount_cents=amount,
            status="reserved",
        )
    )


@dataclass(frozen=True)
class Preview:
    subtotal_cents: int
    discount_cents: int

    @property
    def total_cents(self) -> int:
        return self.subtotal_cents - self.discount_cents


def preview(
    tenant: TenantRef,
    sku,
    quantity: int,
    code: str,
    *,
    contact_email: str = "",
    contact_phone: str = "",
    customer_id: int | None = None,
    now: datetime | None = None,
) -> Preview:
    """What the code would take off this SKU and quantity at checkout ("apply" before paying):
    the same rules and prices as create_order(), nothing reserved (the order checks again)."""
    from app.pricing.services import quote_skus

    quoted = quote_skus(tenant, [sku])[sku.id].quote
    line = SimpleNamespace(
        product_id=sku.product_id,
        quantity=quantity,
        unit_price_cents=quoted.price_cents,
        unit_wholesale_cents=quoted.wholesale_cents,
    )
    draft = SimpleNamespace(
        items=[line],
        currency=sku.currency,
        contact_email=(contact_email or "").strip().lower(),
        contact_phone=(contact_phone or "").strip(),
        customer_id=customer_id,
    )
    coupon, code_row = _find(code, lock=False)
    _, amount = _discount(coupon, code_row, draft, now or utcnow())
    return Preview(quoted.price_cents * quantity, amount)


def _count(coupon_id: int, code_id: int, step: int) -> None:
    db.session.execute(
        update(Coupon).where(Coupon.id == coupon_id).values(used_count=Coupon.used_count + step)
    )
    db.session.execute(
        update(CouponCode)
        .where(CouponCode.id == code_id)
        .values(used_count=CouponCode.used_count + step)
    )


def _redemption(order_no: str) -> Redemption | None:
    return db.session.scalar(
        select(Redemption).where(Redemption.order_no == order_no).with_for_update()
    )


def release(order_no: str) -> None:
    """The unpaid order expired or was cancelled: its use of the coupon is given back."""
    redemption = _redemption(order_no)
    if redemption is not None and redemption.status == "reserved":
        redemption.status = "released"
        _count(redemption.coupon_id, redemption.code_id, -1)


def redeem(order_no: str) -> None:
    """The order is paid: its reservation becomes a redemption. A payment that arrives after
    the order expired takes the use back even past the limit: the buyer paid the discounted
    price (decisions.md)."""
    redemption = _redemption(order_no)
    if redemption is None or redemption.status == "redeemed":
        return
    if redemption.status == "released":
        _count(redemption.coupon_id, redemption.code_id, +1)
    redemption.status = "redeemed"
