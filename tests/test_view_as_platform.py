"""Read-only impersonation: a platform admin opens a store's back-office from its file (audited),
sees its pages, can change nothing, and the token works once, for that store, for a minute."""

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.extensions import db


def open_as_platform(apex, platform_admin, store):
    apex.login_platform(*platform_admin)
    sent = apex.submit(
        f"/platform/stores/{store.slug}", {}, action=f"/platform/stores/{store.slug}/view"
    )
    assert sent.status_code == 302
    assert sent.location.startswith(f"http://{store.primary_host}/admin/view?token=")
    return sent.location.split(store.primary_host, 1)[1]


def test_a_platform_admin_looks_in_read_only(app, apex, platform_admin, make_store, site):
    store = make_store()
    link = open_as_platform(apex, platform_admin, store)
    viewer = site(store.primary_host)
    assert viewer.get(link).status_code == 302
    page = viewer.get("/admin/")
    assert page.status_code == 200 and 'id="viewer-banner"' in page.text
    assert 'id="nav-account"' not in page.text  # a viewer has no account here: no dead link
    for path in ("/admin/orders", "/admin/finance", "/admin/tickets", "/admin/audit"):
        assert viewer.get(path).status_code == 200, path
    # Nothing that changes anything: settings, staff, a POST anywhere.
    assert viewer.get("/admin/settings").status_code == 403
    assert viewer.get("/admin/staff").status_code == 403
    token = viewer.csrf_token("/admin/orders")
    for path in ("/admin/settings/checkout", "/admin/orders/K1/refund", "/admin/tickets/T1/reply"):
        assert viewer.post(path, data={"csrf_token": token}).status_code == 403, path

    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.tenant_id == store.id, AuditEvent.action == "store.view_as_platform"
            )
        ).all()
        assert [e.actor_email for e in events] == [platform_admin[0]]


def test_the_token_works_once_and_only_for_its_store(app, apex, platform_admin, make_store, site):
    store, other = make_store(), make_store()
    link = open_as_platform(apex, platform_admin, store)
    assert site(other.primary_host).get(link).status_code == 404  # another store's host
    assert site(store.primary_host).get(link).status_code == 302
    assert site(store.primary_host).get(link).status_code == 404  # used already
    assert site(store.primary_host).get("/admin/view?token=forged").status_code == 404
    assert site(store.primary_host).get("/admin/").status_code == 302  # no viewer: sign in
