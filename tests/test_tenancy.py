"""Store data stays in its own schema; a forgotten binding fails instead of leaking."""

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from app.extensions import db
from app.merchant.models import StaffUser
from tenants.context import tenant_context
from tenants.session import TenantSwitchError


def test_data_written_in_one_store_is_invisible_in_another(app, make_store):
    store_a, store_b = make_store(), make_store()
    with app.app_context(), tenant_context(store_a):
        db.session.add(StaffUser(email="clerk@example.com", name="A clerk", password_hash="x"))
        db.session.commit()
    with app.app_context(), tenant_context(store_b):
        emails = db.session.scalars(select(StaffUser.email)).all()
    assert emails == [f"owner@{store_b.slug}.example.com"]


def test_the_same_business_key_in_two_stores_does_not_collide(app, make_store):
    store_a, store_b = make_store(), make_store()
    for store, name in ((store_a, "in A"), (store_b, "in B")):
        with app.app_context(), tenant_context(store):
            db.session.add(StaffUser(email="same@example.com", name=name, password_hash="x"))
            db.session.commit()
    for store, name in ((store_a, "in A"), (store_b, "in B")):
        with app.app_context(), tenant_context(store):
            user = db.session.scalar(select(StaffUser).where(StaffUser.email == "same@example.com"))
            assert user.name == name


def test_a_store_table_query_without_a_bound_store_fails(app, make_store):
    make_store()
    with app.app_context(), pytest.raises(DBAPIError):
        db.session.scalars(select(StaffUser)).all()


def test_switching_store_inside_one_session_is_refused(app, make_store):
    store_a, store_b = make_store(), make_store()
    with app.app_context():
        with tenant_context(store_a):
            db.session.scalars(select(StaffUser)).all()  # session now holds store A's rows
        with tenant_context(store_b), pytest.raises(TenantSwitchError):
            db.session.scalars(select(StaffUser)).all()
        db.session.rollback()


def test_a_clean_session_can_serve_the_next_store(app, make_store):
    store_a, store_b = make_store(), make_store()
    with app.app_context():
        with tenant_context(store_a):
            assert db.session.scalar(select(StaffUser.email)).endswith(
                store_a.slug + ".example.com"
            )
            db.session.commit()
            db.session.expunge_all()
        with tenant_context(store_b):
            assert db.session.scalar(select(StaffUser.email)).endswith(
                store_b.slug + ".example.com"
            )
