"""Billing pages: Stripe's webhook endpoint (`/webhooks/stripe`, platform), the store's plan and
billing page (`/admin/billing`), and the platform's plans and subscriptions (`/platform/plans`,
`/platform/billing`). Views are thin: app.billing.services and events hold the rules."""

from __future__ import annotations

import logging

import stripe
from flask import abort, flash, jsonify, redirect, request, url_for
from flask_login import current_user
from wtforms import SelectChoice

from app.billing import events, services, stripe_api
from app.billing.entitlements import ENTITLEMENTS
from app.billing.errors import BillingError, InvalidWebhook
from app.billing.forms import AssignPlanForm, ChoosePlanForm, attach_error, plan_form
from app.billing.metrics import billing_metrics, subscriptions_by_store
from app.billing.models import INVOICE_STATUS_LABELS, SOURCE_LABELS, STATUS_LABELS
from app.billing.plans import get_plan, list_plans, save_plan
from app.extensions import csrf, limiter
from app.i18n import N_, translate
from app.merchant.permissions import may, requires
from app.merchant.views import bp as merchant
from app.platform.views import bp as platform
from app.platform.views import platform_login_required
from app.web.routing import SiteBlueprint
from app.web.site import render_console
from app.web.urls import tenant_url
from tenants.context import current_tenant

log = logging.getLogger(__name__)
bp = SiteBlueprint("billing", __name__, site="platform")
STRIPE_UNREACHABLE = N_("Stripe could not be reached. Please try again in a moment.")


# -- Stripe's webhooks ---------------------------------------------------------------------------


@bp.post("/webhooks/stripe")
@csrf.exempt
@limiter.exempt  # gateways retry from few addresses: never drop them (signed)
def stripe_webhook():
    """Verify, store once, answer at once: the work is done by a job."""
    payload = request.get_data(cache=False)  # the raw body the signature covers
    try:
        events.receive_webhook(payload, request.headers.get("Stripe-Signature"))
    except InvalidWebhook as error:
        log.warning("refused Stripe webhook from %s: %s", request.remote_addr, error)
        return jsonify(received=False), 400
    return jsonify(received=True)


# -- the store's billing page --------------------------------------------------------------------


@merchant.app_template_filter("unix_datetime")
def unix_datetime(value):
    """Stripe's epoch seconds as a datetime, for the datetimeformat filter."""
    return stripe_api.timestamp(value)


def _store():
    return current_tenant._get_current_object()


def _may_bill() -> bool:
    return may("billing")


def _refused(error: Exception):
    if isinstance(error, BillingError):
        flash(translate(error.message, **error.params), "error")
    else:
        log.warning("store %s: Stripe refused a billing request: %s", _store().id, error)
        flash(translate(STRIPE_UNREACHABLE), "error")
    return redirect(url_for("merchant.billing"))


@merchant.get("/billing")
@requires("view_billing")
def billing():
    store = _store()
    return render_console(
        "merchant/billing.html",
        store=store,
        storefront_url=tenant_url(store, "/"),
        overview=services.billing_overview(store.id, store.plan),
        entitlement_specs=ENTITLEMENTS,
        billing_status_labels=STATUS_LABELS,
        invoice_status_labels=INVOICE_STATUS_LABELS,
        may_bill=_may_bill(),
        checkout_done=request.args.get("checkout") == "done",
    )


@merchant.post("/billing/checkout")
@requires("billing")
def billing_checkout():
    """Subscribe, upgrade or downgrade: off to Stripe; the plan changes when Stripe confirms."""
    if not _may_bill():
        abort(403)
    form = ChoosePlanForm()
    if not form.validate_on_submit():
        flash(translate("Choose a plan and a billing period."), "error")
        return redirect(url_for("merchant.billing"))
    store = _store()
    try:
        target = services.start_checkout(
            store.id,
            form.plan.data,
            form.interval.data,
            success_url=tenant_url(store, "/admin/billing?checkout=done"),
            cancel_url=tenant_url(store, "/admin/billing"),
        )
    except (BillingError, stripe.StripeError) as error:
        return _refused(error)
    return redirect(target, 303)


