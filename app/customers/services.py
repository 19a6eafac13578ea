"""Customer account rules: sign-up, password reset links, and a customer's order history."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.auth.emails import email_problem, normalize_email
from app.auth.passwords import password_problem
from app.customers.models import Customer
from app.extensions import db
from app.i18n import N_
from app.orders.models import Order
from tenants.context import TenantRef

RESET_MAX_AGE_SECONDS = 3600
ORDERS_PER_PAGE = 20
MAX_NAME_LENGTH = 100
PHONE_PATTERN = re.compile(r"\+?[0-9][0-9 -]{4,30}")
EMAIL_TAKEN = N_(
    "An account with this e-mail address already exists. Log in or reset your password."
)


class CustomerError(ValueError):
    """A refused change; `field` names the form field at fault, `message` is a message id."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def find_customer(email: str) -> Customer | None:
    """The bound store's customer with this e-mail address, if any."""
    return db.session.scalar(select(Customer).where(Customer.email == normalize_email(email)))


def register_customer(*, email: str, password: str, name: str = "", phone: str = "") -> Customer:
    """Open a customer account in the bound store (e-mail addresses are unique per store)."""
    email, name, phone = normalize_email(email), (name or "").strip(), (phone or "").strip()
    if problem := email_problem(email):
        raise CustomerError("email", problem)
    if len(name) > MAX_NAME_LENGTH:
        raise CustomerError("name", N_("The name must be at most 100 characters long."))
    if phone and not PHONE_PATTERN.fullmatch(phone):
        raise CustomerError("phone", N_("This is not a valid phone number."))
    if problem := password_problem(password, email=email):
        raise CustomerError("password", problem)
    if find_customer(email) is not None:
        raise CustomerError("email", EMAIL_TAKEN)
    customer = Customer(email=email, name=name, phone=phone)
    customer.set_password(password)
    db.session.add(customer)
    try:
        db.session.commit()
    except IntegrityError:  # the same address signed up a moment ago
        db.session.rollback()
        raise CustomerError("email", EMAIL_TAKEN) from None
    return customer


# -- password reset ------------------------------------------------------------------------------


def _reset_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="customer-password-reset")


def _password_stamp(customer: Customer) -> str:
    """Changes with the password, so a reset link works once (and not after any other change)."""
    return hashlib.sha256(customer.password_hash.encode()).hexdigest()[:16]


def password_reset_token(tenant: TenantRef, customer: Customer) -> str:
    """A signed token for this store's customer, valid for RESET_MAX_AGE_SECONDS, used once."""
    return _reset_serializer().dumps(
        {"t": tenant.id, "c": customer.id, "p": _password_stamp(customer)}
    )


def customer_for_reset_token(tenant: TenantRef, token: str) -> Customer | None:
    """The customer the token is for if it is genuine, fresh, for this store and unused."""
    try:
        data = _reset_serializer().loads(token or "", max_age=RESET_MAX_AGE_SECONDS)
    except BadSignature:  # also when expired
        return None
    if not isinstance(data, dict) or data.get("t") != tenant.id:
        return None
    customer = db.session.get(Customer, data.get("c"))
    if customer is None or not customer.can_sign_in:
        return None
    if data.get("p") != _password_stamp(customer):
        return None  # already used: the password changed since the link was made
    return customer


def reset_password(customer: Customer, password: str) -> None:
    if problem := password_problem(password, email=customer.email):
        raise CustomerError("password", problem)
    customer.set_password(password)
    db.session.commit()


def request_password_reset(tenant: TenantRef, email: str) -> None:
    """Send a reset link if this store has an account for `email`. Only the job looks the
    address up, so the request is answered alike (and as fast) whether it exists or not."""
    from workers.queue import enqueue

    email = normalize_email(email)
    if email_problem(email):
        return
    enqueue(
        "workers.jobs.customers.send_password_reset",
        email,
        tenant_id=tenant.id,
        queue="notifications",
        job_key=f"password-reset:{tenant.id}:{email}",
        unique_for=60,
    )


# -- order history -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderPage:
    orders: list[Order]
    page: int
    pages: int
    total: int


def order_history(customer_id: int, page: int = 1, per_page: int = ORDERS_PER_PAGE) -> OrderPage:
    """One page of the orders this customer placed while signed in, newest first."""
    page = max(page, 1)
    mine = Order.customer_id == customer_id
    total = db.session.scalar(select(func.count()).select_from(Order).where(mine))
    orders = db.session.scalars(
        select(Order)
        .where(mine)
        .options(selectinload(Order.items))
        .order_by(Order.created_at.desc(), Order.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return OrderPage(list(orders), page, max((total + per_page - 1) // per_page, 1), total)
