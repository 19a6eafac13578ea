"""Roles: every back-office view declares a permission; each role sees exactly its pages and the
others answer 403; nav links a role cannot use are not shown; support cannot refund."""

import re
import uuid

import pytest
from sqlalchemy import select

from app.extensions import db
from app.merchant.permissions import PERMISSIONS
from app.orders.models import Order
from tenants.context import tenant_context
from tests.support.catalog import add_keys, make_product
from tests.support.staff import staff_client
from tests.test_refunds import notify, open_payment

# Endpoints anyone may reach: signing in and out, the owner's hand-off, accepting an invitation,
# the platform's read-only view (its one-minute token is the check).
OPEN_ENDPOINTS = {
    "merchant.login",
    "merchant.login_code",
    "merchant.logout",
    "merchant.welcome",
    "merchant.accept_invitation",
    "merchant.view_as_platform",
}

# The matrix as the product defines it (a change to app/merchant/permissions.py must show here).
PAGES = {
    "/admin/": {"owner", "admin", "support", "finance"},
    "/admin/account": {"owner", "admin", "support", "finance"},
    "/admin/orders": {"owner", "admin", "support", "finance"},
    "/admin/catalog": {"owner", "admin", "support", "finance"},
    "/admin/settings": {"owner", "admin"},
    "/admin/settings/checkout": {"owner", "admin"},
    "/admin/theme": {"owner", "admin"},
    "/admin/webhooks": {"owner", "admin"},
    "/admin/billing": {"owner", "admin", "finance"},
    "/admin/finance": {"owner", "admin", "finance"},
    "/admin/finance/statement": {"owner", "admin", "finance"},
    "/admin/staff": {"owner", "admin"},
    "/admin/audit": {"owner", "admin"},
    "/admin/privacy": {"owner", "admin"},
    "/admin/batches": {"owner", "admin", "support", "finance"},
    "/admin/batches/new": {"owner", "admin"},
    "/admin/marketing": {"owner", "admin", "support", "finance"},
    "/admin/marketing/announcements": {"owner", "admin", "support", "finance"},
}
ROLES = ("owner", "admin", "support", "finance")


def test_every_back_office_view_declares_a_permission(app):
    missing, unknown = [], []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("merchant.") or rule.endpoint in OPEN_ENDPOINTS:
            continue
        permission = getattr(app.view_functions[rule.endpoint], "required_permission", None)
        if permission is None:
            missing.append(rule.endpoint)
        elif permission not in PERMISSIONS:
            unknown.append(rule.endpoint)
    assert missing == [] and unknown == []


def test_the_matrix_owners_have_everything_admins_all_but_billing_and_withdrawals():
    assert all("owner" in roles for roles in PERMISSIONS.values())
    assert {p for p, roles in PERMISSIONS.items() if "admin" not in roles} == {
        "billing",
        "withdraw",
    }
    support = {p for p, roles in PERMISSIONS.items() if "support" in roles}
    assert {"refund", "manage_catalog", "manage_settings", "withdraw", "billing"}.isdisjoint(
        support
    )
    assert {"view_orders", "deliver"} <= support
    finance = {p for p, roles in PERMISSIONS.items() if "finance" in roles}
    assert {"view_orders", "finance_view", "refund"} <= finance
    assert {"manage_catalog", "manage_theme", "manage_staff"}.isdisjoint(finance)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_its_pages_and_gets_403_elsewhere(app, make_store, site, role):
    store = make_store()
    client = staff_client(app, site, store, role)
    got = {path: client.get(path).status_code for path in PAGES}
    expected = {path: 200 if role in roles else 403 for path, roles in PAGES.items()}
    assert got == expected
    dashboard = client.get("/admin/").get_data(as_text=True)
    links = set(re.findall(r'href="(/admin/[^"?#]*)"', dashboard))
    for path, roles in PAGES.items():
        if path != "/admin/" and role not in roles:
            assert path not in links  # no link to a page the role cannot open


