"""enqueue(): the ONLY place that knows whether jobs go to RQ (REDIS_URL) or run in-process.

Jobs are dotted paths of functions taking ids only. A job enqueued while the database session has
uncommitted writes is held until that transaction commits (and dropped if it rolls back), so a
worker never sees work that the database does not; with no writes pending it goes at once.
`job_key` makes the job id a business key: a job with the same key is not enqueued again while
one is queued or running; `unique_for` also refuses repeats for that many seconds (periodic jobs
use it so several schedulers enqueue once).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import event

from tenants.session import TenantSession

log = logging.getLogger(__name__)

QUEUES = ("fulfilment", "default", "notifications")
EXTENSION_KEY = "kameng.jobs"


@dataclass(frozen=True)
class JobSpec:
    path: str
    args: tuple = ()
    tenant_id: int | None = None
    queue: str = "default"
    job_key: str | None = None
    unique_for: int | None = None
    timeout: int = 300

    @property
    def job_id(self) -> str | None:
        if self.job_key is None:
            return None
        return "k-" + hashlib.sha256(self.job_key.encode()).hexdigest()[:32]


def enqueue(
    path: str,
    *args,
    tenant_id: int | None = None,
    queue: str = "default",
    job_key: str | None = None,
    unique_for: int | None = None,
    timeout: int = 300,
) -> None:
    """Run the job `path(*args)` in the background, bound to store `tenant_id` if given."""
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")
    spec = JobSpec(path, tuple(args), tenant_id, queue, job_key, unique_for, timeout)
    from app.extensions import db

    session = db.session()
    if session.in_transaction() and _has_writes(session):
        session.info.setdefault("kameng_pending_jobs", []).append(spec)
    else:
        # Nothing uncommitted that the job could depend on (at most an open read): send it now.
        backend().submit(spec)


def _has_writes(session) -> bool:
    return bool(session.info.get("kameng_wrote") or session.new or session.dirty or session.deleted)


@event.listens_for(TenantSession, "after_flush")
def _note_flush(session, _context):
    session.info["kameng_wrote"] = True


@event.listens_for(TenantSession, "do_orm_execute")
def _note_dml(state):
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info["kameng_wrote"] = True


@event.listens_for(TenantSession, "after_commit")
def _submit_pending_jobs(session):
    session.info.pop("kameng_wrote", None)
    specs = session.info.pop("kameng_pending_jobs", None)
    if specs:
        jobs = backend()
        for spec in specs:
            try:
                jobs.submit(spec)
            except Exception:  # the work is committed; the sweepers re-drive what was lost
                log.exception("could not enqueue %s after commit", spec.path)


@event.listens_for(TenantSession, "after_rollback")
def _drop_pending_jobs(session):
    session.info.pop("kameng_wrote", None)
    session.info.pop("kameng_pending_jobs", None)


def backend():
    return current_app.extensions[EXTENSION_KEY]


class RQBackend:
    """Jobs go to Redis and run in `python -m workers` processes."""

    def __init__(self, redis_url: str):
        from redis import Redis
        from rq import Queue

        self.redis = Redis.from_url(redis_url)
        self.queues = {name: Queue(name, connection=self.redis) for name in QUEUES}

    def submit(self, spec: JobSpec) -> bool:
        from rq.exceptions import NoSuchJobError
        from rq.job import Job, JobStatus

        if spec.unique_for and not self.redis.set(
            f"kameng:unique:{spec.job_key}", 1, nx=True, ex=spec.unique_for
        ):
            return False
        job_id = spec.job_id
        if job_id is None:
            self._enqueue(spec, None)
            return True
        lock = f"kameng:enqueue-lock:{job_id}"
        if not self.redis.set(lock, 1, nx=True, ex=10):
            return False  # another process is enqueueing this very job right now
        try:
            try:
                job = Job.fetch(job_id, connection=self.redis)
                status = job.get_status()
            except NoSuchJobError:
                job, status = None, None
            if status == JobStatus.STARTED and self._abandoned(job):
                status = None  # its worker died: run it again now, not at RQ's next maintenance
            if status in (JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED):
                return False
            self._enqueue(spec, job_id)
            return True
        finally:
            self.redis.delete(lock)

    def _abandoned(self, job) -> bool:
        """A started job whose worker stopped sending heartbeats (killed): its entry in the
        started registry has expired. The registry's cleanup marks it failed (as RQ's own
        maintenance would, up to 10 minutes later), so that it can be enqueued again."""
        from rq.registry import StartedJobRegistry

        registry = StartedJobRegistry(job.origin, connection=self.redis)
        if job.id not in registry.get_expired_job_ids():
            return False
        registry.cleanup()
        return True

    def _enqueue(self, spec: JobSpec, job_id: str | None) -> None:
        self.queues[spec.queue].enqueue(
            "workers.runner.run_job",
            spec.path,
            spec.tenant_id,
            list(spec.args),
            job_id=job_id,
            job_timeout=spec.timeout,
            result_ttl=3600,
            failure_ttl=7 * 24 * 3600,
        )

    def queue_depths(self) -> dict[str, int]:
        return {name: q.count for name, q in self.queues.items()}

    def close(self) -> None:
        self.redis.close()


@dataclass
class InProcessBackend:
    """Jobs run on background threads of this process (the embedded default, no Redis)."""

    app: object
    workers: int = 2
    _pending: dict = field(default_factory=dict)
    _claimed: dict = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _idle: threading.Condition = None  # type: ignore[assignment]
    _running: int = 0

    def __post_init__(self):
        self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="job")
        self._idle = threading.Condition(self._lock)

    def submit(self, spec: JobSpec) -> bool:
        now = time.monotonic()
        with self._lock:
            if spec.unique_for:
                if self._claimed.get(spec.job_key, 0) > now:
                    return False
                self._claimed[spec.job_key] = now + spec.unique_for
            if spec.job_id is not None:
                if spec.job_id in self._pending:
                    return False
                self._pending[spec.job_id] = spec
            self._running += 1
        try:
            self._executor.submit(self._run, spec)
        except RuntimeError:
            # The process is exiting (a CLI command ended while its jobs enqueued more jobs):
            # run it here rather than lose it.
            self._run(spec)
        return True

    def _run(self, spec: JobSpec) -> None:
        from workers.runner import execute

        try:
            execute(self.app, spec.path, spec.tenant_id, spec.args)
        except Exception:
            log.exception("job %s failed", spec.path)
        finally:
            with self._lock:
                if spec.job_id is not None:
                    self._pending.pop(spec.job_id, None)
                self._running -= 1
                self._idle.notify_all()

    def wait_until_idle(self, timeout: float = 30.0) -> bool:
        """Block until no job is queued or running (tests and the CLI use this)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._running:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def queue_depths(self) -> dict[str, int]:
        return {"in_process": self._running}

    def close(self) -> None:
        self._executor.shutdown(wait=True)


def init_app(app) -> None:
    if app.config["JOBS_IN_PROCESS"]:
        app.extensions[EXTENSION_KEY] = InProcessBackend(app)
    else:
        app.extensions[EXTENSION_KEY] = RQBackend(app.config["REDIS_URL"])
