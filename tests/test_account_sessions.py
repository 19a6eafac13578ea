"""Active sessions: each sign-in is recorded (device, address, times), listed on the account page
and revocable; a revoked session is signed out on its next request; a new password signs out
the others."""

import re

from sqlalchemy import select

from app.extensions import db
from app.merchant.models import StaffSession, StaffUser
from app.platform.models import PlatformSession, PlatformUser
from tenants.context import tenant_context
from tests.support.staff import STAFF_PASSWORD, add_staff, signed_in


def browser(site, store, email, agent, password=STAFF_PASSWORD):
    client = site(f"{store.slug}.kameng.test")
    client.client.environ_base["HTTP_USER_AGENT"] = agent
    assert client.login_store(email, password).status_code == 302
    return client


def sessions_of(app, store, email):
    with app.app_context(), tenant_context(store):
        user_id = db.session.scalar(select(StaffUser.id).where(StaffUser.email == email))
        rows = db.session.scalars(
            select(StaffSession).where(StaffSession.user_id == user_id).order_by(StaffSession.id)
        ).all()
        return [(r.id, r.user_agent, r.ip, r.revoked_at is not None) for r in rows]


def test_sign_ins_are_listed_and_one_can_be_revoked(app, make_store, site):
    store = make_store()
    email = add_staff(app, store, "support")
    laptop = browser(site, store, email, "Laptop/1.0")
    phone = browser(site, store, email, "Phone/2.0")
    rows = sessions_of(app, store, email)
    assert [(agent, revoked) for _, agent, _, revoked in rows] == [
        ("Laptop/1.0", False),
        ("Phone/2.0", False),
    ]
    assert all(ip for _, _, ip, _ in rows)
    listing = laptop.get("/admin/account").get_data(as_text=True)
    assert "Laptop/1.0" in listing and "Phone/2.0" in listing
    phone_id = rows[1][0]
    assert f"/admin/account/sessions/{phone_id}/revoke" in listing
    assert f"/admin/account/sessions/{rows[0][0]}/revoke" not in listing  # not its own

    token = laptop.csrf_token("/admin/account")
    laptop.post(f"/admin/account/sessions/{phone_id}/revoke", data={"csrf_token": token})
    assert sessions_of(app, store, email)[1][3] is True
    signed_out = phone.get("/admin/orders")
    assert signed_out.status_code == 302 and "/admin/login" in signed_out.headers["Location"]
    assert laptop.get("/admin/orders").status_code == 200


def test_someone_elses_session_cannot_be_revoked(app, make_store, site):
    store = make_store()
    mine, theirs = add_staff(app, store, "support"), add_staff(app, store, "support")
    me = browser(site, store, mine, "Mine/1")
    them = browser(site, store, theirs, "Theirs/1")
    their_id = sessions_of(app, store, theirs)[0][0]
    token = me.csrf_token("/admin/account")
    me.post(f"/admin/account/sessions/{their_id}/revoke", data={"csrf_token": token})
    assert sessions_of(app, store, theirs)[0][3] is False
    assert them.get("/admin/orders").status_code == 200


def test_changing_the_password_signs_out_the_other_sessions(app, make_store, site):
    store = make_store()
    email = add_staff(app, store, "finance")
    kept = browser(site, store, email, "Kept/1")
    other = browser(site, store, email, "Other/1")
    wrong = kept.submit(
        "/admin/account",
        {"current_password": "not-it-1", "new_password": "brand-new-pass-2"},
        "/admin/account/password",
    )
    assert wrong.status_code == 400 and other.get("/admin/orders").status_code == 200
    changed = kept.submit(
        "/admin/account",
        {"current_password": STAFF_PASSWORD, "new_password": "brand-new-pass-2"},
        "/admin/account/password",
    )
    assert changed.status_code == 302
    assert kept.get("/admin/orders").status_code == 200
    assert other.get("/admin/orders").status_code == 302
    assert [revoked for *_, revoked in sessions_of(app, store, email)] == [False, True]
    assert (
        browser(site, store, email, "New/1", "brand-new-pass-2").get("/admin/").status_code == 200
    )


def test_platform_sessions_are_listed_and_revocable(app, platform_admin, site):
    email, password = platform_admin
    first, second = site("kameng.test"), site("kameng.test")
    first.client.environ_base["HTTP_USER_AGENT"] = "Console/1"
    second.client.environ_base["HTTP_USER_AGENT"] = "Console/2"
    first.login_platform(email, password)
    second.login_platform(email, password)
    listing = first.get("/platform/account").get_data(as_text=True)
    assert "Console/1" in listing and "Console/2" in listing
    with app.app_context():
        user_id = db.session.scalar(select(PlatformUser.id).where(PlatformUser.email == email))
        ids = db.session.scalars(
            select(PlatformSession.id).where(
                PlatformSession.user_id == user_id, PlatformSession.user_agent == "Console/2"
            )
        ).all()
    assert len(ids) == 1 and re.search(rf"/platform/account/sessions/{ids[0]}/revoke", listing)
    token = first.csrf_token("/platform/account")
    first.post(f"/platform/account/sessions/{ids[0]}/revoke", data={"csrf_token": token})
    assert second.get("/platform/stores").status_code == 302
    assert first.get("/platform/stores").status_code == 200


def test_a_staff_session_cookie_from_before_sessions_were_recorded_is_signed_out(
    app, make_store, site
):
    store = make_store()
    email = add_staff(app, store, "support")
    client = signed_in(site, store, email)
    with client.client.session_transaction(base_url=f"http://{store.slug}.kameng.test") as data:
        data.pop("_sid")
    assert client.get("/admin/orders").status_code == 302
