"""Checkout (选择商品 → 填写信息 → 支付), the order page with the delivered keys, order lookup."""

from __future__ import annotations

import logging

from flask import abort, current_app, make_response, redirect, request, session
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy import select
from wtforms import EmailField, PasswordField, RadioField, StringField
from wtforms.validators import Email, Length, Optional

from app.customers import balance, referral
from app.customers.views import current_customer, current_discount_bp
from app.extensions import db
from app.i18n import translate
from app.inventory import services as inventory
from app.inventory.models import KeyAccessLog
from app.merchant.services import checkout_refusal
from app.money import format_money
from app.net import client_ip
from app.orders.models import STATUS_LABELS, Order
from app.orders.services import (
    OrderError,
    create_order,
    expire_order,
    lookup_orders,
    manual_delivery,
)
from app.payments.models import Payment
from app.payments.providers import ProviderError, ProviderUnavailable
from app.payments.services import delivered_keys, offered_providers, start_payment
from app.risk import captcha, device
from app.storefront import catalog
from app.storefront.access import order_page_url, order_token, token_matches
from app.storefront.qr import qr_svg
from app.storefront.views import bp
from app.web import ratelimits
from app.web.themes import render_theme
from app.web.urls import tenant_url
from tenants.context import current_tenant

log = logging.getLogger(__name__)


class CheckoutForm(FlaskForm):
    contact_email = EmailField(_l("E-mail"), validators=[Optional(), Email(), Length(max=254)])
    contact_phone = StringField(_l("Phone"), validators=[Optional(), Length(max=32)])
    query_password = PasswordField(
        _l("Query password (to look the order up later)"), validators=[Optional(), Length(max=64)]
    )
    coupon_code = StringField(_l("Coupon code"), validators=[Optional(), Length(max=40)])
    provider = RadioField(_l("Pay with"), validate_choice=True)


def _chosen():
    """The product, SKU row and quantity the customer chose (from the query string)."""
    store = current_tenant._get_current_object()
    try:
        sku_id = int(request.values.get("sku", ""))
        quantity = int(request.values.get("quantity", "1"))
    except ValueError:
        abort(404)
    sku = catalog.visible_sku(store, sku_id)
    if sku is None:
        abort(404)
    product = catalog.product(store, sku.product_id, discount_bp=current_discount_bp())
    row = next(s for s in product["skus"] if s["id"] == sku_id)
    return store, product, row, quantity


def _device_id() -> str:
    """The buyer's device id from its signed cookie ("" when there is none yet)."""
    return device.from_cookie(request.cookies.get(device.COOKIE), current_app.secret_key)


def _with_device_cookie(response):
    """Give a browser without a (valid) device cookie one: long-lived, first-party, host-only,
    not readable by scripts. Only on checkout pages, which are never cached."""
    response = make_response(response)
    if not _device_id():
        _, value = device.new_cookie(current_app.secret_key)
        response.set_cookie(
            device.COOKIE,
            value,
            max_age=device.MAX_AGE_SECONDS,
            httponly=True,
            samesite="Lax",
            secure=current_app.config["SESSION_COOKIE_SECURE"],
        )
    return response


@bp.route("/checkout", methods=["GET", "POST"])
@ratelimits.limit("checkout", methods=["POST"])
def checkout():
    return _with_device_cookie(_checkout())


