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
from tenants.slugs import slug_problem

bp = SiteBlueprint("signup", __name__, site="platform")


@bp.get("/")
def landing():
    return render_console("signup/landing.html")


@bp.route("/open", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def open_store():
    form = OpenStoreForm()
    if form.validate_on_submit():
        try:
            opened = provisioning.create_tenant(
                slug=form.slug.data,
                name=form.name.data,
                owner_email=form.owner_email.data,
                owner_password=form.owner_password.data,
            )
        except provisioning.ProvisioningError as error:
            getattr(form, error.field).errors.append(translate(error.message))
        else:
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
    problem = slug_problem(slug)
    if problem is None and provisioning.get_tenant(slug) is not None:
        problem = "This store address is already taken."
    return jsonify(
        slug=slug,
        available=problem is None,
        message=translate(problem) if problem else translate("Available"),
    )
