"""Top-ups under faults, with real Redis and real `python -m workers` processes: a worker killed
mid-call, a supplier that errors, stalls or answers late, success reported after we gave up, a
supplier that fails for good, and Redis restarted mid-run. Each ends with one purchase per
reference at the supplier, the right final state, and at most one refund — including a worker
killed between a top-up's final state and its order's, which the sweeper finishes."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from datetime import timedelta

import pytest
from redis.exceptions import RedisError
from sqlalchemy import case, func, select, text, update

from app.db import utcnow
from app.extensions import db
from app.fulfilment.models import FINAL, Topup, TopupCall
from app.fulfilment.services import sweep
from app.ledger.models import LedgerTransaction
from app.ledger.services import verify
from app.orders.models import Order
from app.orders.services import create_order
from app.payments.models import Payment, Refund
from app.payments.services import start_payment
from tenants.context import tenant_context
from tenants.engines import registry
from tests.support.topups import simulated_supplier, topup_product
from tests.support.workers import PrivateRedis, WorkerProcess, wait_until
from tests.test_fulfilment import order_status, topup_of
from tests.test_refunds import notify
from workers.queue import JobSpec, enqueue
from workers.simulator import Simulator

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


# -- helpers --------------------------------------------------------------------------------------


def worker_env(backend, **overrides) -> dict:
    env = backend.env()
    env.update({name: str(value) for name, value in overrides.items()})
    return env


def open_order(app, store, sku_id, phone="13800138000") -> tuple[str, str]:
    """An unpaid top-up order and its sandbox payment: (order_no, payment_no)."""
    with app.app_context(), tenant_context(store):
        order = create_order(
            store, sku_id=sku_id, quantity=1,
            contact_email=f"f-{uuid.uuid4().hex[:8]}@example.com",
            account_fields={"account": phone},
        )  # fmt: skip
        payment = start_payment(store, order, "sandbox", return_url="http://example.invalid/")
        return order.order_no, payment.payment_no


def buy(app, store, sku_id) -> str:
    """Pay a new top-up order; the workers take it from there."""
    order_no, payment_no = open_order(app, store, sku_id)
    assert notify(app, payment_no) == "fulfilling"
    return order_no


def topups_of(app, order_nos) -> dict[str, Topup]:
    with app.app_context():
        found = db.session.scalars(select(Topup).where(Topup.order_no.in_(list(order_nos)))).all()
        for topup in found:
            db.session.expunge(topup)
        return {t.order_no: t for t in found}


def all_final(app, order_nos) -> bool:
    found = topups_of(app, order_nos)
    return len(found) == len(order_nos) and all(t.status in FINAL for t in found.values())


def outcomes(app, topup_id) -> list[tuple[str, str]]:
    with app.app_context():
        return db.session.execute(
            select(TopupCall.action, TopupCall.outcome)
            .where(TopupCall.topup_id == topup_id)
            .order_by(TopupCall.id)
        ).all()


def make_due(app, order_nos) -> None:
    """Move these top-ups' clocks back, as if the sweeper's waits had passed (a check due, a
    submit or a queued top-up older than the sweeper's 60 s patience)."""
    long_ago = utcnow() - timedelta(minutes=2)
    with app.app_context():
        db.session.execute(
            update(Topup)
            .where(Topup.order_no.in_(list(order_nos)), Topup.status.not_in(tuple(FINAL)))
            .values(
                next_check_at=utcnow() - timedelta(seconds=1),
                created_at=long_ago,
                submitted_at=case((Topup.submitted_at.is_(None), None), else_=long_ago),
            )
        )
        db.session.commit()


def sweep_until_final(app, order_nos, rounds: int = 4, per_round: float = 8.0) -> None:
    """What the periodic sweeper does, one slot after another, until every top-up is final."""
    for _ in range(rounds):
        if all_final(app, order_nos):
            return
        make_due(app, order_nos)
        with app.app_context():
            sweep()
        with contextlib.suppress(AssertionError):
            wait_until(lambda: all_final(app, order_nos), per_round, 0.2, "final top-ups")
    assert all_final(app, order_nos), {n: t.status for n, t in topups_of(app, order_nos).items()}


def refunds(app, order_no) -> list[Refund]:
    with app.app_context():
        found = db.session.scalars(select(Refund).where(Refund.order_no == order_no)).all()
        for refund in found:
            db.session.expunge(refund)
        return found


def job_done(app, job_key: str, path: str) -> bool:
    """Whether the RQ job enqueued under `job_key` has run (successfully or not)."""
    from rq.exceptions import NoSuchJobError
    from rq.job import Job, JobStatus

    from workers.queue import backend

    with app.app_context():
        try:
            job = Job.fetch(JobSpec(path, job_key=job_key).job_id, connection=backend().redis)
        except NoSuchJobError:
            return False
        return job.get_status() in (JobStatus.FINISHED, JobStatus.FAILED)


def lock_waiters(app) -> int:
    """Sessions of this test database waiting for a row lock."""
    with app.app_context():
        return db.session.scalar(
            text(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE NOT l.granted AND a.datname = current_database()"
            )
        )


@pytest.fixture
def logs(tmp_path):
    return lambda name: tmp_path / f"{name}.log"


# -- a worker killed mid-call ---------------------------------------------------------------------


def test_a_worker_killed_mid_call_is_recovered_and_the_supplier_sells_once(
    app, backend, make_store, simulator, logs
):
    store = make_store()
    supplier = simulated_supplier(app, simulator)
    item = topup_product(app, [(supplier, "CM10")])
    simulator.configure(latency_ms=3000)  # the supplier takes 3 s: the kill lands mid-call
    env = worker_env(backend, SUPPLIER_TIMEOUT_SECONDS=10)
    with WorkerProcess(env, logs("killed")) as worker:
        order_no = buy(app, store, item["sku_ids"][0])
        wait_until(lambda: topup_of(app, order_no).status == "submitted", 30, what="the submit")
        reference = topup_of(app, order_no).reference
        time.sleep(0.5)  # the order request has left; the supplier answers 2.5 s from now
        assert worker.horse_pids()  # the job is still running: waiting for that answer
        worker.kill()
    assert topup_of(app, order_no).status == "submitted"  # no answer was ever recorded
    simulator.configure(latency_ms=0)
    # The supplier did get the request and bought: only a query can tell us.
    wait_until(lambda: simulator.placed_count(reference) == 1, 10, what="the supplier's order")

    with WorkerProcess(env, logs("fresh")):
        sweep_until_final(app, [order_no])
        wait_until(lambda: order_status(app, store, order_no) == "delivered", 10)
    topup = topup_of(app, order_no)
    assert topup.status == "success" and topup.attempt == 1 and topup.reference == reference
    assert simulator.placed_count(reference) == 1
    assert simulator.received_count(reference) == 1  # resolved by a query, not a second order
    assert ("query", "success") in outcomes(app, topup.id)
    assert refunds(app, order_no) == []
    with app.app_context():
        assert verify() == []


# -- errors, stalls and late answers --------------------------------------------------------------


def test_errors_stalls_and_late_answers_end_in_one_purchase_per_reference(
    app, backend, make_store, logs
):
    store = make_store()
    with contextlib.ExitStack() as stack:
        sims = {
            "http_500": stack.enter_context(Simulator(fault="http_500")),
            # The supplier buys, then answers after we stopped listening (1.5 s).
            "stall": stack.enter_context(Simulator(timeout_rate=1.0, stall_seconds=3)),
            # The answer (and the purchase itself) comes after we stopped listening.
            "late": stack.enter_context(Simulator(latency_ms=2500)),
            "mixed": stack.enter_context(
                Simulator(
                    seed=11,
                    timeout_rate=0.4,
                    stall_seconds=2,
                    processing_rate=0.4,
                    callback_delay_ms=200,
                    callback_retries=1,
                )
            ),
        }
        counts = {"http_500": 2, "stall": 2, "late": 2, "mixed": 4}
        placed_on: dict[str, Simulator] = {}
        env = worker_env(backend)  # SUPPLIER_TIMEOUT_SECONDS=1.5
        stack.enter_context(WorkerProcess(env, logs("w1")))
        stack.enter_context(WorkerProcess(env, logs("w2")))
        for name, sim in sims.items():
            supplier = simulated_supplier(app, sim)
            sku_id = topup_product(app, [(supplier, "CM10")])["sku_ids"][0]
            for _ in range(counts[name]):
                placed_on[buy(app, store, sku_id)] = sim
        order_nos = list(placed_on)
        # First pass: every top-up is sent and answered (or not in time).
        wait_until(
            lambda: all(
                t.status not in ("queued", "submitted") for t in topups_of(app, order_nos).values()
            ),
            30, 0.2, "first answers",
        )  # fmt: skip
        first = {n: t.status for n, t in topups_of(app, order_nos).items()}
        assert all(first[n] == "unknown" for n, s in placed_on.items() if s is sims["http_500"])
        assert all(first[n] == "unknown" for n, s in placed_on.items() if s is sims["stall"])
        assert all(first[n] == "unknown" for n, s in placed_on.items() if s is sims["late"])
        # The suppliers recover; the sweeper's queries settle the rest.
        sims["http_500"].configure(fault="")
        sims["stall"].configure(timeout_rate=0.0)
        sims["late"].configure(latency_ms=0)
        sims["mixed"].configure(timeout_rate=0.0)
        sweep_until_final(app, order_nos)
        for sim in sims.values():
            sim.wait_idle()
        wait_until(lambda: all(order_status(app, store, n) == "delivered" for n in order_nos), 10)
        found = topups_of(app, order_nos)
        for order_no, sim in placed_on.items():
            topup = found[order_no]
            assert topup.status == "success" and topup.attempt == 1, (order_no, topup.message)
            assert sim.placed_count(topup.reference) == 1, topup.reference
            assert sim.order(topup.reference).status == "success"
            assert refunds(app, order_no) == []
        # Each supplier sold exactly the top-ups routed to it, once each.
        for sim in sims.values():
            mine = [found[n].reference for n, s in placed_on.items() if s is sim]
            assert sorted(sim.orders) == sorted(mine)
        for name in ("http_500", "stall", "late"):
            for order_no in (n for n, s in placed_on.items() if s is sims[name]):
                assert ("place", "transport_error") in outcomes(app, found[order_no].id)
    with app.app_context():
        assert verify() == []


# -- success after we gave up ---------------------------------------------------------------------


def test_success_reported_after_our_timeout_is_kept_and_nothing_is_refunded(
    app, backend, make_store, apex, logs
):
    store = make_store()
    with Simulator(
        timeout_rate=1.0, stall_seconds=3, processing_rate=1.0, callback_delay_ms=200,
        callback_retries=1,
    ) as sim:  # fmt: skip
        supplier = simulated_supplier(app, sim)
        sku_id = topup_product(app, [(supplier, "CM10")])["sku_ids"][0]
        with WorkerProcess(worker_env(backend), logs("w")):
            by_callback, by_query = buy(app, store, sku_id), buy(app, store, sku_id)
            wait_until(
                lambda: all(t.status == "unknown" for t in topups_of(app, [by_callback, by_query])
                            .values()), 20, 0.2, "timeouts",
            )  # fmt: skip
            assert sim.wait_idle(10)  # it settled both and tried to call us back
            # The supplier's signed success notification reaches us after we timed out.
            reference = topup_of(app, by_callback).reference
            notification = next(
                c["params"] for c in sim.callbacks if c["params"]["reference"] == reference
            )
            assert notification["status"] == "success"
            answer = apex.post(f"/suppliers/callback/{supplier}", data=notification)
            assert answer.get_data(as_text=True) == "success"
            assert topup_of(app, by_callback).status == "success"
            # The other is settled by the sweeper's query.
            sim.configure(timeout_rate=0.0)
            sweep_until_final(app, [by_callback, by_query])
            wait_until(
                lambda: order_status(app, store, by_query) == "delivered", 10, what="delivery"
            )
            # The notification again, and a stray check job: nothing changes.
            again = apex.post(f"/suppliers/callback/{supplier}", data=notification)
            assert again.status_code == 200
            topup_no = topup_of(app, by_callback).topup_no
            with app.app_context():
                enqueue(
                    "workers.jobs.fulfilment.check_topup", topup_no, tenant_id=store.id,
                    queue="fulfilment", job_key=f"stray-check:{topup_no}",
                )  # fmt: skip
            wait_until(
                lambda: job_done(app, f"stray-check:{topup_no}", "workers.jobs.fulfilment."
                                 "check_topup"), 15, 0.2, "the stray check",
            )  # fmt: skip
        for order_no in (by_callback, by_query):
            topup = topup_of(app, order_no)
            assert topup.status == "success" and topup.delivered_quantity == 1
            assert sim.placed_count(topup.reference) == 1
            assert order_status(app, store, order_no) == "delivered"
            assert refunds(app, order_no) == []
            with app.app_context():
                payment = db.session.scalar(select(Payment).where(Payment.order_no == order_no))
                assert payment.status == "succeeded" and payment.refunded_cents == 0
        assert ("callback", "success") in outcomes(app, topup_of(app, by_callback).id)
        assert ("query", "success") in outcomes(app, topup_of(app, by_query).id)
    with app.app_context():
        assert verify() == []


# -- failure for good -----------------------------------------------------------------------------


def test_a_top_up_that_fails_for_good_is_refunded_exactly_once(app, backend, make_store, logs):
    store = make_store()
    with Simulator(failure_rate=1.0) as failing, Simulator(fault="http_500") as down:
        first, second = simulated_supplier(app, failing), simulated_supplier(app, failing)
        # Both offers fail: a refused product, then a failure on a normal one.
        both_fail = topup_product(app, [(first, "FAIL10"), (second, "CM10")])["sku_ids"][0]
        never_up = topup_product(app, [(simulated_supplier(app, down), "CM10")])["sku_ids"][0]
        with WorkerProcess(worker_env(backend), logs("w")):
            exhausted, expired = buy(app, store, both_fail), buy(app, store, never_up)
            wait_until(lambda: topup_of(app, expired).status == "unknown", 20, what="unknown")
            # The down supplier never answers; the top-up's deadline passes.
            with app.app_context():
                db.session.execute(
                    update(Topup)
                    .where(Topup.order_no == expired)
                    .values(deadline_at=utcnow() - timedelta(seconds=1))
                )
                db.session.commit()
            sweep_until_final(app, [exhausted, expired])

            def refunded() -> bool:
                return all(
                    [r.status for r in refunds(app, n)] == ["succeeded"]
                    for n in (exhausted, expired)
                )

            wait_until(refunded, 20, 0.2, "the refunds")
            # Everything that could repeat, repeats: the sweeper, and stray submit/check jobs.
            keys = []
            for order_no in (exhausted, expired):
                topup_no = topup_of(app, order_no).topup_no
                for step in ("submit", "check"):
                    path, key = f"workers.jobs.fulfilment.{step}_topup", f"stray-{step}:{topup_no}"
                    with app.app_context():
                        enqueue(path, topup_no, tenant_id=store.id, queue="fulfilment",
                                job_key=key)  # fmt: skip
                    keys.append((key, path))
            with app.app_context():
                sweep()
            wait_until(lambda: all(job_done(app, k, p) for k, p in keys), 20, 0.2, "strays")
        topup = topup_of(app, exhausted)
        assert topup.status == "failed" and topup.attempt == 2
        assert failing.placed_count(f"{topup.topup_no}-1") == 1  # each supplier asked once
        assert failing.placed_count(f"{topup.topup_no}-2") == 1
        assert topup_of(app, expired).status == "failed"
        assert down.orders == {}  # the down supplier never sold anything
    for order_no in (exhausted, expired):
        assert order_status(app, store, order_no) == "refunded"
        (refund,) = refunds(app, order_no)
        with app.app_context():
            payment = db.session.scalar(select(Payment).where(Payment.order_no == order_no))
            assert refund.status == "succeeded" and refund.amount_cents == payment.amount_cents
            assert payment.status == "refunded"
            assert payment.refunded_cents == payment.amount_cents
            booked = db.session.scalar(
                select(func.count())
                .select_from(LedgerTransaction)
                .where(LedgerTransaction.idempotency_key == f"refund:{refund.refund_no}")
            )
            assert booked == 1
    with app.app_context():
        assert verify() == []


# -- Redis restarted mid-run ----------------------------------------------------------------------


def test_a_redis_restart_mid_run_loses_no_order(app, backend, make_store, tmp_path, logs):
    from app import create_app

    store = make_store()
    with contextlib.ExitStack() as stack:
        redis = stack.enter_context(PrivateRedis(tmp_path))
        private = create_app(backend.config(REDIS_URL=redis.url))

        @stack.callback
        def close_private_app():
            with private.app_context():
                private.extensions["kameng.jobs"].close()
                registry().dispose()

        sim = stack.enter_context(Simulator(latency_ms=1000))
        supplier = simulated_supplier(app, sim)
        sku_id = topup_product(app, [(supplier, "CM10")])["sku_ids"][0]
        env = worker_env(backend, REDIS_URL=redis.url, SUPPLIER_TIMEOUT_SECONDS=5)
        workers = [stack.enter_context(WorkerProcess(env, logs("w1")))]
        orders = [open_order(private, store, sku_id) for _ in range(6)]
        before, during = orders[:3], orders[3:]
        for _, payment_no in before:
            assert notify(private, payment_no) == "fulfilling"
        wait_until(
            lambda: any(t.status != "queued" for t in topups_of(app, [o for o, _ in before])
                        .values()), 30, 0.05, "a top-up in flight",
        )  # fmt: skip

        # A payment already past its checks commits just after Redis goes down: its submit
        # job cannot be sent (the top-up is `queued` with no job anywhere).
        committing, rest = during[0], during[1:]
        lock = _hold_lock(
            app, store.id, select(Payment.id).where(Payment.payment_no == committing[1])
        )
        outcome: list = []

        def gateway_notifies():
            try:
                outcome.append(notify(private, committing[1]))
            except Exception as error:
                outcome.append(error)

        notifying = threading.Thread(target=gateway_notifies)
        notifying.start()
        try:
            wait_until(lambda: lock_waiters(app) > 0, 10, 0.02, "the payment to wait on its lock")
            redis.crash()  # jobs queued and running vanish with it
        finally:
            lock.rollback()
            lock.close()
        notifying.join(30)
        # The payment is committed, then sending its job fails: that is logged, the gateway is
        # told "success" (the payment is recorded), and the sweeper re-sends the lost job.
        assert outcome == ["fulfilling"], outcome
        assert order_status(app, store, committing[0]) == "fulfilling"
        assert topup_of(app, committing[0]).status == "queued"

        refused = []
        for _, payment_no in rest:  # payments arriving while Redis is down: refused unread
            with pytest.raises(RedisError):
                notify(private, payment_no)
            refused.append(payment_no)
        assert all(order_status(app, store, o) == "pending_payment" for o, _ in rest)
        wait_until(lambda: not any(w.horse_pids() for w in workers), 10, what="the job in flight")
        redis.start()  # empty: every job is gone

        # The gateway repeats each notification we did not acknowledge; nothing is paid twice.
        assert notify(private, committing[1]) == "duplicate"
        for payment_no in refused:
            assert notify(private, payment_no) == "fulfilling"
        order_nos = [o for o, _ in orders]
        with app.app_context():
            assert db.session.scalar(
                select(func.count()).select_from(Payment)
                .where(Payment.order_no.in_(order_nos), Payment.status == "succeeded")
            ) == len(orders)  # fmt: skip
        # RQ's worker quits when it loses Redis; its supervisor starts a new one.
        workers.append(stack.enter_context(WorkerProcess(env, logs("w2"))))
        sim.configure(latency_ms=0)
        sweep_until_final(private, order_nos)
        wait_until(
            lambda: all(order_status(app, store, n) == "delivered" for n in order_nos), 15,
            what="every order delivered",
        )  # fmt: skip
        for topup in topups_of(app, order_nos).values():
            assert topup.status == "success" and topup.attempt == 1
            assert sim.placed_count(topup.reference) == 1
        assert sorted(sim.orders) == sorted(t.reference for t in topups_of(app, order_nos).values())
    with app.app_context():
        assert verify() == []


# -- known gaps: a crash between a top-up's outcome and its order's ------------------------------


def _hold_lock(app, store_id, statement):
    """Lock rows from another connection, as a slow concurrent transaction would."""
    with app.app_context():
        engine = registry().for_tenant(store_id)
    connection = engine.connect()
    connection.execute(statement.with_for_update())
    return connection


class ScenarioNotReached(RuntimeError):
    """The crash could not be staged (not the gap under test: fails the test outright)."""


def _drop_leftover_jobs(backend) -> None:
    """Jobs earlier tests enqueued and never ran would keep the spare worker busy."""
    from redis import Redis
    from rq import Queue

    from workers.queue import QUEUES

    redis = Redis.from_url(backend.redis_url)
    try:
        for name in QUEUES:
            Queue(name, connection=redis).empty()
    finally:
        redis.close()


def _kill_while_blocked(app, backend, store, sku_id, simulator, logs, lock_statement, blocked):
    """Buy; while the supplier takes its second to answer, lock `lock_statement`'s rows, which
    the worker needs after it committed the top-up's outcome; once `blocked()` holds and the
    worker waits on the lock, kill it there. Then the sweeper and the spare worker get their go."""
    simulator.configure(latency_ms=1000)
    _drop_leftover_jobs(backend)  # so the only job a worker can be running is this top-up's
    env = worker_env(backend)
    with WorkerProcess(env, logs("w1")) as worker, WorkerProcess(env, logs("w2")) as spare:
        try:
            order_no = buy(app, store, sku_id)
            wait_until(lambda: topup_of(app, order_no).status == "submitted", 30, what="submit")
            lock = _hold_lock(app, store.id, lock_statement(order_no))
            try:
                wait_until(lambda: blocked(order_no), 10, what="the outcome")
                wait_until(lambda: lock_waiters(app) > 0, 10, 0.02, "the worker on the lock")
                busy = [w for w in (worker, spare) if w.horse_pids()]
                if len(busy) != 1:
                    raise ScenarioNotReached(f"{len(busy)} workers running a job")
                busy[0].kill()
            finally:
                lock.rollback()
                lock.close()
        except AssertionError as error:
            raise ScenarioNotReached(str(error)) from error
        make_due(app, [order_no])
        with app.app_context():
            db.session.execute(
                update(Topup)
                .where(Topup.order_no == order_no)
                .values(deadline_at=utcnow() - timedelta(seconds=1))
            )
            db.session.execute(  # finished "a while ago": the sweeper's unsettled-order rule
                update(Topup)
                .where(Topup.order_no == order_no, Topup.finished_at.is_not(None))
                .values(finished_at=utcnow() - timedelta(minutes=2))
            )
            db.session.commit()
            sweep()
        time.sleep(4)  # time for the spare worker to run whatever the sweeper enqueued
    return order_no


def test_a_worker_killed_after_a_top_up_succeeded_still_delivers_its_order(
    app, backend, make_store, simulator, logs
):
    store = make_store()
    supplier = simulated_supplier(app, simulator)
    sku_id = topup_product(app, [(supplier, "CM10")])["sku_ids"][0]
    order_no = _kill_while_blocked(
        app, backend, store, sku_id, simulator, logs,
        lambda n: select(Order.id).where(Order.order_no == n),  # finish_order waits here
        lambda n: topup_of(app, n).status == "success",
    )  # fmt: skip
    assert topup_of(app, order_no).status == "success"
    assert order_status(app, store, order_no) == "delivered"


def test_a_worker_killed_after_a_top_up_failed_still_refunds_its_order(
    app, backend, make_store, simulator, logs
):
    store = make_store()
    supplier = simulated_supplier(app, simulator)
    sku_id = topup_product(app, [(supplier, "FAIL10")])["sku_ids"][0]
    order_no = _kill_while_blocked(
        app, backend, store, sku_id, simulator, logs,
        lambda n: select(Payment.id).where(Payment.order_no == n),  # the refund waits here
        lambda n: topup_of(app, n).status == "failed",
    )  # fmt: skip
    assert topup_of(app, order_no).status == "failed"
    assert order_status(app, store, order_no) == "refunded"
    assert len(refunds(app, order_no)) == 1
