"""Platform console pages for the shared catalog, suppliers and card-key inventory."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from flask import Response, abort, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from app.catalog import services as catalog
from app.catalog.models import DELIVERY_LABELS, DELIVERY_TYPES, Category, Product, Sku, Supplier
from app.extensions import db
from app.fulfilment.queries import SCORECARD_WINDOWS, scorecards
from app.i18n import N_, translate
from app.inventory import services as inventory
from app.inventory.models import KEY_STATUS_LABELS, CardKey, CardKeyBatch
from app.money import format_money
from app.platform.catalog_forms import (
    PRICE_TIERS,
    CategoryForm,
    ConfirmForm,
    ConnectorChoiceForm,
    ConnectorSettingsForm,
    ExportKeysForm,
    ImportKeysForm,
    OfferForm,
    ProductForm,
    SkuForm,
    SupplierForm,
    connector_settings_form,
    flash_import_report,
)
from app.platform.views import bp, platform_login_required
from app.suppliers import offers
from app.suppliers.connectors import UnknownConnector, connector_class, known_connectors
from app.suppliers.connectors.base import Connector, SupplierTransportError
from app.suppliers.models import SupplierOffer
from app.suppliers.services import SupplierSettingsError, configure_connector, connector_settings
from app.web.site import render_console
from app.web.urls import platform_url

KEYS_PER_PAGE = 50
BATCHES_SHOWN = 100


@bp.app_template_filter("yuan")
def yuan(cents: int | None) -> str:
    """1234 → "12.34": amounts are stored in cents and shown in yuan."""
    if cents is None:
        return ""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(int(cents)), 100)
    return f"{sign}{whole}.{part:02d}"


def _error_to_form(form, error, general: list[str] | None = None) -> None:
    """Show a service refusal next to the field it names, else above the form."""
    message = translate(error.message, **error.params)
    field = getattr(form, getattr(error, "field", ""), None)
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, message]
    elif general is not None:
        general.append(message)
    else:
        flash(message, "error")


def _get_or_404(model, ident: int):
    return db.session.get(model, ident) or abort(404)


def _category_choices(empty_label: str) -> list[SelectChoice]:
    choices = [SelectChoice("", empty_label)]
    for depth, category in catalog.category_tree():
        icon = f"{category.icon} " if category.icon else ""
        choices.append(SelectChoice(category.id, f"{'— ' * depth}{icon}{category.name}"))
    return choices


def _expired():
    flash(translate("The form expired; please try again."), "error")


# -- catalog: categories and the product list ------------------------------------------------------


def _catalog_page(category_form: CategoryForm, status: int = 200):
    query = request.args.get("q", "")
    products = catalog.search_products(query)
    return render_console(
        "platform/catalog/index.html",
        tree=catalog.category_tree(),
        products=products,
        query=query,
        form=category_form,
        confirm_form=ConfirmForm(),
        delivery_labels=DELIVERY_LABELS,
    ), status


def _category_form(**kwargs) -> CategoryForm:
    form = CategoryForm(**kwargs)
    form.parent_id.choices = _category_choices(translate("— Top level —"))
    return form


@bp.get("/catalog")
@platform_login_required
def catalog_home():
    return _catalog_page(_category_form())


def _save_category_from(form: CategoryForm, category: Category | None) -> Category | None:
    """Save the (validated) form; a refusal lands on the form and None is returned."""
    try:
        return catalog.save_category(
            category,
            name=form.name.data,
            parent_id=form.parent_id.data,
            icon=form.icon.data,
            position=form.position.data or 0,
        )
    except catalog.CatalogError as error:
        db.session.rollback()
        _error_to_form(form, error)
        return None


@bp.post("/catalog/categories")
@platform_login_required
def create_category():
    form = _category_form()
    if form.validate_on_submit() and (category := _save_category_from(form, None)) is not None:
        flash(translate("Category %(name)s added.", name=category.name), "success")
        return redirect(url_for("platform.catalog_home"))
    return _catalog_page(form, 400)


@bp.route("/catalog/categories/<int:category_id>", methods=["GET", "POST"])
@platform_login_required
def edit_category(category_id: int):
    category = _get_or_404(Category, category_id)
    form = _category_form(
        data={
            "name": category.name,
            "parent_id": category.parent_id,
            "icon": category.icon,
            "position": category.position,
        }
    )
    if form.validate_on_submit() and _save_category_from(form, category) is not None:
        flash(translate("Category %(name)s saved.", name=category.name), "success")
        return redirect(url_for("platform.catalog_home"))
    status = 400 if form.errors else 200
    return render_console("platform/catalog/category.html", category=category, form=form), status


@bp.post("/catalog/categories/<int:category_id>/delete")
@platform_login_required
def delete_category(category_id: int):
    category = _get_or_404(Category, category_id)
    if not ConfirmForm().validate_on_submit():
        _expired()
        return redirect(url_for("platform.catalog_home"))
    name = category.name
    try:
        catalog.delete_category(category)
    except catalog.CatalogError as error:
        db.session.rollback()
        flash(translate(error.message, **error.params), "error")
    else:
        flash(translate("Category %(name)s deleted.", name=name), "success")
    return redirect(url_for("platform.catalog_home"))


# -- products --------------------------------------------------------------------------------------


def _product_form(**kwargs) -> ProductForm:
    form = ProductForm(**kwargs)
    form.category_id.choices = _category_choices(translate("Choose a category"))
    form.delivery_type.choices = [
        SelectChoice(t, translate(DELIVERY_LABELS[t])) for t in DELIVERY_TYPES
    ]
    return form


def _save_product_from(form: ProductForm, product: Product | None) -> Product | None:
    """The saved product, or None with the errors placed on the form."""
    if form.category_id.data is None:
        form.category_id.errors = [*form.category_id.errors, translate("Choose a category.")]
        return None
    upload = form.image.data
    image = upload.read() if upload and getattr(upload, "filename", "") else None
    try:
        return catalog.save_product(
            product,
            name=form.name.data,
            category_id=form.category_id.data,
            delivery_type=form.delivery_type.data,
            description_md=form.description_md.data or "",
            input_schema=form.parsed_input_schema,
            position=form.position.data or 0,
            image=image,
            is_high_risk=form.is_high_risk.data,
        )
    except catalog.CatalogError as error:
        db.session.rollback()
        _error_to_form(form, error)
        return None


def _product_page(form: ProductForm, product: Product | None, status: int = 200):
    skus = product.skus if product is not None else []
    counts = inventory.stock_counts(sku.id for sku in skus)
    return render_console(
        "platform/catalog/product.html",
        product=product,
        form=form,
        skus=skus,
        counts=counts,
        confirm_form=ConfirmForm(),
        delivery_labels=DELIVERY_LABELS,
    ), status


@bp.route("/catalog/products/new", methods=["GET", "POST"])
@platform_login_required
def new_product():
    form = _product_form(data={"category_id": request.args.get("category", type=int)})
    if form.validate_on_submit():
        product = _save_product_from(form, None)
        if product is not None:
            flash(translate("Product %(name)s created.", name=product.name), "success")
            return redirect(url_for("platform.edit_product", product_id=product.id))
    return _product_page(form, None, 400 if form.errors else 200)


@bp.route("/catalog/products/<int:product_id>", methods=["GET", "POST"])
@platform_login_required
def edit_product(product_id: int):
    product = _get_or_404(Product, product_id)
    schema = product.input_schema or []
    form = _product_form(
        data={
            "name": product.name,
            "category_id": product.category_id,
            "delivery_type": product.delivery_type,
            "description_md": product.description_md,
            "input_schema": json.dumps(schema, ensure_ascii=False, indent=2) if schema else "",
            "position": product.position,
            "is_high_risk": product.is_high_risk,
        }
    )
    if form.validate_on_submit() and _save_product_from(form, product) is not None:
        flash(translate("Product %(name)s saved.", name=product.name), "success")
        return redirect(url_for("platform.edit_product", product_id=product.id))
    return _product_page(form, product, 400 if form.errors else 200)


@bp.post("/catalog/products/<int:product_id>/publish")
@platform_login_required
def publish_product(product_id: int):
    return _set_published(product_id, True)


@bp.post("/catalog/products/<int:product_id>/unpublish")
@platform_login_required
def unpublish_product(product_id: int):
    return _set_published(product_id, False)


def _set_published(product_id: int, published: bool):
    product = _get_or_404(Product, product_id)
    if not ConfirmForm().validate_on_submit():
        _expired()
    else:
        try:
            catalog.set_published(product, published)
        except catalog.CatalogError as error:
            db.session.rollback()
            flash(translate(error.message, **error.params), "error")
        else:
            done = (
                N_("Product %(name)s published.") if published else N_("Product %(name)s hidden.")
            )
            flash(translate(done, name=product.name), "success")
    return redirect(url_for("platform.edit_product", product_id=product_id))


# -- SKUs ------------------------------------------------------------------------------------------


def _sku_form(**kwargs) -> SkuForm:
    form = SkuForm(**kwargs)
    suppliers = db.session.scalars(select(Supplier).order_by(Supplier.name)).all()
    form.supplier_id.choices = [SelectChoice("", translate("Platform stock (default)"))] + [
        SelectChoice(s.id, s.name) for s in suppliers
    ]
    return form


def _sku_page(
    form: SkuForm,
    product: Product,
    sku: Sku | None,
    general: list[str],
    status: int,
    offer_form: OfferForm | None = None,
):
    context = {}
    if sku is not None and product.delivery_type == "direct_topup":
        context = {
            "offers": offers.sku_offers(sku.id),
            "offer_form": offer_form or _offer_form(sku.id, request.args.get("offer", type=int)),
            "confirm_form": ConfirmForm(),
            "breaker_labels": BREAKER_LABELS,
        }
    return render_console(
        "platform/catalog/sku.html",
        product=product,
        sku=sku,
        form=form,
        general_errors=general,
        **context,
    ), status


def _save_sku_from(form: SkuForm, product: Product, sku: Sku | None, general: list[str]):
    try:
        return catalog.save_sku(
            sku,
            product_id=product.id,
            code=form.code.data,
            name=form.name.data,
            face_value_cents=form.face_value_cents.data,
            wholesale_cents=form.wholesale_cents.data,
            cost_cents=form.cost_cents.data,
            min_quantity=form.min_quantity.data,
            max_quantity=form.max_quantity.data,
            is_active=form.is_active.data,
            supplier_id=form.supplier_id.data,
            supplier_sku_code=form.supplier_sku_code.data or "",
            low_stock_threshold=form.low_stock_threshold.data,
            tier_prices=form.tier_prices(),
            daily_quantity_max=form.daily_quantity_max.data,
        )
    except catalog.CatalogError as error:
        db.session.rollback()
        _error_to_form(form, error, general)
        return None


@bp.route("/catalog/products/<int:product_id>/skus/new", methods=["GET", "POST"])
@platform_login_required
def new_sku(product_id: int):
    product = _get_or_404(Product, product_id)
    form = _sku_form()
    general: list[str] = []
    if form.validate_on_submit():
        sku = _save_sku_from(form, product, None, general)
        if sku is not None:
            flash(translate("SKU %(code)s added.", code=sku.code), "success")
            return redirect(url_for("platform.edit_product", product_id=product.id))
    status = 400 if form.errors or general else 200
    return _sku_page(form, product, None, general, status)


def _sku_data(sku: Sku) -> dict:
    data = {
        "code": sku.code,
        "name": sku.name,
        "face_value_cents": str(sku.face_value_cents),
        "wholesale_cents": str(sku.wholesale_cents),
        "cost_cents": str(sku.cost_cents),
        "min_quantity": str(sku.min_quantity),
        "max_quantity": str(sku.max_quantity),
        "low_stock_threshold": str(sku.low_stock_threshold),
        "daily_quantity_max": "" if sku.daily_quantity_max is None else str(sku.daily_quantity_max),
        "supplier_id": sku.supplier_id,
        "supplier_sku_code": sku.supplier_sku_code,
        "is_active": sku.is_active,
    }
    for price in sku.tier_prices:
        if price.tier in PRICE_TIERS:
            data[f"tier_{price.tier}"] = price.wholesale_cents
    return data


@bp.route("/catalog/skus/<int:sku_id>", methods=["GET", "POST"])
@platform_login_required
def edit_sku(sku_id: int):
    sku = _get_or_404(Sku, sku_id)
    product = sku.product
    form = _sku_form(data=_sku_data(sku))
    general: list[str] = []
    if form.validate_on_submit() and _save_sku_from(form, product, sku, general) is not None:
        flash(translate("SKU %(code)s saved.", code=sku.code), "success")
        return redirect(url_for("platform.edit_product", product_id=product.id))
    status = 400 if form.errors or general else 200
    return _sku_page(form, product, sku, general, status)


# -- supplier offers of a direct-top-up SKU --------------------------------------------------------


def _offer_form(sku_id: int, offer_id: int | None = None, **kwargs) -> OfferForm:
    """The add/change form; `offer_id` pre-fills it with that offer of the SKU."""
    if offer_id is not None and "formdata" not in kwargs:
        offer = next((o for o, _ in offers.sku_offers(sku_id) if o.id == offer_id), None)
        if offer is not None:
            kwargs["data"] = {
                "supplier_id": offer.supplier_id,
                "supplier_sku_code": offer.supplier_sku_code,
                "cost": yuan(offer.cost_cents),
                "priority": offer.priority,
            }
    form = OfferForm(**kwargs)
    form.supplier_id.choices = [SelectChoice("", translate("Choose a supplier"))] + [
        SelectChoice(s.id, s.name) for s in offers.connected_suppliers()
    ]
    return form


def _topup_sku_or_404(sku_id: int) -> Sku:
    sku = _get_or_404(Sku, sku_id)
    if sku.product.delivery_type != "direct_topup":
        abort(404)
    return sku


@bp.post("/catalog/skus/<int:sku_id>/offers")
@platform_login_required
def save_sku_offer(sku_id: int):
    sku = _topup_sku_or_404(sku_id)
    form = _offer_form(sku.id)
    if not form.validate_on_submit():
        general = (
            [translate("The form expired; please try again.")] if form.csrf_token.errors else []
        )
        sku_form = _sku_form(formdata=None, data=_sku_data(sku))
        return _sku_page(sku_form, sku.product, sku, general, 400, offer_form=form)
    offers.save_offer(
        sku.id, form.supplier_id.data,
        supplier_sku_code=form.supplier_sku_code.data.strip(),
        cost_cents=form.cost_cents, priority=form.priority.data or 0,
    )  # fmt: skip
    flash(translate("Supplier offer saved."), "success")
    return redirect(url_for("platform.edit_sku", sku_id=sku.id))


@bp.post("/catalog/offers/<int:offer_id>/deactivate")
@platform_login_required
def deactivate_sku_offer(offer_id: int):
    offer = _get_or_404(SupplierOffer, offer_id)
    sku_id = offer.sku_id
    if not ConfirmForm().validate_on_submit():
        _expired()
    else:
        offers.deactivate_offer(offer.id)
        flash(translate("Offer deactivated: top-ups no longer go to it."), "success")
    return redirect(url_for("platform.edit_sku", sku_id=sku_id))


# -- suppliers -------------------------------------------------------------------------------------


def _suppliers_page(
    form: SupplierForm,
    supplier: Supplier | None,
    status: int = 200,
    settings_form: ConnectorSettingsForm | None = None,
    settings_errors: list[str] | None = None,
):
    suppliers = db.session.scalars(select(Supplier).order_by(Supplier.name)).all()
    context = {}
    if supplier is not None:
        context = _connection_context(supplier, settings_form, settings_errors or [])
    return render_console(
        "platform/catalog/suppliers.html",
        suppliers=suppliers,
        supplier=supplier,
        form=form,
        breaker_labels=BREAKER_LABELS,
        **context,
    ), status


BREAKER_LABELS = {
    "closed": N_("Closed: orders flow"),
    "open": N_("Open: skipped after repeated failures"),
    "half_open": N_("Half-open: one probe order allowed"),
}


def _chosen_kind(supplier: Supplier) -> str | None:
    kinds = known_connectors()
    chosen = request.args.get("connector") or supplier.connector
    return chosen if chosen in kinds else (kinds[0] if kinds else None)


def _connector_label(kind: str | None) -> str:
    try:
        return translate(connector_class(kind).label) if kind else ""
    except UnknownConnector:
        return kind  # configured once, its module no longer installed


def _connection_context(
    supplier: Supplier, settings_form: ConnectorSettingsForm | None, errors: list[str]
) -> dict:
    """The supplier's "Connection" section: connector choice, its settings, callback URL,
    breaker and balance."""
    kind = settings_form.connector.kind if settings_form is not None else _chosen_kind(supplier)
    is_current = kind is not None and kind == supplier.connector
    stored = connector_settings(supplier) if is_current else {}
    if settings_form is None and kind is not None:
        settings_form = connector_settings_form(connector_class(kind), stored, formdata=None)
    choice = ConnectorChoiceForm(formdata=None, data={"connector": kind})
    choice.connector.choices = [SelectChoice(k, _connector_label(k)) for k in known_connectors()]
    return {
        "connector_kind": kind,
        "connector_label": _connector_label(kind),
        "current_connector_label": _connector_label(supplier.connector),
        "choice_form": choice,
        "settings_form": settings_form,
        "settings_errors": errors,
        "stored_secrets": {name for name, value in stored.items() if value},
        "callback_url": platform_url(f"/suppliers/callback/{supplier.id}"),
        "lists_catalog": _lists_catalog(supplier.connector),
        "may_change": current_user.role == "owner",
        "confirm_form": ConfirmForm(),
    }


def _lists_catalog(kind: str) -> bool:
    try:
        return bool(kind) and connector_class(kind).catalog is not Connector.catalog
    except UnknownConnector:
        return False


def _save_supplier_from(form: SupplierForm, supplier: Supplier | None) -> Supplier | None:
    try:
        return catalog.save_supplier(
            supplier,
            name=form.name.data,
            status=form.status.data,
            contact_name=form.contact_name.data or "",
            contact_email=form.contact_email.data or "",
            contact_phone=form.contact_phone.data or "",
        )
    except catalog.CatalogError as error:
        db.session.rollback()
        _error_to_form(form, error)
        return None


@bp.route("/suppliers", methods=["GET", "POST"])
@platform_login_required
def suppliers():
    form = SupplierForm()
    if form.validate_on_submit():
        supplier = _save_supplier_from(form, None)
        if supplier is not None:
            flash(translate("Supplier %(name)s added.", name=supplier.name), "success")
            return redirect(url_for("platform.suppliers"))
    return _suppliers_page(form, None, 400 if form.errors else 200)


@bp.route("/suppliers/<int:supplier_id>", methods=["GET", "POST"])
@platform_login_required
def edit_supplier(supplier_id: int):
    supplier = _get_or_404(Supplier, supplier_id)
    form = SupplierForm(obj=supplier)
    if form.validate_on_submit() and _save_supplier_from(form, supplier) is not None:
        flash(translate("Supplier %(name)s saved.", name=supplier.name), "success")
        return redirect(url_for("platform.suppliers"))
    return _suppliers_page(form, supplier, 400 if form.errors else 200)


@bp.post("/suppliers/<int:supplier_id>/connector")
@platform_login_required
def configure_supplier_connector(supplier_id: int):
    """Set how top-ups are ordered from the supplier: platform owners only."""
    if current_user.role != "owner":
        abort(403)
    supplier = _get_or_404(Supplier, supplier_id)
    try:
        connector = connector_class(request.form.get("kind", ""))
    except UnknownConnector:
        abort(400)
    stored = connector_settings(supplier) if supplier.connector == connector.kind else {}
    form = connector_settings_form(connector, stored)
    errors: list[str] = []
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            errors.append(translate("The form expired; please try again."))
        return _suppliers_page(
            SupplierForm(formdata=None, obj=supplier), supplier, 400, form, errors
        )
    try:
        configure_connector(supplier, connector.kind, form.values())
    except SupplierSettingsError as error:
        db.session.rollback()
        _setting_error(form, error.field, "required", errors)
    except ValueError as error:  # the connector refused the settings, e.g. InvalidSettings
        db.session.rollback()
        for name, problem in (getattr(error, "errors", None) or {"": str(error)}).items():
            _setting_error(form, name, problem, errors)
    else:
        offers.refresh_availability()
        flash(translate("Connection to %(name)s saved.", name=supplier.name), "success")
        return redirect(url_for("platform.edit_supplier", supplier_id=supplier.id))
    return _suppliers_page(SupplierForm(formdata=None, obj=supplier), supplier, 400, form, errors)


def _setting_error(form: ConnectorSettingsForm, name: str, problem: str, general: list[str]):
    """Put a refusal next to the setting it names (connectors explain in English)."""
    if problem == "required":
        message = translate("This setting is required.")
    else:
        message = translate("Not accepted: %(problem)s", problem=problem)
    field = form._fields.get(f"setting_{name}")
    if field is not None:
        field.errors = [*field.errors, message]
    else:
        general.append(f"{name}: {message}" if name else message)


@bp.post("/suppliers/<int:supplier_id>/breaker/close")
@platform_login_required
def close_supplier_breaker(supplier_id: int):
    """Route to the supplier again at once, without waiting for a probe: owners only."""
    if current_user.role != "owner":
        abort(403)
    supplier = _get_or_404(Supplier, supplier_id)
    if not ConfirmForm().validate_on_submit():
        _expired()
    else:
        offers.close_breaker(supplier.id)
        flash(
            translate("Breaker closed: top-ups go to %(name)s again.", name=supplier.name),
            "success",
        )
    return redirect(url_for("platform.edit_supplier", supplier_id=supplier_id))


@bp.post("/suppliers/<int:supplier_id>/balance")
@platform_login_required
def check_supplier_balance(supplier_id: int):
    supplier = _get_or_404(Supplier, supplier_id)
    if not ConfirmForm().validate_on_submit():
        _expired()
    elif not supplier.connector:
        flash(translate("Set up the connection first."), "error")
    else:
        try:
            balance_cents = offers.check_balance(supplier.id)
        except SupplierTransportError as error:
            db.session.rollback()
            flash(translate("The supplier did not answer: %(error)s", error=str(error)), "error")
        else:
            flash(
                translate(
                    "Balance at %(name)s: %(amount)s", name=supplier.name,
                    amount=format_money(balance_cents),
                ),
                "success",
            )  # fmt: skip
    return redirect(url_for("platform.edit_supplier", supplier_id=supplier_id))


@bp.get("/suppliers/scorecards")
@platform_login_required
def supplier_scorecards():
    return render_console(
        "platform/catalog/scorecards.html",
        cards=scorecards(),
        windows=SCORECARD_WINDOWS,
        breaker_labels=BREAKER_LABELS,
    )


# -- card-key inventory ----------------------------------------------------------------------------


@bp.get("/inventory")
@platform_login_required
def inventory_home():
    card_skus = db.session.scalars(
        select(Sku)
        .join(Product)
        .where(Product.delivery_type == "card_key")
        .order_by(Product.name, Sku.position, Sku.id)
    ).all()
    counts = inventory.stock_counts(sku.id for sku in card_skus)
    low = [sku for sku in card_skus if counts[sku.id]["available"] < sku.low_stock_threshold]
    return render_console(
        "platform/catalog/low_stock.html", low=low, counts=counts, card_sku_count=len(card_skus)
    )


def _card_key_sku_or_404(sku_id: int) -> Sku:
    sku = _get_or_404(Sku, sku_id)
    if sku.product.delivery_type != "card_key":
        abort(404)
    return sku


def _inventory_page(
    sku: Sku,
    *,
    import_form: ImportKeysForm | None = None,
    export_form: ExportKeysForm | None = None,
    report: inventory.ImportReport | None = None,
    status: int = 200,
):
    page = request.args.get("page", 1, type=int)
    keys = db.paginate(
        select(CardKey).where(CardKey.sku_id == sku.id).order_by(CardKey.id.desc()),
        page=max(page, 1),
        per_page=KEYS_PER_PAGE,
        error_out=False,
    )
    batches = db.session.scalars(
        select(CardKeyBatch)
        .where(CardKeyBatch.sku_id == sku.id)
        .order_by(CardKeyBatch.id.desc())
        .limit(BATCHES_SHOWN)
    ).all()
    return render_console(
        "platform/catalog/inventory.html",
        sku=sku,
        counts=inventory.stock_counts([sku.id])[sku.id],
        keys=keys,
        batches=batches,
        # Fresh forms unless they carry errors: a pasted key is never echoed back after import.
        import_form=import_form or ImportKeysForm(formdata=None),
        export_form=export_form or ExportKeysForm(formdata=None),
        confirm_form=ConfirmForm(),
        report=report,
        key_status_labels=KEY_STATUS_LABELS,
    ), status


@bp.get("/inventory/<int:sku_id>")
@platform_login_required
def sku_inventory(sku_id: int):
    return _inventory_page(_card_key_sku_or_404(sku_id))


@bp.post("/inventory/<int:sku_id>/import")
@platform_login_required
def import_keys(sku_id: int):
    sku = _card_key_sku_or_404(sku_id)
    form = ImportKeysForm()
    if not form.validate_on_submit():
        return _inventory_page(sku, import_form=form, status=400)
    source, origin, filename = form.keys()
    try:
        report = inventory.import_keys(
            sku,
            source,
            separator=form.separator_value(),
            origin=origin,
            filename=filename,
            imported_by=current_user.email,
        )
    except inventory.InventoryError as error:
        db.session.rollback()
        form.refused(error)
        return _inventory_page(sku, import_form=form, status=400)
    flash_import_report(report)
    return _inventory_page(sku, report=report)


@bp.post("/inventory/<int:sku_id>/export")
@platform_login_required
def export_keys(sku_id: int):
    """Clear-text export of unsold keys: platform owners only, with a reason, logged."""
    sku = _card_key_sku_or_404(sku_id)
    if current_user.role != "owner":
        abort(403)
    form = ExportKeysForm()
    if not form.validate_on_submit():
        return _inventory_page(sku, export_form=form, status=400)
    try:
        lines = inventory.export_unsold(sku, current_user.email, form.reason.data or "")
    except inventory.InventoryError as error:
        form.reason.errors = [*form.reason.errors, translate(error.message, **error.params)]
        return _inventory_page(sku, export_form=form, status=400)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Response(
        "".join(lines),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{sku.code}-unsold-{stamp}.csv"',
            "Cache-Control": "no-store",
        },
    )


@bp.post("/inventory/keys/<int:key_id>/void")
@platform_login_required
def void_key(key_id: int):
    sku_id = db.session.scalar(select(CardKey.sku_id).where(CardKey.id == key_id))
    if sku_id is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        _expired()
    elif inventory.void_key(key_id, current_user.email):
        flash(translate("The key was voided."), "success")
    else:
        flash(translate("Only an available key can be voided."), "error")
    return redirect(url_for("platform.sku_inventory", sku_id=sku_id, page=request.args.get("page")))


@bp.post("/inventory/batches/<int:batch_id>/void")
@platform_login_required
def void_batch(batch_id: int):
    batch = _get_or_404(CardKeyBatch, batch_id)
    sku_id = batch.sku_id
    if not ConfirmForm().validate_on_submit():
        _expired()
    else:
        try:
            voided = inventory.void_batch(batch_id, current_user.email)
        except inventory.InventoryError as error:
            db.session.rollback()
            flash(translate(error.message, **error.params), "error")
        else:
            flash(translate("%(count)s keys of the batch voided.", count=voided), "success")
    return redirect(url_for("platform.sku_inventory", sku_id=sku_id))
