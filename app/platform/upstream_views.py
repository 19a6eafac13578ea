"""Platform console: a docked supplier's own catalog, imported into ours (克隆 / 一键对接), and
its price and stock sync run by hand."""

from __future__ import annotations

from flask import abort, flash, redirect, request, url_for

from app.audit.web import current_actor
from app.catalog.models import Supplier
from app.extensions import db
from app.i18n import translate
from app.platform.catalog_forms import ConfirmForm, UpstreamImportForm
from app.platform.catalog_views import _category_choices
from app.platform.views import bp, platform_login_required
from app.suppliers import imports
from app.suppliers.connectors.base import SupplierTransportError
from app.suppliers.sync import sync_supplier
from app.web.site import render_console


def _connected_or_404(supplier_id: int) -> Supplier:
    supplier = db.session.get(Supplier, supplier_id)
    if supplier is None or not supplier.connector:
        abort(404)
    return supplier


def _form(**kwargs) -> UpstreamImportForm:
    form = UpstreamImportForm(**kwargs)
    form.category_id.choices = _category_choices(
        translate("The supplier's own categories (created under its name)")
    )
    return form


def _page(supplier: Supplier, form: UpstreamImportForm, status: int = 200, chosen=()):
    products, error = [], ""
    try:
        products = imports.upstream_products(supplier.id)
    except imports.ImportRefused as refused:
        error = translate(refused.message, **refused.params)
    except SupplierTransportError as failure:
        db.session.rollback()
        error = translate("The supplier did not answer: %(error)s", error=str(failure))
    return render_console(
        "platform/catalog/upstream.html",
        supplier=supplier,
        products=products,
        error=error,
        form=form,
        chosen=set(chosen),
        confirm_form=ConfirmForm(),
    ), status


@bp.get("/suppliers/<int:supplier_id>/upstream")
@platform_login_required
def upstream_catalog(supplier_id: int):
    return _page(_connected_or_404(supplier_id), _form(formdata=None))


@bp.post("/suppliers/<int:supplier_id>/upstream")
@platform_login_required
def import_upstream(supplier_id: int):
    supplier = _connected_or_404(supplier_id)
    form = _form()
    chosen = [code for code in request.form.getlist("product") if code]
    if not form.validate_on_submit():
        return _page(supplier, form, 400, chosen)
    try:
        report = imports.import_products(
            supplier.id,
            chosen,
            markup_bp=form.markup_bp,
            rounding=form.rounding.data,
            category_id=form.category_id.data,
            publish=form.publish.data,
            actor=current_actor(),
        )
    except imports.ImportRefused as refused:
        db.session.rollback()
        message = translate(refused.message, **refused.params)
        field = getattr(form, refused.field, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*field.errors, message]
        else:
            flash(message, "error")
        return _page(supplier, form, 400, chosen)
    except SupplierTransportError as failure:
        db.session.rollback()
        flash(translate("The supplier did not answer: %(error)s", error=str(failure)), "error")
        return _page(supplier, form, 502, chosen)
    flash(
        translate(
            "Imported %(skus)s items into %(products)s products.",
            skus=report.skus,
            products=len(report.products),
        ),
        "success",
    )
    for code, reason in report.skipped:
        flash(translate("Not imported: %(code)s (%(reason)s)", code=code,
                        reason=translate(reason)), "error")  # fmt: skip
    return redirect(url_for("platform.upstream_catalog", supplier_id=supplier.id))


@bp.post("/suppliers/<int:supplier_id>/sync")
@platform_login_required
def sync_supplier_now(supplier_id: int):
    supplier = _connected_or_404(supplier_id)
    if not ConfirmForm().validate_on_submit():
        flash(translate("The form expired; please try again."), "error")
    else:
        report = sync_supplier(supplier.id)
        if report.error:
            flash(
                translate(
                    "Sync failed: %(error)s. Its goods are off sale until a sync succeeds.",
                    error=report.error,
                ),
                "error",
            )
        else:
            flash(
                translate(
                    "Synced %(count)s offers (%(out)s out of stock, %(repriced)s repriced).",
                    count=report.updated, out=report.out_of_stock, repriced=report.repriced,
                ),
                "success",
            )  # fmt: skip
    target = request.form.get("next") == "upstream"
    endpoint = "platform.upstream_catalog" if target else "platform.edit_supplier"
    return redirect(url_for(endpoint, supplier_id=supplier.id))
