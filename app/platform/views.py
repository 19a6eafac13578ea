"""Platform console: sign-in, the dashboard, and the stores (list, file, open, suspend)."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for

from app.audit.web import current_actor
from app.auth.account_views import add_account_routes
from app.auth.guards import login_required_for
from app.auth.views import add_login_routes
from app.billing.metrics import billing_metrics
from app.extensions import db
from app.fulfilment.queries import scorecards
from app.i18n import N_, translate
from app.platform import directory, insights, reviews
from app.platform.forms import StatusChangeForm
from app.platform.models import PlatformUser
from app.signup.forms import OpenStoreForm
from app.web.routing import SiteBlueprint
from app.web.site import render_console
from app.web.urls import tenant_url
from tenants import provisioning
from tenants.models import STATUS_LABELS, TENANT_STATUSES

bp = SiteBlueprint("platform", __name__, site="platform", url_prefix="/platform")
platform_login_required = login_required_for("platform", "platform.login")


add_login_routes(bp, PlatformUser, "platform/login.html", "platform.home")
add_account_routes(bp, platform_login_required, "platform/account.html")


@bp.get("/")
@platform_login_required
def home():
    """The console's dashboard: sales, stores, subscriptions, what waits for review."""
    return render_console(
        "platform/dashboard.html",
        dashboard=insights.platform_dashboard(),
        billing=billing_metrics(),
        suppliers=scorecards(),
        reviews=reviews.waiting(),
    )


@bp.get("/reviews")
@platform_login_required
def reviews_home():
    """Every review queue with what waits in it; each queue has its own page."""
    return render_console("platform/reviews.html", reviews=reviews.waiting())


def _stores_page(form: OpenStoreForm):
    text = request.args.get("q", "")
    status = request.args.get("status", "")
    found = directory.find_stores(text, status, request.args.get("page", 1, type=int))
    return render_console(
        "platform/stores.html",
        found=found,
        text=text,
        status=status,
        statuses=[(s, STATUS_LABELS[s]) for s in TENANT_STATUSES if s != "provisioning"],
        form=form,
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


@bp.get("/stores/<slug>")
@platform_login_required
def store(slug: str):
    tenant = provisioning.get_tenant(slug)
    if tenant is None or tenant.status == "provisioning":
        abort(404)
    return render_console(
        "platform/store.html",
        file=directory.store_file(tenant),
        ref=provisioning.tenant_ref(tenant),
        tenant_url=tenant_url,
        status_form=StatusChangeForm(),
    )


@bp.post("/stores/<slug>/view")
@platform_login_required
def view_store(slug: str):
    """Look at the store's back-office read-only: audited, then a one-minute token to its host."""
    from flask_login import current_user
    from flask_wtf import FlaskForm

    from app.audit.services import record
    from app.auth.viewer import viewer_token

    tenant = provisioning.get_tenant(slug)
    if tenant is None or tenant.status == "provisioning":
        abort(404)
    if not FlaskForm().validate_on_submit():
        abort(400)
    record("store.view_as_platform", actor=current_actor(), tenant_id=tenant.id,
           target=f"store:{tenant.slug}")  # fmt: skip
    db.session.commit()
    token = viewer_token(tenant.id, current_user.id)
    return redirect(tenant_url(provisioning.tenant_ref(tenant), f"/admin/view?token={token}"))


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
        return redirect(url_for("platform.store", slug=slug))
    try:
        provisioning.set_status(
            slug, status, reason=(form.reason.data or "").strip() or None, actor=current_actor()
        )
    except provisioning.ProvisioningError as error:
        flash(translate(error.message), "error")
        return redirect(url_for("platform.stores"))
    flash(translate(done_message, slug=slug), "success")
    return redirect(url_for("platform.store", slug=slug))


import app.growth.platform_views  # noqa: E402, F401
import app.platform.catalog_views  # noqa: E402, F401
import app.platform.finance_views  # noqa: E402, F401
import app.platform.order_views  # noqa: E402, F401
import app.platform.payment_views  # noqa: E402, F401
import app.platform.risk_views  # noqa: E402, F401
import app.platform.supplier_views  # noqa: E402, F401
import app.platform.ticket_views  # noqa: E402, F401
import app.platform.upstream_views  # noqa: E402, F401
