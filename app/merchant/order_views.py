"""The store's orders: list with filters, detail with timeline and masked keys, cancel, resend."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, or_, select

from app.extensions import db
from app.i18n import translate
from app.inventory.models import CardKey
from app.merchant.views import bp, store_login_required
from app.orders.models import ORDER_STATUSES, STATUS_LABELS, Order
from app.orders.services import IllegalTransition, cancel_order, order_ref
from app.web.site import render_console
from app.web.urls import tenant_url
from tenants.context import current_tenant

PER_PAGE = 50


def _store():
    return current_tenant._get_current_object()


def _mask_contact(value: str) -> str:
    """a***@example.com, 138****1234: enough to recognise a customer, not to contact them."""
    if "@" in value:
        name, _, domain = value.partition("@")
        return f"{name[:1]}***@{domain}"
    if len(value) >= 7:
        return f"{value[:3]}****{value[-4:]}"
    return value[:1] + "***" if value else ""


@bp.get("/orders")
@store_login_required
def orders():
    store = _store()
    status = request.args.get("status", "")
    query = (request.args.get("q") or "").strip()
    page = max(request.args.get("page", 1, type=int), 1)
    statement = select(Order)
    if status in ORDER_STATUSES:
        statement = statement.where(Order.status == status)
    if query:
        statement = statement.where(
            or_(
                Order.order_no == query,
                Order.contact_email == query.lower(),
                Order.contact_phone == query,
            )
        )
    total = db.session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = db.session.scalars(
        statement.order_by(Order.created_at.desc()).offset((page - 1) * PER_PAGE).limit(PER_PAGE)
    ).all()
    return render_console(
        "merchant/orders.html",
        store=store,
        storefront_url=tenant_url(store, "/"),
        orders=rows,
        total=total,
        page=page,
        pages=max((total + PER_PAGE - 1) // PER_PAGE, 1),
        status=status,
        query=query,
        statuses=ORDER_STATUSES,
        status_labels=STATUS_LABELS,
        mask=_mask_contact,
    )


def _order_or_404(order_no: str) -> Order:
    order = db.session.scalar(select(Order).where(Order.order_no == order_no))
    if order is None:
        abort(404)
    return order


@bp.get("/orders/<order_no>")
@store_login_required
def order_detail(order_no: str):
    store = _store()
    order = _order_or_404(order_no)
    keys = db.session.scalars(
        select(CardKey)
        .where(CardKey.order_ref == order_ref(store.id, order_no))
        .order_by(CardKey.id)
    ).all()
    return render_console(
        "merchant/order.html",
        store=store,
        storefront_url=tenant_url(store, "/"),
        order=order,
        keys=keys,
        status_labels=STATUS_LABELS,
        mask=_mask_contact,
        form=FlaskForm(),
    )


@bp.post("/orders/<order_no>/cancel")
@store_login_required
def cancel(order_no: str):
    store = _store()
    order = _order_or_404(order_no)
    if FlaskForm().validate_on_submit():
        try:
            cancel_order(
                store, order, actor=f"staff:{current_user.email}", note="cancelled by staff"
            )
            db.session.commit()
            flash(translate("Order cancelled; its keys are back in stock."), "success")
        except IllegalTransition:
            db.session.rollback()
            flash(translate("Only an unpaid order can be cancelled."), "error")
    return redirect(url_for("merchant.order_detail", order_no=order_no))


@bp.post("/orders/<order_no>/resend")
@store_login_required
def resend(order_no: str):
    from workers.queue import enqueue

    store = _store()
    order = _order_or_404(order_no)
    if FlaskForm().validate_on_submit() and order.status == "delivered" and order.contact_email:
        order.delivery_emailed_at = None
        db.session.commit()
        enqueue(
            "workers.jobs.orders.send_delivery_email",
            order.order_no,
            tenant_id=store.id,
            queue="notifications",
        )
        flash(translate("The delivery e-mail is on its way again."), "success")
    return redirect(url_for("merchant.order_detail", order_no=order_no))
