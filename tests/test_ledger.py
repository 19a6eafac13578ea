"""The ledger: balanced, idempotent, verifiable."""

import threading
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, update

from app.extensions import db
from app.ledger import services as ledger
from app.ledger.models import LedgerAccount, LedgerTransaction


def key(prefix="t"):
    return f"test:{prefix}:{uuid.uuid4().hex}"


def balance(code, currency="CNY"):
    return db.session.scalar(
        select(LedgerAccount.balance_cents).where(
            LedgerAccount.code == code, LedgerAccount.currency == currency
        )
    )


def test_an_order_payment_splits_between_store_platform_and_supplier(app):
    tag = uuid.uuid4().hex[:6]
    with app.app_context():
        entries = ledger.order_paid_entries(
            tenant_id=10**6,
            source=f"clearing:sandbox{tag}",
            supplier_id=10**6,
            retail_cents=1200,
            wholesale_cents=1000,
            cost_cents=900,
        )
        transaction, created = ledger.post(key(), "order_paid", entries, currency="CNY")
        db.session.commit()
        assert created and sum(e.amount_cents for e in transaction.entries) == 0
        assert balance(f"clearing:sandbox{tag}") == 1200
        owed = db.session.scalar(
            select(LedgerAccount).where(LedgerAccount.code == f"store:{10**6}:pending")
        )
        assert owed.owed_cents() >= 200


def test_posting_twice_with_one_key_moves_money_once(app):
    tag, idem = uuid.uuid4().hex[:6], key("dup")
    entries = [(f"a:{tag}", 500), (f"b:{tag}", -500)]
    with app.app_context():
        first, created = ledger.post(idem, "test", entries, currency="CNY")
        db.session.commit()
        again, created_again = ledger.post(idem, "test", entries, currency="CNY")
        db.session.commit()
        assert created and not created_again and first.id == again.id
        assert balance(f"a:{tag}") == 500


def test_unbalanced_or_empty_transactions_are_refused(app):
    with app.app_context():
        with pytest.raises(ledger.LedgerError):
            ledger.post(key(), "test", [("x:1", 100), ("y:1", -99)], currency="CNY")
        with pytest.raises(ledger.LedgerError):
            ledger.post(key(), "test", [("x:1", 0)], currency="CNY")
        db.session.rollback()


def test_a_refund_reverses_the_payment(app):
    tag = uuid.uuid4().hex[:6]
    with app.app_context():
        paid, _ = ledger.post(
            key(), "paid", [(f"c:{tag}", 300), (f"d:{tag}", -300)], currency="CNY"
        )
        ledger.post(key(), "refund", ledger.reversal_entries(paid), currency="CNY")
        db.session.commit()
        assert balance(f"c:{tag}") == 0 and balance(f"d:{tag}") == 0


def test_verify_finds_a_tampered_balance(app, runner):
    tag = uuid.uuid4().hex[:6]
    with app.app_context():
        ledger.post(key(), "t", [(f"e:{tag}", 10), (f"f:{tag}", -10)], currency="CNY")
        db.session.commit()
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0
    with app.app_context():
        db.session.execute(
            update(LedgerAccount).where(LedgerAccount.code == f"e:{tag}").values(balance_cents=11)
        )
        db.session.commit()
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code != 0 and f"e:{tag}" in result.output
    with app.app_context():
        db.session.execute(
            update(LedgerAccount).where(LedgerAccount.code == f"e:{tag}").values(balance_cents=10)
        )
        db.session.commit()
    assert runner.invoke(args=["ledger", "verify"]).exit_code == 0


amounts = st.integers(min_value=1, max_value=10**7)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.tuples(amounts, amounts, amounts), min_size=1, max_size=8))
def test_random_payments_and_refunds_always_verify(app, payments):
    tag = uuid.uuid4().hex[:6]
    with app.app_context():
        for n, (cost, margin, markup) in enumerate(payments):
            entries = ledger.order_paid_entries(
                tenant_id=1,
                source=f"clearing:p{tag}",
                supplier_id=1,
                retail_cents=cost + margin + markup,
                wholesale_cents=cost + margin,
                cost_cents=cost,
            )
            paid, _ = ledger.post(f"{tag}:{n}:paid", "order_paid", entries, currency="CNY")
            if n % 2:
                ledger.post(
                    f"{tag}:{n}:refund", "refund", ledger.reversal_entries(paid), currency="CNY"
                )
        db.session.commit()
        assert ledger.verify() == []


@pytest.mark.slow
def test_concurrent_posts_of_one_event_post_once(app, backend):
    if not backend.is_postgres:
        pytest.skip("races need PostgreSQL")
    tag, idem = uuid.uuid4().hex[:6], key("race")
    barrier, outcomes = threading.Barrier(8), []

    def poster():
        with app.app_context():
            barrier.wait()
            try:
                ledger.post(idem, "t", [(f"g:{tag}", 7), (f"h:{tag}", -7)], currency="CNY")
                db.session.commit()
                outcomes.append("ok")
            except Exception:  # the unique key refuses the losers
                db.session.rollback()
                outcomes.append("refused")

    threads = [threading.Thread(target=poster) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with app.app_context():
        count = db.session.scalar(
            select(func.count())
            .select_from(LedgerTransaction)
            .where(LedgerTransaction.idempotency_key == idem)
        )
        assert count == 1 and balance(f"g:{tag}") == 7
        assert ledger.verify() == []


def test_concurrent_posts_to_the_same_accounts_lose_no_update(app, backend):
    """Each post reads the balances it changes under the row lock, not from its session's
    earlier read: two writers on the same accounts must add up."""
    if not backend.is_postgres:
        pytest.skip("races need PostgreSQL")
    tag = uuid.uuid4().hex[:6]
    barrier = threading.Barrier(4)

    def poster():
        with app.app_context():
            barrier.wait()
            for _ in range(50):
                ledger.post(key("many"), "t", [(f"a:{tag}", 2), (f"b:{tag}", -2)], currency="CNY")
                db.session.commit()

    threads = [threading.Thread(target=poster) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with app.app_context():
        assert balance(f"a:{tag}") == 4 * 50 * 2
        assert ledger.verify() == []


@pytest.mark.postgres
def test_first_posts_to_new_accounts_never_deadlock(app, backend):
    """Two first payments at once create the same new accounts (a provider's clearing account,
    the platform's revenue), each listing them in its own order (a set's order differs between
    processes): accounts are created in one fixed order, so neither waits on the other in a
    cycle and both commit."""
    errors = []

    def poster(codes, barrier):
        with app.app_context():
            try:
                barrier.wait()
                ledger.lock_accounts(codes, "CNY")
                db.session.commit()
            except Exception as error:  # noqa: BLE001  (a deadlock fails the test)
                errors.append(error)
                db.session.rollback()
            finally:
                db.session.remove()

    for _ in range(5):
        tag = uuid.uuid4().hex[:6]
        codes = [f"first:{tag}:{name}" for name in "abcdef"]
        barrier = threading.Barrier(2)
        threads = [
            threading.Thread(target=poster, args=(order, barrier))
            for order in (codes, list(reversed(codes)))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == [], errors[0]
