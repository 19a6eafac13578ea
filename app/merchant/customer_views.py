"""The store's customers (CRM, for plans with `crm`): list and search, detail, tags and notes,
balance adjustments, block and unblock, CSV export; and the customer levels and referral rate."""

from __future__ import annotations

import csv
import io
from functools import wraps

from flask import Response, abort, flash, redirect, request, stream_with_context, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.audit.services import record
from app.audit.web import current_actor
from app.billing.entitlements import entitled
from app.customers import balance, crm, levels, referral
from app.customers.models import LEVEL_LABELS
from app.customers.services import order_history
from app.extensions import db
from app.i18n import N_, translate
from app.masking import mask_contact, mask_email
from app.merchant.permissions import may, requires
from app.merchant.views import bp
from app.money import parse_decimal_to_units
from app.orders.models import STATUS_LABELS
from app.privacy import services as privacy
from app.web.site import render_console
from app.web.urls import tenant_url
from tenants.context import current_tenant, tenant_context

PER_PAGE = 50
AMOUNT_EXAMPLE = N_("Enter an amount such as 500 or 99.90.")
RATE_RANGE = N_("A referral commission is from 0 to 30 percent.")


def _store():
    return current_tenant._get_current_object()


def _page(template: str, **context):
    store = _store()
    return render_console(template, store=store, storefront_url=tenant_url(store, "/"), **context)


