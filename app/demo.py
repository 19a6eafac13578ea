"""Demo data for `make run`: a platform admin, two stores with their owners and a supplier
account (idempotent)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.platform.services import ensure_platform_admin
from app.web.urls import platform_url, tenant_url
from tenants import provisioning

demo_cli = AppGroup("demo", help="Demo data for local runs.")

DEMO_PASSWORD = "kameng-demo-1"
DEMO_ADMIN = "admin@example.com"
DEMO_SUPPLIER = "supplier@example.com"  # an approved supplier owning the Steam SKUs
DEMO_SUPPLIER_SKUS = ("DEMO-STEAM-50", "DEMO-STEAM-100")
DEMO_BUYER = "buyer@example.com"  # a customer of the demo store (API keys at /account/api)
DEMO_STORES = (  # slug, name, owner, theme pack
    ("demo", "演示卡盟 Demo Store", "demo@example.com", "classic"),
    ("neon", "霓虹游戏 Neon Games", "neon@example.com", "neon"),
)


DEMO_CATALOG = (
    # category, product, delivery, account fields, [(code, name, face, wholesale, cost, keys)]
    ("游戏点卡/腾讯", "Q币直购卡", "card_key", None, [
        ("DEMO-QB-10", "10 Q币", 1000, 960, 920, 30),
        ("DEMO-QB-30", "30 Q币", 3000, 2880, 2760, 5),
        ("DEMO-QB-100", "100 Q币", 10000, 9600, 9200, 0),
    ]),
    ("游戏点卡/Steam", "Steam 钱包充值码", "card_key", None, [
        ("DEMO-STEAM-50", "¥50", 5000, 4850, 4700, 20),
        ("DEMO-STEAM-100", "¥100", 10000, 9700, 9400, 20),
    ]),
    ("视频会员", "爱奇艺黄金会员", "card_key", None, [
        ("DEMO-IQY-M", "月卡", 2500, 1800, 1600, 15),
        ("DEMO-IQY-Q", "季卡", 6800, 5000, 4600, 15),
    ]),
    ("话费充值", "三网话费快充", "direct_topup",
     [{"name": "phone", "label": "手机号", "regex": "^1[3-9][0-9]{9}$",
       "example": "13800138000"}], [
        ("DEMO-TEL-50", "50 元", 5000, 4930, 4900, 0),
        ("DEMO-TEL-100", "100 元", 10000, 9860, 9800, 0),
    ]),
)  # fmt: skip
# The demo's top-ups go to the local supplier simulator that `flask serve --simulator` runs.
DEMO_SIMULATOR = {"base_url": "http://127.0.0.1:8765", "key": "simulator-key"}
DEMO_OFFERS = {"DEMO-TEL-50": "CM50", "DEMO-TEL-100": "CU100"}
DEMO_MARKUPS = {"demo": ("percent", 1000, "up_10"), "neon": ("percent", 1500, "end_90")}


def seed_catalog() -> None:
    """A small published catalog with card-key stock (skipped once any product exists)."""
    from app.catalog import services as catalog
    from app.catalog.models import Product
    from app.extensions import db
    from app.inventory.services import import_keys

    if catalog.count_products():
        return
    for path, name, delivery, fields, skus in DEMO_CATALOG:
        category = catalog.category_by_path(path, create=True)
        db.session.commit()
        product = catalog.save_product(
            None, name=name, category_id=category.id, delivery_type=delivery,
            description_md=f"**{name}**：付款后自动发货，24 小时售后。", input_schema=fields,
        )  # fmt: skip
        for code, sku_name, face, wholesale, cost, keys in skus:
            sku = catalog.save_sku(
                None, product_id=product.id, code=code, name=sku_name, face_value_cents=face,
                wholesale_cents=wholesale, cost_cents=cost,
            )  # fmt: skip
            if keys:
                import_keys(sku, [f"{code}-{i:06d}" for i in range(keys)],
                            origin="cli", imported_by="demo")  # fmt: skip
        catalog.set_published(db.session.get(Product, product.id), True)
    seed_simulated_supplier()


def seed_simulated_supplier() -> None:
    """A supplier behind the local simulator, offering the demo's top-up SKUs."""
    from app.catalog import services as catalog
    from app.catalog.models import Sku
    from app.extensions import db
    from app.suppliers.services import configure_connector, save_offer

    supplier = catalog.save_supplier(None, name="模拟直充供货商 Simulator", status="active")
    configure_connector(supplier, "simulator", DEMO_SIMULATOR)
    for code, supplier_code in DEMO_OFFERS.items():
        sku = db.session.scalar(db.select(Sku).where(Sku.code == code))
        save_offer(sku.id, supplier.id, supplier_sku_code=supplier_code, cost_cents=sku.cost_cents)


