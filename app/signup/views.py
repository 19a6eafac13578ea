"""Apex landing page and /open: a visitor opens a store and lands signed in on its back-office."""

from __future__ import annotations

from flask import current_app, jsonify, make_response, redirect, request

from app.auth.accounts import handoff_token
from app.i18n import translate
from app.referrals import services as referrals
from app.signup.forms import OpenStoreForm
from app.web import ratelimits
from app.web.routing import SiteBlueprint
from app.web.site import render_console
from app.web.urls import tenant_url
from tenants import provisioning

bp = SiteBlueprint("signup", __name__, site="platform")


@bp.get("/")
def landing():
    return render_console("signup/landing.html")


REFERRAL_COOKIE = "kameng_ref"
REFERRAL_COOKIE_DAYS = 30


@bp.route("/open", methods=["GET", "POST"])
@ratelimits.limit("store_signup", methods=["POST"])
def open_store():
    """Open a store. An invite link (`/open?ref=<store>`) remembers the inviting store for a
    month; it becomes the new store's referrer (store referral)."""
    code = request.args.get("ref") or request.cookies.get(REFERRAL_COOKIE)
    referrer = referrals.find_referrer(code)
    form = OpenStoreForm()
    if (
        form.validate_on_submit()
        and (opened := form.open_store(referrer_id=referrer.id if referrer else None)) is not None
    ):
        token = handoff_token(opened.tenant.id, opened.owner_id)
        response = redirect(tenant_url(opened.tenant, f"/admin/welcome?token={token}"))
        response.delete_cookie(REFERRAL_COOKIE)
        return response
    response = make_response(
        render_console(
            "signup/open.html",
            form=form,
            domain=current_app.config["PLATFORM_DOMAIN"],
            referrer=referrer,
        ),
        400 if request.method == "POST" else 200,
    )
    if referrer is not None and request.args.get("ref"):
        response.set_cookie(
            REFERRAL_COOKIE,
            referrer.slug,
            max_age=REFERRAL_COOKIE_DAYS * 86400,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure,
        )
    return response


@bp.get("/open/check")
@ratelimits.limit("slug_check", json=True)
def check_slug():
    """Live availability check for the store address field."""
    slug = (request.args.get("slug") or "").strip().lower()
    problem = provisioning.slug_availability_problem(slug)
    return jsonify(
        slug=slug,
        available=problem is None,
        message=translate(problem) if problem else translate("Available"),
    )
