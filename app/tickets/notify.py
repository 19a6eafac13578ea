"""E-mail the buyer when the store or the platform answers or resolves their ticket."""

from __future__ import annotations

from tenants.context import TenantRef


def announce(tenant: TenantRef, ticket_no: str) -> None:
    """Queue the e-mail (sent once the caller's transaction commits)."""
    from workers.queue import enqueue

    enqueue("workers.jobs.tickets.email_buyer", ticket_no, tenant_id=tenant.id)
