"""Catalog rules for the platform: categories, products, SKUs, suppliers, and CSV import.

Every change bumps the catalog cache version after it commits, so storefronts show it on the
very next request.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import markdown
import nh3
from sqlalchemy import func, or_, select

from app.catalog.cache import bump_catalog_version
from app.catalog.models import (
    DEFAULT_TIER,
    DELIVERY_TYPES,
    Category,
    Product,
    Sku,
    SkuTierPrice,
    Supplier,
)
from app.extensions import db
from app.i18n import N_
from app.images import ImageRefused, reencode_image, store_media

SKU_CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
FIELD_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
MAX_INPUT_FIELDS = 5
MAX_IMAGE_BYTES = 2 * 1024 * 1024
MAX_IMAGE_PIXELS = 4000
ALLOWED_TAGS = {
    "p", "br", "strong", "em", "b", "i", "u", "s", "ul", "ol", "li", "a", "code", "pre",
    "blockquote", "h3", "h4", "h5", "hr", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
CSV_COLUMNS = (
    "category",
    "product",
    "delivery_type",
    "sku_code",
    "sku_name",
    "face_value_cents",
    "wholesale_cents",
    "cost_cents",
)
PLATFORM_SUPPLIER_NAME = "Platform stock"


class CatalogError(ValueError):
    """A refused catalog change: `field` is the input at fault, `message` a message id."""

    def __init__(self, field: str, message: str, **params):
        super().__init__(message)
        self.field = field
        self.message = message
        self.params = params


# -- text and images -------------------------------------------------------------------------------


def render_description(source: str) -> str:
    """Markdown to HTML, then sanitised: no scripts, styles, event handlers or foreign schemes."""
    html = markdown.markdown(source or "", extensions=["tables"], output_format="html")
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener noreferrer",
    )


IMAGE_REFUSALS = {
    "size": N_("The image must be at most 2 MB."),
    "format": N_("Use a PNG, JPEG, WebP or GIF image."),
    "pixels": N_("The image must be at most 4000 pixels wide and high."),
    "unreadable": N_("This file is not an image we can read."),
}


def save_image(data: bytes) -> str:
    """Check an uploaded image with Pillow and store a re-encoded copy; returns its media path."""
    try:
        encoded, extension = reencode_image(
            data, max_bytes=MAX_IMAGE_BYTES, max_pixels=MAX_IMAGE_PIXELS
        )
    except ImageRefused as refused:
        raise CatalogError("image", IMAGE_REFUSALS[refused.reason]) from None
    return store_media("catalog", encoded, extension)


def validate_input_schema(fields: object) -> list[dict]:
    """Account fields for direct top-ups: name, label, regex, example (the example must match)."""
    if fields in (None, "", []):
        return []
    if not isinstance(fields, list) or len(fields) > MAX_INPUT_FIELDS:
        raise CatalogError("input_schema", N_("Give at most 5 account fields as a list."))
    cleaned, names = [], set()
    for item in fields:
        if not isinstance(item, dict):
            raise CatalogError(
                "input_schema", N_("Each account field needs name, label, regex and example.")
            )
        name = str(item.get("name", "")).strip()
        label = str(item.get("label", "")).strip()
        pattern = str(item.get("regex", "")).strip()
        example = str(item.get("example", "")).strip()
        if not FIELD_NAME_PATTERN.match(name) or name in names:
            raise CatalogError("input_schema", N_("Field names are unique lower-case identifiers."))
        if not label or len(label) > 40:
            raise CatalogError(
                "input_schema", N_("Each account field needs a label of up to 40 characters.")
            )
        try:
            compiled = re.compile(pattern)
        except re.error:
            raise CatalogError(
                "input_schema",
                N_("The pattern of %(name)s is not a valid regular expression."),
                name=name,
            ) from None
        if not pattern or len(pattern) > 200 or not compiled.fullmatch(example):
            raise CatalogError(
                "input_schema", N_("The example of %(name)s must match its pattern."), name=name
            )
        names.add(name)
        cleaned.append({"name": name, "label": label, "regex": pattern, "example": example})
    return cleaned


# -- suppliers -------------------------------------------------------------------------------------


def platform_supplier() -> Supplier:
    """The platform's own stock, created on first use."""
    supplier = db.session.scalar(select(Supplier).where(Supplier.is_platform.is_(True)))
    if supplier is None:
        supplier = Supplier(name=PLATFORM_SUPPLIER_NAME, is_platform=True)
        db.session.add(supplier)
        db.session.flush()
    return supplier


