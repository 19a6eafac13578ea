"""Store staff for tests: a member of each role, signed in on the store's host."""

from __future__ import annotations

import uuid

from app.extensions import db
from app.merchant.models import StaffUser
from tenants.context import tenant_context

APEX = "kameng.test"
STAFF_PASSWORD = "staff-pass-1"


def add_staff(app, store, role: str, password: str = STAFF_PASSWORD) -> str:
    """A staff member of `store` with `role`; returns the e-mail."""
    email = f"{role}-{uuid.uuid4().hex[:6]}@example.com"
    with app.app_context(), tenant_context(store):
        user = StaffUser(email=email, name=role.title(), role=role)
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
    return email


def signed_in(site, store, email: str, password: str = STAFF_PASSWORD):
    client = site(f"{store.slug}.{APEX}")
    answer = client.login_store(email, password)
    assert answer.status_code == 302, answer.status_code
    return client


def staff_client(app, site, store, role: str):
    """A browser signed in as a new staff member of `store` with `role`."""
    return signed_in(site, store, add_staff(app, store, role))
