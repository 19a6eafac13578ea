"""The audit log: events commit with their action and are searchable, a store sees only its own."""

import uuid

from app.audit import services as audit
from app.extensions import db

ACTOR = audit.Actor("platform", 1, "owner@example.com", "203.0.113.9")


def test_an_event_commits_with_the_action_and_is_found_by_text(app):
    tag = uuid.uuid4().hex[:8]
    with app.app_context():
        audit.record(
            "store.suspend",
            actor=ACTOR,
            tenant_id=777001,
            target=f"store:{tag}",
            before={"status": "active"},
            after={"status": "suspended"},
        )
        db.session.commit()
        found = audit.search(audit.AuditQuery(platform_wide=True, text=tag))
        assert [(e.action, e.actor_email, e.ip) for e in found] == [
            ("store.suspend", "owner@example.com", "203.0.113.9")
        ]
        assert found[0].before == {"status": "active"} and found[0].after["status"] == "suspended"


def test_a_rolled_back_action_leaves_no_event(app):
    tag = uuid.uuid4().hex[:8]
    with app.app_context():
        audit.record("order.refund", actor=ACTOR, tenant_id=777002, target=tag)
        db.session.rollback()
        assert audit.search(audit.AuditQuery(platform_wide=True, text=tag)) == []


def test_a_store_search_never_returns_another_stores_events(app):
    tag = uuid.uuid4().hex[:8]
    with app.app_context():
        audit.record("settings.update", actor=ACTOR, tenant_id=777003, target=tag)
        audit.record("settings.update", actor=ACTOR, tenant_id=777004, target=tag)
        db.session.commit()
        mine = audit.search(audit.AuditQuery(tenant_id=777003, text=tag))
        assert [e.tenant_id for e in mine] == [777003]


def test_changes_keeps_only_what_differs():
    assert audit.changes({"a": 1, "b": 2}, {"a": 1, "b": 3}) == ({"b": 2}, {"b": 3})
