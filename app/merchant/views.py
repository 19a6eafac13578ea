"""Store back-office: sign-in and out, the owner's hand-off from /open, dashboard, settings."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from app.auth.accounts import redeem_handoff, sign_in
from app.auth.guards import login_required_for
from app.auth.views import add_login_routes
from app.billing.services import find_subscription
from app.extensions import limiter
from app.i18n import translate
from app.merchant import services
from app.merchant.forms import CheckoutSettingsForm, StoreSettingsForm
from app.merchant.models import StaffUser
from app.web.routing import SiteBlueprint
from app.web.site import render_console
from app.web.urls import tenant_url
from tenants.context import current_tenant

bp = SiteBlueprint("merchant", __name__, site="store", url_prefix="/admin")
store_login_required = login_required_for("store", "merchant.login")


add_login_routes(bp, StaffUser, "merchant/login.html", "merchant.dashboard")


@bp.get("/welcome")
@limiter.limit("30 per minute")
def welcome():
    """Where /open sends a new owner: a one-time token signs them in on this host."""
    user = redeem_handoff(request.args.get("token", ""))
    if user is None:
        abort(404)
    sign_in(user)
    return redirect(url_for("merchant.dashboard"))


@bp.get("/")
@store_login_required
def dashboard():
    store = current_tenant._get_current_object()
    return render_console(
        "merchant/dashboard.html",
        store=store,
        storefront_url=tenant_url(store, "/"),
        subscription=find_subscription(store.id),  # the overdue-payment banner
        may_bill=current_user.role == "owner",
    )


@bp.route("/settings", methods=["GET", "POST"])
@store_login_required
def settings():
    store = current_tenant._get_current_object()
    current = services.get_settings()
    form = StoreSettingsForm(data=current.__dict__)
    if form.validate_on_submit():
        try:
            services.update_settings(
                store.id,
                tagline=form.tagline.data,
                announcement=form.announcement.data,
                show_stock_counts=form.show_stock_counts.data,
            )
        except services.SettingsError as error:
            getattr(form, error.field).errors.append(translate(error.message))
        else:
            flash(translate("Settings saved."), "success")
            return redirect(url_for("merchant.settings"))
    status = 400 if form.errors else 200
    return render_console(
        "merchant/settings.html", store=store, form=form, storefront_url=tenant_url(store, "/")
    ), status


@bp.route("/settings/checkout", methods=["GET", "POST"])
@store_login_required
def checkout_settings():
    """Which of the platform's payment methods to offer, and the unpaid-order rules."""
    from app.payments.config import enabled_providers
    from app.payments.providers import provider_class

    store = current_tenant._get_current_object()
    current = services.get_checkout_settings()
    form = CheckoutSettingsForm(
        data={**current.__dict__, "payment_providers": list(current.payment_providers)}
    )
    form.payment_providers.choices = [
        (name, translate(provider_class(name).label)) for name in enabled_providers()
    ]
    if form.validate_on_submit():
        try:
            services.update_checkout_settings(
                payment_providers=form.payment_providers.data or [],
                order_expiry_minutes=form.order_expiry_minutes.data,
                max_unpaid_per_ip=form.max_unpaid_per_ip.data,
                max_unpaid_per_contact=form.max_unpaid_per_contact.data,
            )
        except services.SettingsError as error:
            getattr(form, error.field).errors.append(translate(error.message))
        else:
            flash(translate("Settings saved."), "success")
            return redirect(url_for("merchant.checkout_settings"))
    status = 400 if form.errors else 200
    return render_console(
        "merchant/checkout_settings.html", store=store, form=form,
        storefront_url=tenant_url(store, "/"),
    ), status  # fmt: skip


import app.coupons.views  # noqa: E402,F401  (routes on this blueprint)
import app.merchant.catalog_views  # noqa: E402,F401  (routes on this blueprint)
import app.merchant.finance_views  # noqa: E402,F401  (routes on this blueprint)
import app.merchant.order_views  # noqa: E402,F401  (routes on this blueprint)
import app.merchant.theme_views  # noqa: E402,F401  (routes on this blueprint)
import app.webhooks.views  # noqa: E402,F401  (routes on this blueprint)
