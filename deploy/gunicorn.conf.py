"""gunicorn settings for Kameng web processes (override with GUNICORN_* environment variables).

    gunicorn -c deploy/gunicorn.conf.py wsgi:app

Several gunicorn processes (one per port, e.g. systemd's kameng-web@8001, @8002) sit behind the
proxy; each has its own workers. Set PROMETHEUS_MULTIPROC_DIR to a folder of its own per gunicorn
process: it is emptied at start and a dead worker's samples are folded in, so /metrics covers
every worker of that process.
"""

import multiprocessing
import os
from pathlib import Path

# Imported here, not in child_exit: an import inside gunicorn's signal handler can deadlock or
# fail half-way ("partially initialized module") when a worker dies during shutdown.
from prometheus_client import multiprocess

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "sync")
threads = int(os.environ.get("GUNICORN_THREADS", 1))
backlog = 2048
keepalive = 5
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 30
# Recycle workers now and then (jittered, so they never restart together).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 5000))
max_requests_jitter = max_requests // 10
# Build the app in each worker after fork: engines and Redis clients are never shared.
preload_app = False
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "warning")
proc_name = os.environ.get("GUNICORN_PROC_NAME", f"kameng-web {bind}")


def on_starting(server):
    """Samples of a previous run would be added to this one's: start from an empty folder."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for stale in Path(folder).glob("*.db"):
            stale.unlink()


def child_exit(server, worker):
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