def test_a_signed_out_visitor_is_sent_to_sign_in(make_store, site):
    store = make_store()
    answer = site(f"{store.slug}.kameng.test").get("/admin/staff")
    assert answer.status_code == 302 and "/admin/login" in answer.headers["Location"]


def test_support_cannot_refund_and_finance_can(app, make_store, site):
    store = make_store()
    item = make_product(app, skus=[(1000, 800)])
    add_keys(app, item["sku_ids"][0], [f"P-{uuid.uuid4().hex}" for _ in range(2)])
    order_no, payment_no = open_payment(app, store, item["sku_ids"][0])
    assert notify(app, payment_no) == "delivered"

    support = staff_client(app, site, store, "support")
    page = support.get(f"/admin/orders/{order_no}")
    assert page.status_code == 200
    assert f"/admin/orders/{order_no}/refund" not in page.get_data(as_text=True)
    token = support.csrf_token(f"/admin/orders/{order_no}")
    refused = support.post(f"/admin/orders/{order_no}/refund", data={"csrf_token": token})
    assert refused.status_code == 403
    assert status_of(app, store, order_no) == "delivered"

    finance = staff_client(app, site, store, "finance")
    page = finance.get(f"/admin/orders/{order_no}").get_data(as_text=True)
    assert f"/admin/orders/{order_no}/refund" in page
    token = finance.csrf_token(f"/admin/orders/{order_no}")
    finance.post(f"/admin/orders/{order_no}/refund", data={"csrf_token": token, "reason": "x"})
    assert status_of(app, store, order_no) == "refunded"


def test_finance_cannot_change_prices_and_support_cannot_change_settings(app, make_store, site):
    store = make_store()
    finance = staff_client(app, site, store, "finance")
    token = finance.csrf_token("/admin/catalog")
    rule = {"csrf_token": token, "scope": "store", "target_id": "0", "kind": "percent"}
    assert finance.post("/admin/catalog/rules", data={**rule, "value": "50"}).status_code == 403
    support = staff_client(app, site, store, "support")
    token = support.csrf_token("/admin/")
    saved = support.post("/admin/settings", data={"csrf_token": token, "tagline": "hacked"})
    assert saved.status_code == 403
    assert support.post("/admin/finance/withdraw", data={"csrf_token": token}).status_code == 403
    with app.app_context(), tenant_context(store):
        from app.merchant.services import get_settings
        from app.pricing.services import list_rules

        assert get_settings().tagline == "" and list_rules() == []


def status_of(app, store, order_no):
    with app.app_context(), tenant_context(store):
        return db.session.scalar(select(Order.status).where(Order.order_no == order_no))


def test_no_buttons_a_role_cannot_use(app, make_store, site):
    store = make_store()
    item = make_product(app, delivery_type="manual", skus=[(2000, 1500)])
    order_no, payment_no = open_payment(app, store, item["sku_ids"][0])
    assert notify(app, payment_no) == "paid"
    unpaid_no, _ = open_payment(app, store, item["sku_ids"][0])

    finance = staff_client(app, site, store, "finance")
    paid = finance.get(f"/admin/orders/{order_no}").get_data(as_text=True)
    assert f"/admin/orders/{order_no}/deliver" not in paid
    unpaid = finance.get(f"/admin/orders/{unpaid_no}").get_data(as_text=True)
    assert f"/admin/orders/{unpaid_no}/cancel" not in unpaid
    catalog = finance.get("/admin/catalog").get_data(as_text=True)
    assert "/admin/catalog/rules" not in catalog and "/admin/catalog/products/" not in catalog

    support = staff_client(app, site, store, "support")
    paid = support.get(f"/admin/orders/{order_no}").get_data(as_text=True)
    assert f"/admin/orders/{order_no}/deliver" in paid
    assert f"/admin/orders/{unpaid_no}/cancel" in support.get(
        f"/admin/orders/{unpaid_no}"
    ).get_data(as_text=True)
    admin = staff_client(app, site, store, "admin")
    catalog = admin.get("/admin/catalog").get_data(as_text=True)
    assert "/admin/catalog/rules" in catalog and "/admin/catalog/products/" in catalog
