"""The platform console's catalog, suppliers and card-key inventory, as an operator uses them."""

from __future__ import annotations

import io
import re
import uuid

import pytest
from sqlalchemy import func, select

APEX = "kameng.test"


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def console(apex, platform_admin):
    """The apex client, signed in to the platform console, reading English."""
    email, password = platform_admin
    assert apex.login_platform(email, password).status_code == 302
    apex.get("/lang/en?next=/")
    return apex


def text(response) -> str:
    return response.get_data(as_text=True)


def lookup(app, statement):
    from app.extensions import db

    with app.app_context():
        return db.session.scalar(statement)


def add_category(console, name: str, parent_id: int | None = None):
    return console.submit(
        "/platform/catalog",
        {"name": name, "parent_id": parent_id or "", "icon": "🎮", "position": "1"},
        action="/platform/catalog/categories",
    )


def category_id(app, name: str) -> int | None:
    from app.catalog.models import Category

    return lookup(app, select(Category.id).where(Category.name == name))


def product_id(app, name: str) -> int | None:
    from app.catalog.models import Product

    return lookup(app, select(Product.id).where(Product.name == name))


def sku_id(app, code: str) -> int | None:
    from app.catalog.models import Sku

    return lookup(app, select(Sku.id).where(Sku.code == code))


def product_data(name: str, category: int, **overrides) -> dict:
    data = {
        "name": name,
        "category_id": str(category),
        "delivery_type": "card_key",
        "description_md": "**Fast** delivery",
        "input_schema": "",
        "position": "0",
    }
    return dict(data, **overrides)


def sku_data(code: str, **overrides) -> dict:
    data = {
        "code": code,
        "name": "100 yuan",
        "face_value_cents": "10000",
        "wholesale_cents": "9650",
        "cost_cents": "9500",
        "min_quantity": "1",
        "max_quantity": "10",
        "low_stock_threshold": "5",
        "supplier_id": "",
        "supplier_sku_code": "",
        "is_active": "y",
        "tier_free": "",
        "tier_pro": "9600",
        "tier_business": "",
    }
    return dict(data, **overrides)


@pytest.fixture
def card_sku(app):
    """A card-key SKU made through the catalog services: (sku id, code)."""
    from app.catalog import services as catalog

    def make(threshold: int = 5) -> tuple[int, str]:
        with app.app_context():
            category = catalog.save_category(None, name=uid("Cards"), parent_id=None)
            product = catalog.save_product(
                None, name=uid("Game card"), category_id=category.id, delivery_type="card_key"
            )
            code = uid("GC").upper()
            sku = catalog.save_sku(
                None,
                product_id=product.id,
                code=code,
                name="50 yuan",
                face_value_cents=5000,
                wholesale_cents=4900,
                cost_cents=4800,
                low_stock_threshold=threshold,
            )
            return sku.id, code

    return make


def stock(app, sku: int) -> dict[str, int]:
    from app.inventory.services import stock_counts

    with app.app_context():
        return stock_counts([sku])[sku]


def paste_keys(console, sku: int, lines: list[str], separator: str = "dashes"):
    return console.submit(
        f"/platform/inventory/{sku}",
        {"text": "\n".join(lines), "separator": separator},
        action=f"/platform/inventory/{sku}/import",
    )


def upload_keys(console, sku: int, data: bytes, filename: str = "keys.txt", separator="none"):
    token = console.csrf_token(f"/platform/inventory/{sku}")
    return console.post(
        f"/platform/inventory/{sku}/import",
        data={
            "csrf_token": token,
            "separator": separator,
            "text": "",
            "file": (io.BytesIO(data), filename),
        },
        content_type="multipart/form-data",
    )


def png_bytes() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


# -- catalog -------------------------------------------------------------------------------------


