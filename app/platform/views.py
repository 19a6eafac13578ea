"""Platform console: sign-in and the stores list (create, suspend, resume)."""

from __future__ import annotations

from flask import flash, redirect, url_for

from app.auth.account_views import add_account_routes
from app.auth.guards import login_required_for
from app.auth.views import add_login_routes
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


add_login_routes(bp, PlatformUser, "platform/login.html", "platform.stores")
add_account_routes(bp, platform_login_required, "platform/account.html")


@bp.get("/")
@platform_login_required
def home():
    return redirect(url_for("platform.stores"))


def _stores_page(form: OpenStoreForm):
    return render_console(
        "platform/stores.html",
        stores=provisioning.list_tenants(),
        form=form,
        status_form=StatusChangeForm(),
        tenant_url=tenant_url,
        tenant_ref=provisioning.tenant_ref,
    )


@bp.get("/stores")
@platform_login_required
def stores():
    return _stores_page(OpenStoreForm())


@bp.post("/stores")
@platform_login_required
def create_store():
    form = OpenStoreForm()
    if form.validate_on_submit() and (opened := form.open_store()) is not None:
        flash(translate("Store %(slug)s created.", slug=opened.tenant.slug), "success")
        return redirect(url_for("platform.stores"))
    return _stores_page(form), 400


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


import app.platform.catalog_views  # noqa: E402, F401
import app.platform.finance_views  # noqa: E402, F401
import app.platform.order_views  # noqa: E402, F401
import app.platform.payment_views  # noqa: E402, F401
