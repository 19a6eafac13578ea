"""Platform console: the risk review queue (anti-money-laundering and platform rules) and the
platform's blacklist, which applies to every store."""

from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select

from app.db import utcnow
from app.extensions import db
from app.orders.models import STATUS_LABELS
from app.platform.views import bp, platform_login_required
from app.risk import reviews
from app.risk import web as risk_web
from app.risk.engine import PLATFORM
from app.risk.forms import BlacklistForm, DecisionForm
from app.web.site import render_console
from tenants.models import Tenant


@bp.get("/risk")
@platform_login_required
def risk_queue():
    queue = reviews.waiting(PLATFORM)
    names = dict(
        db.session.execute(
            select(Tenant.id, Tenant.name).where(Tenant.id.in_({r.tenant_id for r in queue}))
        ).all()
    )
    return render_console(
        "platform/risk.html",
        queue=queue,
        store_names=names,
        entries=reviews.entries(None),
        blacklist_form=BlacklistForm(),
        remove_form=FlaskForm(),
        decide_by=reviews.decide_by,
        now=utcnow(),
    )


@bp.get("/risk/<int:review_id>")
@platform_login_required
def risk_review(review_id: int):
    return render_console(
        "risk/review.html",
        **risk_web.review_page(review_id, queue=PLATFORM),
        form=DecisionForm(),
        action=url_for("platform.decide_risk_review", review_id=review_id),
        back=url_for("platform.risk_queue"),
        layout="platform/_risk_layout.html",
        status_labels=STATUS_LABELS,
        decide_by=reviews.decide_by,
        now=utcnow(),
        may_reject=current_user.role == "owner",
    )


@bp.post("/risk/<int:review_id>")
@platform_login_required
def decide_risk_review(review_id: int):
    """Approve (any platform user) or reject — which refunds, so platform owners only, as with
    refunds from the order page."""
    if request.form.get("decision") == "reject" and current_user.role != "owner":
        abort(403)
    if risk_web.decide(review_id, request.form.get("decision", ""), queue=PLATFORM):
        return redirect(url_for("platform.risk_queue"))
    return redirect(url_for("platform.risk_review", review_id=review_id))


@bp.post("/risk/blacklist")
@platform_login_required
def add_platform_blacklist():
    risk_web.add_to_blacklist(None)
    return redirect(url_for("platform.risk_queue") + "#blacklist")


@bp.post("/risk/blacklist/<int:entry_id>/remove")
@platform_login_required
def remove_platform_blacklist(entry_id: int):
    risk_web.remove_from_blacklist(None, entry_id)
    return redirect(url_for("platform.risk_queue") + "#blacklist")