def test_an_operator_builds_a_product_and_publishes_it_once_it_has_a_sku(app, console):
    category = uid("Game cards")
    assert add_category(console, category).status_code == 302
    cat_id = category_id(app, category)
    child = uid("Tencent")
    assert add_category(console, child, parent_id=cat_id).status_code == 302
    tree = text(console.get("/platform/catalog"))
    assert category in tree and child in tree and "tree-depth-1" in tree

    name = uid("QQ coins")
    created = console.submit(
        "/platform/catalog/products/new", product_data(name, category_id(app, child))
    )
    assert created.status_code == 302
    pid = product_id(app, name)
    assert created.headers["Location"] == f"/platform/catalog/products/{pid}"
    page = text(console.get(f"/platform/catalog/products/{pid}"))
    assert "<strong>Fast</strong> delivery" in page

    refused = console.submit(
        f"/platform/catalog/products/{pid}", {}, action=f"/platform/catalog/products/{pid}/publish"
    )
    assert refused.status_code == 302
    assert "Add an active SKU before publishing." in text(console.get(refused.headers["Location"]))

    code = uid("QQ100").upper()
    added = console.submit(f"/platform/catalog/products/{pid}/skus/new", sku_data(code))
    assert added.status_code == 302
    page = text(console.get(f"/platform/catalog/products/{pid}"))
    assert code in page and "100.00" in page and "96.50" in page and "pro: 96.00" in page

    console.submit(
        f"/platform/catalog/products/{pid}", {}, action=f"/platform/catalog/products/{pid}/publish"
    )
    from app.catalog.models import Product

    assert lookup(app, select(Product.is_published).where(Product.id == pid)) is True

    listing = text(console.get(f"/platform/catalog?q={code}"))
    assert name in listing and child in listing and "Card key" in listing
    assert name not in text(console.get(f"/platform/catalog?q={uid('nothing')}"))


def test_editing_a_sku_keeps_its_tier_prices_until_cleared(app, console, card_sku):
    from app.catalog.models import SkuTierPrice

    sid, code = card_sku()
    form = text(console.get(f"/platform/catalog/skus/{sid}"))
    assert f'value="{code}"' in form
    saved = console.submit(
        f"/platform/catalog/skus/{sid}", sku_data(code, name="50 yuan", tier_business="4700")
    )
    assert saved.status_code == 302
    prices = select(func.count()).select_from(SkuTierPrice).where(SkuTierPrice.sku_id == sid)
    assert lookup(app, prices) == 2
    console.submit(f"/platform/catalog/skus/{sid}", sku_data(code, tier_pro="", tier_business=""))
    assert lookup(app, prices) == 0


def test_bad_sku_inputs_show_the_field_error_and_save_nothing(app, console, card_sku):
    existing_id, existing_code = card_sku()
    from app.catalog.models import Sku

    pid = lookup(app, select(Sku.product_id).where(Sku.id == existing_id))
    page = f"/platform/catalog/products/{pid}/skus/new"

    code = uid("NEG").upper()
    negative = console.submit(page, sku_data(code, face_value_cents="-100"))
    assert negative.status_code == 400
    assert "Amounts cannot be negative." in text(negative)
    assert sku_id(app, code) is None

    duplicate = console.submit(page, sku_data(existing_code))
    assert duplicate.status_code == 400
    assert "Another SKU already has this code." in text(duplicate)
    assert lookup(app, select(func.count()).select_from(Sku).where(Sku.product_id == pid)) == 1

    bad_tier = console.submit(page, sku_data(code, tier_free="-1"))
    assert bad_tier.status_code == 400
    assert re.search(r'has-error">\s*<label for="tier_free"', text(bad_tier))
    assert sku_id(app, code) is None