def seed_supplier_account() -> None:
    """An approved supplier account for the supplier portal (skipped once it exists)."""
    from sqlalchemy import select

    from app.audit.services import Actor
    from app.catalog.models import Sku
    from app.extensions import db
    from app.supplier_portal import services as portal
    from app.supplier_portal.models import SupplierUser

    if db.session.scalar(select(SupplierUser.id).where(SupplierUser.email == DEMO_SUPPLIER)):
        return
    details = portal.Details(
        "演示卡密供货商", "王经理", "13800138000", "Steam 钱包充值码，月供 1 万张"
    )
    user = portal.register(DEMO_SUPPLIER, DEMO_PASSWORD, details)
    application = portal.latest_application(user)
    portal.review_application(application.id, "approve", actor=Actor("system", email="demo"))
    for sku in db.session.scalars(select(Sku).where(Sku.code.in_(DEMO_SUPPLIER_SKUS))):
        sku.supplier_id = user.supplier_id
    db.session.commit()


def seed_demo() -> list[tuple[str, str, str]]:
    """Create what is missing; returns (what, url, login) lines to print."""
    from app.extensions import db
    from app.pricing.models import PriceRule
    from app.pricing.services import save_rule
    from tenants.context import tenant_context

    ensure_platform_admin(DEMO_ADMIN, DEMO_PASSWORD, "Platform Admin")
    seed_catalog()
    lines = [("Platform console", platform_url("/platform/login"), DEMO_ADMIN)]
    lines.append(("Open a store", platform_url("/open"), "-"))
    seed_supplier_account()
    lines.append(("Supplier portal", platform_url("/supplier/login"), DEMO_SUPPLIER))
    for slug, name, owner, theme in DEMO_STORES:
        tenant = provisioning.get_tenant(slug)
        if tenant is None:
            ref = provisioning.create_tenant(
                slug=slug, name=name, owner_email=owner, owner_password=DEMO_PASSWORD, theme=theme
            ).tenant
        else:
            ref = provisioning.tenant_ref(tenant)
        db.session.remove()
        with tenant_context(ref):
            if not db.session.scalar(db.select(PriceRule.id).limit(1)):
                save_rule(ref, "store", 0, *DEMO_MARKUPS[slug])
            db.session.remove()
        lines.append((f"Store {slug}", tenant_url(ref, "/"), "-"))
        lines.append((f"Store {slug} back-office", tenant_url(ref, "/admin"), owner))
        if slug == "demo":
            seed_api_buyer(ref)
            lines.append(("Store demo customer (API)", tenant_url(ref, "/account"), DEMO_BUYER))
    return lines


def seed_api_buyer(ref) -> None:
    """The demo store is on Pro (API access) and has a customer who can create API keys."""
    from sqlalchemy import select

    from app.billing.services import assign_plan
    from app.customers.models import Customer
    from app.customers.services import register_customer
    from app.extensions import db
    from tenants.context import tenant_context

    if ref.plan == "free":
        assign_plan(ref.id, "pro", actor="demo")
    db.session.remove()
    with tenant_context(ref):
        if not db.session.scalar(select(Customer.id).where(Customer.email == DEMO_BUYER)):
            register_customer(email=DEMO_BUYER, password=DEMO_PASSWORD, name="B2B Buyer")
            db.session.commit()
        db.session.remove()


@demo_cli.command("seed")
def seed() -> None:
    """Create the demo platform admin and stores, and print where to go."""
    lines = seed_demo()
    click.echo("")
    click.echo(f"Kameng demo — every password is {DEMO_PASSWORD}")
    for what, url, login in lines:
        click.echo(f"  {what:<26} {url:<42} {'' if login == '-' else 'login ' + login}")
    click.echo("")
