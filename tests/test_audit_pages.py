"""The audit log of admin actions: each back-office action type writes an event (who, what,
before/after); the store's page shows only its own events, filtered; the platform page searches
every store."""

import uuid

from sqlalchemy import select

from app.audit.models import AuditEvent
from app.extensions import db
from app.theming.models import ThemeRevision
from tenants.context import tenant_context
from tests.support.catalog import add_keys, make_product
from tests.support.staff import add_staff, signed_in
from tests.test_refunds import notify, open_payment

OWNER_PASSWORD = "owner-pass-1"


def events_of(app, store) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.tenant_id == store.id).order_by(AuditEvent.id)
        ).all()
        for row in rows:
            db.session.expunge(row)
        return rows


def test_every_kind_of_admin_action_is_audited(app, make_store, site, monkeypatch):
    monkeypatch.setitem(app.config, "WEBHOOKS_ALLOW_PRIVATE", True)
    store = make_store(password=OWNER_PASSWORD)
    owner_email = f"owner@{store.slug}.example.com"
    boss = signed_in(site, store, owner_email, OWNER_PASSWORD)

    # catalog and prices
    rule = {"scope": "store", "target_id": "0", "kind": "percent", "rounding": "none"}
    assert boss.submit("/admin/catalog", {**rule, "value": "10"}, "/admin/catalog/rules")
    boss.submit("/admin/catalog", {**rule, "value": "12.5"}, "/admin/catalog/rules")
    boss.submit(
        "/admin/catalog", {"scope": "store", "target_id": "0"}, "/admin/catalog/rules/delete"
    )
    # settings
    boss.submit("/admin/settings", {"tagline": "Fast keys", "announcement": ""})
    boss.submit(
        "/admin/settings/checkout",
        {"order_expiry_minutes": "30", "max_unpaid_per_ip": "3", "max_unpaid_per_contact": "3"},
    )
    # theme: publish twice, then roll back to the first
    for _ in range(2):
        boss.submit("/admin/theme", {"pack": "classic"}, "/admin/theme/pack")
        boss.submit("/admin/theme", {}, "/admin/theme/publish")
    with app.app_context(), tenant_context(store):
        first = db.session.scalar(select(ThemeRevision.id).where(ThemeRevision.state == "retired"))
    boss.submit("/admin/theme", {}, f"/admin/theme/rollback/{first}")
    # webhooks
    created = boss.submit(
        "/admin/webhooks", {"url": "http://127.0.0.1:9/hook", "events": ["order.paid"]}
    )
    assert created.status_code == 200
    with app.app_context(), tenant_context(store):
        from app.webhooks.models import WebhookEndpoint

        endpoint_id = db.session.scalar(select(WebhookEndpoint.id))
    hook = f"/admin/webhooks/{endpoint_id}"
    boss.submit(hook, {}, f"{hook}/secret")
    boss.submit(hook, {"active": "0"}, f"{hook}/active")
    boss.submit(hook, {}, f"{hook}/delete")
    # orders: manual delivery and a refund
    manual = make_product(app, delivery_type="manual", skus=[(2000, 1500)])
    manual_no, payment_no = open_payment(app, store, manual["sku_ids"][0])
    assert notify(app, payment_no) == "paid"
    boss.submit(
        f"/admin/orders/{manual_no}", {"content": "code 1"}, f"/admin/orders/{manual_no}/deliver"
    )
    keys = make_product(app, skus=[(1000, 800)])
    add_keys(app, keys["sku_ids"][0], [f"A-{uuid.uuid4().hex}"])
    keyed_no, payment_no = open_payment(app, store, keys["sku_ids"][0])
    notify(app, payment_no)
    boss.submit(f"/admin/orders/{keyed_no}", {"reason": "x"}, f"/admin/orders/{keyed_no}/refund")
    # staff
    member = add_staff(app, store, "support")
    with app.app_context(), tenant_context(store):
        from app.merchant.models import StaffUser

        member_id = db.session.scalar(select(StaffUser.id).where(StaffUser.email == member))
    boss.submit("/admin/staff", {"role": "finance"}, f"/admin/staff/{member_id}/role")
    boss.submit("/admin/staff", {}, f"/admin/staff/{member_id}/remove")

    events = events_of(app, store)
    actions = [e.action for e in events]
    for action in (
        "price_rule.save", "price_rule.delete", "settings.save", "settings.checkout_save",
        "theme.publish", "theme.rollback", "webhook.create", "webhook.roll_secret",
        "webhook.disable", "webhook.delete", "order.deliver", "order.refund",
        "staff.role_change", "staff.remove",
    ):  # fmt: skip
        assert action in actions, action
    assert all(e.actor_email == owner_email and e.actor_kind == "store" for e in events)
    saves = [e for e in events if e.action == "price_rule.save"]
    assert saves[0].before is None and saves[0].after["value"] == 1000
    assert saves[1].before["value"] == 1000 and saves[1].after["value"] == 1250
    settings = next(e for e in events if e.action == "settings.save")
    assert settings.before == {"tagline": ""} and settings.after == {"tagline": "Fast keys"}
    role = next(e for e in events if e.action == "staff.role_change")
    assert (role.before, role.after) == ({"role": "support"}, {"role": "finance"})
    refund = next(e for e in events if e.action == "order.refund")
    assert refund.target == f"order:{keyed_no}" and refund.after["amount_cents"] > 0


