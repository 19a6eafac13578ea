"""Store back-office: sign-in and out, the owner's hand-off from /open, dashboard, settings."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for
from sqlalchemy import select

from app.audit.services import changes
from app.audit.web import audit
from app.auth.account_views import add_account_routes
from app.auth.accounts import redeem_handoff, sign_in
from app.auth.guards import login_required_for
from app.auth.views import add_login_routes
from app.billing.services import find_subscription
from app.extensions import db
from app.i18n import translate
from app.merchant import services
from app.merchant.forms import CheckoutSettingsForm, StoreSettingsForm
from app.merchant.models import ROLE_LABELS, StaffUser
from app.merchant.permissions import is_viewer, may, requires
from app.web import ratelimits
from app.web.routing import SiteBlueprint
from app.web.site import render_console
from app.web.urls import tenant_url
from tenants.context import current_tenant

bp = SiteBlueprint("merchant", __name__, site="store", url_prefix="/admin")
store_login_required = login_required_for("store", "merchant.login")


add_login_routes(bp, StaffUser, "merchant/login.html", "merchant.dashboard")


add_account_routes(
    bp,
    requires("own_account"),
    "merchant/account.html",
    store=lambda: current_tenant._get_current_object(),
    storefront_url=lambda: tenant_url(current_tenant._get_current_object(), "/"),
)


@bp.context_processor
def _permissions():
    """`may(permission)` and the role names for every back-office template."""
    return {"may": may, "role_labels": ROLE_LABELS, "viewer": is_viewer()}


@bp.get("/welcome")
@ratelimits.limit("store_welcome")
def welcome():
    """Where /open sends a new owner: a one-time token signs them in on this host."""
    user = redeem_handoff(request.args.get("token", ""))
    if user is None:
        abort(404)
    sign_in(user)
    return redirect(url_for("merchant.dashboard"))


@bp.get("/view")
@ratelimits.limit("view_as_platform")
def view_as_platform():
    """Where the platform console sends an admin to look in read-only (a one-minute token)."""
    from flask import session
    from flask_login import login_user

    from app.auth import viewer
    from app.web.site import claim_session_for_site

    looking = viewer.redeem(request.args.get("token", ""), current_tenant.id)
    if looking is None:
        abort(404)
    session.clear()
    login_user(looking)
    claim_session_for_site()
    return redirect(url_for("merchant.dashboard"))


@bp.get("/")
@requires("view_dashboard")
def dashboard():
    from flask import current_app

    from app.analytics.chart import sales_profit_svg
    from app.analytics.dashboard import PERIODS
    from app.analytics.dashboard import dashboard as figures
    from app.money import format_money

    store = current_tenant._get_current_object()
    period = request.args.get("period", "today")
    board = figures(
        store, period if period in PERIODS else "today",
        timezone=current_app.config["BABEL_DEFAULT_TIMEZONE"],
    )  # fmt: skip
    chart = sales_profit_svg(
        board.buckets,
        title=translate("Sales and store profit"),
        description=translate(
            "Bars: sales; line: store profit; from %(start)s. Total sales %(sales)s, "
            "store profit %(profit)s.",
            start=board.start.strftime("%Y-%m-%d"),
            sales=format_money(board.sales_cents, board.currency),
            profit=format_money(board.profit_cents, board.currency),
        ),
        money=lambda cents: format_money(cents, board.currency),
    )
    return render_console(
        "merchant/dashboard.html",
        store=store,
        storefront_url=tenant_url(store, "/"),
        subscription=find_subscription(store.id),  # the overdue-payment banner
        may_bill=may("billing"),
        board=board,
        periods=PERIODS,
        chart=chart,
        suspension_reason=_suspension_reason(store),
    )


def _suspension_reason(store) -> str | None:
    """Why the platform suspended the store, for its owner (the storefront shows no reason)."""
    if store.status != "suspended":
        return None
    from tenants.models import Tenant

    return db.session.scalar(select(Tenant.status_reason).where(Tenant.id == store.id))


@bp.route("/settings", methods=["GET", "POST"])
@requires("manage_settings")
def settings():
    from app.audit.web import current_actor

    store = current_tenant._get_current_object()
    current = services.get_settings()
    form = StoreSettingsForm(data={**current.__dict__, "name": store.name})
    if form.validate_on_submit():
        try:
            services.update_settings(
                store.id,
                tagline=form.tagline.data,
                announcement=form.announcement.data,
                show_stock_counts=form.show_stock_counts.data,
                profile=_profile_from(form),
                actor=current_actor(),
            )
        except services.SettingsError as error:
            db.session.rollback()
            target = getattr(form, error.field, None) or form.name
            target.errors = [*target.errors, translate(error.message, **error.params)]
        else:  # update_settings audited the change in its own transaction
            flash(translate("Settings saved."), "success")
            return redirect(url_for("merchant.settings"))
    status = 400 if form.errors else 200
    return render_console(
        "merchant/settings.html",
        store=store,
        form=form,
        logo=current.logo,
        storefront_url=tenant_url(store, "/"),
    ), status


def _profile_from(form: StoreSettingsForm) -> services.StoreProfile:
    """The profile fields the page posted (a field not posted at all is left as it is)."""
    posted = request.form
    texts = (
        "name", "support_qq", "support_wechat", "support_telegram", "support_email",
        "seo_title", "seo_description", "query_password_policy",
    )  # fmt: skip
    upload = request.files.get("logo")
    return services.StoreProfile(
        **{name: getattr(form, name).data or "" for name in texts if name in posted},
        # A checkbox posts nothing when unticked: the page says it showed it.
        guest_checkout=form.guest_checkout.data if "checkout_rules" in posted else None,
        logo_upload=upload.read() if upload and upload.filename else None,
        remove_logo=form.remove_logo.data,
    )


@bp.route("/settings/checkout", methods=["GET", "POST"])
@requires("manage_settings")
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
            saved = services.update_checkout_settings(
                payment_providers=form.payment_providers.data or [],
                order_expiry_minutes=form.order_expiry_minutes.data,
                max_unpaid_per_ip=form.max_unpaid_per_ip.data,
                max_unpaid_per_contact=form.max_unpaid_per_contact.data,
            )
        except services.SettingsError as error:
            getattr(form, error.field).errors.append(translate(error.message))
        else:
            before, after = changes(_plain(current), _plain(saved))
            audit("settings.checkout_save", target="store_settings", before=before, after=after)
            db.session.commit()
            flash(translate("Settings saved."), "success")
            return redirect(url_for("merchant.checkout_settings"))
    status = 400 if form.errors else 200
    return render_console(
        "merchant/checkout_settings.html", store=store, form=form,
        storefront_url=tenant_url(store, "/"),
    ), status  # fmt: skip


def _plain(settings) -> dict:
    """Settings as JSON-ready values for the audit log."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in settings.__dict__.items()}


