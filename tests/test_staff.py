"""Store staff: invitations by e-mail end to end (single use, 7 days), seats from the plan, roles
and removal with the owners protected, and staff of one store are strangers on another."""

import re
import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from app.audit.models import AuditEvent
from app.billing.services import assign_plan
from app.db import utcnow
from app.extensions import db
from app.merchant.models import StaffInvitation, StaffUser
from tenants.context import tenant_context
from tests.support.staff import APEX, add_staff, signed_in, staff_client
from tests.test_jobs import outbox_messages, wait_for_jobs

OWNER_PASSWORD = "owner-pass-1"


def store_on(app, make_store, plan="pro"):
    """A store on `plan` (its TenantRef as the web requests see it)."""
    from tenants.models import Tenant
    from tenants.provisioning import tenant_ref

    store = make_store(password=OWNER_PASSWORD)
    with app.app_context():
        assign_plan(store.id, plan, actor="test")
        return tenant_ref(db.session.get(Tenant, store.id))


def owner(site, store):
    return signed_in(site, store, f"owner@{store.slug}.example.com", OWNER_PASSWORD)


def invite(client, email, role="support"):
    return client.submit("/admin/staff", {"email": email, "role": role}, "/admin/staff/invitations")


def invitation_path(app, backend, email) -> str:
    with app.app_context():
        wait_for_jobs(app, backend)
    messages = outbox_messages(app, email)
    assert len(messages) == 1
    return re.search(r"http://[^/\s]+(/admin/invitations/\S+)", messages[0]).group(1)


def staff_of(app, store) -> dict:
    with app.app_context(), tenant_context(store):
        return {u.email: u.role for u in db.session.scalars(select(StaffUser))}


def invitations_of(app, store) -> int:
    with app.app_context(), tenant_context(store):
        return db.session.scalar(select(func.count()).select_from(StaffInvitation))


def test_an_invitation_is_emailed_accepted_once_and_signs_the_new_staff_in(
    app, backend, make_store, site
):
    store = store_on(app, make_store)
    email = f"new-{uuid.uuid4().hex[:6]}@example.com"
    sent = invite(owner(site, store), email, "finance")
    assert sent.status_code == 302
    path = invitation_path(app, backend, email)

    invitee = site(f"{store.slug}.{APEX}")
    assert invitee.get(path).status_code == 200
    weak = invitee.submit(path, {"name": "Fin", "password": "short"})
    assert weak.status_code == 400 and email not in staff_of(app, store)
    joined = invitee.submit(path, {"name": "Fin", "password": "finance-pass-1"})
    assert joined.status_code == 302 and joined.headers["Location"].endswith("/admin/")
    assert staff_of(app, store)[email] == "finance"
    assert invitee.get("/admin/finance").status_code == 200  # signed in, with the role's rights
    assert invitee.get("/admin/staff").status_code == 403

    again = site(f"{store.slug}.{APEX}")
    assert again.get(path).status_code == 404  # single use
    assert signed_in(site, store, email, "finance-pass-1").get("/admin/").status_code == 200
    with app.app_context():
        actions = set(
            db.session.scalars(select(AuditEvent.action).where(AuditEvent.tenant_id == store.id))
        )
    assert {"staff.invite", "staff.join"} <= actions


