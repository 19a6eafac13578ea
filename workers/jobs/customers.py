"""Customer account jobs: the password reset e-mail (bound to the customer's store)."""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale, gettext

from app.customers.services import (
    RESET_MAX_AGE_SECONDS,
    find_customer,
    password_reset_token,
)
from app.mail.services import send_template
from app.web.urls import tenant_url
from tenants.context import require_tenant


def send_password_reset(email: str) -> bool:
    """E-mail a reset link to this store's customer with `email`; nothing if there is none."""
    store = require_tenant()
    customer = find_customer(email)
    if customer is None or not customer.can_sign_in:
        return False
    token = password_reset_token(store, customer)
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        send_template(
            customer.email,
            gettext("Reset your password at %(store)s", store=store.name),
            "customer_password_reset",
            store=store,
            url=tenant_url(store, f"/account/reset/{token}"),
            minutes=RESET_MAX_AGE_SECONDS // 60,
        )
    return True
