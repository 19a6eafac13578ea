"""Store back-office pages for coupons (/admin/coupons): create, enable/disable, code batches."""

from __future__ import annotations

from datetime import UTC

from flask import Response, abort, flash, redirect, request, url_for
from flask_babel import to_utc
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice

from app.audit.web import current_actor
from app.catalog.models import Category, Product
from app.coupons import services
from app.coupons.forms import CodeBatchForm, CouponForm
from app.coupons.models import SCOPE_LABELS, Coupon
from app.extensions import db
from app.i18n import N_, translate
from app.merchant.permissions import may, requires
from app.merchant.views import bp
from app.money import parse_decimal_to_units
from app.web.site import render_console
from app.web.urls import tenant_url
from tenants.context import current_tenant


def _store():
    return current_tenant._get_current_object()


def _may_change() -> bool:
    return may("manage_coupons")


def _require_change() -> None:
    if not _may_change():
        abort(403)


def _coupon_or_404(coupon_id: int) -> Coupon:
    coupon = db.session.get(Coupon, coupon_id)  # the store's own schema: another store's is absent
    if coupon is None:
        abort(404)
    return coupon


def _render(template: str, status: int = 200, **context):
    store = _store()
    return render_console(
        template, store=store, storefront_url=tenant_url(store, "/"), may_change=_may_change(),
        scope_labels=SCOPE_LABELS, **context,
    ), status  # fmt: skip


def _applies_to_choices() -> list[SelectChoice]:
    choices = [SelectChoice("store", translate("Whole store"))]
    for category in db.session.scalars(select(Category).order_by(Category.position, Category.id)):
        label = translate("Category: %(name)s", name=category.name)
        choices.append(SelectChoice(f"category:{category.id}", label))
    products = db.session.scalars(
        select(Product).where(Product.is_published.is_(True)).order_by(Product.name, Product.id)
    )
    for product in products:
        label = translate("Product: %(name)s", name=product.name)
        choices.append(SelectChoice(f"product:{product.id}", label))
    return choices


def _target_names(coupons: list[Coupon]) -> dict[int, str]:
    names = {}
    for coupon in coupons:
        model = {"category": Category, "product": Product}.get(coupon.scope)
        target = db.session.get(model, coupon.target_id) if model else None
        names[coupon.id] = target.name if target else ""
    return names


def _cents(text: str | None, field: str, *, required: bool = False) -> int | None:
    if not (text or "").strip():
        if required:
            raise services.CouponError(field, N_("Enter a number such as 15 or 2.50."))
        return None
    units = parse_decimal_to_units(text, 2)
    if units is None:
        raise services.CouponError(field, N_("Enter a number such as 15 or 2.50."))
    return units


def _utc(value):
    """A date and time typed in the store's time zone, as an aware UTC datetime."""
    return to_utc(value).replace(tzinfo=UTC) if value else None


def _terms(form: CouponForm) -> services.CouponTerms:
    scope, _, target = (form.applies_to.data or "store").partition(":")
    try:
        target_id = int(target or 0)
    except ValueError:
        raise services.CouponError(
            "applies_to", N_("This item does not exist in the catalog.")
        ) from None
    return services.CouponTerms(
        name=(form.name.data or "").strip(),
        kind=form.kind.data,
        value=_cents(form.value.data, "value", required=True),
        max_discount_cents=_cents(form.max_discount.data, "max_discount"),
        scope=scope,
        target_id=target_id,
        min_spend_cents=_cents(form.min_spend.data, "min_spend") or 0,
        total_limit=form.total_limit.data,
        per_customer_limit=form.per_customer_limit.data,
        starts_at=_utc(form.starts_at.data),
        ends_at=_utc(form.ends_at.data),
        is_first_order_only=bool(form.is_first_order_only.data),
    )


@bp.route("/coupons", methods=["GET", "POST"])
@requires("view_coupons")
def coupons():
    form = CouponForm()
    form.applies_to.choices = _applies_to_choices()
    if form.is_submitted():
        _require_change()
    if form.validate_on_submit():
        try:
            coupon = services.create_coupon(
                _store(), _terms(form), code=form.code.data or "", actor=current_actor()
            )
        except services.CouponError as error:
            db.session.rollback()
            getattr(form, error.field).errors.append(translate(error.message, **error.params))
        else:
            flash(translate("Coupon created."), "success")
            return redirect(url_for("merchant.coupon", coupon_id=coupon.id))
    listed = db.session.scalars(select(Coupon).order_by(Coupon.id.desc())).all()
    status = 400 if form.errors else 200
    return _render(
        "merchant/coupons.html",
        status,
        coupons=listed,
        counts=services.redemption_counts([c.id for c in listed]),
        codes=services.code_summary([c.id for c in listed]),
        targets=_target_names(listed),
        form=form,
    )


def _render_coupon(coupon: Coupon, batch_form: CodeBatchForm | None = None, status: int = 200):
    return _render(
        "merchant/coupon.html",
        status,
        coupon=coupon,
        counts=services.redemption_counts([coupon.id])[coupon.id],
        code_count=services.code_summary([coupon.id])[coupon.id][0],
        codes=services.first_codes(coupon),
        targets=_target_names([coupon]),
        redemptions=services.recent_redemptions(coupon),
        batch_form=batch_form or CodeBatchForm(),
        form=FlaskForm(),
    )


@bp.get("/coupons/<int:coupon_id>")
@requires("view_coupons")
def coupon(coupon_id: int):
    return _render_coupon(_coupon_or_404(coupon_id))


@bp.post("/coupons/<int:coupon_id>/active")
@requires("manage_coupons")
def coupon_set_active(coupon_id: int):
    _require_change()
    coupon = _coupon_or_404(coupon_id)
    if FlaskForm().validate_on_submit():
        wanted = request.form.get("active") == "1"
        services.set_active(_store(), coupon, wanted, actor=current_actor())
        flash(translate("Coupon enabled.") if wanted else translate("Coupon disabled."), "success")
    return redirect(url_for("merchant.coupon", coupon_id=coupon_id))


@bp.post("/coupons/<int:coupon_id>/codes")
@requires("manage_coupons")
def coupon_generate_codes(coupon_id: int):
    _require_change()
    coupon = _coupon_or_404(coupon_id)
    form = CodeBatchForm()
    if form.validate_on_submit():
        try:
            made = services.generate_codes(
                _store(), coupon, form.count.data, max_uses=form.max_uses.data,
                actor=current_actor(),
            )  # fmt: skip
        except services.CouponError as error:
            db.session.rollback()
            getattr(form, error.field).errors.append(translate(error.message, **error.params))
        else:
            flash(translate("%(count)s codes generated.", count=len(made)), "success")
            return redirect(url_for("merchant.coupon", coupon_id=coupon_id))
    return _render_coupon(coupon, form, 400)


@bp.get("/coupons/<int:coupon_id>/codes.csv")
@requires("manage_coupons")
def coupon_codes_csv(coupon_id: int):
    coupon = _coupon_or_404(coupon_id)
    return Response(
        services.codes_csv(coupon),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="coupon-{coupon.id}-codes.csv"',
            "Cache-Control": "no-store",
        },
    )