def save_supplier(
    supplier: Supplier | None,
    *,
    name: str,
    status: str,
    contact_name: str = "",
    contact_email: str = "",
    contact_phone: str = "",
) -> Supplier:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise CatalogError("name", N_("The supplier name must be 1 to 100 characters long."))
    if status not in ("active", "suspended"):
        raise CatalogError("status", N_("Unknown supplier status."))
    clash = db.session.scalar(select(Supplier.id).where(Supplier.name == name))
    if clash is not None and (supplier is None or clash != supplier.id):
        raise CatalogError("name", N_("A supplier with this name exists."))
    if len(contact_name) > 100 or len(contact_email) > 254 or len(contact_phone) > 40:
        raise CatalogError("contact_name", N_("Contact details are too long."))
    supplier = supplier or Supplier()
    supplier.name, supplier.status = name, status
    supplier.contact_name, supplier.contact_email = contact_name.strip(), contact_email.strip()
    supplier.contact_phone = contact_phone.strip()
    db.session.add(supplier)
    db.session.commit()
    bump_catalog_version()
    return supplier


# -- categories ------------------------------------------------------------------------------------


def save_category(
    category: Category | None,
    *,
    name: str,
    parent_id: int | None,
    icon: str = "",
    position: int = 0,
) -> Category:
    name = (name or "").strip()
    if not name or len(name) > 60:
        raise CatalogError("name", N_("The category name must be 1 to 60 characters long."))
    if parent_id is not None:
        parent = db.session.get(Category, parent_id)
        if parent is None:
            raise CatalogError("parent_id", N_("The parent category does not exist."))
        node = parent
        while node is not None:  # no cycles: a category cannot sit under itself
            if category is not None and node.id == category.id:
                raise CatalogError("parent_id", N_("A category cannot be placed under itself."))
            node = node.parent
    category = category or Category()
    category.name, category.parent_id = name, parent_id
    category.icon, category.position = (icon or "").strip()[:40], int(position or 0)
    db.session.add(category)
    db.session.commit()
    bump_catalog_version()
    return category


def delete_category(category: Category) -> None:
    if category.children or category.products:
        raise CatalogError("category", N_("Only an empty category can be deleted."))
    db.session.delete(category)
    db.session.commit()
    bump_catalog_version()


def category_tree() -> list[tuple[int, Category]]:
    """(depth, category) in display order."""
    categories = db.session.scalars(select(Category).order_by(Category.position, Category.id)).all()
    children: dict[int | None, list[Category]] = {}
    for category in categories:
        children.setdefault(category.parent_id, []).append(category)
    ordered: list[tuple[int, Category]] = []

    def walk(parent_id, depth):
        for category in children.get(parent_id, []):
            ordered.append((depth, category))
            walk(category.id, depth + 1)

    walk(None, 0)
    return ordered


def category_by_path(path: str, create: bool = False) -> Category | None:
    """`游戏点卡/腾讯` → that node, created level by level when `create` is set."""
    parent_id = None
    category = None
    for name in [p.strip() for p in path.split("/") if p.strip()]:
        category = db.session.scalar(
            select(Category).where(
                Category.name == name,
                Category.parent_id.is_(parent_id)
                if parent_id is None
                else Category.parent_id == parent_id,
            )
        )
        if category is None:
            if not create:
                return None
            category = Category(name=name[:60], parent_id=parent_id)
            db.session.add(category)
            db.session.flush()
        parent_id = category.id
    return category


# -- products and SKUs -----------------------------------------------------------------------------


def save_product(
    product: Product | None,
    *,
    name: str,
    category_id: int,
    delivery_type: str,
    description_md: str = "",
    input_schema=None,
    position: int = 0,
    image: bytes | None = None,
    is_high_risk: bool | None = None,
) -> Product:
    name = (name or "").strip()
    if not name or len(name) > 120:
        raise CatalogError("name", N_("The product name must be 1 to 120 characters long."))
    if delivery_type not in DELIVERY_TYPES:
        raise CatalogError("delivery_type", N_("Unknown delivery type."))
    if db.session.get(Category, category_id) is None:
        raise CatalogError("category_id", N_("The category does not exist."))
    if len(description_md or "") > 20_000:
        raise CatalogError(
            "description_md", N_("The description must be at most 20000 characters long.")
        )
    schema = validate_input_schema(input_schema)
    if delivery_type == "direct_topup" and not schema and not _imported_from_supplier(product):
        raise CatalogError("input_schema", N_("A direct top-up needs at least one account field."))
    image_path = save_image(image) if image else None
    product = product or Product(is_published=False)
    product.name, product.category_id, product.delivery_type = name, category_id, delivery_type
    product.description_md = description_md or ""
    product.description_html = render_description(product.description_md)
    product.input_schema = schema
    product.position = int(position or 0)
    if is_high_risk is not None:  # None: left as it is
        product.is_high_risk = bool(is_high_risk)
    elif product.is_high_risk is None:
        product.is_high_risk = False
    if image_path:
        product.image_path = image_path
    db.session.add(product)
    db.session.commit()
    bump_catalog_version()
    return product


