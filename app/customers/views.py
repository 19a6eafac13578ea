"""Storefront customer accounts: sign-up, sign-in and out, password reset, order history."""

from __future__ import annotations

from flask import redirect, request, url_for
from flask_login import current_user

from app.auth.accounts import sign_in
from app.auth.guards import login_required_for, safe_next
from app.auth.views import add_login_routes, login_rate_limit
from app.customers import services
from app.customers.forms import NewPasswordForm, RegisterForm, ResetRequestForm
from app.customers.models import Customer
from app.extensions import limiter
from app.i18n import translate
from app.orders.models import STATUS_LABELS
from app.storefront.access import order_page_url
from app.web.routing import SiteBlueprint
from app.web.themes import render_theme
from tenants.context import current_tenant

bp = SiteBlueprint("customers", __name__, site="store", url_prefix="/account")
customer_login_required = login_required_for("customer", "customers.login")


def _store():
    return current_tenant._get_current_object()


def _render(template: str, **context):
    return render_theme(template, store=_store(), **context)


def current_customer() -> Customer | None:
    """The customer signed in on this storefront, or None (a staff session is no customer)."""
    if getattr(current_user, "login_kind", None) != "customer":
        return None
    return current_user._get_current_object()


def _refuse(form, error: services.CustomerError) -> None:
    getattr(form, error.field).errors.append(translate(error.message))


add_login_routes(bp, Customer, "shop/account/login.html", "customers.orders", render=_render)


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, methods=["POST"])
def register():
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            customer = services.register_customer(
                email=form.email.data,
                password=form.password.data,
                name=form.name.data or "",
                phone=form.phone.data or "",
            )
        except services.CustomerError as error:
            _refuse(form, error)
        else:
            sign_in(customer)
            return redirect(safe_next(request.args.get("next"), url_for("customers.orders")))
    status = 400 if request.method == "POST" else 200
    return _render("shop/account/register.html", form=form), status


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, methods=["POST"])
def reset_request():
    """Ask for a reset link by e-mail; the answer never says whether the address has an account."""
    form = ResetRequestForm()
    notice = None
    if form.validate_on_submit():
        services.request_password_reset(_store(), form.email.data)
        notice = translate("If an account uses this address, we have e-mailed it a reset link.")
        form = ResetRequestForm(formdata=None)
    return _render("shop/account/reset_request.html", form=form, notice=notice)


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(login_rate_limit, methods=["POST"])
def reset_password(token: str):
    customer = services.customer_for_reset_token(_store(), token)
    if customer is None:
        return _render("shop/account/reset_password.html", form=None), 400
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            services.reset_password(customer, form.password.data)
        except services.CustomerError as error:
            _refuse(form, error)
        else:
            sign_in(customer)
            return redirect(url_for("customers.orders"))
    status = 400 if request.method == "POST" else 200
    return _render("shop/account/reset_password.html", form=form), status


@bp.get("")
@customer_login_required
def orders():
    """The signed-in customer's orders, newest first, each linking to its (signed) order page."""
    store = _store()
    customer = current_customer()
    history = services.order_history(customer.id, request.args.get("page", 1, type=int))
    return _render(
        "shop/account/orders.html",
        customer=customer,
        history=history,
        links={order.order_no: order_page_url(store, order.order_no) for order in history.orders},
        status_labels={key: translate(label) for key, label in STATUS_LABELS.items()},
    )