def _checkout():
    store, product, row, quantity = _chosen()
    customer = current_customer()  # signed in: their e-mail by default, the order is theirs
    form = CheckoutForm(data={"contact_email": customer.email} if customer else None)
    form.provider.choices = provider_choices(store, customer)
    if form.provider.data is None and form.provider.choices:
        form.provider.data = form.provider.choices[0][0]
    fields = product["input_schema"]
    show_captcha = False
    rules = catalog.store_profile(store)
    asks_password = rules["query_password_policy"] != "off" and customer is None
    guests_refused = customer is None and not rules["guest_checkout"]
    if guests_refused:
        form.form_errors.append(translate("Sign in or create an account to buy in this store."))
    total_cents = row["price_cents"] * quantity
    coupon_preview = None
    if not form.provider.choices:
        form.form_errors.append(translate("This store cannot take payments right now."))
    elif request.form.get("apply_coupon"):  # "apply": show the discount, order nothing yet
        if form.validate_on_submit():
            coupon_preview = _preview_coupon(store, row["id"], quantity, form, customer)
    elif (
        form.validate_on_submit()
        and customer is not None
        and form.provider.data == balance.BALANCE
        and balance.balance_cents(store.id, customer.id, row["currency"]) < total_cents
    ):
        form.provider.errors.append(translate("Your balance does not cover this order."))
    elif form.validate_on_submit() and not guests_refused:
        account = {f["name"]: request.form.get(f"field_{f['name']}", "").strip() for f in fields}
        query_password = (form.query_password.data or "") if asks_password else ""
        refusal = checkout_refusal(
            guest_checkout=rules["guest_checkout"],
            query_password_policy=rules["query_password_policy"],
            is_customer=customer is not None,
            query_password=query_password,
        )
        if refusal is not None:
            field, message = refusal
            (getattr(form, field).errors if field else form.form_errors).append(translate(message))
            return _checkout_page(store, product, row, quantity, form, fields, rules), 400
        try:
            challenge_passed = captcha.solved(session, request.form.get("captcha", ""))
            order = create_order(
                store,
                sku_id=row["id"],
                quantity=quantity,
                contact_email=form.contact_email.data or "",
                contact_phone=form.contact_phone.data or "",
                query_password=query_password or None,
                customer_id=customer.id if customer else None,
                client_ip=client_ip(),
                device_id=_device_id(),
                account_fields=account,
                coupon_code=form.coupon_code.data or "",
                challenge_passed=challenge_passed,
            )
        except OrderError as error:
            show_captcha = error.field == "captcha"
            target = getattr(form, error.field, None)
            message = translate(error.message, **error.params)
            if target is not None:
                target.errors.append(message)
            else:  # the SKU, quantity or a top-up account field
                form.form_errors.append(message)
        else:
            if customer is not None and referral.attribute_first_order(
                customer, request.cookies.get(referral.COOKIE), order.id
            ):
                db.session.commit()
            return _pay(store, order, form.provider.data)
    status = 400 if request.method == "POST" and coupon_preview is None else 200
    if guests_refused and request.method == "POST":
        status = 403
    page = _checkout_page(
        store, product, row, quantity, form, fields, rules, coupon_preview, show_captcha
    )
    return page, status


@bp.get("/captcha.png")
@ratelimits.limit("captcha")
def captcha_picture():
    """The checkout's captcha (asked for by the store's risk rules); a new one on each load."""
    response = make_response(captcha.issue(session))
    response.headers["Content-Type"] = "image/png"
    response.headers["Cache-Control"] = "no-store"
    return response


def _checkout_page(
    store, product, row, quantity, form, fields, rules, coupon_preview=None, show_captcha=False
):
    customer = current_customer()
    return render_theme(
        "shop/checkout.html",
        store=store,
        product=product,
        sku=row,
        quantity=quantity,
        total_cents=coupon_preview.total_cents if coupon_preview else row["price_cents"] * quantity,
        coupon_preview=coupon_preview,
        form=form,
        fields=fields,
        asks_password=rules["query_password_policy"] != "off" and customer is None,
        password_required=rules["query_password_policy"] == "required",
        guests_refused=customer is None and not rules["guest_checkout"],
        show_captcha=show_captcha,
    )


def _preview_coupon(store, sku_id: int, quantity: int, form: CheckoutForm, customer):
    """The discount the typed code would give, or its reason on the field (None)."""
    from app.catalog.models import Sku
    from app.coupons import services as coupons

    if not (form.coupon_code.data or "").strip():
        form.coupon_code.errors.append(translate("Enter a coupon code."))
        return None
    try:
        return coupons.preview(
            store,
            db.session.get(Sku, sku_id),
            quantity,
            form.coupon_code.data,
            contact_email=form.contact_email.data or "",
            contact_phone=form.contact_phone.data or "",
            customer_id=customer.id if customer else None,
        )
    except coupons.CouponError as error:
        form.coupon_code.errors.append(translate(error.message, **error.params))
        return None


