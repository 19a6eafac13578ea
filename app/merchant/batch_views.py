"""`/admin/batches`: batch top-ups in the back-office — every batch of the store, and staff
with `run_batches` running one for a customer, paid from that customer's balance."""

from __future__ import annotations

from flask import abort, redirect, request, url_for

from app.audit.web import current_actor
from app.batches import services, web
from app.batches.forms import StaffBatchForm
from app.customers import crm
from app.customers.models import Customer
from app.customers.services import find_customer
from app.extensions import db
from app.i18n import translate
from app.merchant.permissions import requires
from app.merchant.views import bp
from app.web.site import render_console
from app.web.urls import tenant_url
from tenants.context import current_tenant


def _store():
    return current_tenant._get_current_object()


def _page(template: str, status: int = 200, **context):
    store = _store()
    return render_console(
        template,
        store=store,
        storefront_url=tenant_url(store, "/"),
        mask_email=crm.mask_email,
        **context,
    ), status


def _batch_or_404(batch_no: str):
    batch = services.find_batch(batch_no)
    if batch is None:
        abort(404)
    return batch


@bp.get("/batches")
@requires("view_orders")
def batches():
    found = services.batches_of(before_id=request.args.get("before", type=int))
    customers = {
        c.id: c
        for c in db.session.query(Customer).filter(Customer.id.in_({b.customer_id for b in found}))
    }
    return _page(
        "merchant/batches.html",
        batches=found,
        customers=customers,
        labels=web.labels(),
        more=len(found) == 50,
    )


def _new_page(form: StaffBatchForm, status: int = 200):
    return _page("merchant/batch_new.html", status, form=form, max_rows=services.max_rows())


@bp.route("/batches/new", methods=["GET", "POST"])
@requires("run_batches")
def new_batch():
    form = StaffBatchForm()
    if request.method == "GET" and request.args.get("customer", type=int):
        customer = db.session.get(Customer, request.args.get("customer", type=int))
        if customer is not None:
            form.customer_email.data = customer.email
    if not form.validate_on_submit():
        return _new_page(form, 400 if request.method == "POST" else 200)
    customer = find_customer(form.customer_email.data)
    if customer is None:
        form.customer_email.errors.append(translate("No customer has this e-mail address."))
        return _new_page(form, 400)
    actor = current_actor()
    batch = web.draft_from_form(_store(), customer.id, form, actor=actor, created_by=actor.email)
    if batch is None:
        return _new_page(form, 400)
    return redirect(url_for("merchant.batch", batch_no=batch.batch_no), 303)


def _batch_page(batch, status: int = 200, error: str = ""):
    return _page(
        "merchant/batch.html",
        status,
        customer=db.session.get(Customer, batch.customer_id),
        error=error,
        progress_url=url_for("merchant.batch_progress", batch_no=batch.batch_no),
        order_url=lambda order_no: url_for("merchant.order_detail", order_no=order_no),
        **web.page_context(_store(), batch),
    )


@bp.get("/batches/<batch_no>")
@requires("view_orders")
def batch(batch_no: str):
    return _batch_page(_batch_or_404(batch_no))


@bp.post("/batches/<batch_no>/confirm")
@requires("run_batches")
def confirm_batch(batch_no: str):
    batch = _batch_or_404(batch_no)
    if refused := web.confirm(_store(), batch, request.form, actor=current_actor()):
        return _batch_page(batch, 409, refused)
    return redirect(url_for("merchant.batch", batch_no=batch_no), 303)


@bp.post("/batches/<batch_no>/discard")
@requires("run_batches")
def discard_batch(batch_no: str):
    batch = _batch_or_404(batch_no)
    if refused := web.discard(batch):
        return _batch_page(batch, 409, refused)
    return redirect(url_for("merchant.batches"), 303)


@bp.get("/batches/<batch_no>/progress")
@requires("view_orders")
def batch_progress(batch_no: str):
    return web.progress_answer(_store(), _batch_or_404(batch_no))


@bp.get("/batches/<batch_no>/results.<any(csv, xlsx):file_format>")
@requires("view_orders")
def batch_results(batch_no: str, file_format: str):
    return web.results_file(_batch_or_404(batch_no), file_format)
