"""SaaS billing of stores: plans and their entitlements, Stripe subscriptions, dunning, metrics.

Features ask `entitled(store, "custom_domain")` or `entitlement(store, "staff_seats")`."""

from app.billing.entitlements import entitled, entitlement

__all__ = ["entitled", "entitlement"]