def provider_choices(store, customer=None) -> list[tuple[str, str]]:
    """The store's providers; for a signed-in customer, their balance too (last, so the
    default stays a gateway)."""
    from app.payments.providers import provider_class

    choices = [(name, translate(provider_class(name).label)) for name in offered_providers(store)]
    if customer is not None:
        held = balance.balance_cents(store.id, customer.id)
        label = translate("Balance (%(amount)s)", amount=format_money(held))
        choices.append((balance.BALANCE, label))
    return choices


def _pay(store, order: Order, provider_name: str):
    """Open a payment and send the buyer on: to the gateway, or to our page with its QR code.
    If the gateway cannot be reached, back to the order page with the reason. With the
    balance: paid at once, or back to the order page with the reason."""
    if provider_name == balance.BALANCE:
        customer = current_customer()
        try:
            balance.pay_with_balance(store, order.order_no, customer.id if customer else -1)
        except balance.BalanceError as error:
            log.info("balance payment for %s refused: %s", order.order_no, error)
            return redirect(order_page_url(store, order.order_no) + "&balance_error=1")
        return redirect(order_page_url(store, order.order_no))
    try:
        payment = start_payment(
            store,
            order,
            provider_name,
            return_url=order_page_url(store, order.order_no),
            client_ip=client_ip(),
            mobile="Mobile" in request.headers.get("User-Agent", ""),
        )
    except (ProviderError, ProviderUnavailable) as error:
        log.warning(
            "payment for %s at %s failed to start: %s", order.order_no, provider_name, error
        )
        return redirect(order_page_url(store, order.order_no) + "&payment_error=1")
    if payment.checkout_kind == "qr":
        return redirect(
            tenant_url(store, f"/order/{order.order_no}/pay/{payment.payment_no}")
            + f"?t={order_token(store, order.order_no)}"
        )
    return redirect(payment.checkout_payload)


def _signed_order(order_no: str) -> Order:
    store = current_tenant._get_current_object()
    if not token_matches(store, order_no, request.args.get("t", "")):
        abort(404)
    order = db.session.scalar(select(Order).where(Order.order_no == order_no))
    if order is None:
        abort(404)
    if order.status == "pending_payment" and expire_order(store, order, actor="buyer"):
        db.session.commit()  # lazily: the window closed before the periodic job came by
        for item in order.items:
            if item.delivery_type == "card_key":
                inventory.after_stock_change(item.sku_id)
    return order


class PayForm(FlaskForm):
    pass


@bp.get("/order/<order_no>")
@ratelimits.limit("order_page")
def order_page(order_no: str):
    """The buyer's order page (signed link): status, paying, and the keys once delivered."""
    store = current_tenant._get_current_object()
    order = _signed_order(order_no)
    keys = []
    if order.status in ("delivered", "partially_refunded"):
        keys = delivered_keys(store, order)
        db.session.add(
            KeyAccessLog(
                actor=f"buyer:{client_ip()}", action="reveal", key_count=len(keys),
                detail=f"order {store.id}:{order_no}",
            )
        )  # fmt: skip
        db.session.commit()
    manual = [
        (item, manual_delivery(store, item)) for item in order.items if item.manual_delivery_sealed
    ]
    pending = order.status == "pending_payment"
    customer = current_customer()
    owner = customer if customer is not None and customer.id == order.customer_id else None
    return render_theme(
        "shop/order.html",
        store=store,
        order=order,
        keys=keys,
        manual=manual,
        status_label=translate(STATUS_LABELS[order.status]),
        providers=provider_choices(store, owner) if pending else [],
        pay_form=PayForm() if pending else None,
        payment_error=bool(request.args.get("payment_error")),
        balance_error=bool(request.args.get("balance_error")),
        token=request.args["t"],
    )


