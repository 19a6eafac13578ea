"""Platform console: the review queues of the supplier portal (applications, cost proposals)."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from sqlalchemy import select

from app.audit.web import current_actor
from app.catalog.models import Sku, Supplier
from app.extensions import db
from app.i18n import translate
from app.platform.views import bp, platform_login_required
from app.supplier_portal import services as portal
from app.supplier_portal.models import SupplierUser
from app.web.site import render_console


@bp.get("/supplier-applications")
@platform_login_required
def supplier_applications():
    queue = portal.waiting_applications()
    emails = dict(
        db.session.execute(
            select(SupplierUser.id, SupplierUser.email).where(
                SupplierUser.id.in_([a.user_id for a in queue])
            )
        ).all()
    )
    return render_console("platform/supplier_applications.html", queue=queue, emails=emails)


@bp.post("/supplier-applications/<int:application_id>")
@platform_login_required
def review_supplier_application(application_id: int):
    decision = request.form.get("decision", "")
    try:
        portal.review_application(
            application_id,
            decision,
            actor=current_actor(),
            reason=request.form.get("reason", ""),
            supplier_name=request.form.get("supplier_name", ""),
        )
    except portal.PortalRefused as refused:
        db.session.rollback()
        flash(translate(refused.message, **refused.params), "error")
    else:
        db.session.commit()
        flash(translate("Application reviewed."), "success")
    return redirect(url_for("platform.supplier_applications"))


@bp.get("/cost-proposals")
@platform_login_required
def cost_proposals():
    queue = portal.waiting_proposals()
    skus = {
        sku.id: sku
        for sku in db.session.scalars(select(Sku).where(Sku.id.in_([p.sku_id for p in queue])))
    }
    suppliers = dict(
        db.session.execute(
            select(Supplier.id, Supplier.name).where(
                Supplier.id.in_([p.supplier_id for p in queue])
            )
        ).all()
    )
    return render_console(
        "platform/cost_proposals.html",
        queue=queue,
        skus=skus,
        suppliers=suppliers,
        lowest={sku_id: portal.lowest_wholesale(sku) for sku_id, sku in skus.items()},
    )


@bp.post("/cost-proposals/<int:proposal_id>")
@platform_login_required
def review_cost_proposal(proposal_id: int):
    try:
        portal.review_proposal(
            proposal_id,
            request.form.get("decision", ""),
            actor=current_actor(),
            reason=request.form.get("reason", ""),
        )
    except portal.PortalRefused as refused:
        db.session.rollback()
        flash(translate(refused.message, **refused.params), "error")
    else:
        db.session.commit()
        flash(translate("Proposal reviewed."), "success")
    return redirect(url_for("platform.cost_proposals"))
