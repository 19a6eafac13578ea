"""Store back-office: the store's own risk review queue, its blacklist and its own limits."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_wtf import FlaskForm

from app.audit.services import record
from app.audit.web import current_actor
from app.db import utcnow
from app.extensions import db
from app.i18n import translate
from app.masking import mask_contact
from app.merchant.permissions import requires
from app.merchant.views import bp
from app.money import parse_decimal_to_units, to_decimal
from app.orders.models import STATUS_LABELS
from app.risk import reviews
from app.risk import services as risk
from app.risk import web as risk_web
from app.risk.engine import STORE
from app.risk.forms import BlacklistForm, DecisionForm, RiskLimitsForm
from app.web.site import render_console
from app.web.urls import tenant_url
from tenants.context import current_tenant

# form field → (store setting, amount in yuan?)
LIMIT_FIELDS = {
    "order_max": ("risk_order_max_cents", True),
    "daily_max": ("risk_daily_max_cents", True),
    "per_minute": ("risk_per_minute", False),
    "per_hour": ("risk_per_hour", False),
    "review_over": ("risk_review_over_cents", True),
    "challenge_from": ("risk_challenge_per_minute", False),
    "new_customer_cap": ("risk_new_customer_cap_cents", True),
    "quantity_per_order": ("risk_quantity_per_order", False),
    "quantity_per_day": ("risk_quantity_per_day", False),
}


def _store():
    return current_tenant._get_current_object()


def _limits_form() -> RiskLimitsForm:
    own = risk.own_limits()
    form = RiskLimitsForm()
    if request.method == "GET":
        for field, (name, is_money) in LIMIT_FIELDS.items():
            value = own[name]
            text = "" if value is None else str(to_decimal(value) if is_money else value)
            getattr(form, field).data = text
    return form


def _page(limits_form=None, status=200):
    store = _store()
    return render_console(
        "merchant/risk.html",
        store=store,
        storefront_url=tenant_url(store, "/"),
        queue=reviews.waiting(STORE, store.id),
        entries=reviews.entries(store.id),
        platform_limits=risk.platform_limits(),
        blacklist_form=BlacklistForm(),
        remove_form=FlaskForm(),
        limits_form=limits_form or _limits_form(),
        decide_by=reviews.decide_by,
        now=utcnow(),
    ), status  # fmt: skip


@bp.get("/risk")
@requires("view_risk")
def risk_queue():
    return _page()


@bp.get("/risk/<int:review_id>")
@requires("view_risk")
def risk_review(review_id: int):
    store = _store()
    return render_console(
        "risk/review.html",
        **risk_web.review_page(review_id, queue=STORE, tenant_id=store.id),
        store=store,
        storefront_url=tenant_url(store, "/"),
        form=DecisionForm(),
        action=url_for("merchant.decide_risk_review", review_id=review_id),
        back=url_for("merchant.risk_queue"),
        layout="merchant/_layout.html",
        mask=mask_contact,
        status_labels=STATUS_LABELS,
        decide_by=reviews.decide_by,
        now=utcnow(),
    )


@bp.post("/risk/<int:review_id>")
@requires("manage_risk")
def decide_risk_review(review_id: int):
    store = _store()
    decision = request.form.get("decision", "")
    if risk_web.decide(review_id, decision, queue=STORE, tenant_id=store.id):
        return redirect(url_for("merchant.risk_queue"))
    return redirect(url_for("merchant.risk_review", review_id=review_id))


@bp.post("/risk/blacklist")
@requires("manage_risk")
def add_store_blacklist():
    risk_web.add_to_blacklist(_store().id)
    return redirect(url_for("merchant.risk_queue") + "#blacklist")


@bp.post("/risk/blacklist/<int:entry_id>/remove")
@requires("manage_risk")
def remove_store_blacklist(entry_id: int):
    risk_web.remove_from_blacklist(_store().id, entry_id)
    return redirect(url_for("merchant.risk_queue") + "#blacklist")


@bp.post("/risk/limits")
@requires("manage_risk")
def save_risk_limits():
    form = _limits_form()
    if not form.validate_on_submit():
        flash(translate("The form expired; please try again."), "error")
        return _page(form, 400)
    values, wrong = {}, None
    for field, (name, is_money) in LIMIT_FIELDS.items():
        text = (getattr(form, field).data or "").strip()
        if not text:
            values[name] = None
            continue
        value = parse_decimal_to_units(text, 2 if is_money else 0)
        if value is None or value <= 0:
            wrong = wrong or field
            getattr(form, field).errors = [
                translate("Enter a number above zero, or leave it empty.")
            ]
        values[name] = value
    if wrong:
        return _page(form, 400)
    try:
        before = risk.save_own_limits(values)
    except risk.LimitsError as error:
        db.session.rollback()
        flash(translate(error.message, **error.params), "error")
        return _page(form, 400)
    record(
        "risk.limits_updated",
        actor=current_actor(),
        tenant_id=_store().id,
        target="store_settings",
        before=before,
        after=values,
    )
    db.session.commit()
    flash(translate("Saved."), "success")
    return redirect(url_for("merchant.risk_queue"))
