"""The store's privacy policy page (`/privacy`), and the customer's own privacy page in their
account: download their data, ask for it to be deleted."""

from __future__ import annotations

from flask import Response, current_app, redirect, url_for
from markupsafe import Markup

from app.audit.web import current_actor
from app.auth.guards import login_required_for
from app.customers.models import Customer
from app.extensions import db, limiter
from app.i18n import translate
from app.privacy import services as privacy
from app.privacy.forms import DeletionRequestForm, ExportForm
from app.web.routing import SiteBlueprint
from app.web.themes import render_theme
from tenants.context import current_tenant

bp = SiteBlueprint("privacy", __name__, site="store")
customer_login_required = login_required_for("customer", "customers.login")


def _store():
    return current_tenant._get_current_object()


@bp.get("/privacy")
def policy():
    """What the store does with personal data: filled from its settings (name, contacts,
    retention periods) and its own text, sanitised when saved."""
    settings = privacy.get_settings()
    return render_theme(
        "shop/privacy.html",
        store=_store(),
        policy=settings,
        own_text=Markup(privacy.sanitised(settings.policy_html)),
        platform_operator=current_app.config["PLATFORM_NAME"],
    )


def _customer() -> Customer:
    from flask_login import current_user

    return current_user._get_current_object()


def _page(export_form=None, deletion_form=None, status=200):
    store = _store()
    customer = _customer()
    return render_theme(
        "shop/account/privacy.html",
        store=store,
        customer=customer,
        export_form=export_form or ExportForm(),
        deletion_form=deletion_form or DeletionRequestForm(),
        request_row=privacy.latest_request(customer.id),
        blockers=[translate(message, **params) for message, params in
                  privacy.blockers(store, customer)],
        policy=privacy.get_settings(),
    ), status  # fmt: skip


@bp.get("/account/privacy")
@customer_login_required
def account():
    return _page()


@bp.post("/account/privacy/export")
@customer_login_required
@limiter.limit("10 per hour")
def export():
    """The customer's data as a ZIP of JSON files (audited)."""
    form = ExportForm()
    if not form.validate_on_submit():
        return _page(export_form=form, status=400)
    store, customer = _store(), _customer()
    archive = privacy.export_zip(store, customer, actor=current_actor())
    db.session.commit()
    response = Response(archive, mimetype="application/zip")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{store.slug}-my-data-{customer.id}.zip"'
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/account/privacy/delete")
@customer_login_required
@limiter.limit("10 per hour")
def request_deletion():
    """Ask the store to delete the account's personal data (password confirmed)."""
    form = DeletionRequestForm()
    if not form.validate_on_submit():
        return _page(deletion_form=form, status=400)
    customer = _customer()
    if not customer.check_password(form.password.data):
        form.password.errors.append(translate("Wrong password."))
        return _page(deletion_form=form, status=400)
    privacy.request_deletion(_store(), customer, note=form.note.data or "", actor=current_actor())
    db.session.commit()
    return redirect(url_for("privacy.account"))  # the page shows the request waiting
