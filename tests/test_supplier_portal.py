"""The supplier portal: apply, the platform's review, stock uploads and cost proposals for the
supplier's own SKUs only, sales and payables from the ledger, verification and withdrawal."""

import re
import uuid

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.catalog.models import Sku
from app.extensions import db
from app.inventory.services import available_count
from app.supplier_portal import services as portal
from app.supplier_portal.models import SupplierApplication, SupplierUser
from tests.support.money import ID_NUMBER, card_sku, owed_to, paid_order, settle

PASSWORD = "supplier-pass-1"


def application_form(email, **changes):
    return {
        "email": email,
        "password": PASSWORD,
        "company_name": "优卡供货有限公司",
        "contact_name": "王五",
        "contact_phone": "13800138000",
        "goods": "Steam 与网易游戏点卡，月供货约 5 万张",
        "website": "",
        **changes,
    }


def apply(apex, **changes):
    email = f"sup-{uuid.uuid4().hex[:8]}@example.com"
    page = apex.submit("/supplier/apply", application_form(email, **changes))
    return email, page


def approve(app, apex, platform_admin, email, name=None):
    with app.app_context():
        user = db.session.scalar(select(SupplierUser).where(SupplierUser.email == email))
        application_id = portal.latest_application(user).id
    apex.login_platform(*platform_admin)
    queue = apex.get("/platform/supplier-applications")
    assert f"application-{application_id}" in queue.text
    name = name or f"供货商 {uuid.uuid4().hex[:6]}"
    done = apex.submit(
        "/platform/supplier-applications",
        {"decision": "approve", "supplier_name": name},
        action=f"/platform/supplier-applications/{application_id}",
    )
    assert done.status_code == 302
    with app.app_context():
        return db.session.scalar(
            select(SupplierUser.supplier_id).where(SupplierUser.email == email)
        )


def signed_in_supplier(site, app, email):
    client = site(app.config["PLATFORM_DOMAIN"])
    assert (
        client.submit("/supplier/login", {"email": email, "password": PASSWORD}).status_code == 302
    )
    return client


def assign(app, sku_id, supplier_id):
    with app.app_context():
        db.session.get(Sku, sku_id).supplier_id = supplier_id
        db.session.commit()


def test_bad_applications_are_refused_and_change_nothing(app, apex):
    with app.app_context():
        before = db.session.query(SupplierUser).count()
    for changes in (
        {"company_name": "x"},
        {"goods": "cards"},
        {"contact_phone": "1"},
        {"website": "javascript:alert(1)"},
        {"password": "short"},
    ):
        _, page = apply(apex, **changes)
        assert page.status_code == 400, changes
    with app.app_context():
        assert db.session.query(SupplierUser).count() == before
    email, page = apply(apex)
    assert page.status_code == 302


def test_an_applicant_waits_for_review_then_is_rejected_and_applies_again(
    app, apex, site, platform_admin
):
    email, page = apply(apex)
    assert page.status_code == 302
    home = apex.get("/supplier/")
    assert 'id="application-status"' in home.text and "/supplier/finance" not in home.text
    assert apex.get("/supplier/finance").status_code == 302  # not approved: back home
    duplicate = site(app.config["PLATFORM_DOMAIN"]).submit(
        "/supplier/apply", application_form(email)
    )
    assert duplicate.status_code == 400

    with app.app_context():
        user = db.session.scalar(select(SupplierUser).where(SupplierUser.email == email))
        application_id = portal.latest_application(user).id
    reviewer = site(app.config["PLATFORM_DOMAIN"])
    reviewer.login_platform(*platform_admin)
    no_reason = reviewer.submit(
        "/platform/supplier-applications",
        {"decision": "reject", "reason": ""},
        action=f"/platform/supplier-applications/{application_id}",
    )
    assert no_reason.status_code == 302
    with app.app_context():
        assert db.session.get(SupplierApplication, application_id).status == "pending"
    reviewer.submit(
        "/platform/supplier-applications",
        {"decision": "reject", "reason": "营业执照不清晰"},
        action=f"/platform/supplier-applications/{application_id}",
    )
    home = apex.get("/supplier/")
    assert "营业执照不清晰" in home.text
    details = application_form(email)
    del details["email"], details["password"]
    again = apex.submit("/supplier/", details, action="/supplier/reapply")
    assert again.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(SupplierUser).where(SupplierUser.email == email))
        assert portal.latest_application(user).status == "pending"
        assert portal.latest_application(user).id != application_id


