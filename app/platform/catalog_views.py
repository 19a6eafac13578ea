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
from app.i18n import N_, translate
from app.inventory import services as inventory
from app.inventory.models import KEY_STATUS_LABELS, CardKey, CardKeyBatch
from app.platform.catalog_forms import (
    PRICE_TIERS,
    CategoryForm,
    ConfirmForm,
    ExportKeysForm,
    ImportKeysForm,
    ProductForm,
    SkuForm,
    SupplierForm,
)
from app.platform.views import bp, platform_login_required
from app.web.site import render_console

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


def _sku_page(form: SkuForm, product: Product, sku: Sku | None, general: list[str], status: int):
    return render_console(
        "platform/catalog/sku.html", product=product, sku=sku, form=form, general_errors=general
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


@bp.route("/catalog/skus/<int:sku_id>", methods=["GET", "POST"])
@platform_login_required
def edit_sku(sku_id: int):
    sku = _get_or_404(Sku, sku_id)
    product = sku.product
    data = {
        "code": sku.code,
        "name": sku.name,
        "face_value_cents": str(sku.face_value_cents),
        "wholesale_cents": str(sku.wholesale_cents),
        "cost_cents": str(sku.cost_cents),
        "min_quantity": str(sku.min_quantity),
        "max_quantity": str(sku.max_quantity),
        "low_stock_threshold": str(sku.low_stock_threshold),
        "supplier_id": sku.supplier_id,
        "supplier_sku_code": sku.supplier_sku_code,
        "is_active": sku.is_active,
    }
    for price in sku.tier_prices:
        if price.tier in PRICE_TIERS:
            data[f"tier_{price.tier}"] = price.wholesale_cents
    form = _sku_form(data=data)
    general: list[str] = []
    if form.validate_on_submit() and _save_sku_from(form, product, sku, general) is not None:
        flash(translate("SKU %(code)s saved.", code=sku.code), "success")
        return redirect(url_for("platform.edit_product", product_id=product.id))
    status = 400 if form.errors or general else 200
    return _sku_page(form, product, sku, general, status)


# -- suppliers -------------------------------------------------------------------------------------


def _suppliers_page(form: SupplierForm, supplier: Supplier | None, status: int = 200):
    suppliers = db.session.scalars(select(Supplier).order_by(Supplier.name)).all()
    return render_console(
        "platform/catalog/suppliers.html", suppliers=suppliers, supplier=supplier, form=form
    ), status


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
    upload = form.file.data
    if upload and upload.filename:
        source, origin, filename = upload.stream, "upload", upload.filename
    else:
        source, origin, filename = form.text.data.splitlines(), "paste", ""
    try:
        report = inventory.import_keys(
            sku,
            source,
            separator=inventory.SEPARATOR_CHOICES[form.separator.data],
            origin=origin,
            filename=filename,
            imported_by=current_user.email,
        )
    except inventory.InventoryError as error:
        db.session.rollback()
        form.text.errors = [*form.text.errors, translate(error.message, **error.params)]
        return _inventory_page(sku, import_form=form, status=400)
    flash(
        translate(
            "Import finished: %(added)s added, %(duplicates)s duplicates, %(invalid)s invalid.",
            added=report.added,
            duplicates=report.duplicates,
            invalid=report.invalid,
        ),
        "success",
    )
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
