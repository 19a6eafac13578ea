"""The platform's view of orders across every store, and of its payment providers."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select

from app.extensions import db
from app.fulfilment import services as fulfilment
from app.fulfilment.models import FINAL, TOPUP_LABELS, Topup
from app.fulfilment.queries import supplier_names, topups_of_order
from app.i18n import translate
from app.orders.models import STATUS_LABELS, Order, OrderIndex
from app.payments.models import PAYMENT_STATUS_LABELS, REFUND_STATUS_LABELS, Payment, Refund
from app.payments.refunds import REFUNDABLE, RefundError, request_refund
from app.platform.views import bp, platform_login_required
from app.risk import reviews as risk_reviews
from app.web.order_actions import deliver_by_hand, refund_at_gateway
from app.web.site import render_console
from tenants.context import tenant_context
from tenants.models import Tenant
from tenants.resolver import tenant_by_id

PER_PAGE = 50


def _owner_only() -> None:
    if current_user.role != "owner":
        abort(403)


@bp.get("/orders")
@platform_login_required
def orders():
    """Newest first across stores (from the shared order index), filtered by store or number;
    each row's status and total are read from its store's schema."""
    slug = (request.args.get("store") or "").strip().lower()
    order_no = (request.args.get("q") or "").strip()
    page = max(request.args.get("page", 1, type=int), 1)
    statement = select(OrderIndex, Tenant).join(Tenant, Tenant.id == OrderIndex.tenant_id)
    if slug:
        statement = statement.where(Tenant.slug == slug)
    if order_no:
        statement = statement.where(OrderIndex.order_no == order_no)
    total = db.session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = db.session.execute(
        statement.order_by(OrderIndex.created_at.desc())
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE)
    ).all()
    db.session.remove()
    details: dict[tuple[int, str], Order] = {}
    for tenant_id in {index.tenant_id for index, _ in rows}:
        numbers = [index.order_no for index, _ in rows if index.tenant_id == tenant_id]
        with tenant_context(tenant_by_id(tenant_id)):
            for order in db.session.scalars(select(Order).where(Order.order_no.in_(numbers))):
                details[(tenant_id, order.order_no)] = order
                db.session.expunge(order)
            db.session.remove()
    return render_console(
        "platform/orders.html",
        rows=[(index, store, details.get((store.id, index.order_no))) for index, store in rows],
        total=total,
        page=page,
        pages=max((total + PER_PAGE - 1) // PER_PAGE, 1),
        slug=slug,
        query=order_no,
        status_labels=STATUS_LABELS,
    )


def _locate(order_no: str):
    tenant_id = db.session.scalar(
        select(OrderIndex.tenant_id).where(OrderIndex.order_no == order_no)
    )
    db.session.remove()  # the store is read on its own connection, then bound
    store = tenant_by_id(tenant_id) if tenant_id is not None else None
    if store is None:
        abort(404)
    return store


@bp.get("/orders/<order_no>")
@platform_login_required
def order_detail(order_no: str):
    store = _locate(order_no)
    with tenant_context(store):
        order = db.session.scalar(select(Order).where(Order.order_no == order_no))
        if order is None:
            abort(404)
        payments = db.session.scalars(
            select(Payment)
            .where(Payment.tenant_id == store.id, Payment.order_no == order_no)
            .order_by(Payment.id)
        ).all()
        topups = topups_of_order(store.id, order_no)
        page = render_console(
            "platform/order.html",
            store=store,
            risk_review=risk_reviews.of_order(store.id, order_no),
            order=order,
            payments=payments,
            topups=topups,
            topup_suppliers=supplier_names(topups),
            topup_labels=TOPUP_LABELS,
            can_retry_topups=current_user.role == "owner",
            payment_labels=PAYMENT_STATUS_LABELS,
            refund_labels=REFUND_STATUS_LABELS,
            status_labels=STATUS_LABELS,
            can_deliver=order.status == "paid"
            and any(item.delivery_type == "manual" for item in order.items),
            can_refund=current_user.role == "owner"
            and order.payment_no is not None
            and order.status in REFUNDABLE,
            form=FlaskForm(),
        )
        db.session.remove()
    return page


@bp.post("/orders/<order_no>/refund")
@platform_login_required
def refund_order(order_no: str):
    """Platform owners refund any store's order in full (e.g. a dispute or a fraud case)."""
    _owner_only()
    store = _locate(order_no)
    if FlaskForm().validate_on_submit():
        reason = (request.form.get("reason") or "").strip()[:500] or "refunded by the platform"
        refund_no = None
        with tenant_context(store):
            try:
                refund_no = request_refund(
                    store, order_no, actor=f"platform:{current_user.email}", reason=reason
                ).refund_no
            except RefundError as error:
                db.session.rollback()
                flash(translate(error.message, **error.params), "error")
            finally:
                db.session.remove()
        if refund_no is not None:
            refund_at_gateway(refund_no)
    return redirect(url_for("platform.order_detail", order_no=order_no))


@bp.post("/orders/<order_no>/deliver")
@platform_login_required
def deliver_order(order_no: str):
    """Fill in a manual order for a store (platform-supplied goods delivered by hand)."""
    store = _locate(order_no)
    if FlaskForm().validate_on_submit():
        with tenant_context(store):
            try:
                deliver_by_hand(
                    store, order_no, request.form.get("content", ""),
                    actor=f"platform:{current_user.email}",
                )  # fmt: skip
            finally:
                db.session.remove()
    return redirect(url_for("platform.order_detail", order_no=order_no))


@bp.post("/orders/<order_no>/topups/<topup_no>/retry")
@platform_login_required
def retry_topup(order_no: str, topup_no: str):
    """Ask the supplier now instead of waiting for the next check (owners only): query our
    reference of a sent top-up, or send a queued one. Never orders a sent one again."""
    _owner_only()
    store = _locate(order_no)
    if not FlaskForm().validate_on_submit():
        return redirect(url_for("platform.order_detail", order_no=order_no))
    with tenant_context(store):
        try:
            topup = db.session.scalar(
                select(Topup).where(
                    Topup.topup_no == topup_no,
                    Topup.tenant_id == store.id,
                    Topup.order_no == order_no,
                )
            )
            if topup is None:
                abort(404)
            if topup.status in FINAL:
                flash(translate("This top-up is finished already."), "error")
            else:
                step = fulfilment.submit if topup.status == "queued" else fulfilment.check
                try:
                    step(topup_no)  # commits
                except LookupError:
                    db.session.rollback()
                    flash(translate("The supplier of this top-up has no connection."), "error")
                else:
                    status = db.session.scalar(
                        select(Topup.status).where(Topup.topup_no == topup_no)
                    )
                    flash(
                        translate(
                            "Asked the supplier. The top-up is now: %(status)s",
                            status=translate(TOPUP_LABELS[status]),
                        ),
                        "success",
                    )
        finally:
            db.session.remove()
    return redirect(url_for("platform.order_detail", order_no=order_no))


@bp.post("/refunds/<refund_no>/retry")
@platform_login_required
def retry_refund(refund_no: str):
    _owner_only()
    refund = db.session.scalar(select(Refund).where(Refund.refund_no == refund_no))
    if refund is None:
        abort(404)
    if FlaskForm().validate_on_submit():
        refund_at_gateway(refund_no)
    return redirect(url_for("platform.order_detail", order_no=refund.order_no))