def test_bad_product_inputs_show_the_field_error_and_create_nothing(app, console):
    category = uid("Top-ups")
    add_category(console, category)
    cat_id = category_id(app, category)

    name = uid("Phone top-up")
    bad_regex = '[{"name": "phone", "label": "Phone", "regex": "([0-9", "example": "1"}]'
    refused = console.submit(
        "/platform/catalog/products/new",
        product_data(name, cat_id, delivery_type="direct_topup", input_schema=bad_regex),
    )
    assert refused.status_code == 400
    assert "The pattern of phone is not a valid regular expression." in text(refused)

    not_json = console.submit(
        "/platform/catalog/products/new",
        product_data(name, cat_id, delivery_type="direct_topup", input_schema="[{name: phone}"),
    )
    assert not_json.status_code == 400
    assert "This is not valid JSON" in text(not_json)

    token = console.csrf_token("/platform/catalog/products/new")
    not_image = console.post(
        "/platform/catalog/products/new",
        data=dict(
            product_data(name, cat_id),
            csrf_token=token,
            image=(io.BytesIO(b"<?php echo 'hi'; ?>"), "cat.png"),
        ),
        content_type="multipart/form-data",
    )
    assert not_image.status_code == 400
    assert "This file is not an image we can read." in text(not_image)

    nameless = console.submit("/platform/catalog/products/new", product_data("", cat_id))
    assert nameless.status_code == 400
    assert product_id(app, name) is None


def test_a_product_image_is_stored_shown_and_served_without_traversal(app, console):
    category = uid("Images")
    add_category(console, category)
    name = uid("Pictured")
    token = console.csrf_token("/platform/catalog/products/new")
    created = console.post(
        "/platform/catalog/products/new",
        data=dict(
            product_data(name, category_id(app, category)),
            csrf_token=token,
            image=(io.BytesIO(png_bytes()), "card.png"),
        ),
        content_type="multipart/form-data",
    )
    assert created.status_code == 302
    page = text(console.get(created.headers["Location"]))
    src = re.search(r'src="(/media/catalog/[0-9a-f]+\.png)"', page).group(1)
    image = console.get(src)
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert console.get("/media/catalog/../../config.py").status_code == 404
    assert console.get("/media/secrets.txt").status_code == 404


def test_only_an_empty_category_can_be_deleted(app, console, card_sku):
    from app.catalog.models import Category, Product, Sku

    sid, _code = card_sku()
    used = lookup(
        app,
        select(Category.id).join(Product).join(Sku).where(Sku.id == sid),
    )
    refused = console.submit(
        "/platform/catalog", {}, action=f"/platform/catalog/categories/{used}/delete"
    )
    assert "Only an empty category can be deleted." in text(
        console.get(refused.headers["Location"])
    )
    assert lookup(app, select(Category.id).where(Category.id == used)) == used

    empty = uid("Empty")
    add_category(console, empty)
    renamed = uid("Renamed")
    edit = f"/platform/catalog/categories/{category_id(app, empty)}"
    saved = console.submit(edit, {"name": renamed, "parent_id": "", "icon": "", "position": "3"})
    assert saved.status_code == 302
    gone = category_id(app, renamed)
    console.submit("/platform/catalog", {}, action=f"/platform/catalog/categories/{gone}/delete")
    assert category_id(app, renamed) is None


def test_suppliers_are_added_edited_and_names_stay_unique(app, console):
    from app.catalog.models import Supplier

    name = uid("Upstream")
    data = {
        "name": name,
        "status": "active",
        "contact_name": "Li",
        "contact_email": "li@example.com",
        "contact_phone": "+86 10 1234",
    }
    assert console.submit("/platform/suppliers", data).status_code == 302
    assert name in text(console.get("/platform/suppliers"))

    clash = console.submit("/platform/suppliers", data)
    assert clash.status_code == 400 and "A supplier with this name exists." in text(clash)
    bad_email = console.submit("/platform/suppliers", dict(data, name=uid("X"), contact_email="x"))
    assert bad_email.status_code == 400

    supplier = lookup(app, select(Supplier.id).where(Supplier.name == name))
    edited = console.submit(f"/platform/suppliers/{supplier}", dict(data, status="suspended"))
    assert edited.status_code == 302
    assert lookup(app, select(Supplier.status).where(Supplier.id == supplier)) == "suspended"


# -- inventory -----------------------------------------------------------------------------------


