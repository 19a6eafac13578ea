"""Settlement (T+1), refunds after settlement, withdrawals with review, real-name verification,
store referral commissions and the plan's platform fee."""

import threading
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from app.audit.services import Actor, AuditQuery, search
from app.extensions import db
from app.kyc import services as kyc
from app.ledger.holds import due_at
from app.ledger.models import LedgerHold
from app.ledger.parties import store as store_party
from app.ledger.services import verify
from app.payments.models import Payment
from app.payments.refunds import refundable_cents
from app.withdrawals import services as withdrawals
from tenants.models import Tenant
from tests.support.money import (
    ID_NUMBER,
    REVIEWER,
    card_sku,
    owed_to,
    paid_order,
    refund,
    settle,
    verified,
    with_markup,
)

OWNER = Actor("store", 1, "owner@example.com")
ALIPAY = withdrawals.Destination("alipay", "张三", "13800138000")


def profit_after_fee(total, wholesale, fee_bps=100):
    profit = total - wholesale
    assert profit > 0
    return profit - profit * fee_bps // 10000


def test_profit_is_pending_until_t_plus_1_then_settles_once(app, make_store):
    store = with_markup(app, make_store())
    party = store_party(store.id)
    sku = card_sku(app)
    order_no, total = paid_order(app, store, sku, quantity=2)
    share = profit_after_fee(total, 2000)  # the Free plan keeps 1% of the profit
    assert owed_to(app, party) == {"pending": share, "available": 0, "withdrawing": 0, "owed": 0}
    assert settle(app, days_ahead=0) == 0  # not yet due
    assert settle(app, days_ahead=2) >= 1
    assert settle(app, days_ahead=2) == 0  # again: nothing
    assert owed_to(app, party)["available"] == share and owed_to(app, party)["pending"] == 0
    with app.app_context():
        assert verify() == []


def test_t_plus_1_means_the_next_midnight_in_platform_time(app):
    with app.app_context():
        posted = datetime(2026, 3, 1, 15, 59, tzinfo=UTC)  # 23:59 in Shanghai
        due = due_at(store_party(10**6), posted)  # no such store: T+1
        assert due.astimezone(UTC) == datetime(2026, 3, 1, 16, 0, tzinfo=UTC)


