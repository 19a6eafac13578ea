"""Jobs: enqueued after commit, run with their store bound, deduplicated; real RQ workers."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import update

from app.extensions import db
from tenants.models import Tenant
from workers.queue import backend, enqueue
from workers.schedule import enqueue_due

ROOT = Path(__file__).resolve().parent.parent


def outbox_messages(app, to: str) -> list[str]:
    """Decoded text of the e-mails written to the outbox for `to` (headers, then the body)."""
    from email import policy
    from email.parser import BytesParser

    folder = Path(app.config["INSTANCE_PATH"]) / "outbox"
    if not folder.exists():
        return []
    found = []
    for path in folder.glob("*.eml"):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        if message["To"] == to:
            found.append(
                f"To: {message['To']}\nSubject: {message['Subject']}\n\n"
                + message.get_body(("plain",)).get_content()
            )
    return found


def run_worker_burst(backend_info):
    """A real `python -m workers --burst` process on this test run's database and Redis."""
    result = subprocess.run(
        [sys.executable, "-m", "workers", "--burst"],
        cwd=ROOT,
        env=backend_info.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def wait_for_jobs(app, backend_info):
    if app.config["JOBS_IN_PROCESS"]:
        assert backend().wait_until_idle(30)
    else:
        run_worker_burst(backend_info)


def test_a_new_store_owner_gets_a_welcome_email(app, backend, make_store):
    store = make_store(name="Welcome Store")
    with app.app_context():
        wait_for_jobs(app, backend)
    messages = outbox_messages(app, f"owner@{store.slug}.example.com")
    assert len(messages) == 1
    assert f"http://{store.slug}.kameng.test/admin" in messages[0]
    with app.app_context():
        assert db.session.get(Tenant, store.id).welcome_sent_at is not None


def test_the_welcome_job_run_twice_sends_once(app, backend, make_store):
    from workers.runner import execute

    store = make_store()
    with app.app_context():
        wait_for_jobs(app, backend)
    execute(app, "workers.jobs.tenants.send_welcome_email", None, [store.id])
    assert len(outbox_messages(app, f"owner@{store.slug}.example.com")) == 1


def test_the_sweeper_recovers_a_lost_welcome_email(app, backend, make_store):
    from datetime import timedelta

    from app.db import utcnow
    from workers.runner import execute

    store = make_store()
    with app.app_context():
        wait_for_jobs(app, backend)
        # Pretend the job was lost: not sent, and the store is a few minutes old.
        db.session.execute(
            update(Tenant)
            .where(Tenant.id == store.id)
            .values(welcome_sent_at=None, created_at=utcnow() - timedelta(minutes=5))
        )
        db.session.commit()
    before = len(outbox_messages(app, f"owner@{store.slug}.example.com"))
    execute(app, "workers.jobs.tenants.sweep_welcome_emails", None, [])
    with app.app_context():
        wait_for_jobs(app, backend)
    assert len(outbox_messages(app, f"owner@{store.slug}.example.com")) == before + 1


def test_a_job_enqueued_in_a_rolled_back_transaction_never_runs(app, backend, make_store, tmp_path):
    marker = tmp_path / "ran"
    with app.app_context():
        db.session.execute(update(Tenant).where(Tenant.id == -1).values(name="x"))  # opens a tx
        enqueue("tests.jobs_for_tests.touch", str(marker), job_key=f"touch:{marker}")
        db.session.rollback()
        wait_for_jobs(app, backend)
    assert not marker.exists()

    with app.app_context():
        db.session.execute(update(Tenant).where(Tenant.id == -1).values(name="x"))
        enqueue("tests.jobs_for_tests.touch", str(marker), job_key=f"touch2:{marker}")
        assert not marker.exists()
        db.session.commit()
        wait_for_jobs(app, backend)
    assert marker.read_text() == "1"


def test_jobs_run_bound_to_their_store(app, backend, make_store, tmp_path):
    store = make_store()
    marker = tmp_path / "store"
    with app.app_context():
        enqueue("tests.jobs_for_tests.write_store_slug", str(marker), tenant_id=store.id)
        wait_for_jobs(app, backend)
    assert marker.read_text() == store.slug


def test_periodic_jobs_are_enqueued_once_per_slot_by_several_schedulers(app, backend):
    from workers.schedule import PeriodicJob

    job = PeriodicJob("count-test", "tests.jobs_for_tests.count_periodic_run", 3600)
    counter = Path(app.config["INSTANCE_PATH"]) / "periodic-count"
    now = time.time()
    with app.app_context():
        for _ in range(3):  # three schedulers waking up in the same slot
            enqueue_due(now, jobs=(job,))
        wait_for_jobs(app, backend)
        enqueue_due(now + 3600, jobs=(job,))  # the next slot runs again
        wait_for_jobs(app, backend)
    assert counter.read_text() == "xx"


@pytest.mark.redis
def test_a_real_worker_process_runs_jobs_from_redis(app, backend, make_store, tmp_path):
    if not backend.redis_url:
        pytest.skip("the embedded default runs jobs in-process")
    marker = tmp_path / "from-worker"
    with app.app_context():
        enqueue("tests.jobs_for_tests.write_pid", str(marker), queue="notifications")
    run_worker_burst(backend)
    assert marker.read_text() != str(os.getpid())


@pytest.mark.postgres
def test_a_job_whose_worker_died_can_be_enqueued_again_at_once(app, backend):
    """A worker killed mid-job leaves it `started` in RQ; once its heartbeat has lapsed (its
    started-registry entry expired), the same business key is enqueued again at once rather
    than after RQ's registry maintenance, up to 10 minutes later."""
    from rq.job import Job, JobStatus
    from rq.registry import StartedJobRegistry

    from workers.queue import JobSpec

    jobs = app.extensions["kameng.jobs"]
    spec = JobSpec("workers.jobs.tenants.sweep_welcome_emails", job_key=f"died-{time.time()}")
    assert jobs.submit(spec) is True
    job = Job.fetch(spec.job_id, connection=jobs.redis)
    registry = StartedJobRegistry(job.origin, connection=jobs.redis)
    jobs.queues[job.origin].remove(job.id)  # a worker took it…
    job.set_status(JobStatus.STARTED)
    jobs.redis.zadd(registry.key, {f"{job.id}:exec-1": time.time() + 60})  # …and is alive
    assert jobs.submit(spec) is False
    jobs.redis.zadd(registry.key, {f"{job.id}:exec-1": time.time() - 1})  # …and died
    assert jobs.submit(spec) is True
    assert Job.fetch(spec.job_id, connection=jobs.redis).get_status() == JobStatus.QUEUED
    assert job.id not in registry.get_job_ids(cleanup=False)
    jobs.queues[job.origin].remove(job.id)