def crm_required(view):
    """CRM pages need a plan with `crm`; without it, the upgrade prompt (402)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not entitled(_store(), "crm"):
            return _page("merchant/customers_upgrade.html"), 402
        return view(*args, **kwargs)

    return wrapper


def _customer_or_404(customer_id: int):
    customer = crm.customer_or_none(customer_id)  # the bound store's table: others' ids miss
    if customer is None:
        abort(404)
    return customer


class ProfileForm(FlaskForm):
    tags = StringField(_l("Tags (comma-separated)"), validators=[Optional(), Length(max=300)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=4000)])


class AdjustmentForm(FlaskForm):
    amount = StringField(
        _l("Amount (negative to deduct)"), validators=[DataRequired(), Length(max=20)]
    )
    reason = StringField(_l("Reason"), validators=[DataRequired(), Length(max=500)])


class ActionForm(FlaskForm):
    pass


@bp.get("/customers")
@requires("view_customers")
@crm_required
def customers():
    criteria = crm.CustomerFilter.from_args(request.args)
    page = max(request.args.get("page", 1, type=int), 1)
    statement = crm.filtered(criteria)
    total = db.session.scalar(select(func.count()).select_from(statement.subquery()))
    rows = db.session.scalars(
        statement.order_by(crm.Customer.id.desc()).offset((page - 1) * PER_PAGE).limit(PER_PAGE)
    ).all()
    store = _store()
    table = levels.levels()
    return _page(
        "merchant/customers.html",
        customers=rows,
        total=total,
        page=page,
        pages=max((total + PER_PAGE - 1) // PER_PAGE, 1),
        criteria=criteria,
        args=criteria.as_args(),
        level_of={c.id: levels.level_for(c.paid_spend_cents, table) for c in rows},
        balance_of={c.id: balance.balance_cents(store.id, c.id) for c in rows},
        level_labels={k: translate(v) for k, v in LEVEL_LABELS.items()},
        mask_email=mask_email,
    )


@bp.get("/customers.csv")
@requires("export_orders")
@crm_required
def customers_csv():
    store = _store()
    criteria = crm.CustomerFilter.from_args(request.args)
    record(
        "customer.exported",
        actor=current_actor(),
        tenant_id=store.id,
        target="customers",
        after=criteria.as_args(),
    )
    db.session.commit()

    def lines():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        with tenant_context(store):  # streamed after the view returned: bind the store again
            for row in crm.export_rows(criteria, store.id):
                writer.writerow(row)
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()

    return Response(
        stream_with_context(lines()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="customers-{store.slug}.csv"'},
    )


@bp.route("/customers/<int:customer_id>", methods=["GET", "POST"])
@requires("view_customers")
@crm_required
def customer_detail(customer_id: int):
    """One customer whole; the POST saves tags and notes."""
    store = _store()
    customer = _customer_or_404(customer_id)
    form = ProfileForm(
        data={"tags": ", ".join(customer.tag_list), "notes": customer.notes}
        if request.method == "GET"
        else None
    )
    if request.method == "POST" and not may("manage_customers"):
        abort(403)
    if form.validate_on_submit():
        try:
            crm.update_profile(
                customer,
                tags=form.tags.data or "",
                notes=form.notes.data or "",
                actor=current_actor(),
                tenant_id=store.id,
            )
        except crm.CrmError as error:
            db.session.rollback()
            getattr(form, error.field).errors.append(translate(error.message))
        else:
            db.session.commit()
            flash(translate("Saved."), "success")
            return redirect(url_for("merchant.customer_detail", customer_id=customer.id))
    return _detail(customer, form=form), 400 if form.errors else 200


def _detail(customer, *, form=None, adjustment=None):
    store = _store()
    level = levels.customer_level(customer)
    referrer = crm.customer_or_none(customer.referrer_id) if customer.referrer_id else None
    return _page(
        "merchant/customer.html",
        customer=customer,
        form=form
        or ProfileForm(data={"tags": ", ".join(customer.tag_list), "notes": customer.notes}),
        adjustment=adjustment or AdjustmentForm(formdata=None),
        action_form=ActionForm(),
        history=order_history(customer.id, request.args.get("page", 1, type=int)),
        status_labels={k: translate(v) for k, v in STATUS_LABELS.items()},
        balance_cents=balance.balance_cents(store.id, customer.id),
        lines=balance.statement(store.id, customer.id)[:200],
        level=level,
        level_label=translate(level.label),
        referrer=referrer,
        invitees=referral.invitees(customer.id),
        mask_email=mask_email,
        # The customer's own page: contacts in full for staff whose role may see them.
        contact=(lambda value: value or "") if may("view_contacts") else mask_contact,
        deletion=privacy.open_request(customer.id),
    )


@bp.post("/customers/<int:customer_id>/adjust")
@requires("adjust_balances")
@crm_required
def customer_adjust(customer_id: int):
    """Credit or debit the balance by hand, with a reason (store-funded, audited)."""
    store = _store()
    customer = _customer_or_404(customer_id)
    form = AdjustmentForm()
    amount = parse_decimal_to_units(form.amount.data or "")
    if form.validate_on_submit() and amount is None:
        form.amount.errors.append(translate("Enter an amount such as 50 or -12.50."))
    elif form.validate_on_submit():
        try:
            balance.adjust(
                store, customer.id, amount, reason=form.reason.data, actor=current_actor()
            )
        except balance.BalanceError as error:
            form.amount.errors.append(translate(error.message, **error.params))
        else:
            flash(translate("Balance adjusted."), "success")
            return redirect(url_for("merchant.customer_detail", customer_id=customer.id))
    return _detail(customer, adjustment=form), 400


@bp.post("/customers/<int:customer_id>/block")
@requires("manage_customers")
@crm_required
def customer_block(customer_id: int):
    store = _store()
    customer = _customer_or_404(customer_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    blocked = request.form.get("blocked") == "1"
    crm.set_blocked(customer, blocked, actor=current_actor(), tenant_id=store.id)
    db.session.commit()
    flash(
        translate("Customer blocked.") if blocked else translate("Customer unblocked."), "success"
    )
    return redirect(url_for("merchant.customer_detail", customer_id=customer.id))


# -- customer levels and referral (every plan) ---------------------------------------------------


class ProgramForm(FlaskForm):
    referral_percent = StringField(
        _l("Referral commission (percent of the invitee's order)"),
        validators=[InputRequired(), Length(max=10)],
    )


for _code in levels.DEFAULT_LEVELS:
    setattr(
        ProgramForm,
        f"{_code}_threshold",
        StringField(validators=[InputRequired(), Length(max=20)]),
    )
    setattr(
        ProgramForm,
        f"{_code}_discount",
        IntegerField(validators=[InputRequired(), NumberRange(min=0, max=levels.MAX_DISCOUNT_BP)]),
    )


@bp.route("/settings/customers", methods=["GET", "POST"])
@requires("manage_settings")
def customer_program():
    """Customer levels (thresholds, discounts in basis points) and the referral commission."""
    store = _store()
    current = {lv.code: lv for lv in levels.levels()}
    data = {"referral_percent": levels.percent(referral.referral_bp())}
    for code, level in current.items():
        data[f"{code}_threshold"] = f"{level.threshold_cents / 100:.2f}"
        data[f"{code}_discount"] = level.discount_bp
    form = ProgramForm(data=data if request.method == "GET" else None)
    if form.validate_on_submit():
        values, problem = {}, None
        for code in levels.DEFAULT_LEVELS:
            cents = parse_decimal_to_units(getattr(form, f"{code}_threshold").data or "")
            if cents is None or cents < 0:
                problem = problem or (f"{code}_threshold", AMOUNT_EXAMPLE)
                continue
            values[code] = (cents, getattr(form, f"{code}_discount").data)
        rate = parse_decimal_to_units(form.referral_percent.data or "", 2)
        try:
            if problem:
                raise levels.LevelError(*problem)
            if rate is None:
                raise referral.ReferralError(RATE_RANGE)
            before = {
                "levels": {c: [lv.threshold_cents, lv.discount_bp] for c, lv in current.items()},
                "referral_bp": referral.referral_bp(),
            }
            levels.save_levels(values)
            referral.set_referral_bp(rate)
            record(
                "customer.program_updated",
                actor=current_actor(),
                tenant_id=store.id,
                target="customer_program",
                before=before,
                after={"levels": {k: list(v) for k, v in values.items()}, "referral_bp": rate},
            )
        except (levels.LevelError, referral.ReferralError) as error:
            db.session.rollback()
            field = getattr(error, "field", "referral_percent")
            getattr(form, field).errors.append(translate(error.message))
        else:
            db.session.commit()
            flash(translate("Settings saved."), "success")
            return redirect(url_for("merchant.customer_program"))
    return _page(
        "merchant/customer_program.html",
        form=form,
        codes=list(levels.DEFAULT_LEVELS),
        level_labels={k: translate(v) for k, v in LEVEL_LABELS.items()},
    ), 400 if form.errors else 200