def _imported_from_supplier(product: Product | None) -> bool:
    """Goods imported from a docked supplier's catalog (app.suppliers.imports) are delivered by
    that supplier, often as card keys, and may ask the buyer for nothing."""
    from app.suppliers.models import SupplierOffer

    if product is None or product.id is None:
        return False
    return (
        db.session.scalar(
            select(SupplierOffer.id)
            .join(Sku, Sku.id == SupplierOffer.sku_id)
            .where(Sku.product_id == product.id, SupplierOffer.wholesale_markup_bp.is_not(None))
            .limit(1)
        )
        is not None
    )


def set_published(product: Product, published: bool) -> None:
    if published and not any(sku.is_active for sku in product.skus):
        raise CatalogError("product", N_("Add an active SKU before publishing."))
    product.is_published = published
    db.session.commit()
    bump_catalog_version()


def _cents(field_name: str, value) -> int:
    try:
        cents = int(str(value).strip())
    except (TypeError, ValueError):
        raise CatalogError(field_name, N_("Enter a whole number of cents.")) from None
    if cents < 0:
        raise CatalogError(field_name, N_("Amounts cannot be negative."))
    if cents > 10**11:
        raise CatalogError(field_name, N_("This amount is too large."))
    return cents


def save_sku(
    sku: Sku | None,
    *,
    product_id: int,
    code: str,
    name: str,
    face_value_cents,
    wholesale_cents,
    cost_cents,
    min_quantity=1,
    max_quantity=100,
    is_active=True,
    supplier_id: int | None = None,
    supplier_sku_code: str = "",
    low_stock_threshold=100,
    tier_prices: dict[str, int] | None = None,
    commit: bool = True,
    daily_quantity_max=None,
) -> Sku:
    code = (code or "").strip()
    name = (name or "").strip()
    if not SKU_CODE_PATTERN.match(code):
        raise CatalogError(
            "code", N_("SKU codes use letters, digits, dots, dashes and underscores (up to 64).")
        )
    clash = db.session.scalar(select(Sku.id).where(Sku.code == code))
    if clash is not None and (sku is None or clash != sku.id):
        raise CatalogError("code", N_("Another SKU already has this code."))
    if not name or len(name) > 120:
        raise CatalogError("name", N_("The SKU name must be 1 to 120 characters long."))
    if db.session.get(Product, product_id) is None:
        raise CatalogError("product_id", N_("The product does not exist."))
    face = _cents("face_value_cents", face_value_cents)
    wholesale = _cents("wholesale_cents", wholesale_cents)
    cost = _cents("cost_cents", cost_cents)
    try:
        low, high, threshold = int(min_quantity), int(max_quantity), int(low_stock_threshold)
    except (TypeError, ValueError):
        raise CatalogError("min_quantity", N_("Quantities are whole numbers.")) from None
    if low < 1 or high < low or high > 10_000:
        raise CatalogError(
            "max_quantity", N_("Quantities must satisfy 1 ≤ minimum ≤ maximum ≤ 10000.")
        )
    if threshold < 0:
        raise CatalogError("low_stock_threshold", N_("The alert threshold cannot be negative."))
    daily_cap = None
    if daily_quantity_max not in (None, ""):
        try:
            daily_cap = int(str(daily_quantity_max).strip())
        except ValueError:
            daily_cap = 0
        if not 1 <= daily_cap <= 1_000_000:
            raise CatalogError(
                "daily_quantity_max",
                N_("Enter a whole number above zero, or leave it empty for no limit."),
            )
    if supplier_id is not None and db.session.get(Supplier, supplier_id) is None:
        raise CatalogError("supplier_id", N_("The supplier does not exist."))
    sku = sku or Sku()
    sku.product_id, sku.code, sku.name = product_id, code, name
    sku.face_value_cents, sku.wholesale_cents, sku.cost_cents = face, wholesale, cost
    sku.min_quantity, sku.max_quantity, sku.is_active = low, high, bool(is_active)
    sku.supplier_id = supplier_id if supplier_id is not None else platform_supplier().id
    sku.supplier_sku_code = (supplier_sku_code or "").strip()[:64]
    sku.low_stock_threshold = threshold
    sku.daily_quantity_max = daily_cap
    for tier, cents in (tier_prices or {}).items():
        set_tier_price(sku, tier, cents)
    db.session.add(sku)
    if commit:
        db.session.commit()
        bump_catalog_version()
    return sku


