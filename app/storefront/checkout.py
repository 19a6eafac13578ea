"""Checkout (选择商品 → 填写信息 → 支付), the order page with the delivered keys, order lookup."""

from __future__ import annotations

from flask import abort, redirect, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import Email, Length, Optional

from app.extensions import db, limiter
from app.i18n import translate
from app.inventory.models import KeyAccessLog
from app.net import client_ip
from app.orders.models import STATUS_LABELS, Order
from app.orders.services import OrderError, create_order, lookup_orders
from app.payments.services import delivered_keys, start_payment
from app.storefront import catalog
from app.storefront.access import order_page_url, token_matches
from app.storefront.views import bp
from app.web.themes import render_theme
from tenants.context import current_tenant


class CheckoutForm(FlaskForm):
    contact_email = EmailField(_l("E-mail"), validators=[Optional(), Email(), Length(max=254)])
    contact_phone = StringField(_l("Phone"), validators=[Optional(), Length(max=32)])
    query_password = PasswordField(
        _l("Query password (to look the order up later)"), validators=[Optional(), Length(max=64)]
    )


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
    product = catalog.product(store, sku.product_id)
    row = next(s for s in product["skus"] if s["id"] == sku_id)
    return store, product, row, quantity


@bp.route("/checkout", methods=["GET", "POST"])
@limiter.limit("30 per minute", methods=["POST"])
def checkout():
    store, product, row, quantity = _chosen()
    form = CheckoutForm()
    fields = product["input_schema"]
    if form.validate_on_submit():
        account = {f["name"]: request.form.get(f"field_{f['name']}", "").strip() for f in fields}
        try:
            order = create_order(
                store,
                sku_id=row["id"],
                quantity=quantity,
                contact_email=form.contact_email.data or "",
                contact_phone=form.contact_phone.data or "",
                query_password=form.query_password.data or None,
                client_ip=client_ip(),
                account_fields=account,
            )
        except OrderError as error:
            target = getattr(form, error.field, None)
            message = translate(error.message, **error.params)
            if target is not None:
                target.errors.append(message)
            else:  # the SKU, quantity or a top-up account field
                form.form_errors.append(message)
        else:
            return redirect(start_payment(store, order))
    status = 400 if request.method == "POST" else 200
    return render_theme(
        "shop/checkout.html",
        store=store,
        product=product,
        sku=row,
        quantity=quantity,
        total_cents=row["price_cents"] * quantity,
        form=form,
        fields=fields,
    ), status


@bp.get("/order/<order_no>")
@limiter.limit("60 per minute")
def order_page(order_no: str):
    """The buyer's order page (signed link): status, and the keys once delivered."""
    store = current_tenant._get_current_object()
    if not token_matches(store, order_no, request.args.get("t", "")):
        abort(404)
    order = db.session.scalar(select(Order).where(Order.order_no == order_no))
    if order is None:
        abort(404)
    keys = []
    if order.status == "delivered":
        keys = delivered_keys(store, order)
        db.session.add(
            KeyAccessLog(
                actor=f"buyer:{client_ip()}", action="reveal", key_count=len(keys),
                detail=f"order {store.id}:{order_no}",
            )
        )  # fmt: skip
        db.session.commit()
    return render_theme(
        "shop/order.html",
        store=store,
        order=order,
        keys=keys,
        status_label=translate(STATUS_LABELS[order.status]),
    )


class LookupForm(FlaskForm):
    needle = StringField(_l("Order number, e-mail or phone"), validators=[Length(max=254)])
    query_password = PasswordField(_l("Query password"), validators=[Optional(), Length(max=64)])


@bp.route("/lookup", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def lookup():
    """Order lookup: with the query password, links to the matching orders; with an e-mail
    address alone, the links are e-mailed to it. The answer never says whether anything exists."""
    from workers.queue import enqueue

    store = current_tenant._get_current_object()
    form = LookupForm()
    found, notice = None, None
    if form.validate_on_submit():
        needle = (form.needle.data or "").strip()
        if form.query_password.data:
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
        notice=notice,
        status_labels={k: translate(v) for k, v in STATUS_LABELS.items()},
    )
