"""Errors billing services raise: refusals users see, and requests that are not Stripe's."""

from __future__ import annotations


class BillingError(ValueError):
    """A billing request was refused; `field` names the input at fault, `message` says why."""

    def __init__(self, field: str, message: str, **params):
        super().__init__(message)
        self.field = field
        self.message = message
        self.params = params


class InvalidWebhook(ValueError):
    """A request to the webhook endpoint that is not a genuine, fresh Stripe event."""
