"""The platform's review queues in one place: what waits, how many, and since when.

Each queue keeps its own page and decisions (real-name verification and withdrawals in
app.platform.finance_views); this lists them the same way for the dashboard and /platform/reviews.
A new queue (risky orders, supplier applications) joins by adding one entry to QUEUES.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from app.i18n import N_
from app.kyc import services as kyc
from app.risk import reviews as risk_reviews
from app.supplier_portal import services as supplier_portal
from app.tickets import services as tickets
from app.withdrawals import services as withdrawals


@dataclass(frozen=True)
class Queue:
    name: str
    label: str
    endpoint: str  # the console page that works through it
    backlog: Callable[[], tuple[int, datetime | None]]  # (waiting, oldest arrival)


@dataclass(frozen=True)
class Waiting:
    queue: Queue
    count: int
    oldest: datetime | None


QUEUES = (
    Queue(
        "verifications",
        N_("Real-name verification"),
        "platform.verification_queue",
        kyc.backlog,
    ),
    Queue(
        "withdrawals",
        N_("Withdrawals"),
        "platform.withdrawal_queue",
        withdrawals.backlog,
    ),
    Queue(
        "tickets",
        N_("Escalated tickets"),
        "platform.escalated_tickets",
        tickets.escalations_backlog,
    ),
    Queue(
        "supplier_applications",
        N_("Supplier applications"),
        "platform.supplier_applications",
        supplier_portal.applications_backlog,
    ),
    Queue(
        "cost_proposals",
        N_("Cost proposals"),
        "platform.cost_proposals",
        supplier_portal.proposals_backlog,
    ),
    Queue(
        "risk",
        N_("Risky orders"),
        "platform.risk_queue",
        risk_reviews.platform_backlog,
    ),
)


def waiting() -> list[Waiting]:
    return [Waiting(queue, *queue.backlog()) for queue in QUEUES]
