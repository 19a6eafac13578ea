"""record(): write one audit event inside the caller's transaction; search(): read them back.

Services take the Actor as an argument (they never look at the request); views build it with
app.audit.web.current_actor().
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select

from app.audit.models import AuditEvent
from app.extensions import db


@dataclass(frozen=True)
class Actor:
    kind: str  # platform | store | customer | supplier | system
    id: int | None = None
    email: str = ""
    ip: str = ""


SYSTEM = Actor("system")


def record(
    action: str,
    *,
    actor: Actor,
    tenant_id: int | None = None,
    target: str = "",
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent:
    """Add an audit event to the session; it commits (or rolls back) with the action itself."""
    event = AuditEvent(
        actor_kind=actor.kind,
        actor_id=actor.id,
        actor_email=actor.email,
        tenant_id=tenant_id,
        action=action,
        target=target,
        before=before,
        after=after,
        ip=actor.ip,
    )
    db.session.add(event)
    return event


def changes(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the keys whose values differ, as (before, after)."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


@dataclass(frozen=True)
class AuditQuery:
    tenant_id: int | None = None  # None with platform_wide=True: every store
    platform_wide: bool = False
    text: str = ""  # matches action, target or actor e-mail
    since: datetime | None = None
    until: datetime | None = None
    actor: str = ""  # part of the actor's e-mail
    action: str = ""  # an action ("staff.invite") or its family ("staff")


def search(query: AuditQuery, *, before_id: int | None = None, limit: int = 50) -> list[AuditEvent]:
    """Newest first, keyset-paginated by id. A store sees only its own events."""
    statement = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if not query.platform_wide or query.tenant_id is not None:
        statement = statement.where(AuditEvent.tenant_id == query.tenant_id)
    if query.text:
        pattern = f"%{query.text.strip()}%"
        statement = statement.where(
            or_(
                AuditEvent.action.ilike(pattern),
                AuditEvent.target.ilike(pattern),
                AuditEvent.actor_email.ilike(pattern),
            )
        )
    if query.actor:
        statement = statement.where(AuditEvent.actor_email.ilike(f"%{query.actor.strip()}%"))
    if query.action:
        action = query.action.strip()
        statement = statement.where(
            or_(AuditEvent.action == action, AuditEvent.action.like(f"{action}.%"))
        )
    if query.since is not None:
        statement = statement.where(AuditEvent.at >= query.since)
    if query.until is not None:
        statement = statement.where(AuditEvent.at < query.until)
    if before_id is not None:
        statement = statement.where(AuditEvent.id < before_id)
    return list(db.session.scalars(statement))
