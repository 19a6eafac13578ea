"""The money pages as people use them: a store owner verifies, withdraws and reads the
statement; the platform reviews verification and withdrawals."""

import io
from decimal import Decimal

from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import func, select

from app.extensions import db
from app.kyc.models import Verification
from app.ledger.parties import store as store_party
from app.withdrawals.models import Withdrawal
from tests.support.money import ID_NUMBER, card_sku, owed_to, paid_order, settle, with_markup


def owner_of(store, site):
    admin = site(store.primary_host)
    assert admin.login_store(f"owner@{store.slug}.example.com", "s3cret-pass").status_code == 302
    return admin


def latest_verification_id(app, store):
    """The store's own application: other tests' applications share the platform's queue."""
    with app.app_context():
        return db.session.scalar(
            select(func.max(Verification.id)).where(Verification.party == store_party(store.id).key)
        )


def latest_withdrawal_no(app, store):
    with app.app_context():
        return db.session.scalar(
            select(Withdrawal.withdrawal_no)
            .where(Withdrawal.party == store_party(store.id).key)
            .order_by(Withdrawal.id.desc())
            .limit(1)
        )


def test_verify_withdraw_review_and_statement_end_to_end(
    app, make_store, site, apex, platform_admin, monkeypatch
):
    monkeypatch.setitem(app.config, "WITHDRAWAL_MIN_CENTS", 100)
    store = with_markup(app, make_store())
    sku = card_sku(app)
    for _ in range(3):
        paid_order(app, store, sku)
    settle(app)
    available = owed_to(app, store_party(store.id))["available"]
    admin = owner_of(store, site)
    page = admin.get("/admin/finance")
    assert page.status_code == 200 and "完成实名认证后可用" in page.text

    bad = admin.submit(
        "/admin/finance",
        {"kind": "individual", "legal_name": "张三", "id_number": "123"},
        action="/admin/finance/verification",
    )
    assert bad.status_code == 400 and "请输入 18 位身份证号码" in bad.text
    good = admin.submit(
        "/admin/finance",
        {"kind": "individual", "legal_name": "张三", "id_number": ID_NUMBER},
        action="/admin/finance/verification",
    )
    assert good.status_code == 302
    assert "110***********002X" in admin.get("/admin/finance").text

    assert apex.login_platform(*platform_admin).status_code == 302
    queue = apex.get("/platform/verifications").text
    verification_id = latest_verification_id(app, store)
    assert f"/platform/verifications/{verification_id}" in queue
    detail = apex.get(f"/platform/verifications/{verification_id}")
    assert ID_NUMBER in detail.text  # the reviewer sees the number in full (audited)
    assert (
        apex.submit(
            f"/platform/verifications/{verification_id}",
            {"decision": "approve"},
        ).status_code
        == 302
    )

    too_much = admin.submit(
        "/admin/finance",
        {
            "amount": f"{available / 100 + 1:.2f}",
            "method": "alipay",
            "account_name": "张三",
            "account_number": "13800138000",
        },
        action="/admin/finance/withdraw",
    )
    assert too_much.status_code == 400 and "可提现金额仅为" in too_much.text
    asked = admin.submit(
        "/admin/finance",
        {
            "amount": "1.00",
            "method": "alipay",
            "account_name": "张三",
            "account_number": "13800138000",
        },
        action="/admin/finance/withdraw",
    )
    assert asked.status_code == 302
    assert owed_to(app, store_party(store.id))["withdrawing"] == 100

    queue = apex.get("/platform/withdrawals").text
    number = latest_withdrawal_no(app, store)
    assert number in queue
    assert "13800138000" not in queue  # masked in the queue
    assert apex.get(f"/platform/withdrawals/{number}/account").text == "13800138000"
    paid = apex.submit(
        "/platform/withdrawals",
        {"decision": "approve", "payout_reference": "ALI-1"},
        action=f"/platform/withdrawals/{number}",
    )
    assert paid.status_code == 302
    assert owed_to(app, store_party(store.id)) == {
        "pending": 0,
        "available": available - 100,
        "withdrawing": 0,
        "owed": 0,
    }
    assert "ALI-1" in admin.get("/admin/finance").text

    csv = admin.get("/admin/finance/statement?account=available&format=csv")
    rows = csv.text.strip().splitlines()
    assert rows[0].startswith("time,kind") and rows[-1].endswith(f",{(available - 100) / 100:.2f}")
    assert len(rows) == 1 + 3 + 1  # three settlements and the withdrawal
    xlsx = admin.get("/admin/finance/statement?account=available&format=xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.data), read_only=True).active
    cells = list(sheet.iter_rows(values_only=True))
    assert list(cells[0]) == rows[0].split(",")
    for cell_row, csv_row in zip(cells[1:], rows[1:], strict=True):  # the same lines as the CSV
        fields = csv_row.split(",")
        assert [str(v) for v in cell_row[:4]] == fields[:4]
        assert [Decimal(str(v)) for v in cell_row[4:]] == [Decimal(f) for f in fields[4:]]
    assert admin.get("/admin/finance/statement?account=pending").status_code == 200
    assert apex.get("/platform/finance").status_code == 200


def test_a_business_licence_upload_reaches_the_reviewer_only(
    app, make_store, site, apex, platform_admin
):
    store = make_store()
    admin = owner_of(store, site)
    image = io.BytesIO()
    Image.new("RGB", (60, 40), "white").save(image, format="PNG")
    sent = admin.submit(
        "/admin/finance",
        {
            "kind": "business",
            "legal_name": "李四",
            "id_number": ID_NUMBER,
            "company_name": "卡盟科技有限公司",
            "licence_number": "91350100M000100Y43",
            "licence_image": (io.BytesIO(image.getvalue()), "licence.png"),
        },
        action="/admin/finance/verification",
        content_type="multipart/form-data",
    )
    assert sent.status_code == 302
    apex.login_platform(*platform_admin)
    queue = apex.get("/platform/verifications").text
    verification_id = latest_verification_id(app, store)
    assert f"/platform/verifications/{verification_id}" in queue
    licence = apex.get(f"/platform/verifications/{verification_id}/licence")
    assert licence.status_code == 200 and licence.data.startswith(b"\x89PNG")
    assert admin.get(f"/platform/verifications/{verification_id}/licence").status_code == 404


def test_the_finance_page_shows_the_stores_own_invite_link_and_referrals(app, make_store, site):
    store = make_store()
    page = owner_of(store, site).get("/admin/finance")
    assert f"/open?ref={store.slug}" in page.text
    assert "已邀请分站：0" in page.text
