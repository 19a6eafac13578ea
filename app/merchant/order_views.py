"""The store's orders: list with filters, detail with timeline and masked keys, cancel, resend."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select

from app.audit.web import audit
from app.extensions import db
from app.fulfilment.models import TOPUP_LABELS
from app.fulfilment.queries import supplier_names, topups_of_order
from app.i18n import translate
from app.inventory.models import CardKey
from app.masking import mask_contact
from app.merchant.permissions import may, requires
from app.merchant.views import bp
from app.orders.models import ORDER_STATUSES, STATUS_LABELS, Order, OrderItem
from app.orders.queries import AWAITING_DELIVERY, OrderFilter, filtered
from app.orders.services import (
    IllegalTransition,
    cancel_order,
    manual_delivery,
    order_ref,
)
from app.payments.models import PAYMENT_STATUS_LABELS, REFUND_STATUS_LABELS, Payment
from app.payments.providers import known_providers
from app.payments.refunds import REFUNDABLE, RefundError, request_refund
from app.risk import reviews as risk_reviews
from app.web.order_actions import deliver_by_hand, refund_at_gateway
from app.web.site import render_console
from app.web.urls import tenant_url
from tenants.context import current_tenant

PER_PAGE = 50


def _store():
    return current_tenant._get_current_object()


@bp.get("/orders")
@requires("view_orders")
def orders():
    store = _store()
    criteria = OrderFilter.from_args(request.args)
    page = max(request.args.get("page", 1, type=int), 1)
    statement = filtered(criteria, current_app.config["BABEL_DEFAULT_TIMEZONE"])
    total = db.session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = db.session.scalars(
        statement.order_by(Order.created_at.desc()).offset((page - 1) * PER_PAGE).limit(PER_PAGE)
    ).all()
    products = db.session.execute(
        select(OrderItem.product_id, func.max(OrderItem.product_name))
        .group_by(OrderItem.product_id)
        .order_by(func.max(OrderItem.product_name))
        .limit(500)
    ).all()
    return render_console(
        "merchant/orders.html",
        store=store,
        storefront_url=tenant_url(store, "/"),
        orders=rows,
        total=total,
        page=page,
        pages=max((total + PER_PAGE - 1) // PER_PAGE, 1),
        criteria=criteria,
        args=criteria.as_args(),
        statuses=ORDER_STATUSES,
        status_labels=STATUS_LABELS,
        awaiting=AWAITING_DELIVERY,
        products=products,
        providers=known_providers(),
        mask=mask_contact,
    )


def _shown(value: str) -> str:
    return value or ""


def _order_or_404(order_no: str) -> Order:
    order = db.session.scalar(select(Order).where(Order.order_no == order_no))
    if order is None:
        abort(404)
    return order


@bp.get("/orders/<order_no>")
@requires("view_orders")
def order_detail(order_no: str):
    store = _store()
    order = _order_or_404(order_no)
    keys = db.session.scalars(
        select(CardKey)
        .where(CardKey.order_ref == order_ref(store.id, order_no))
        .order_by(CardKey.id)
    ).all()
    payments = db.session.scalars(
        select(Payment)
        .where(Payment.tenant_id == store.id, Payment.order_no == order_no)
        .order_by(Payment.id)
    ).all()
    manual = [
        (item, manual_delivery(store, item)) for item in order.items if item.manual_delivery_sealed
    ]
    topups = topups_of_order(store.id, order_no)
    return render_console(
        "merchant/order.html",
        topups=topups,
        risk_review=risk_reviews.of_order(store.id, order_no),
        topup_suppliers=supplier_names(topups),
        topup_labels=TOPUP_LABELS,
        store=store,
        storefront_url=tenant_url(store, "/"),
        order=order,
        keys=keys,
        payments=payments,
        payment_labels=PAYMENT_STATUS_LABELS,
        refund_labels=REFUND_STATUS_LABELS,
        manual=manual,
        can_deliver=may("deliver")
        and order.status == "paid"
        and any(item.delivery_type == "manual" for item in order.items),
        may_refund=_may_refund(),
        can_refund=_may_refund() and order.payment_no is not None and order.status in REFUNDABLE,
        status_labels=STATUS_LABELS,
        # The one order's page: contacts in full for staff whose role may see them.
        contact=_shown if may("view_contacts") else mask_contact,
        form=FlaskForm(),
    )


@bp.post("/orders/<order_no>/cancel")
@requires("manage_orders")
def cancel(order_no: str):
    store = _store()
    order = _order_or_404(order_no)
    if FlaskForm().validate_on_submit():
        try:
            cancel_order(
                store, order, actor=f"staff:{current_user.email}", note="cancelled by staff"
            )
            audit("order.cancel", target=f"order:{order_no}", after={"status": order.status})
            db.session.commit()
            flash(translate("Order cancelled; its keys are back in stock."), "success")
        except IllegalTransition:
            db.session.rollback()
            flash(translate("Only an unpaid order can be cancelled."), "error")
    return redirect(url_for("merchant.order_detail", order_no=order_no))


@bp.post("/orders/<order_no>/resend")
@requires("manage_orders")
def resend(order_no: str):
    from workers.queue import enqueue

    store = _store()
    order = _order_or_404(order_no)
    if FlaskForm().validate_on_submit() and order.status == "delivered" and order.contact_email:
        order.delivery_emailed_at = None
        audit("order.resend_delivery_email", target=f"order:{order_no}")
        db.session.commit()
        enqueue(
            "workers.jobs.orders.send_delivery_email",
            order.order_no,
            tenant_id=store.id,
            queue="notifications",
        )
        flash(translate("The delivery e-mail is on its way again."), "success")
    return redirect(url_for("merchant.order_detail", order_no=order_no))


def _may_refund() -> bool:
    return may("refund")


@bp.post("/orders/<order_no>/deliver")
@requires("deliver")
def deliver(order_no: str):
    """Fill in a manual order: the buyer sees it on the order page and by e-mail."""
    store = _store()
    _order_or_404(order_no)
    if FlaskForm().validate_on_submit() and deliver_by_hand(
        store, order_no, request.form.get("content", ""), actor=f"staff:{current_user.email}"
    ):
        # What was delivered stays sealed on the order; the log says only that it was.
        audit("order.deliver", target=f"order:{order_no}", after={"status": "delivered"})
        db.session.commit()
    return redirect(url_for("merchant.order_detail", order_no=order_no))


@bp.post("/orders/<order_no>/refund")
@requires("refund")
def refund(order_no: str):
    """Refund the whole remaining amount, or part of it (delivered orders), to the payer."""
    from app.money import parse_decimal_to_units

    store = _store()
    _order_or_404(order_no)
    if not _may_refund():
        abort(403)
    if not FlaskForm().validate_on_submit():
        return redirect(url_for("merchant.order_detail", order_no=order_no))
    raw = (request.form.get("amount") or "").strip()
    amount = parse_decimal_to_units(raw) if raw else None
    if raw and amount is None:
        flash(translate("Enter an amount like 12.50."), "error")
        return redirect(url_for("merchant.order_detail", order_no=order_no))
    try:
        made = request_refund(
            store, order_no, amount_cents=amount, actor=f"staff:{current_user.email}",
            reason=(request.form.get("reason") or "").strip()[:500],
        )  # fmt: skip
    except (RefundError, IllegalTransition) as error:
        db.session.rollback()
        message = getattr(error, "message", "This order cannot be refunded in its current state.")
        flash(translate(message, **getattr(error, "params", {})), "error")
    else:
        audit(
            "order.refund", target=f"order:{order_no}",
            after={"refund_no": made.refund_no, "amount_cents": made.amount_cents},
        )  # fmt: skip
        db.session.commit()
        _execute(made.refund_no)
    return redirect(url_for("merchant.order_detail", order_no=order_no))


@bp.post("/orders/<order_no>/refunds/<refund_no>/retry")
@requires("refund")
def retry_refund(order_no: str, refund_no: str):
    store = _store()
    _order_or_404(order_no)
    if not _may_refund():
        abort(403)
    known = db.session.scalar(
        select(Payment.id).where(Payment.tenant_id == store.id, Payment.order_no == order_no)
    )
    if FlaskForm().validate_on_submit() and known is not None:
        _execute(refund_no, expected_order=order_no)
    return redirect(url_for("merchant.order_detail", order_no=order_no))


def _execute(refund_no: str, expected_order: str | None = None) -> None:
    from app.payments.models import Refund

    refund = db.session.scalar(select(Refund).where(Refund.refund_no == refund_no))
    if refund is None or refund.tenant_id != _store().id:
        abort(404)
    if expected_order is not None and refund.order_no != expected_order:
        abort(404)
    refund_at_gateway(refund_no)