import app.audit.views  # noqa: E402,F401  (routes on this blueprint and the platform's)
import app.coupons.views  # noqa: E402,F401  (routes on this blueprint)
import app.docking.admin_views  # noqa: E402,F401  (routes on this blueprint)
import app.growth.admin_views  # noqa: E402,F401  (routes on this blueprint)
import app.merchant.batch_views  # noqa: E402,F401  (routes on this blueprint)
import app.merchant.catalog_views  # noqa: E402,F401  (routes on this blueprint)
import app.merchant.customer_views  # noqa: E402,F401  (routes on this blueprint)
import app.merchant.domain_views  # noqa: E402,F401  (routes on this blueprint)
import app.merchant.export_views  # noqa: E402,F401  (routes on this blueprint)
import app.merchant.finance_views  # noqa: E402,F401  (routes on this blueprint)
import app.merchant.order_views  # noqa: E402,F401  (routes on this blueprint)
import app.merchant.privacy_views  # noqa: E402,F401  (routes on this blueprint)
import app.merchant.risk_views  # noqa: E402,F401  (routes on this blueprint)
import app.merchant.staff_views  # noqa: E402,F401  (routes on this blueprint)
import app.merchant.theme_views  # noqa: E402,F401  (routes on this blueprint)
import app.merchant.ticket_views  # noqa: E402,F401  (routes on this blueprint)
import app.webhooks.views  # noqa: E402,F401  (routes on this blueprint)
