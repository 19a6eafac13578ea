"""The store's catalog page: shared products with wholesale and retail side by side, markup rules
at every level with a live preview, and the store's own listing choices."""

from __future__ import annotations

from flask import flash, jsonify, redirect, request, url_for

from app.audit.web import audit
from app.extensions import db
from app.i18n import N_, translate
from app.merchant.catalog_forms import DeleteRuleForm, ListingForm, RuleForm
from app.merchant.permissions import requires
from app.merchant.views import bp
from app.money import parse_decimal_to_units
from app.pricing import services as pricing
from app.web.site import render_console
from app.web.urls import tenant_url
from tenants.context import current_tenant


def _store():
    return current_tenant._get_current_object()


def _rule_arguments(source) -> dict:
    """Scope, target, kind, value (basis points or cents) and rounding from form or query data."""
    kind = source.get("kind", "percent")
    units = parse_decimal_to_units(source.get("value", ""), 2)
    if units is None:
        raise pricing.PricingError("value", N_("Enter a number such as 15 or 2.50."))
    try:
        target_id = int(source.get("target_id") or 0)
    except ValueError:
        raise pricing.PricingError(
            "target_id", N_("This item does not exist in the catalog.")
        ) from None
    return {
        "scope": source.get("scope", ""),
        "target_id": target_id,
        "kind": kind,
        "value": units,
        "rounding": source.get("rounding", "none"),
    }


def _rule_values(scope: str, target_id: int) -> dict | None:
    """The markup rule at this level as the audit log shows it (None: there is none)."""
    target_id = 0 if scope == "store" else target_id
    for rule in pricing.list_rules():
        if rule.scope == scope and rule.target_id == target_id:
            return {"kind": rule.kind, "value": rule.value, "rounding": rule.rounding}
    return None


@bp.get("/catalog")
@requires("view_catalog")
def catalog():
    store = _store()
    rules = {(r.scope, r.target_id): r for r in pricing.list_rules()}
    return render_console(
        "merchant/catalog.html",
        store=store,
        storefront_url=tenant_url(store, "/"),
        overview=pricing.store_catalog_overview(store),
        rules=rules,
        rule_form=RuleForm(),
        delete_form=DeleteRuleForm(),
        listing_form=ListingForm(),
    )


@bp.post("/catalog/rules")
@requires("manage_catalog")
def save_rule():
    form = RuleForm()
    if not form.validate_on_submit():
        flash(translate("Enter a number such as 15 or 2.50."), "error")
        return redirect(url_for("merchant.catalog"))
    try:
        arguments = _rule_arguments(request.form)
        before = _rule_values(arguments["scope"], arguments["target_id"])
        rule = pricing.save_rule(_store(), **arguments)
    except pricing.PricingError as error:
        flash(translate(error.message, **error.params), "error")
    else:
        audit(
            "price_rule.save", target=f"price_rule:{rule.scope}:{rule.target_id}",
            before=before, after=_rule_values(rule.scope, rule.target_id),
        )  # fmt: skip
        db.session.commit()
        flash(translate("Markup saved; your prices are updated."), "success")
    return redirect(url_for("merchant.catalog"))


@bp.post("/catalog/rules/delete")
@requires("manage_catalog")
def delete_rule():
    form = DeleteRuleForm()
    if form.validate_on_submit():
        try:
            target_id = int(form.target_id.data or 0)
        except ValueError:
            target_id = -1
        before = _rule_values(form.scope.data, target_id)
        if pricing.delete_rule(_store(), form.scope.data, target_id):
            audit(
                "price_rule.delete", target=f"price_rule:{form.scope.data}:{target_id}",
                before=before,
            )  # fmt: skip
            db.session.commit()
            flash(translate("Markup removed."), "success")
    return redirect(url_for("merchant.catalog"))


@bp.get("/catalog/rules/preview")
@requires("manage_catalog")
def preview_rule():
    """Live preview for the rule editor: what each affected SKU would cost."""
    try:
        lines = pricing.preview_rule(_store(), **_rule_arguments(request.args))
    except pricing.PricingError as error:
        return jsonify(ok=False, error=translate(error.message, **error.params)), 400
    return jsonify(
        ok=all(line.shortfall_cents == 0 for line in lines),
        lines=[
            {
                "code": line.code,
                "name": line.name,
                "wholesale_cents": line.wholesale_cents,
                "retail_cents": line.retail_cents,
                "below_wholesale": line.shortfall_cents > 0,
            }
            for line in lines[:200]
        ],
        count=len(lines),
    )


@bp.post("/catalog/products/<int:product_id>")
@requires("manage_catalog")
def save_listing(product_id: int):
    form = ListingForm()
    if not form.validate_on_submit():
        flash(translate("Please check the listing fields."), "error")
        return redirect(url_for("merchant.catalog"))
    after = {
        "is_hidden": bool(form.is_hidden.data),
        "title": form.title.data or "",
        "description": form.description.data or "",
        "position": form.position.data,
    }
    try:
        pricing.save_listing(_store(), product_id, **after)
    except pricing.PricingError as error:
        flash(translate(error.message, **error.params), "error")
    else:
        audit("listing.save", target=f"product:{product_id}", after=after)
        db.session.commit()
        flash(translate("Listing saved."), "success")
    return redirect(url_for("merchant.catalog") + f"#product-{product_id}")
