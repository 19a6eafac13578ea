"""`python -m workers`: an RQ worker on fulfilment > default > notifications, app built once;
jobs run in the worker process itself unless --fork."""

from __future__ import annotations

import argparse
import logging
import os

from workers.queue import QUEUES


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m workers")
    parser.add_argument("--queues", nargs="+", default=list(QUEUES))
    parser.add_argument("--burst", action="store_true", help="exit when the queues are empty")
    parser.add_argument("--name", default=None)
    parser.add_argument(
        "--fork", action="store_true",
        help="run each job in a forked child (isolation at ~25 ms of CPU and a cold start per job)",
    )  # fmt: skip
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    from rq import SimpleWorker, Worker

    from app import create_app
    from tenants.engines import registry
    from workers.queue import backend
    from workers.runner import set_worker_app

    app = create_app()
    if app.config["JOBS_IN_PROCESS"]:
        raise SystemExit("REDIS_URL is not set: jobs run inside the web process, no worker needed")
    set_worker_app(app)
    with app.app_context():
        engines = registry()
        redis = backend().redis
    if args.fork:
        # Each job runs in a forked child: it must not reuse the parent's pooled connections.
        os.register_at_fork(after_in_child=lambda: engines.dispose(close=False))
    # By default jobs run in this process, warm (pooled connections, caches, connectors): a
    # forked child per job cost more CPU than a top-up's own work (docs/performance.md).
    worker_class = Worker if args.fork else SimpleWorker
    worker = worker_class(args.queues, connection=redis, name=args.name)
    worker.work(burst=args.burst, with_scheduler=False)


if __name__ == "__main__":
    main()