def test_an_approved_supplier_stocks_only_its_own_skus(app, apex, site, platform_admin):
    email, _ = apply(apex)
    supplier_id = approve(app, site(app.config["PLATFORM_DOMAIN"]), platform_admin, email)
    assert supplier_id
    mine, theirs = card_sku(app, keys=0), card_sku(app, keys=0)
    assign(app, mine, supplier_id)
    supplier = signed_in_supplier(site, app, email)
    home = supplier.get("/supplier/")
    assert home.status_code == 200 and f"/supplier/skus/{mine}" in home.text
    assert f"/supplier/skus/{theirs}" not in home.text
    assert supplier.get(f"/supplier/skus/{theirs}").status_code == 404

    keys = "\n".join(f"CARD-{uuid.uuid4().hex}" for _ in range(5))
    uploaded = supplier.submit(
        f"/supplier/skus/{mine}",
        {"text": keys + "\n" + keys.splitlines()[0], "separator": "none"},
        action=f"/supplier/skus/{mine}/keys",
    )
    assert uploaded.status_code == 302
    token = supplier.csrf_token(f"/supplier/skus/{mine}")
    refused = supplier.post(
        f"/supplier/skus/{theirs}/keys", data={"csrf_token": token, "text": "X-1"}
    )
    assert refused.status_code == 404
    with app.app_context():
        assert available_count(mine) == 5 and available_count(theirs) == 0
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.actor_email == email)
        ).all()
        assert "supplier.keys.import" in actions

    # Sessions do not cross: a supplier is not a platform admin, nor the other way round.
    assert supplier.get("/platform/").status_code == 302
    admin = site(app.config["PLATFORM_DOMAIN"])
    admin.login_platform(*platform_admin)
    assert admin.get("/supplier/").status_code == 302


def test_cost_proposals_are_approved_within_the_wholesale_price(app, apex, site, platform_admin):
    email, _ = apply(apex)
    reviewer = site(app.config["PLATFORM_DOMAIN"])
    supplier_id = approve(app, reviewer, platform_admin, email)
    sku = card_sku(app, wholesale=1000, cost=800, keys=0)
    assign(app, sku, supplier_id)
    supplier = signed_in_supplier(site, app, email)

    assert (
        supplier.submit(
            f"/supplier/skus/{sku}", {"cost": "abc"}, action=f"/supplier/skus/{sku}/cost"
        ).status_code
        == 400
    )
    sent = supplier.submit(
        f"/supplier/skus/{sku}",
        {"cost": "8.50", "note": "涨价"},
        action=f"/supplier/skus/{sku}/cost",
    )
    assert sent.status_code == 302
    twice = supplier.submit(
        f"/supplier/skus/{sku}", {"cost": "8.60"}, action=f"/supplier/skus/{sku}/cost"
    )
    assert twice.status_code == 400  # one proposal at a time

    queue = reviewer.get("/platform/cost-proposals").text
    proposal_id = re.search(r'id="proposal-(\d+)"', queue).group(1)
    reviewer.submit(
        "/platform/cost-proposals",
        {"decision": "approve"},
        action=f"/platform/cost-proposals/{proposal_id}",
    )
    with app.app_context():
        assert db.session.get(Sku, sku).cost_cents == 850

    too_high = supplier.submit(
        f"/supplier/skus/{sku}", {"cost": "10.01"}, action=f"/supplier/skus/{sku}/cost"
    )
    assert too_high.status_code == 302  # proposing is allowed; approving is not
    queue = reviewer.get("/platform/cost-proposals").text
    proposal_id = re.search(r'id="proposal-(\d+)"', queue).group(1)
    reviewer.submit(
        "/platform/cost-proposals",
        {"decision": "approve"},
        action=f"/platform/cost-proposals/{proposal_id}",
    )
    with app.app_context():
        assert db.session.get(Sku, sku).cost_cents == 850  # above wholesale: refused


def test_sales_settle_to_the_supplier_who_verifies_and_withdraws(
    app, apex, site, platform_admin, make_store, monkeypatch
):
    monkeypatch.setitem(app.config, "WITHDRAWAL_MIN_CENTS", 100)
    email, _ = apply(apex)
    reviewer = site(app.config["PLATFORM_DOMAIN"])
    supplier_id = approve(app, reviewer, platform_admin, email)
    sku = card_sku(app, wholesale=1000, cost=800, keys=5)
    assign(app, sku, supplier_id)
    store = make_store()
    paid_order(app, store, sku, quantity=2)
    with app.app_context():
        assert portal.sales(supplier_id) == portal.SupplierSales(earned_cents=1600, orders=1)
    party = portal.party(supplier_id)
    assert owed_to(app, party)["pending"] == 1600
    settle(app)
    assert owed_to(app, party)["available"] == 1600

    supplier = signed_in_supplier(site, app, email)
    assert 'id="earned-30d"' in supplier.get("/supplier/").text
    verified = supplier.submit(
        "/supplier/finance",
        {"kind": "individual", "legal_name": "王五", "id_number": ID_NUMBER},
        action="/supplier/finance/verification",
    )
    assert verified.status_code == 302
    queue = reviewer.get("/platform/verifications").text
    with app.app_context():
        from app.kyc.services import current

        verification_id = current(party.key).id
    assert f"/platform/verifications/{verification_id}" in queue
    reviewer.submit(
        f"/platform/verifications/{verification_id}",
        {"decision": "approve"},
    )
    asked = supplier.submit(
        "/supplier/finance",
        {
            "amount": "10.00",
            "method": "alipay",
            "account_name": "王五",
            "account_number": "13800138000",
        },
        action="/supplier/finance/withdraw",
    )
    assert asked.status_code == 302
    assert owed_to(app, party) == {"pending": 0, "available": 600, "withdrawing": 1000, "owed": 0}
    statement = supplier.get("/supplier/finance/statement?account=available&format=csv")
    assert statement.text.strip().splitlines()[-1].endswith(",6.00")
    assert supplier.get("/supplier/finance/statement?account=nope").status_code == 404