def set_tier_price(sku: Sku, tier: str, cents) -> None:
    tier = (tier or "").strip().lower()
    if not tier or tier == DEFAULT_TIER:
        sku.wholesale_cents = _cents("wholesale_cents", cents)
        return
    existing = next((p for p in sku.tier_prices if p.tier == tier), None)
    if cents in (None, ""):
        if existing is not None:
            sku.tier_prices.remove(existing)
        return
    cents = _cents(f"tier_{tier}", cents)  # errors name the tier's own field
    if existing is None:
        sku.tier_prices.append(SkuTierPrice(tier=tier, wholesale_cents=cents))
    else:
        existing.wholesale_cents = cents


def search_products(query: str = "", limit: int = 200) -> list[Product]:
    statement = select(Product).order_by(Product.category_id, Product.position, Product.id)
    query = (query or "").strip()
    if query:
        like = f"%{query}%"
        matching_skus = select(Sku.product_id).where(
            or_(Sku.code.ilike(like), Sku.name.ilike(like))
        )
        statement = statement.where(or_(Product.name.ilike(like), Product.id.in_(matching_skus)))
    return list(db.session.scalars(statement.limit(limit)))


def count_products() -> int:
    return db.session.scalar(select(func.count()).select_from(Product)) or 0


# -- CSV import ------------------------------------------------------------------------------------


@dataclass
class CatalogImportReport:
    created: int = 0
    updated: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


def import_catalog_csv(lines: Iterable[str], *, publish: bool = False) -> CatalogImportReport:
    """Create or update SKUs by `sku_code` from CSV rows (header: see CSV_COLUMNS).

    Valid rows commit together in one transaction; rejected rows are reported with the line
    number and the reason and change nothing."""
    reader = csv.reader(lines)
    report = CatalogImportReport()
    header = next(reader, None)
    if header is None or [h.strip().lower() for h in header] != list(CSV_COLUMNS):
        raise CatalogError(
            "file",
            N_("The first line must be the header: %(columns)s"),
            columns=",".join(CSV_COLUMNS),
        )
    touched_products: set[int] = set()
    for row in reader:
        line_no = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(CSV_COLUMNS):
            report.rejected.append((line_no, N_("wrong number of columns")))
            continue
        values = dict(zip(CSV_COLUMNS, (cell.strip() for cell in row), strict=True))
        savepoint = db.session.begin_nested()
        try:
            created = _import_row(values, touched_products)
        except CatalogError as error:
            savepoint.rollback()
            report.rejected.append(
                (line_no, error.message % error.params if error.params else error.message)
            )
            continue
        savepoint.commit()
        if created:
            report.created += 1
        else:
            report.updated += 1
    if publish:
        for product_id in touched_products:
            db.session.get(Product, product_id).is_published = True
    db.session.commit()
    bump_catalog_version()
    return report


def _import_row(values: dict, touched_products: set[int]) -> bool:
    if values["delivery_type"] not in DELIVERY_TYPES:
        raise CatalogError("delivery_type", N_("unknown delivery type"))
    if values["delivery_type"] == "direct_topup":
        raise CatalogError(
            "delivery_type", N_("direct top-ups need account fields: create them in the console")
        )
    if not values["category"] or not values["product"]:
        raise CatalogError("category", N_("category and product are required"))
    for name in ("face_value_cents", "wholesale_cents", "cost_cents"):
        _cents(name, values[name])
    category = category_by_path(values["category"], create=True)
    product = db.session.scalar(
        select(Product).where(Product.category_id == category.id, Product.name == values["product"])
    )
    if product is None:
        product = Product(
            name=values["product"][:120],
            category_id=category.id,
            delivery_type=values["delivery_type"],
            is_published=False,
            input_schema=[],
        )
        db.session.add(product)
        db.session.flush()
    elif product.delivery_type != values["delivery_type"]:
        raise CatalogError("delivery_type", N_("the product exists with another delivery type"))
    sku = db.session.scalar(select(Sku).where(Sku.code == values["sku_code"]))
    created = sku is None
    save_sku(
        sku,
        product_id=product.id,
        code=values["sku_code"],
        name=values["sku_name"],
        face_value_cents=values["face_value_cents"],
        wholesale_cents=values["wholesale_cents"],
        cost_cents=values["cost_cents"],
        min_quantity=sku.min_quantity if sku else 1,
        max_quantity=sku.max_quantity if sku else 100,
        is_active=sku.is_active if sku else True,
        supplier_id=sku.supplier_id if sku else None,
        supplier_sku_code=sku.supplier_sku_code if sku else "",
        low_stock_threshold=sku.low_stock_threshold if sku else 100,
        daily_quantity_max=sku.daily_quantity_max if sku else None,
        commit=False,
    )
    db.session.flush()
    touched_products.add(product.id)
    return created
