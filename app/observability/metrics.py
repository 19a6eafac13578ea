"""Prometheus metrics. Counters are incremented where things happen; queue depths are read at
scrape time. With several gunicorn processes set PROMETHEUS_MULTIPROC_DIR (an empty folder per
start) so every process's samples are merged."""

from __future__ import annotations

import ipaddress
import os
import time

from flask import Response, abort, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily

from app.net import client_ip

REQUEST_SECONDS = Histogram(
    "kameng_http_request_seconds",
    "Time to answer a request, by endpoint.",
    ["endpoint", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
ORDER_TRANSITIONS = Counter(
    "kameng_order_transitions_total", "Order state changes, by the state reached.", ["to_status"]
)
PAYMENTS = Counter(
    "kameng_payment_notifications_total",
    "Verified payment notifications applied, by provider and outcome.",
    ["provider", "outcome"],
)
TOPUPS = Counter(
    "kameng_topups_finished_total", "Direct top-ups finished, by outcome.", ["outcome"]
)
TOPUP_SECONDS = Histogram(
    "kameng_topup_seconds",
    "Time from payment to a finished top-up.",
    buckets=(1, 5, 15, 30, 60, 120, 300, 900, 1800),
)


class QueueDepths:
    """Jobs waiting per RQ queue, read from Redis when scraped."""

    def collect(self):
        from workers.queue import QUEUES, backend

        family = GaugeMetricFamily(
            "kameng_queue_depth", "Jobs waiting, by queue.", labels=["queue"]
        )
        queues = getattr(backend(), "queues", None)
        if queues:
            for name in QUEUES:
                family.add_metric([name], len(queues[name]))
        yield family


def _registry():
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY

        registry = CollectorRegistry()
        for collector in list(REGISTRY._collector_to_names):  # noqa: SLF001 — the defaults
            registry.register(collector)
    registry.register(QueueDepths())
    return registry


def allowed(remote: str, authorization: str) -> bool:
    """Scrapes come from an allowed network or carry the bearer token; nothing else."""
    token = current_app.config.get("METRICS_TOKEN")
    if token and authorization == f"Bearer {token}":
        return True
    try:
        address = ipaddress.ip_address(remote)
    except ValueError:
        return False
    networks = current_app.config["METRICS_ALLOWED_NETWORKS"]
    return any(address in ipaddress.ip_network(n.strip()) for n in networks.split(",") if n)


def metrics_response() -> Response:
    if not allowed(client_ip(), request.headers.get("Authorization", "")):
        abort(404)
    return Response(generate_latest(_registry()), mimetype=CONTENT_TYPE_LATEST)


def init_app(app) -> None:
    """Time every request by endpoint (the route's name, never the raw path)."""

    @app.before_request
    def _start_timer():
        g.kameng_started = time.perf_counter()

    @app.after_request
    def _observe(response):
        started = g.pop("kameng_started", None)
        if started is not None:
            REQUEST_SECONDS.labels(
                request.endpoint or "unmatched", request.method, f"{response.status_code // 100}xx"
            ).observe(time.perf_counter() - started)
        return response
