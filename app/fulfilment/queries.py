"""Reading top-ups for the consoles: an order's top-ups with their timeline, supplier scorecards."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.catalog.models import Supplier
from app.db import utcnow
from app.extensions import db
from app.fulfilment.models import FINAL, Topup, TopupCall

SCORECARD_WINDOWS = (("24h", timedelta(hours=24)), ("7d", timedelta(days=7)))
SCORECARD_ROWS = 10_000  # newest rows read per scorecard query: enough for percentiles
TOP_REASONS = 5
REASON_CHARS = 160


def topups_of_order(tenant_id: int, order_no: str) -> list[Topup]:
    """The order's top-ups, each with its supplier exchanges (oldest first)."""
    return list(
        db.session.scalars(
            select(Topup)
            .where(Topup.tenant_id == tenant_id, Topup.order_no == order_no)
            .options(selectinload(Topup.calls))
            .order_by(Topup.id)
        )
    )


def supplier_names(topups: list[Topup]) -> dict[int, str]:
    """Names of every supplier the top-ups went to (earlier attempts included)."""
    ids = {t.supplier_id for t in topups} | {c.supplier_id for t in topups for c in t.calls}
    ids.discard(None)
    if not ids:
        return {}
    rows = db.session.execute(select(Supplier.id, Supplier.name).where(Supplier.id.in_(ids)))
    return dict(rows.tuples().all())


# -- scorecards -----------------------------------------------------------------------------------


@dataclass
class WindowStats:
    """How a supplier did over one window. An attempt is one supplier's go at a top-up: it
    succeeded, or failed (the supplier said so, or the top-up failed while with it)."""

    succeeded: int = 0
    failed: int = 0
    seconds_to_fulfil: list[float] = field(default_factory=list)
    # None stands for "refused, so the next supplier was tried" (the supplier's words are not kept)
    reasons: Counter = field(default_factory=Counter)

    @property
    def finished(self) -> int:
        return self.succeeded + self.failed

    @property
    def success_rate(self) -> float | None:
        return self.succeeded / self.finished if self.finished else None

    @property
    def p50_seconds(self) -> float | None:
        return percentile(self.seconds_to_fulfil, 50)

    @property
    def p95_seconds(self) -> float | None:
        return percentile(self.seconds_to_fulfil, 95)

    @property
    def top_reasons(self) -> list[tuple[str | None, int]]:
        return self.reasons.most_common(TOP_REASONS)


@dataclass
class Scorecard:
    supplier: Supplier
    windows: dict[str, WindowStats]


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least p% of the values at or below."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(p / 100 * len(ordered)), 1) - 1]


def scorecards(now: datetime | None = None) -> list[Scorecard]:
    """Per supplier with a connector (or with recent top-ups), for each window: attempts
    finished, success rate, p50/p95 time to fulfil (created → finished, successful top-ups)
    and the most common failure reasons."""
    now = now or utcnow()
    longest = now - max(span for _, span in SCORECARD_WINDOWS)
    # Top-ups that finished with a supplier: its attempt succeeded or the top-up failed there.
    finished = db.session.execute(
        select(Topup.supplier_id, Topup.status, Topup.created_at, Topup.finished_at, Topup.message)
        .where(
            Topup.finished_at >= longest,
            Topup.status.in_(tuple(FINAL)),
            Topup.supplier_id.is_not(None),
        )
        .order_by(Topup.finished_at.desc())
        .limit(SCORECARD_ROWS)
    ).all()
    # Earlier attempts the supplier refused, after which the top-up moved on to another offer.
    passed_on = db.session.execute(
        select(TopupCall.supplier_id, func.max(TopupCall.created_at))
        .join(Topup, Topup.id == TopupCall.topup_id)
        .where(
            TopupCall.created_at >= longest,
            TopupCall.outcome == "failed",
            TopupCall.reference != Topup.reference,
        )
        .group_by(TopupCall.supplier_id, TopupCall.reference)
        .order_by(func.max(TopupCall.created_at).desc())
        .limit(SCORECARD_ROWS)
    ).all()

    stats: dict[int, dict[str, WindowStats]] = {}

    def windows_of(supplier_id: int, at: datetime):
        by_window = stats.setdefault(supplier_id, {n: WindowStats() for n, _ in SCORECARD_WINDOWS})
        return [by_window[name] for name, span in SCORECARD_WINDOWS if at >= now - span]

    for supplier_id, status, created_at, finished_at, message in finished:
        for window in windows_of(supplier_id, finished_at):
            if status == "success":
                window.succeeded += 1
                window.seconds_to_fulfil.append((finished_at - created_at).total_seconds())
            else:
                window.failed += 1
                window.reasons[(message or "").strip()[:REASON_CHARS]] += 1
    for supplier_id, at in passed_on:
        for window in windows_of(supplier_id, at):
            window.failed += 1
            window.reasons[None] += 1

    listed = db.session.scalars(
        select(Supplier)
        .where((Supplier.connector != "") | Supplier.id.in_(list(stats)))
        .order_by(Supplier.name)
    ).all()
    empty = {name: WindowStats() for name, _ in SCORECARD_WINDOWS}
    return [Scorecard(s, stats.get(s.id, empty)) for s in listed]
