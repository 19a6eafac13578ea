"""Apex landing page and /open: a visitor opens a store and lands signed in on its back-office."""

from __future__ import annotations

from flask import current_app, jsonify, redirect, request

from app.auth.accounts import handoff_token
from app.extensions import limiter
from app.i18n import translate
from app.signup.forms import OpenStoreForm
from app.web.routing import SiteBlueprint
from app.web.site import render_console
from app.web.urls import tenant_url
from tenants import provisioning

bp = SiteBlueprint("signup", __name__, site="platform")


@bp.get("/")
def landing():
    return render_console("signup/landing.html")


@bp.route("/open", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def open_store():
    form = OpenStoreForm()
    if form.validate_on_submit() and (opened := form.open_store()) is not None:
        token = handoff_token(opened.tenant.id, opened.owner_id)
        return redirect(tenant_url(opened.tenant, f"/admin/welcome?token={token}"))
    return render_console(
        "signup/open.html", form=form, domain=current_app.config["PLATFORM_DOMAIN"]
    ), (400 if request.method == "POST" else 200)


@bp.get("/open/check")
@limiter.limit("60 per minute")
def check_slug():
    """Live availability check for the store address field."""
    slug = (request.args.get("slug") or "").strip().lower()
    problem = provisioning.slug_availability_problem(slug)
    return jsonify(
        slug=slug,
        available=problem is None,
        message=translate(problem) if problem else translate("Available"),
    )
