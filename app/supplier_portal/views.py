"""The supplier portal at /supplier on the apex: apply, then (once approved) stock uploads,
cost proposals, sales and money (the same finance pages as stores: app.web.party_finance)."""

from __future__ import annotations

from datetime import timedelta
from functools import wraps

from flask import Response, abort, flash, redirect, url_for
from flask_login import current_user

from app.audit.web import current_actor
from app.auth.accounts import sign_in
from app.auth.guards import login_required_for
from app.auth.views import add_login_routes
from app.db import utcnow
from app.extensions import db
from app.i18n import translate
from app.inventory import services as inventory
from app.kyc.forms import VerificationForm
from app.platform.catalog_forms import ImportKeysForm, flash_import_report
from app.supplier_portal import services as portal
from app.supplier_portal.forms import ApplyForm, CostForm, DetailsForm
from app.supplier_portal.models import SupplierUser
from app.web import party_finance, ratelimits
from app.web.routing import SiteBlueprint
from app.web.site import render_console
from app.withdrawals.forms import WithdrawalForm

bp = SiteBlueprint("supplier", __name__, site="platform", url_prefix="/supplier")
signed_in = login_required_for("supplier", "supplier.login")

add_login_routes(bp, SupplierUser, "supplier/login.html", "supplier.home")


def approved_supplier(view):
    """Signed in as a supplier whose application the platform approved."""

    @signed_in
    @wraps(view)
    def wrapper(*args, **kwargs):
        if current_user.supplier_id is None:
            return redirect(url_for("supplier.home"))
        return view(*args, **kwargs)

    return wrapper


def _refused(form, refused: portal.PortalRefused) -> None:
    db.session.rollback()
    field = getattr(form, refused.field, None)
    errors = field.errors if field is not None else form.form_errors
    errors.append(translate(refused.message, **refused.params))


@bp.route("/apply", methods=["GET", "POST"])
@ratelimits.limit("supplier_apply", methods=["POST"])
def apply():
    if current_user.is_authenticated and current_user.login_kind == "supplier":
        return redirect(url_for("supplier.home"))
    form = ApplyForm()
    if form.validate_on_submit():
        try:
            user = portal.register(form.email.data, form.password.data, form.details())
        except portal.PortalRefused as refused:
            _refused(form, refused)
        else:
            db.session.commit()
            sign_in(user)
            flash(translate("Thank you: the platform will review your application."), "success")
            return redirect(url_for("supplier.home"))
    return render_console("supplier/apply.html", form=form), 400 if form.errors else 200


@bp.get("/")
@signed_in
def home():
    if current_user.supplier_id is None:
        return _application_page(DetailsForm())
    supplier_id = current_user.supplier_id
    skus = portal.own_skus(supplier_id)
    return render_console(
        "supplier/home.html",
        skus=skus,
        stock=inventory.stock_counts([s.id for s in skus]),
        sales_30d=portal.sales(supplier_id, utcnow() - timedelta(days=30)),
        sales_all=portal.sales(supplier_id),
        balances=party_finance.finance_context(portal.party(supplier_id))["balances"],
        proposals=portal.proposals_of(supplier_id, limit=10),
    )


def _application_page(form, status=200):
    return render_console(
        "supplier/application.html",
        application=portal.latest_application(current_user),
        form=form,
    ), status


@bp.post("/reapply")
@signed_in
def reapply():
    form = DetailsForm()
    if form.validate_on_submit():
        try:
            portal.reapply(current_user, form.details())
        except portal.PortalRefused as refused:
            _refused(form, refused)
        else:
            db.session.commit()
            flash(translate("Thank you: the platform will review your application."), "success")
            return redirect(url_for("supplier.home"))
    return _application_page(form, 400)


def _sku_or_404(sku_id: int):
    sku = portal.own_sku(current_user.supplier_id, sku_id)
    if sku is None:
        abort(404)
    return sku


def _sku_page(sku, import_form=None, cost_form=None, status=200):
    return render_console(
        "supplier/sku.html",
        sku=sku,
        stock=inventory.stock_counts([sku.id]).get(sku.id, {}),
        import_form=import_form or ImportKeysForm(),
        cost_form=cost_form or CostForm(),
        proposals=[p for p in portal.proposals_of(sku.supplier_id) if p.sku_id == sku.id],
    ), status


@bp.get("/skus/<int:sku_id>")
@approved_supplier
def sku(sku_id: int):
    return _sku_page(_sku_or_404(sku_id))


@bp.post("/skus/<int:sku_id>/keys")
@approved_supplier
@ratelimits.limit("supplier_upload")
def upload_keys(sku_id: int):
    sku = _sku_or_404(sku_id)
    form = ImportKeysForm()
    if not form.validate_on_submit():
        return _sku_page(sku, import_form=form, status=400)
    source, origin, filename = form.keys()
    try:
        report = portal.upload_keys(
            current_user.supplier_id,
            sku.id,
            source,
            actor=current_actor(),
            separator=form.separator_value(),
            origin=origin,
            filename=filename,
        )
    except inventory.InventoryError as error:
        db.session.rollback()
        form.refused(error)
        return _sku_page(sku, import_form=form, status=400)
    db.session.commit()
    flash_import_report(report)
    return redirect(url_for("supplier.sku", sku_id=sku.id))


@bp.post("/skus/<int:sku_id>/cost")
@approved_supplier
def propose_cost(sku_id: int):
    sku = _sku_or_404(sku_id)
    form = CostForm()
    if form.validate_on_submit() and (cents := form.cost_cents()) is not None:
        try:
            portal.propose_cost(
                current_user.supplier_id,
                sku.id,
                cents,
                actor=current_actor(),
                note=form.note.data or "",
            )
        except portal.PortalRefused as refused:
            _refused(form, refused)
        else:
            db.session.commit()
            flash(translate("Proposal sent; the platform reviews it."), "success")
            return redirect(url_for("supplier.sku", sku_id=sku.id))
    return _sku_page(sku, cost_form=form, status=400)


# -- money: the same pages and rules as a store's ------------------------------------------------


def _finance_page(withdrawal_form=None, verification_form=None, status=200):
    return render_console(
        "supplier/finance.html",
        **party_finance.finance_context(
            portal.party(current_user.supplier_id), withdrawal_form, verification_form
        ),
        may_move_money=True,
    ), status


@bp.get("/finance")
@approved_supplier
def finance():
    return _finance_page()


@bp.post("/finance/withdraw")
@approved_supplier
@ratelimits.limit("withdrawal_request")
def request_withdrawal():
    form = WithdrawalForm()
    if party_finance.submit_withdrawal(portal.party(current_user.supplier_id), form):
        return redirect(url_for("supplier.finance"))
    return _finance_page(withdrawal_form=form, status=400)


@bp.post("/finance/verification")
@approved_supplier
@ratelimits.limit("verification_submit")
def submit_verification():
    form = VerificationForm()
    if party_finance.submit_verification(portal.party(current_user.supplier_id), form):
        return redirect(url_for("supplier.finance"))
    return _finance_page(verification_form=form, status=400)


@bp.get("/finance/statement")
@approved_supplier
def finance_statement():
    supplier_id = current_user.supplier_id
    shown = party_finance.statement_view(portal.party(supplier_id), f"supplier-{supplier_id}")
    if isinstance(shown, Response):
        return shown
    return render_console("supplier/statement.html", **shown)