def test_a_partial_refund_before_settlement_settles_only_the_rest(app, make_store):
    store = with_markup(app, make_store())
    party = store_party(store.id)
    order_no, total = paid_order(app, store, card_sku(app), quantity=3)
    assert refund(app, store, order_no, amount=total // 3) == "succeeded"
    left = owed_to(app, party)["pending"]
    assert 0 < left < profit_after_fee(total, 3000)
    settle(app)
    assert owed_to(app, party) == {"pending": 0, "available": left, "withdrawing": 0, "owed": 0}


def test_a_refund_after_settlement_claws_back_and_a_shortfall_becomes_owed(app, make_store):
    store = with_markup(app, make_store())
    party = store_party(store.id)
    sku = card_sku(app)
    first, total = paid_order(app, store, sku)
    second, _ = paid_order(app, store, sku)
    settle(app)
    share = profit_after_fee(total, 1000)
    assert owed_to(app, party)["available"] == 2 * share
    verified(app, party)
    with app.app_context():
        app.config["WITHDRAWAL_MIN_CENTS"], saved = 1, app.config["WITHDRAWAL_MIN_CENTS"]
        try:
            withdrawals.request_withdrawal(party, 2 * share - 10, ALIPAY, actor=OWNER)
            db.session.commit()
        finally:
            app.config["WITHDRAWAL_MIN_CENTS"] = saved
    assert refund(app, store, first) == "succeeded"  # 10 cents available, the rest owed
    assert owed_to(app, party) == {
        "pending": 0,
        "available": 0,
        "withdrawing": 2 * share - 10,
        "owed": share - 10,
    }
    with app.app_context(), pytest.raises(withdrawals.WithdrawalRefused) as refused:
        withdrawals.request_withdrawal(party, 10000, ALIPAY, actor=OWNER)
    assert "owe" in refused.value.message
    third, _ = paid_order(app, store, sku)  # the next settlement repays what is owed first
    settle(app)
    assert owed_to(app, party)["owed"] == 0
    assert owed_to(app, party)["available"] == share - (share - 10)
    with app.app_context():
        assert verify() == []


def test_withdrawals_need_approved_verification_and_respect_minimum_and_balance(app, make_store):
    store = with_markup(app, make_store())
    party = store_party(store.id)
    for _ in range(3):
        paid_order(app, store, card_sku(app, wholesale=1000, cost=800))
    settle(app)
    available = owed_to(app, party)["available"]
    with app.app_context():
        with pytest.raises(withdrawals.WithdrawalRefused) as refused:
            withdrawals.request_withdrawal(party, 100, ALIPAY, actor=OWNER)
        assert "verification" in refused.value.message
    verified(app, party)
    with app.app_context():
        app.config["WITHDRAWAL_MIN_CENTS"], saved = (
            available + 1,
            app.config["WITHDRAWAL_MIN_CENTS"],
        )
        try:
            with pytest.raises(withdrawals.WithdrawalRefused) as refused:
                withdrawals.request_withdrawal(party, available, ALIPAY, actor=OWNER)
            assert "minimum" in refused.value.message
            app.config["WITHDRAWAL_MIN_CENTS"] = 1
            with pytest.raises(withdrawals.WithdrawalRefused) as refused:
                withdrawals.request_withdrawal(party, available + 1, ALIPAY, actor=OWNER)
            assert "available" in refused.value.message
            db.session.rollback()  # as every caller does after a refusal
            bad = withdrawals.Destination("bank", "张三", "12ab", "")
            with pytest.raises(withdrawals.WithdrawalRefused) as refused:
                withdrawals.request_withdrawal(party, available, bad, actor=OWNER)
            assert refused.value.field == "account_number"
            db.session.rollback()
            assert owed_to(app, party)["withdrawing"] == 0  # refusals change nothing
        finally:
            app.config["WITHDRAWAL_MIN_CENTS"] = saved


def test_approval_books_the_payout_and_fee_rejection_returns_the_money(app, make_store):
    store = with_markup(app, make_store())
    party = store_party(store.id)
    for _ in range(4):
        paid_order(app, store, card_sku(app))
    settle(app)
    available = owed_to(app, party)["available"]
    verified(app, party)
    config = app.config
    saved = {k: config[k] for k in ("WITHDRAWAL_MIN_CENTS", "WITHDRAWAL_FEE_BPS")}
    config.update(WITHDRAWAL_MIN_CENTS=1, WITHDRAWAL_FEE_BPS=100)
    try:
        with app.app_context():
            one = withdrawals.request_withdrawal(party, available // 2, ALIPAY, actor=OWNER)
            two = withdrawals.request_withdrawal(party, available // 4, ALIPAY, actor=OWNER)
            numbers, fee = (one.withdrawal_no, two.withdrawal_no), one.fee_cents
            db.session.commit()
            assert one.account_mask.endswith("8000") and "138001" not in one.account_mask
            assert withdrawals.account_number(one) == "13800138000"
        assert owed_to(app, party)["withdrawing"] == available // 2 + available // 4
        with app.app_context():
            withdrawals.approve(numbers[0], "ALI-20261123-1", actor=REVIEWER)
            withdrawals.reject(numbers[1], "account name does not match", actor=REVIEWER)
            db.session.commit()
            with pytest.raises(withdrawals.WithdrawalRefused):
                withdrawals.reject(numbers[0], "again", actor=REVIEWER)
            db.session.rollback()
        assert owed_to(app, party)["available"] == available - available // 2
        assert owed_to(app, party)["withdrawing"] == 0
        assert fee == (available // 2) // 100
        with app.app_context():
            assert verify() == []
            actions = {e.action for e in search(AuditQuery(tenant_id=store.id))}
            assert {"withdrawal.request", "withdrawal.approve", "withdrawal.reject"} <= actions
    finally:
        config.update(saved)


def test_the_daily_limit_counts_everything_not_rejected(app, make_store):
    store = with_markup(app, make_store())
    party = store_party(store.id)
    for _ in range(3):
        paid_order(app, store, card_sku(app))
    settle(app)
    verified(app, party)
    config = app.config
    saved = {k: config[k] for k in ("WITHDRAWAL_MIN_CENTS", "WITHDRAWAL_DAILY_LIMIT_CENTS")}
    config.update(WITHDRAWAL_MIN_CENTS=1, WITHDRAWAL_DAILY_LIMIT_CENTS=150)
    try:
        with app.app_context():
            first = withdrawals.request_withdrawal(party, 100, ALIPAY, actor=OWNER)
            db.session.commit()
            with pytest.raises(withdrawals.WithdrawalRefused) as refused:
                withdrawals.request_withdrawal(party, 60, ALIPAY, actor=OWNER)
            assert refused.value.params["left"].endswith("0.50")
            db.session.rollback()
            withdrawals.reject(first.withdrawal_no, "wrong account", actor=REVIEWER)
            db.session.commit()
            withdrawals.request_withdrawal(party, 150, ALIPAY, actor=OWNER)
            db.session.commit()
    finally:
        config.update(saved)


def test_concurrent_withdrawals_never_take_more_than_is_available(app, backend, make_store):
    if backend.name != "postgresql":
        pytest.skip("row locks are what this proves")
    store = with_markup(app, make_store())
    party = store_party(store.id)
    for _ in range(2):
        paid_order(app, store, card_sku(app))
    settle(app)
    verified(app, party)
    available = owed_to(app, party)["available"]
    amount = available // 3 + 1  # only two of eight requests can fit
    saved = app.config["WITHDRAWAL_MIN_CENTS"]
    app.config["WITHDRAWAL_MIN_CENTS"] = 1
    results, barrier = [], threading.Barrier(8)

    def attempt():
        with app.app_context():
            barrier.wait()
            try:
                withdrawals.request_withdrawal(party, amount, ALIPAY, actor=OWNER)
                db.session.commit()
                results.append("ok")
            except withdrawals.WithdrawalRefused:
                db.session.rollback()
                results.append("refused")

    try:
        threads = [threading.Thread(target=attempt) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        app.config["WITHDRAWAL_MIN_CENTS"] = saved
    assert results.count("ok") == 2
    assert owed_to(app, party)["available"] == available - 2 * amount >= 0
    with app.app_context():
        assert verify() == []


def test_two_settlement_runs_at_once_settle_each_hold_once(app, backend, make_store):
    if backend.name != "postgresql":
        pytest.skip("SKIP LOCKED is what this proves")
    store = with_markup(app, make_store())
    party = store_party(store.id)
    for _ in range(6):
        paid_order(app, store, card_sku(app))
    pending = owed_to(app, party)["pending"]
    barrier = threading.Barrier(2)

    def run():
        barrier.wait()
        settle(app)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert owed_to(app, party) == {
        "pending": 0,
        "available": pending,
        "withdrawing": 0,
        "owed": 0,
    }
    with app.app_context():
        holds = db.session.scalars(
            select(LedgerHold).where(LedgerHold.account_code == party.pending)
        ).all()
        assert len(holds) == 6 and all(h.settled_at is not None for h in holds)
        assert verify() == []


def test_referral_commissions_are_exact_capped_in_depth_and_reversed_on_refund(
    app, make_store, monkeypatch
):
    monkeypatch.setitem(app.config, "REFERRAL_RATES_BPS", "1000,500")
    top, middle, bottom, seller = (with_markup(app, make_store()) for _ in range(4))
    with app.app_context():
        for child, parent in ((middle, top), (bottom, middle), (seller, bottom)):
            db.session.execute(
                update(Tenant).where(Tenant.id == child.id).values(referrer_id=parent.id)
            )
        db.session.commit()
    order_no, total = paid_order(app, seller, card_sku(app, wholesale=1000, cost=500))
    profit = total - 1000
    share = profit - profit // 100
    assert owed_to(app, store_party(bottom.id))["pending"] == share * 1000 // 10000
    assert owed_to(app, store_party(middle.id))["pending"] == share * 500 // 10000
    assert owed_to(app, store_party(top.id))["pending"] == 0  # two levels only
    assert owed_to(app, store_party(seller.id))["pending"] == share  # the platform pays
    assert refund(app, seller, order_no) == "succeeded"
    for store in (seller, bottom, middle):
        assert owed_to(app, store_party(store.id))["pending"] == 0
    with app.app_context():
        assert verify() == []


def test_a_store_funded_referral_comes_out_of_the_sellers_profit(app, make_store, monkeypatch):
    monkeypatch.setitem(app.config, "REFERRAL_FUNDED_BY", "store")
    parent, seller = with_markup(app, make_store()), with_markup(app, make_store())
    with app.app_context():
        db.session.execute(
            update(Tenant).where(Tenant.id == seller.id).values(referrer_id=parent.id)
        )
        db.session.commit()
    _, total = paid_order(app, seller, card_sku(app))
    share = profit_after_fee(total, 1000)
    commission = share * 1000 // 10000
    assert owed_to(app, store_party(parent.id))["pending"] == commission
    assert owed_to(app, store_party(seller.id))["pending"] == share - commission


def test_the_invite_link_makes_the_inviter_the_new_stores_referrer(app, apex, make_store):
    inviter = with_markup(app, make_store())
    page = apex.get(f"/open?ref={inviter.slug}")
    assert page.status_code == 200
    slug = f"inv{inviter.id}x"
    opened = apex.submit(
        "/open",
        {
            "slug": slug,
            "name": "Invited",
            "owner_email": f"o@{slug}.example.com",
            "owner_password": "a-long-password-1",
        },
    )
    assert opened.status_code == 302
    with app.app_context():
        invited = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
        assert invited.referrer_id == inviter.id


def test_verification_checks_numbers_seals_them_and_audits_each_reveal(app, make_store):
    store = with_markup(app, make_store())
    party = store_party(store.id).key
    with app.app_context():
        with pytest.raises(kyc.VerificationRefused) as refused:
            kyc.submit(
                party, kyc.Application("individual", "张三", "110105194912310021"), actor=OWNER
            )
        assert refused.value.field == "id_number"  # wrong check character
        with pytest.raises(kyc.VerificationRefused) as refused:
            kyc.submit(party, kyc.Application("business", "张三", ID_NUMBER, "Acme"), actor=OWNER)
        assert refused.value.field == "licence_number"
        verification = kyc.submit(
            party, kyc.Application("individual", "张三", ID_NUMBER), actor=OWNER
        )
        db.session.commit()
        assert ID_NUMBER not in verification.id_number_sealed
        assert verification.id_number_mask == "110***********002X"
        with pytest.raises(kyc.VerificationRefused):
            kyc.submit(party, kyc.Application("individual", "张三", ID_NUMBER), actor=OWNER)
        assert kyc.reveal(verification, actor=REVIEWER)["id_number"] == ID_NUMBER
        with pytest.raises(kyc.VerificationRefused) as refused:
            kyc.review(verification.id, approve=False, actor=REVIEWER)
        assert refused.value.field == "reason"
        kyc.review(verification.id, approve=False, reason="blurred", actor=REVIEWER)
        db.session.commit()
        assert not kyc.is_verified(party)
        again = kyc.submit(party, kyc.Application("individual", "张三", ID_NUMBER), actor=OWNER)
        db.session.commit()
        kyc.review(again.id, approve=True, actor=REVIEWER)
        db.session.commit()
        assert kyc.is_verified(party)
        actions = [e.action for e in search(AuditQuery(tenant_id=store.id))]
        assert actions.count("verification.submit") == 2 and "verification.reveal" in actions


def test_business_verification_keeps_the_licence_image_sealed_and_private(app, make_store):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(buffer, format="PNG")
    store = with_markup(app, make_store())
    party = store_party(store.id).key
    application = kyc.Application(
        "business", "李四", ID_NUMBER, "卡盟科技有限公司", "91350100M000100Y43", buffer.getvalue()
    )
    with app.app_context():
        verification = kyc.submit(party, application, actor=OWNER)
        db.session.commit()
        data, mimetype = kyc.licence_image(verification)
        assert mimetype == "image/png" and data.startswith(b"\x89PNG")
        assert "media" not in verification.licence_image
        assert verification.licence_number_mask == "91************Y43"[:2] + "*" * 12 + "0Y43"


OPERATIONS = st.lists(
    st.one_of(
        st.tuples(st.just("pay"), st.integers(1, 3)),
        st.tuples(st.just("refund"), st.integers(0, 10**6), st.booleans()),
        st.tuples(st.just("settle")),
        st.tuples(st.just("withdraw"), st.integers(1, 100)),
        st.tuples(st.just("review"), st.integers(0, 10**6), st.booleans()),
    ),
    min_size=3,
    max_size=9,
)


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(operations=OPERATIONS)
def test_random_money_sequences_keep_every_balance_whole(app, make_store, operations):
    """Orders, refunds, settlements and withdrawals in any order: every transaction balances,
    cached balances equal their entries, and no balance of the store goes negative."""
    store = with_markup(app, make_store())
    party = store_party(store.id)
    verified(app, party)
    sku = card_sku(app, keys=30)
    orders, requested = [], []
    saved = app.config["WITHDRAWAL_MIN_CENTS"]
    app.config["WITHDRAWAL_MIN_CENTS"] = 1
    try:
        for operation in operations:
            kind = operation[0]
            if kind == "pay":
                orders.append(paid_order(app, store, sku, quantity=operation[1]))
            elif kind == "refund" and orders:
                order_no, _ = orders[operation[1] % len(orders)]
                with app.app_context():
                    payment = db.session.scalar(
                        select(Payment).where(
                            Payment.order_no == order_no, Payment.status != "failed"
                        )
                    )
                    left = refundable_cents(payment) if payment else 0
                if left:
                    amount = None if operation[2] else max(1, left // 2)
                    refund(app, store, order_no, amount=amount)
            elif kind == "settle":
                settle(app)
            elif kind == "withdraw":
                available = owed_to(app, party)["available"]
                if available > 0:
                    with app.app_context():
                        try:
                            made = withdrawals.request_withdrawal(
                                party, max(1, available * operation[1] // 100), ALIPAY, actor=OWNER
                            )
                            db.session.commit()
                            requested.append(made.withdrawal_no)
                        except withdrawals.WithdrawalRefused:
                            db.session.rollback()  # owed: refused, as it should be
            elif kind == "review" and requested:
                number = requested.pop(operation[1] % len(requested))
                with app.app_context():
                    if operation[2]:
                        withdrawals.approve(number, "REF", actor=REVIEWER)
                    else:
                        withdrawals.reject(number, "no", actor=REVIEWER)
                    db.session.commit()
            balances = owed_to(app, party)
            assert all(value >= 0 for value in balances.values()), (operation, balances)
            assert not (balances["available"] and balances["owed"]), balances
        with app.app_context():
            assert verify() == []
    finally:
        app.config["WITHDRAWAL_MIN_CENTS"] = saved


def test_a_rejected_withdrawal_first_pays_off_what_a_later_refund_left_owed(
    app, make_store, monkeypatch
):
    monkeypatch.setitem(app.config, "WITHDRAWAL_MIN_CENTS", 1)
    store = with_markup(app, make_store())
    party = store_party(store.id)
    order_no, _ = paid_order(app, store, card_sku(app))
    settle(app)
    verified(app, party)
    share = owed_to(app, party)["available"]
    with app.app_context():
        made = withdrawals.request_withdrawal(party, share, ALIPAY, actor=OWNER)
        db.session.commit()
        number = made.withdrawal_no
    refund(app, store, order_no)  # after settlement and the request: all of it becomes owed
    assert owed_to(app, party) == {
        "pending": 0,
        "available": 0,
        "withdrawing": share,
        "owed": share,
    }
    with app.app_context():
        withdrawals.reject(number, "账户有误", actor=REVIEWER)
        db.session.commit()
        assert verify() == []
    assert owed_to(app, party) == {"pending": 0, "available": 0, "withdrawing": 0, "owed": 0}