def test_the_store_audit_page_shows_its_own_events_with_filters(app, make_store, site):
    store, other = make_store(password=OWNER_PASSWORD), make_store(password=OWNER_PASSWORD)
    boss = signed_in(site, store, f"owner@{store.slug}.example.com", OWNER_PASSWORD)
    boss.submit("/admin/settings", {"tagline": "Mine", "announcement": ""})
    stranger = signed_in(site, other, f"owner@{other.slug}.example.com", OWNER_PASSWORD)
    stranger.submit("/admin/settings", {"tagline": "Theirs-xyz", "announcement": ""})
    admin_email = add_staff(app, store, "admin")
    admin = signed_in(site, store, admin_email)
    admin.submit("/admin/settings", {"tagline": "By admin", "announcement": ""})

    page = boss.get("/admin/audit").get_data(as_text=True)
    assert "settings.save" in page and "Mine" in page and "By admin" in page
    assert "Theirs-xyz" not in page
    by_actor = boss.get(f"/admin/audit?actor={admin_email}").get_data(as_text=True)
    assert "By admin" in by_actor and by_actor.count('data-action="settings.save"') == 1
    by_action = boss.get("/admin/audit?action=staff").get_data(as_text=True)
    assert "settings.save" not in by_action
    future = boss.get("/admin/audit?from=2999-01-01").get_data(as_text=True)
    assert 'data-action="settings.save"' not in future
    assert (
        signed_in(site, store, add_staff(app, store, "support")).get("/admin/audit").status_code
        == 403
    )


def test_the_store_audit_page_pages_through_older_events(app, make_store, site):
    from app.audit.services import Actor, record

    store = make_store(password=OWNER_PASSWORD)
    with app.app_context():
        for n in range(55):
            record("test.event", actor=Actor("system"), tenant_id=store.id, target=f"n:{n}")
        db.session.commit()
    boss = signed_in(site, store, f"owner@{store.slug}.example.com", OWNER_PASSWORD)
    first = boss.get("/admin/audit?action=test").get_data(as_text=True)
    assert first.count('data-action="test.event"') == 50 and 'id="audit-older"' in first
    import re

    older = re.search(r'id="audit-older" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    second = boss.get(older).get_data(as_text=True)
    assert second.count('data-action="test.event"') == 5 and "n:0<" in second


def test_the_platform_audit_page_searches_every_store(app, make_store, site, platform_admin, apex):
    first, second = make_store(password=OWNER_PASSWORD), make_store(password=OWNER_PASSWORD)
    for store, tagline in ((first, "First-tag"), (second, "Second-tag")):
        client = signed_in(site, store, f"owner@{store.slug}.example.com", OWNER_PASSWORD)
        client.submit("/admin/settings", {"tagline": tagline, "announcement": ""})
    apex.login_platform(*platform_admin)
    everything = apex.get("/platform/audit?action=settings").get_data(as_text=True)
    assert "First-tag" in everything and "Second-tag" in everything
    one = apex.get(f"/platform/audit?store={second.id}").get_data(as_text=True)
    assert "Second-tag" in one and "First-tag" not in one
    assert site(f"{first.slug}.kameng.test").get("/platform/audit").status_code == 404
