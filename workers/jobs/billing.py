"""Billing jobs: Stripe events applied, dunning e-mails, the end of grace periods."""

from __future__ import annotations

from app.billing import events, services


def process_stripe_event(event_pk: int) -> str:
    return events.process_event(event_pk)


def send_billing_email(event_pk: int) -> bool:
    return events.send_billing_email(event_pk)


def send_downgrade_email(tenant_id: int, previous_plan: str, stamp: str) -> bool:
    return services.send_downgrade_email(tenant_id, previous_plan, stamp)


def sweep_stripe_events() -> int:
    """Periodic: events whose job was lost or failed, e-mails not yet sent."""
    return events.sweep_events()


def enforce_grace_periods() -> int:
    """Periodic: overdue stores past their grace period move to Free."""
    return services.enforce_grace_periods()
