"""Store back-office: sign-in and out, the owner's hand-off from /open, dashboard, settings."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, request, url_for

from app.auth.accounts import authenticate, redeem_handoff, sign_in, sign_out
from app.auth.forms import LoginForm
from app.auth.guards import login_required_for, safe_next
from app.extensions import limiter
from app.i18n import translate
from app.merchant import services
from app.merchant.forms import StoreSettingsForm
from app.merchant.models import StaffUser
from app.web.routing import SiteBlueprint
from app.web.site import render_console
from app.web.urls import tenant_url
from tenants.context import current_tenant

bp = SiteBlueprint("merchant", __name__, site="store", url_prefix="/admin")
store_login_required = login_required_for("store", "merchant.login")


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(StaffUser, form.email.data, form.password.data)
        if user is not None:
            sign_in(user)
            return redirect(safe_next(request.args.get("next"), url_for("merchant.dashboard")))
        form.password.errors.append(translate("Wrong e-mail or password."))
    status = 401 if request.method == "POST" else 200
    return render_console("merchant/login.html", form=form), status


@bp.get("/welcome")
@limiter.limit("30 per minute")
def welcome():
    """Where /open sends a new owner: a one-time token signs them in on this host."""
    user = redeem_handoff(request.args.get("token", ""))
    if user is None:
        abort(404)
    sign_in(user)
    return redirect(url_for("merchant.dashboard"))


@bp.post("/logout")
def logout():
    sign_out()
    return redirect(url_for("merchant.login"))


@bp.get("/")
@store_login_required
def dashboard():
    store = current_tenant._get_current_object()
    return render_console(
        "merchant/dashboard.html", store=store, storefront_url=tenant_url(store, "/")
    )


@bp.route("/settings", methods=["GET", "POST"])
@store_login_required
def settings():
    store = current_tenant._get_current_object()
    current = services.get_settings()
    form = StoreSettingsForm(
        data={"tagline": current.tagline, "announcement": current.announcement}
    )
    if form.validate_on_submit():
        try:
            services.update_settings(tagline=form.tagline.data, announcement=form.announcement.data)
        except services.SettingsError as error:
            getattr(form, error.field).errors.append(translate(error.message))
        else:
            flash(translate("Settings saved."), "success")
            return redirect(url_for("merchant.settings"))
    status = 400 if form.errors else 200
    return render_console(
        "merchant/settings.html", store=store, form=form, storefront_url=tenant_url(store, "/")
    ), status