@bp.post("/order/<order_no>/pay")
@ratelimits.limit("order_pay")
def pay_order(order_no: str):
    """Step 3 again from the order page: pay an unpaid order with the chosen provider."""
    store = current_tenant._get_current_object()
    order = _signed_order(order_no)
    form = PayForm()
    provider_name = request.form.get("provider", "")
    if not form.validate_on_submit() or order.status != "pending_payment":
        return redirect(order_page_url(store, order_no))
    customer = current_customer()
    if provider_name == balance.BALANCE:
        if customer is None or customer.id != order.customer_id:
            abort(403)
    elif provider_name not in offered_providers(store):
        abort(400)
    return _pay(store, order, provider_name)


@bp.get("/order/<order_no>/pay/<payment_no>")
def pay_by_qr(order_no: str, payment_no: str):
    """Scan to pay (WeChat Native): the QR code of the gateway's link; the page polls."""
    store = current_tenant._get_current_object()
    order = _signed_order(order_no)
    payment = db.session.scalar(
        select(Payment).where(
            Payment.payment_no == payment_no,
            Payment.order_no == order_no,
            Payment.tenant_id == store.id,
        )
    )
    if payment is None or payment.checkout_kind != "qr":
        abort(404)
    if order.status != "pending_payment":
        return redirect(order_page_url(store, order_no))
    return render_theme(
        "shop/pay_qr.html",
        store=store,
        order=order,
        payment=payment,
        qr_svg=Markup(qr_svg(payment.checkout_payload)),
        token=request.args["t"],
    )


@bp.get("/order/<order_no>/status")
@ratelimits.limit("order_status", json=True)
def order_status(order_no: str):
    """What the waiting pages poll; never changes anything but a lazy expiry."""
    order = _signed_order(order_no)
    return {"status": order.status}, 200, {"Cache-Control": "no-store"}


def _buy_again_links(store, found) -> dict[str, list[dict]]:
    """For each order found by a lookup, "buy again" links to what the store still sells."""
    from app.growth.recommendations import again_entry

    view = catalog.store_catalog(store, current_discount_bp())
    links = {}
    for order, _url in found:
        entries = [again_entry(view, i.product_id, i.sku_id, i.quantity) for i in order.items]
        links[order.order_no] = [e for e in entries if e is not None]
    return links


class LookupForm(FlaskForm):
    needle = StringField(_l("Order number, e-mail or phone"), validators=[Length(max=254)])
    query_password = PasswordField(_l("Query password"), validators=[Optional(), Length(max=64)])


def _lookup_target() -> str:
    """What a lookup asks about (an order number, e-mail or phone) in this store, whoever asks
    and from wherever: guessing one order's query password from many addresses is limited too.
    Every needle is counted alike, so the limit says nothing about whether it exists."""
    needle = (request.form.get("needle") or "").strip().lower()[:254]
    return f"lookup:{current_tenant.id}:{needle}"


@bp.route("/lookup", methods=["GET", "POST"])
@ratelimits.limit("order_lookup", methods=["POST"])
@ratelimits.limit("order_lookup_target", methods=["POST"], key=_lookup_target)
def lookup():
    """Order lookup: with the query password, links to the matching orders; with an e-mail
    address alone, the links are e-mailed to it. The answer never says whether anything exists."""
    from workers.queue import enqueue

    store = current_tenant._get_current_object()
    form = LookupForm()
    found, notice = None, None
    by_password = catalog.store_profile(store)["query_password_policy"] != "off"
    if form.validate_on_submit():
        needle = (form.needle.data or "").strip()
        if form.query_password.data and by_password:
            found = [
                (order, order_page_url(store, order.order_no))
                for order in lookup_orders(needle, form.query_password.data)
            ]
        elif "@" in needle:
            enqueue(
                "workers.jobs.orders.send_lookup_links",
                needle.lower(),
                tenant_id=store.id,
                queue="notifications",
                job_key=f"lookup-links:{store.id}:{needle.lower()}",
                unique_for=60,
            )
            notice = translate(
                "If orders were placed with this address, we have e-mailed their links."
            )
        else:
            notice = translate("Enter the query password you chose at checkout.")
    return render_theme(
        "shop/lookup.html",
        store=store,
        form=form,
        found=found,
        again=_buy_again_links(store, found or []),
        notice=notice,
        by_password=by_password,
        status_labels={k: translate(v) for k, v in STATUS_LABELS.items()},
    )
