"""Storefront customer accounts: sign-up, sign-in and out, password reset, order history."""

from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField
from wtforms.validators import DataRequired, Length

from app.auth.accounts import sign_in
from app.auth.guards import login_required_for, safe_next
from app.auth.views import add_login_routes, login_rate_limit
from app.customers import balance, levels, referral, services
from app.customers.forms import NewPasswordForm, RegisterForm, ResetRequestForm
from app.customers.models import TOPUP_STATUS_LABELS, BalanceTopup, Customer
from app.extensions import db, limiter
from app.i18n import translate
from app.money import parse_decimal_to_units
from app.net import client_ip
from app.orders.models import STATUS_LABELS
from app.payments.providers import ProviderError, ProviderUnavailable
from app.storefront.access import order_page_url
from app.web import ratelimits
from app.web.routing import SiteBlueprint
from app.web.themes import render_theme
from app.web.urls import tenant_url
from tenants.context import current_tenant, get_current_tenant

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


def current_discount_bp() -> int:
    """The signed-in customer's level discount (0 for guests)."""
    customer = current_customer()
    return levels.customer_level(customer).discount_bp if customer is not None else 0


@bp.after_app_request
def remember_referrer(response):
    """`?ref=<invite code>` on any storefront page: remembered until the visitor signs up."""
    code = request.args.get(referral.COOKIE, "").strip()[:16]
    if code and code.isalnum() and get_current_tenant() is not None:
        set_referral_cookie(response, code)
    return response


def set_referral_cookie(response, code: str) -> None:
    response.set_cookie(
        referral.COOKIE,
        code,
        max_age=referral.COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=request.is_secure,
    )


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
            _record_referrer(customer)
            sign_in(customer)
            return redirect(safe_next(request.args.get("next"), url_for("customers.orders")))
    status = 400 if request.method == "POST" else 200
    return _render("shop/account/register.html", form=form), status


def _record_referrer(customer: Customer) -> None:
    """The inviting customer from the `ref` cookie, if it names one (a bad code is ignored)."""
    referrer = referral.customer_by_code(request.cookies.get(referral.COOKIE))
    if referrer is None:
        return
    try:
        referral.set_referrer(customer, referrer)
    except referral.ReferralError:
        return
    db.session.commit()


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
        picks=_account_picks(store, customer),
        marketing_form=FlaskForm(),
        customer=customer,
        level=levels.customer_level(customer),
        balance_cents=balance.balance_cents(store.id, customer.id),
        history=history,
        links={order.order_no: order_page_url(store, order.order_no) for order in history.orders},
        status_labels={key: translate(label) for key, label in STATUS_LABELS.items()},
    )


def _account_picks(store, customer) -> dict:
    """Buy again and, with the plan's marketing tools, new discounts on what they buy often."""
    from app.growth import recommendations
    from app.storefront.catalog import store_catalog

    view = store_catalog(store, current_discount_bp())
    picks = {"buy_again": recommendations.buy_again(customer.id, view), "deals": []}
    if recommendations.shown_to_everyone(store):
        picks["deals"] = recommendations.new_discounts(customer.id, view)
    return picks


class TopupForm(FlaskForm):
    amount = StringField(_l("Amount"), validators=[DataRequired(), Length(max=20)])
    provider = RadioField(_l("Pay with"), validate_choice=True)


@bp.route("/balance", methods=["GET", "POST"])
@customer_login_required
@ratelimits.limit("balance_topup", methods=["POST"])
def balance_page():
    """The customer's balance: top up, the statement with its running balance, the level and the
    invite link."""
    from app.storefront.checkout import provider_choices

    store = _store()
    customer = current_customer()
    form = TopupForm()
    form.provider.choices = provider_choices(store)
    if form.provider.data is None and form.provider.choices:
        form.provider.data = form.provider.choices[0][0]
    amount_cents = parse_decimal_to_units(form.amount.data or "")
    if form.validate_on_submit() and amount_cents is None:
        form.amount.errors.append(translate("Enter an amount such as 50 or 99.90."))
    elif form.validate_on_submit():
        try:
            topup, payment = balance.start_topup(
                store,
                customer,
                amount_cents,
                form.provider.data,
                return_url=tenant_url(store, "/account/balance"),
                client_ip=client_ip(),
                mobile="Mobile" in request.headers.get("User-Agent", ""),
            )
        except balance.BalanceError as error:
            form.amount.errors.append(translate(error.message, **error.params))
        except (ProviderError, ProviderUnavailable):
            form.provider.errors.append(translate("The payment could not be started."))
        else:
            if payment.checkout_kind == "qr":
                return redirect(url_for("customers.topup_qr", topup_no=topup.topup_no))
            return redirect(payment.checkout_payload)
    code = referral.invite_code(customer)
    db.session.commit()
    level = levels.customer_level(customer)
    status = 400 if request.method == "POST" else 200
    return _render(
        "shop/account/balance.html",
        customer=customer,
        form=form,
        balance_cents=balance.balance_cents(store.id, customer.id),
        lines=balance.statement(store.id, customer.id)[:200],
        topups=balance.topups_of(customer.id),
        topup_labels={k: translate(v) for k, v in TOPUP_STATUS_LABELS.items()},
        level=level,
        level_label=translate(level.label),
        levels=[(lv, translate(lv.label)) for lv in levels.levels()],
        percent=levels.percent,
        invite_url=tenant_url(store, f"/account/register?ref={code}"),
        posters=_posters_on(store),
        invite_code=code,
        invitees=len(referral.invitees(customer.id)),
        referral_percent=levels.percent(referral.referral_bp()),
    ), status


def _posters_on(store) -> bool:
    from app.growth.services import has_marketing_tools

    return has_marketing_tools(store)


@bp.get("/balance/topup/<topup_no>")
@customer_login_required
def topup_qr(topup_no: str):
    """Scan to pay a top-up (WeChat Native); the page links back to the balance."""
    from markupsafe import Markup
    from sqlalchemy import select

    from app.payments.models import Payment
    from app.storefront.qr import qr_svg

    customer = current_customer()
    topup = db.session.scalar(select(BalanceTopup).where(BalanceTopup.topup_no == topup_no))
    if topup is None or topup.customer_id != customer.id or not topup.payment_no:
        abort(404)
    payment = db.session.scalar(select(Payment).where(Payment.payment_no == topup.payment_no))
    if payment is None or payment.checkout_kind != "qr":
        abort(404)
    return _render(
        "shop/account/topup_qr.html", topup=topup, qr_svg=Markup(qr_svg(payment.checkout_payload))
    )
