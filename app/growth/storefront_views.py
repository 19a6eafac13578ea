"""Storefront routes of the growth tools: share posters, the referral landing link and the
one-click unsubscribe from marketing e-mail."""

from __future__ import annotations

from flask import abort, redirect, request, send_file

from app.customers import referral
from app.customers.views import current_customer
from app.extensions import csrf, db
from app.growth import services
from app.growth.posters import poster_file
from app.storefront import catalog
from app.storefront.views import bp
from app.web import ratelimits
from app.web.themes import render_theme
from tenants.context import current_tenant


def _store():
    return current_tenant._get_current_object()


def _sharer_code() -> str | None:
    """The signed-in customer's invite code (made on first use), or None for anyone else."""
    customer = current_customer()
    if customer is None:
        return None
    code = referral.invite_code(customer)
    db.session.commit()
    return code


def _send_poster(spec, store):
    response = send_file(poster_file(store.id, spec), mimetype="image/png", max_age=0)
    # A customer's poster carries their code: never kept by a shared cache.
    response.headers["Cache-Control"] = "private, max-age=300"
    return response


@bp.get("/poster.png")
@ratelimits.limit("poster")
def store_poster():
    """The store's share poster; a signed-in customer's carries their invite code."""
    store = _store()
    if not services.has_marketing_tools(store):
        abort(404)
    return _send_poster(services.poster_spec(store, referral_code=_sharer_code()), store)


@bp.get("/p/<int:product_id>/poster.png")
@ratelimits.limit("poster")
def product_poster(product_id: int):
    """A product's share poster (public prices); a signed-in customer's carries their code."""
    store = _store()
    if not services.has_marketing_tools(store):
        abort(404)
    product = catalog.product(store, product_id)
    if product is None:
        abort(404)
    spec = services.poster_spec(store, product=product, referral_code=_sharer_code())
    return _send_poster(spec, store)


@bp.get("/r/<code>")
def referral_landing(code: str):
    """A short invite link (`/r/<code>`, optionally `?to=/p/12`): the referral cookie is set by
    app.customers.views.remember_referrer from `ref`, then on to the page."""
    code = code.strip()[:16]
    target = request.args.get("to", "/")
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = "/"
    response = redirect(target)
    if code.isalnum():
        from app.customers.views import set_referral_cookie

        set_referral_cookie(response, code)
    return response


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058 one-click: mail clients POST without a form of ours
@ratelimits.limit("unsubscribe")
def unsubscribe(token: str):
    """The link in every marketing e-mail: offers off at once, no sign-in needed."""
    from app.growth.mailing import unsubscribe as switch_off
    from app.net import client_ip

    store = _store()
    customer = switch_off(store, token, ip=client_ip())
    if request.method == "POST":
        return ("", 204) if customer is not None else ("", 404)
    return render_theme("shop/unsubscribed.html", store=store, done=customer is not None), (
        200 if customer is not None else 404
    )


@bp.post("/account/marketing")
def marketing_preference():
    """The signed-in customer says yes or no to offers by e-mail (their account page)."""
    from flask import url_for
    from flask_wtf import FlaskForm

    from app.audit.web import current_actor
    from app.growth.mailing import set_opt_in

    customer = current_customer()
    if customer is None:
        abort(403)
    wanted = request.form.get("opt_in") == "1"
    if FlaskForm().validate_on_submit() and set_opt_in(
        _store(), customer, wanted, actor=current_actor()
    ):
        db.session.commit()
    return redirect(url_for("customers.orders"))