@merchant.get("/billing/portal")
@requires("billing")
def billing_portal():
    """Stripe's Customer Portal: payment methods, invoices, cancellation (linked from e-mails)."""
    if not _may_bill():
        abort(403)
    store = _store()
    try:
        target = services.portal_url(store.id, tenant_url(store, "/admin/billing"))
    except (BillingError, stripe.StripeError) as error:
        return _refused(error)
    return redirect(target, 303)


# -- the platform console ------------------------------------------------------------------------


def _require_owner() -> None:
    if current_user.role != "owner":
        abort(403)


def _plans_page(forms: dict | None = None, new_form=None, status: int = 200):
    plans = list_plans()
    forms = forms or {}
    return render_console(
        "platform/plans.html",
        entries=[(plan, forms.get(plan.code) or plan_form(plan, formdata=None)) for plan in plans],
        new_form=new_form or plan_form(formdata=None),
        is_owner=current_user.role == "owner",
    ), status


@platform.get("/plans")
@platform_login_required
def plans():
    return _plans_page()


def _save_plan_form(form, code: str, *, create: bool):
    try:
        plan = save_plan(
            code,
            name=form.name.data,
            is_active=form.is_active.data,
            position=form.position.data,
            currency=form.currency.data,
            monthly_price_cents=form.monthly_price_cents.data,
            yearly_price_cents=form.yearly_price_cents.data,
            stripe_price_monthly=form.stripe_price_monthly.data,
            stripe_price_yearly=form.stripe_price_yearly.data,
            trial_days=form.trial_days.data,
            entitlements=form.entitlement_values(),
            create=create,
        )
    except BillingError as error:
        if not attach_error(form, error.field, error.message, **error.params):
            flash(translate(error.message, **error.params), "error")
        return None
    flash(translate("Plan %(name)s saved.", name=plan.name), "success")
    return plan


@platform.post("/plans/new")
@platform_login_required
def create_plan():
    _require_owner()
    form = plan_form()
    if form.validate_on_submit() and _save_plan_form(form, form.code.data, create=True):
        return redirect(url_for("platform.plans"))
    return _plans_page(new_form=form, status=400)


@platform.post("/plans/<code>")
@platform_login_required
def save_plan_view(code: str):
    _require_owner()
    plan = get_plan(code) or abort(404)
    form = plan_form(plan)
    if form.validate_on_submit() and _save_plan_form(form, plan.code, create=False):
        return redirect(url_for("platform.plans"))
    return _plans_page(forms={plan.code: form}, status=400)


@platform.get("/billing")
@platform_login_required
def billing_console():
    return render_console(
        "platform/billing.html",
        metrics=billing_metrics(),
        stores=subscriptions_by_store(),
        plan_choices=[(p.code, p.name) for p in list_plans()],
        billing_status_labels=STATUS_LABELS,
        source_labels=SOURCE_LABELS,
        is_owner=current_user.role == "owner",
    )


@platform.post("/billing/assign")
@platform_login_required
def assign_plan():
    """Give a store a plan by hand (no Stripe, or a plan the platform grants)."""
    _require_owner()
    form = AssignPlanForm()
    form.plan.choices = [SelectChoice(p.code, p.name) for p in list_plans()]
    if not form.validate_on_submit() or not str(form.tenant_id.data).isdecimal():
        flash(translate("The form expired; please try again."), "error")
        return redirect(url_for("platform.billing_console"))
    try:
        services.assign_plan(
            int(form.tenant_id.data), form.plan.data, actor=f"platform:{current_user.email}"
        )
    except BillingError as error:
        flash(translate(error.message, **error.params), "error")
    else:
        flash(translate("Plan assigned."), "success")
    return redirect(url_for("platform.billing_console"))