def test_a_pasted_import_reports_added_duplicate_and_invalid_lines(app, console, card_sku):
    sid, _code = card_sku()
    a, b = uid("CARDA"), uid("CARDB")
    lines = [f"{a}----pw1", f"{b}----pw2", "", f"{a}----pw1", "no separator here"]
    result = paste_keys(console, sid, lines)
    assert result.status_code == 200
    page = text(result)
    assert "2 added, 1 duplicates, 1 invalid" in page
    assert re.search(r"Duplicate lines[^<]*4", page)
    assert "<td>5</td><td>expected a card number and a password" in page
    assert stock(app, sid)["available"] == 2

    again = text(paste_keys(console, sid, lines[:2]))
    assert "0 added, 2 duplicates, 0 invalid" in again
    assert stock(app, sid)["available"] == 2


def test_an_uploaded_file_is_imported_and_its_batch_listed(app, console, card_sku):
    sid, _code = card_sku()
    keys = [uid("FILEKEY") for _ in range(3)]
    result = upload_keys(console, sid, ("\r\n".join(keys) + "\r\n").encode(), "march.txt")
    assert result.status_code == 200
    assert "3 added, 0 duplicates, 0 invalid" in text(result)
    assert stock(app, sid)["available"] == 3
    assert "march.txt" in text(console.get(f"/platform/inventory/{sid}"))


def test_a_file_that_is_not_utf8_imports_nothing(app, console, card_sku):
    from app.inventory.models import CardKeyBatch

    sid, _code = card_sku()
    data = uid("GOODKEY").encode() + b"\n" + "坏卡密".encode("gbk") + b"\n"
    result = upload_keys(console, sid, data)
    assert result.status_code == 400
    assert "Line 2 is not UTF-8 text; nothing was imported." in text(result)
    assert stock(app, sid)["available"] == 0
    batches = select(func.count()).select_from(CardKeyBatch).where(CardKeyBatch.sku_id == sid)
    assert lookup(app, batches) == 0


def test_the_key_list_shows_masked_keys_never_secrets(app, console, card_sku):
    from app.inventory.services import mask_secret

    sid, _code = card_sku()
    card_no, password = uid("SECRETCARD"), uid("hunter2")
    imported = text(paste_keys(console, sid, [f"{card_no}----{password}"]))
    assert "1 added" in imported and card_no not in imported and password not in imported
    page = text(console.get(f"/platform/inventory/{sid}"))
    assert mask_secret(card_no) in page
    assert card_no not in page and password not in page


def test_voiding_a_key_and_a_batch_changes_the_stock(app, console, card_sku):
    from app.inventory.models import CardKey, CardKeyBatch

    sid, _code = card_sku()
    paste_keys(console, sid, [uid("VOIDME") for _ in range(3)], separator="none")
    key = lookup(app, select(CardKey.id).where(CardKey.sku_id == sid).order_by(CardKey.id))
    voided = console.submit(
        f"/platform/inventory/{sid}", {}, action=f"/platform/inventory/keys/{key}/void"
    )
    assert voided.status_code == 302
    assert stock(app, sid) == {"available": 2, "reserved": 0, "sold": 0, "void": 1}
    again = console.submit(
        f"/platform/inventory/{sid}", {}, action=f"/platform/inventory/keys/{key}/void"
    )
    assert "Only an available key can be voided." in text(console.get(again.headers["Location"]))

    batch = lookup(app, select(CardKeyBatch.id).where(CardKeyBatch.sku_id == sid))
    console.submit(
        f"/platform/inventory/{sid}", {}, action=f"/platform/inventory/batches/{batch}/void"
    )
    assert stock(app, sid) == {"available": 0, "reserved": 0, "sold": 0, "void": 3}


def test_exporting_unsold_keys_needs_a_reason_and_returns_csv(
    app, console, card_sku, platform_admin
):
    from app.inventory.models import KeyAccessLog

    sid, code = card_sku()
    card_no, password = uid("EXPORTCARD"), uid("pw")
    paste_keys(console, sid, [f"{card_no}----{password}"])
    export = f"/platform/inventory/{sid}/export"

    refused = console.submit(f"/platform/inventory/{sid}", {"reason": "  "}, action=export)
    assert refused.status_code == 400
    assert "Say why the keys are exported." in text(refused)

    csv = console.submit(
        f"/platform/inventory/{sid}", {"reason": "move to supplier"}, action=export
    )
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert csv.headers["Content-Disposition"].startswith(f'attachment; filename="{code}-unsold-')
    assert f"{card_no},{password}" in text(csv)
    logged = select(KeyAccessLog.actor).where(
        KeyAccessLog.sku_id == sid, KeyAccessLog.detail == "move to supplier"
    )
    assert lookup(app, logged) == platform_admin[0]


