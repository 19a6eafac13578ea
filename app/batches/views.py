"""`/account/batches` on the storefront: a customer's batch top-ups — new from a file or pasted
lines, the checked draft to confirm, live progress, the results to download."""

from __future__ import annotations

from flask import abort, redirect, request, url_for

from app.audit.web import current_actor
from app.batches import services, web
from app.batches.forms import BatchForm
from app.customers import balance
from app.customers.views import current_customer, customer_login_required
from app.extensions import limiter
from app.storefront.access import order_page_url
from app.web.routing import SiteBlueprint
from app.web.themes import render_theme
from tenants.context import current_tenant

bp = SiteBlueprint("batches", __name__, site="store", url_prefix="/account/batches")


def _store():
    return current_tenant._get_current_object()


def _own(batch_no: str):
    batch = services.find_batch(batch_no, current_customer().id)
    if batch is None:
        abort(404)
    return batch


def _list_page(form: BatchForm, status: int = 200):
    store, customer = _store(), current_customer()
    return render_theme(
        "shop/account/batches.html",
        store=store,
        form=form,
        batches=services.batches_of(customer.id),
        labels=web.labels(),
        balance_cents=balance.balance_cents(store.id, customer.id),
        max_rows=services.max_rows(),
    ), status


@bp.get("")
@customer_login_required
def batches():
    return _list_page(BatchForm())


@bp.post("")
@customer_login_required
@limiter.limit("20 per minute")
def create_batch():
    form = BatchForm()
    if not form.validate_on_submit():
        return _list_page(form, 400)
    customer = current_customer()
    batch = web.draft_from_form(_store(), customer.id, form, actor=current_actor())
    if batch is None:
        return _list_page(form, 400)
    return redirect(url_for("batches.batch", batch_no=batch.batch_no), 303)


def _batch_page(batch, status: int = 200, error: str = ""):
    store = _store()
    return render_theme(
        "shop/account/batch.html",
        store=store,
        error=error,
        progress_url=url_for("batches.batch_progress", batch_no=batch.batch_no),
        order_url=lambda order_no: order_page_url(store, order_no),
        **web.page_context(store, batch),
    ), status


@bp.get("/<batch_no>")
@customer_login_required
def batch(batch_no: str):
    return _batch_page(_own(batch_no))


@bp.post("/<batch_no>/confirm")
@customer_login_required
@limiter.limit("20 per minute")
def confirm_batch(batch_no: str):
    batch = _own(batch_no)  # (CSRF: checked for every POST by CSRFProtect)
    if refused := web.confirm(_store(), batch, request.form, actor=current_actor()):
        return _batch_page(batch, 409, refused)
    return redirect(url_for("batches.batch", batch_no=batch_no), 303)


@bp.post("/<batch_no>/discard")
@customer_login_required
def discard_batch(batch_no: str):
    batch = _own(batch_no)
    if refused := web.discard(batch):
        return _batch_page(batch, 409, refused)
    return redirect(url_for("batches.batches"), 303)


@bp.get("/<batch_no>/progress")
@customer_login_required
def batch_progress(batch_no: str):
    return web.progress_answer(_store(), _own(batch_no))


@bp.get("/<batch_no>/results.<any(csv, xlsx):file_format>")
@customer_login_required
def batch_results(batch_no: str, file_format: str):
    return web.results_file(_own(batch_no), file_format)
