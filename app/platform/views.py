"""Platform console: sign-in and the stores list (create, suspend, resume)."""

from __future__ import annotations

from flask import current_app, flash, redirect, request, url_for

from app.auth.accounts import authenticate, sign_in, sign_out
from app.auth.forms import LoginForm
from app.auth.guards import login_required_for, safe_next
from app.extensions import limiter
from app.i18n import N_, translate
from app.platform.forms import StatusChangeForm
from app.platform.models import PlatformUser
from app.signup.forms import OpenStoreForm
from app.web.routing import SiteBlueprint
from app.web.site import render_console
from app.web.urls import tenant_url
from tenants import provisioning

bp = SiteBlueprint("platform", __name__, site="platform", url_prefix="/platform")
platform_login_required = login_required_for("platform", "platform.login")


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(PlatformUser, form.email.data, form.password.data)
        if user is not None:
            sign_in(user)
            return redirect(safe_next(request.args.get("next"), url_for("platform.stores")))
        form.password.errors.append(translate("Wrong e-mail or password."))
    status = 401 if request.method == "POST" else 200
    return render_console("platform/login.html", form=form), status


@bp.post("/logout")
def logout():
    sign_out()
    return redirect(url_for("platform.login"))


@bp.get("/")
@platform_login_required
def home():
    return redirect(url_for("platform.stores"))


@bp.get("/stores")
@platform_login_required
def stores():
    return render_console(
        "platform/stores.html",
        stores=provisioning.list_tenants(),
        form=OpenStoreForm(),
        status_form=StatusChangeForm(),
        tenant_url=tenant_url,
        tenant_ref=provisioning.tenant_ref,
    )


@bp.post("/stores")
@platform_login_required
def create_store():
    form = OpenStoreForm()
    if form.validate_on_submit():
        try:
            opened = provisioning.create_tenant(
                slug=form.slug.data,
                name=form.name.data,
                owner_email=form.owner_email.data,
                owner_password=form.owner_password.data,
            )
        except provisioning.ProvisioningError as error:
            getattr(form, error.field).errors.append(translate(error.message))
        else:
            flash(translate("Store %(slug)s created.", slug=opened.tenant.slug), "success")
            return redirect(url_for("platform.stores"))
    return render_console(
        "platform/stores.html",
        stores=provisioning.list_tenants(),
        form=form,
        status_form=StatusChangeForm(),
        tenant_url=tenant_url,
        tenant_ref=provisioning.tenant_ref,
    ), 400


@bp.post("/stores/<slug>/suspend")
@platform_login_required
def suspend_store(slug: str):
    return _change_status(slug, "suspended", N_("Store %(slug)s suspended."))


@bp.post("/stores/<slug>/resume")
@platform_login_required
def resume_store(slug: str):
    return _change_status(slug, "active", N_("Store %(slug)s resumed."))


def _change_status(slug: str, status: str, done_message: str):
    form = StatusChangeForm()
    if not form.validate_on_submit():
        flash(translate("The form expired; please try again."), "error")
        return redirect(url_for("platform.stores"))
    try:
        provisioning.set_status(slug, status, reason=form.reason.data or None)
    except provisioning.ProvisioningError as error:
        flash(translate(error.message), "error")
    else:
        flash(translate(done_message, slug=slug), "success")
    return redirect(url_for("platform.stores"))
