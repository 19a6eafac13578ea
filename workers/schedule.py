"""Periodic jobs and the scheduler loop that enqueues them (`python -m workers.schedule`)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from workers.queue import enqueue

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    path: str
    every_seconds: int
    queue: str = "default"


PERIODIC_JOBS: tuple[PeriodicJob, ...] = (
    PeriodicJob("welcome-sweep", "workers.jobs.tenants.sweep_welcome_emails", 60),
    PeriodicJob("expire-orders", "workers.jobs.orders.expire_orders_everywhere", 60),
    PeriodicJob("retry-refunds", "workers.jobs.payments.retry_failed_refunds", 600),
    PeriodicJob("webhook-retries", "workers.jobs.webhooks.sweep_due_deliveries", 60),
    PeriodicJob("sweep-topups", "workers.jobs.fulfilment.sweep_topups", 5, queue="fulfilment"),
    PeriodicJob(
        "supplier-catalogs", "workers.jobs.fulfilment.sync_supplier_catalogs", 600, "fulfilment"
    ),
    PeriodicJob("stripe-events", "workers.jobs.billing.sweep_stripe_events", 60),
    PeriodicJob("billing-grace", "workers.jobs.billing.enforce_grace_periods", 600),
    PeriodicJob("settlement", "workers.jobs.money.settle_due_holds", 300),
    PeriodicJob("visit-counts", "workers.jobs.analytics.flush_visit_counts", 60),
    PeriodicJob("api-idempotency", "workers.jobs.api.purge_idempotency_everywhere", 3600),
    PeriodicJob("docking-logs", "workers.jobs.api.purge_docking_logs_everywhere", 21600),
    PeriodicJob("purge-exports", "workers.jobs.exports.purge_expired_exports", 600),
    PeriodicJob("privacy-retention", "workers.jobs.privacy.apply_retention_everywhere", 86400),
    PeriodicJob("recommendations", "workers.jobs.growth.compute_recommendations_everywhere", 3600),
    PeriodicJob("marketing-mail", "workers.jobs.growth.drive_campaigns", 60, "notifications"),
    PeriodicJob("purge-posters", "workers.jobs.growth.purge_posters", 86400),
)


def enqueue_due(now: float, jobs=PERIODIC_JOBS) -> list[str]:
    """Enqueue every periodic job once per time slot; safe with several schedulers running."""
    enqueued = []
    for job in jobs:
        slot = int(now // job.every_seconds)
        key = f"periodic:{job.name}:{slot}"
        enqueue(job.path, queue=job.queue, job_key=key, unique_for=job.every_seconds)
        enqueued.append(key)
    return enqueued


def run_scheduler(app, stop: threading.Event, tick_seconds: float = 1.0) -> None:
    """Loop until `stop` is set, enqueueing each job when its slot begins."""
    last_slots: dict[str, int] = {}
    while not stop.is_set():
        now = time.time()
        due = [j for j in PERIODIC_JOBS if last_slots.get(j.name) != int(now // j.every_seconds)]
        if due:
            try:
                with app.app_context():
                    enqueue_due(now, due)
                for job in due:
                    last_slots[job.name] = int(now // job.every_seconds)
            except Exception:
                log.exception("scheduler tick failed; retrying")
        stop.wait(tick_seconds)


def start_in_process(app) -> threading.Event:
    """Run the scheduler on a daemon thread of this process (embedded default)."""
    stop = threading.Event()
    threading.Thread(target=run_scheduler, args=(app, stop), name="scheduler", daemon=True).start()
    return stop


def main() -> None:
    from app import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = create_app()
    stop = threading.Event()
    log.info("scheduler started with %d periodic jobs", len(PERIODIC_JOBS))
    try:
        run_scheduler(app, stop)
    except KeyboardInterrupt:
        stop.set()


if __name__ == "__main__":
    main()
