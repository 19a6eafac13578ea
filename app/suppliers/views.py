"""Supplier callbacks on the platform host: verify, find the top-up by our reference, apply."""

from __future__ import annotations

import logging

from flask import abort, request
from sqlalchemy import select

from app.catalog.models import Supplier
from app.extensions import csrf, db, limiter
from app.fulfilment.models import Topup
from app.fulfilment.services import apply_callback
from app.suppliers.connectors.base import CallbackRequest, SupplierRejected
from app.suppliers.services import connector_for
from app.web.routing import SiteBlueprint
from tenants.context import tenant_context
from tenants.resolver import tenant_by_id

log = logging.getLogger(__name__)
bp = SiteBlueprint("suppliers", __name__, site="platform")


@bp.route("/suppliers/callback/<int:supplier_id>", methods=["GET", "POST"])
@csrf.exempt
@limiter.exempt  # gateways retry from few addresses: never drop them (signed)
def callback(supplier_id: int):
    supplier = db.session.get(Supplier, supplier_id)
    if supplier is None or not supplier.connector:
        abort(404)
    connector = connector_for(supplier_id)
    params = request.args.to_dict()
    params.update(request.form.to_dict())
    incoming = CallbackRequest(
        method=request.method,
        headers={k.lower(): v for k, v in request.headers.items()},
        body=request.get_data(cache=True),
        params=params,
    )
    body, status, content_type = connector.callback_reply
    try:
        result = connector.verify_callback(incoming)
        tenant_id = db.session.scalar(
            select(Topup.tenant_id).where(
                Topup.reference == result.reference, Topup.supplier_id == supplier_id
            )
        )
        if tenant_id is None:
            raise SupplierRejected("unknown reference")
    except SupplierRejected as error:
        log.warning("refused callback from supplier %s: %s", supplier_id, error)
        return "fail", 400, {"Content-Type": "text/plain"}
    db.session.remove()  # the store's session takes over
    with tenant_context(tenant_by_id(tenant_id)):
        try:
            outcome = apply_callback(result)
        finally:
            db.session.remove()
    log.info("supplier %s callback for %s: %s", supplier_id, result.reference, outcome)
    return body, status, {"Content-Type": content_type}
