"""Handling shared by the platform's (/platform/risk) and the store's (/admin/risk) risk pages:
a review's page data, the decision, blacklist edits. Each side passes its queue and, for a store,
its id: anything outside that is "not found"."""

from __future__ import annotations

from flask import abort, flash
from sqlalchemy import select

from app.audit.web import current_actor
from app.extensions import db
from app.i18n import translate
from app.orders.models import Order
from app.risk import reviews
from app.risk.forms import BlacklistForm, DecisionForm
from app.risk.models import RiskReview
from tenants.context import tenant_context
from tenants.resolver import tenant_by_id


def review_page(review_id: int, *, queue: str, tenant_id: int | None = None) -> dict:
    """The review, its store, the order and the buyer's history in that store with the reviews
    of those orders, if any (404 if the review is not in this queue / this store)."""
    review = reviews.find(review_id, queue=queue, tenant_id=tenant_id)
    if review is None:
        abort(404)
    db.session.expunge(review)
    db.session.remove()  # the store is read on its own connection, then bound
    store = tenant_by_id(review.tenant_id)
    if store is None:
        abort(404)
    with tenant_context(store):
        order = db.session.scalar(select(Order).where(Order.order_no == review.order_no))
        if order is None:
            abort(404)
        history = reviews.customer_history(order)
        order.items, order.events  # noqa: B018  (loaded before leaving the store)
        db.session.expunge_all()
        db.session.remove()
    earlier = {
        r.order_no: r
        for r in db.session.scalars(
            select(RiskReview).where(
                RiskReview.tenant_id == store.id,
                RiskReview.order_no.in_([o.order_no for o in history]),
            )
        )
    }
    return {
        "review": review,
        "review_store": store,
        "order": order,
        "history": history,
        "history_reviews": earlier,
    }


def decide(review_id: int, decision: str, *, queue: str, tenant_id: int | None = None) -> bool:
    """Approve or reject from the posted DecisionForm; the outcome is flashed."""
    form = DecisionForm()
    if not form.validate_on_submit() or decision not in ("approve", "reject"):
        flash(translate("The form expired; please try again."), "error")
        return False
    review = reviews.find(review_id, queue=queue, tenant_id=tenant_id)
    if review is None:
        abort(404)
    owner_id = review.tenant_id
    db.session.remove()
    store = tenant_by_id(owner_id)
    actor = current_actor()
    note = (form.note.data or "").strip()
    with tenant_context(store):
        try:
            if decision == "approve":
                reviews.approve(store, review_id, queue=queue, actor=actor, note=note)
            else:
                reviews.reject(
                    store,
                    review_id,
                    queue=queue,
                    actor=actor,
                    note=note,
                    blacklist_kinds=form.blacklist_kinds(),
                )
        except reviews.ReviewRefused as refused:
            db.session.rollback()
            flash(translate(refused.message, **refused.params), "error")
            return False
        except LookupError:
            db.session.rollback()
            abort(404)
        finally:
            db.session.remove()
    flash(
        translate("Approved: the order is released for delivery.")
        if decision == "approve"
        else translate("Rejected: the order is refunded."),
        "success",
    )
    return True


def add_to_blacklist(tenant_id: int | None) -> bool:
    form = BlacklistForm()
    if not form.validate_on_submit():
        flash(translate("Fill in what to blacklist."), "error")
        return False
    try:
        added = reviews.add_entry(
            tenant_id, form.kind.data, form.value.data, actor=current_actor(), note=form.note.data
        )
    except reviews.ReviewRefused as refused:
        db.session.rollback()
        flash(translate(refused.message, **refused.params), "error")
        return False
    db.session.commit()
    flash(
        translate("Added to the blacklist.") if added else translate("Already on the blacklist."),
        "success",
    )
    return True


def remove_from_blacklist(tenant_id: int | None, entry_id: int) -> None:
    from flask_wtf import FlaskForm

    if not FlaskForm().validate_on_submit():
        flash(translate("The form expired; please try again."), "error")
        return
    if not reviews.remove_entry(tenant_id, entry_id, actor=current_actor()):
        abort(404)
    db.session.commit()
    flash(translate("Removed from the blacklist."), "success")
