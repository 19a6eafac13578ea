"""Order exports from the order list's filters: CSV or XLSX, streamed when small, otherwise
built by a job with a progress page and a download link."""

from __future__ import annotations

import io

from flask import (
    Response,
    abort,
    current_app,
    redirect,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_wtf import FlaskForm

from app.audit.web import current_actor
from app.exports import services
from app.exports.models import EXPORT_FORMATS
from app.extensions import db
from app.merchant.permissions import requires
from app.merchant.views import bp
from app.orders.queries import OrderFilter
from app.web.site import render_console
from app.web.urls import tenant_url
from tenants.context import current_tenant, tenant_context


def _store():
    return current_tenant._get_current_object()


@bp.post("/orders/export")
@requires("export_orders")
def export_orders():
    """Export what the order list shows for the posted filters."""
    store = _store()
    if not FlaskForm().validate_on_submit():
        abort(400)
    file_format = request.form.get("format", "csv")
    if file_format not in EXPORT_FORMATS:
        abort(400)
    criteria = OrderFilter.from_args(request.form)
    timezone = current_app.config["BABEL_DEFAULT_TIMEZONE"]
    total = services.count_orders(criteria, timezone)
    if total > current_app.config["EXPORT_SYNC_MAX_ROWS"]:
        export = services.request_export(store.id, criteria, file_format, actor=current_actor())
        return redirect(url_for("merchant.export_status", token=export.token)), 303
    services.record_download(store.id, current_actor(), criteria, file_format, total)
    db.session.commit()
    name = services.file_name(store.slug, file_format)
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    if file_format == "csv":
        return Response(
            stream_with_context(_streamed(store, criteria, timezone)),
            mimetype=services.CSV_MIME,
            headers=disposition,
        )
    buffer = io.BytesIO()
    services.write_xlsx(services.order_rows(criteria, timezone), buffer)
    buffer.seek(0)
    return send_file(buffer, mimetype=services.XLSX_MIME, as_attachment=True, download_name=name)


def _streamed(store, criteria, timezone):
    """CSV chunks read while the response is sent: the store stays bound until the end."""
    with tenant_context(store):
        yield from services.csv_chunks(services.order_rows(criteria, timezone))


def _export_or_404(token: str):
    export = services.find_export(_store().id, token)
    if export is None:
        abort(404)
    return export


def _state(export) -> dict:
    ready = export.status == "done"
    return {
        "status": export.status,
        "rows_done": export.rows_done,
        "rows_total": export.rows_total,
        "download_url": url_for("merchant.export_download", token=export.token) if ready else None,
    }


@bp.get("/exports/<token>")
@requires("export_orders")
def export_status(token: str):
    store = _store()
    export = _export_or_404(token)
    return render_console(
        "merchant/export.html",
        store=store,
        storefront_url=tenant_url(store, "/"),
        export=export,
        state=_state(export),
    )


@bp.get("/exports/<token>.json")
@requires("export_orders")
def export_progress(token: str):
    return _state(_export_or_404(token)), 200, {"Cache-Control": "no-store"}


@bp.get("/exports/<token>/download")
@requires("export_orders")
def export_download(token: str):
    export = _export_or_404(token)
    path = services.export_path(export)
    if export.status != "done" or not path.is_file():
        abort(404)
    mimetype = services.CSV_MIME if export.file_format == "csv" else services.XLSX_MIME
    return send_file(path, mimetype=mimetype, as_attachment=True, download_name=export.file_name)