def test_the_inventory_overview_lists_skus_below_their_threshold(app, console, card_sku):
    low_id, low_code = card_sku(threshold=5)
    ok_id, ok_code = card_sku(threshold=1)
    paste_keys(console, ok_id, [uid("PLENTY")], separator="none")
    overview = text(console.get("/platform/inventory"))
    assert low_code in overview and f"/platform/inventory/{low_id}" in overview
    assert ok_code not in overview


# -- access --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/platform/catalog",
        "/platform/catalog/categories/1",
        "/platform/catalog/products/new",
        "/platform/catalog/products/1",
        "/platform/catalog/products/1/skus/new",
        "/platform/catalog/skus/1",
        "/platform/suppliers",
        "/platform/suppliers/1",
        "/platform/inventory",
        "/platform/inventory/1",
    ],
)
def test_every_catalog_page_requires_a_platform_login(apex, path):
    page = apex.get(path)
    assert page.status_code == 302
    assert page.headers["Location"].startswith("/platform/login")


def test_store_hosts_have_no_platform_catalog(make_store, site):
    store = make_store()
    client = site(f"{store.slug}.{APEX}")
    assert client.get("/platform/catalog").status_code == 404
    assert client.get("/platform/inventory").status_code == 404


def test_only_platform_owners_may_export_keys(app, apex, card_sku):
    from app.extensions import db
    from app.platform.models import PlatformUser

    sid, _ = card_sku()
    email = f"staff-{uid('s').lower()}@example.com"
    with app.app_context():
        staff = PlatformUser(email=email, name="Staff", role="staff")
        staff.set_password("staff-pass-1")
        db.session.add(staff)
        db.session.commit()
    apex.login_platform(email, "staff-pass-1")
    refused = apex.submit(
        f"/platform/inventory/{sid}",
        {"reason": "curious"},
        action=f"/platform/inventory/{sid}/export",
    )
    assert refused.status_code == 403


def test_the_operator_marks_a_product_high_risk_and_caps_a_skus_daily_quantity(
    app, console, card_sku
):
    from app.catalog.models import Product, Sku

    sid, code = card_sku()
    pid = lookup(app, select(Sku.product_id).where(Sku.id == sid))
    product = lookup(app, select(Product).where(Product.id == pid))
    data = product_data(product.name, product.category_id, is_high_risk="y")
    assert console.submit(f"/platform/catalog/products/{pid}", data).status_code == 302
    assert lookup(app, select(Product.is_high_risk).where(Product.id == pid)) is True
    assert '<input checked id="is_high_risk" name="is_high_risk"' in text(
        console.get(f"/platform/catalog/products/{pid}")
    )
    page = f"/platform/catalog/skus/{sid}"
    wrong = console.submit(page, sku_data(code, daily_quantity_max="0"))
    assert wrong.status_code == 400 and "leave it empty for no limit" in text(wrong)
    assert console.submit(page, sku_data(code, daily_quantity_max="5")).status_code == 302
    assert lookup(app, select(Sku.daily_quantity_max).where(Sku.id == sid)) == 5
    assert 'value="5"' in text(console.get(page))
    assert console.submit(page, sku_data(code, daily_quantity_max="")).status_code == 302
    assert lookup(app, select(Sku.daily_quantity_max).where(Sku.id == sid)) is None
    cleared = product_data(product.name, product.category_id)  # the box unticked
    assert console.submit(f"/platform/catalog/products/{pid}", cleared).status_code == 302
    assert lookup(app, select(Product.is_high_risk).where(Product.id == pid)) is False