def test_an_expired_or_withdrawn_invitation_or_a_forged_link_opens_nothing(
    app, backend, make_store, site
):
    store = store_on(app, make_store)
    boss = owner(site, store)
    late, withdrawn = (f"{p}-{uuid.uuid4().hex[:6]}@example.com" for p in ("late", "gone"))
    invite(boss, late)
    invite(boss, withdrawn)
    late_path = invitation_path(app, backend, late)
    withdrawn_path = invitation_path(app, backend, withdrawn)
    with app.app_context(), tenant_context(store):
        db.session.execute(
            update(StaffInvitation)
            .where(StaffInvitation.email == late)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        withdrawn_id = db.session.scalar(
            select(StaffInvitation.id).where(StaffInvitation.email == withdrawn)
        )
    token = boss.csrf_token("/admin/staff")
    boss.post(f"/admin/staff/invitations/{withdrawn_id}/revoke", data={"csrf_token": token})
    visitor = site(f"{store.slug}.{APEX}")
    for path in (late_path, withdrawn_path, late_path[:-3] + "abc"):
        assert visitor.get(path).status_code == 404
        answer = visitor.post(path, data={"name": "X", "password": "whatever-1"})
        assert answer.status_code in (400, 404)
    assert set(staff_of(app, store)) == {f"owner@{store.slug}.example.com"}


def test_seats_count_staff_and_pending_invitations(app, make_store, site):
    store = store_on(app, make_store, plan="free")  # Free: 1 seat, taken by the owner
    boss = owner(site, store)
    refused = invite(boss, "one@example.com")
    assert refused.status_code == 400 and 'id="seats-full"' in refused.get_data(as_text=True)
    assert invitations_of(app, store) == 0
    with app.app_context():
        assign_plan(store.id, "pro", actor="test")  # 5 seats
    for n in range(4):
        assert invite(boss, f"p{n}-{store.slug}@example.com").status_code == 302
    assert invite(boss, f"p5-{store.slug}@example.com").status_code == 400
    assert invitations_of(app, store) == 4


@pytest.mark.postgres
def test_two_invitations_racing_for_the_last_seat_take_it_once(app, make_store):
    from app.merchant import staff as services

    store = store_on(app, make_store)  # 5 seats: the owner and 3 others, one seat left
    for _ in range(3):
        add_staff(app, store, "support")
    outcomes, barrier = [], threading.Barrier(2)

    def attempt(n):
        with app.app_context(), tenant_context(store):
            acting = db.session.scalar(select(StaffUser).where(StaffUser.role == "owner"))
            barrier.wait()
            try:
                services.invite(store, email=f"race{n}@example.com", role="support", acting=acting)
                outcomes.append("ok")
            except services.StaffError:
                db.session.rollback()
                outcomes.append("full")

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["full", "ok"] and invitations_of(app, store) == 1


def test_admins_cannot_touch_owners_and_the_last_owner_stays(app, make_store, site):
    store = store_on(app, make_store)
    owner_email = f"owner@{store.slug}.example.com"
    support_email = add_staff(app, store, "support")
    admin = staff_client(app, site, store, "admin")
    with app.app_context(), tenant_context(store):
        ids = {u.email: u.id for u in db.session.scalars(select(StaffUser))}
    token = admin.csrf_token("/admin/staff")
    demote = admin.post(
        f"/admin/staff/{ids[owner_email]}/role", data={"csrf_token": token, "role": "support"}
    )
    remove = admin.post(f"/admin/staff/{ids[owner_email]}/remove", data={"csrf_token": token})
    promote = admin.post(
        f"/admin/staff/{ids[support_email]}/role", data={"csrf_token": token, "role": "owner"}
    )
    assert (demote.status_code, remove.status_code, promote.status_code) == (400, 400, 400)
    assert invite(admin, "boss@example.com", "owner").status_code == 400
    assert staff_of(app, store)[owner_email] == "owner"
    assert staff_of(app, store)[support_email] == "support"

    boss = owner(site, store)
    token = boss.csrf_token("/admin/staff")
    alone = boss.post(f"/admin/staff/{ids[owner_email]}/remove", data={"csrf_token": token})
    assert alone.status_code == 400 and staff_of(app, store)[owner_email] == "owner"
    changed = boss.post(
        f"/admin/staff/{ids[support_email]}/role", data={"csrf_token": token, "role": "finance"}
    )
    assert changed.status_code == 302 and staff_of(app, store)[support_email] == "finance"


def test_a_removed_member_is_signed_out_and_cannot_sign_in(app, make_store, site):
    store = store_on(app, make_store)
    email = add_staff(app, store, "support")
    member = signed_in(site, store, email, "staff-pass-1")
    boss = owner(site, store)
    with app.app_context(), tenant_context(store):
        member_id = db.session.scalar(select(StaffUser.id).where(StaffUser.email == email))
    token = boss.csrf_token("/admin/staff")
    assert (
        boss.post(f"/admin/staff/{member_id}/remove", data={"csrf_token": token}).status_code == 302
    )
    assert email not in staff_of(app, store)
    assert member.get("/admin/orders").status_code == 302  # back to sign-in
    assert member.login_store(email, "staff-pass-1").status_code == 401


def test_staff_of_store_a_get_404_on_store_b(app, make_store, site):
    store_a, store_b = store_on(app, make_store), store_on(app, make_store)
    email_b = add_staff(app, store_b, "support")
    with app.app_context(), tenant_context(store_b):
        member_b = db.session.scalar(select(StaffUser.id).where(StaffUser.email == email_b))
    boss_a = owner(site, store_a)
    token = boss_a.csrf_token("/admin/staff")
    for action, data in (("role", {"role": "finance"}), ("remove", {})):
        answer = boss_a.post(
            f"/admin/staff/{member_b}/{action}", data={"csrf_token": token, **data}
        )
        assert answer.status_code == 404
    assert staff_of(app, store_b)[email_b] == "support"
    # A's session means nothing on B's host, and A's invitation link does not open on B.
    assert boss_a.get(f"/admin/staff/{member_b}").status_code in (404, 405)
    stranger = site(f"{store_b.slug}.{APEX}")
    stranger.client = boss_a.client  # the same browser, B's host
    assert stranger.get("/admin/staff").status_code == 302
    # and A's credentials are unknown on B
    assert (
        stranger.login_store(f"owner@{store_a.slug}.example.com", OWNER_PASSWORD).status_code == 401
    )
