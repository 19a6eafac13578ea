"""Store staff rules: invitations (signed single-use links, 7 days), roles, removal, seats.

Seats (`entitlement(store, "staff_seats")`) count active staff plus pending invitations. Only an
owner may invite, promote, demote or remove an owner, and the last owner can be neither demoted
nor removed. Services take the acting staff member explicitly (no request state)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select

from app.audit.services import Actor, record
from app.auth import sessions
from app.auth.emails import email_problem, normalize_email
from app.auth.passwords import password_problem
from app.billing.entitlements import entitlement
from app.db import utcnow
from app.extensions import db
from app.i18n import N_
from app.merchant.models import STAFF_ROLES, StaffInvitation, StaffUser

INVITATION_DAYS = 7
MAX_NAME = 100


class StaffError(ValueError):
    def __init__(self, field: str, message: str, **params):
        super().__init__(message)
        self.field = field
        self.message = message
        self.params = params


@dataclass(frozen=True)
class Seats:
    used: int  # active staff + pending invitations
    limit: int

    @property
    def is_full(self) -> bool:
        return self.used >= self.limit


def _pending():
    return (
        StaffInvitation.accepted_at.is_(None),
        StaffInvitation.revoked_at.is_(None),
        StaffInvitation.expires_at > utcnow(),
    )


def pending_invitations() -> list[StaffInvitation]:
    return list(
        db.session.scalars(
            select(StaffInvitation).where(*_pending()).order_by(StaffInvitation.id.desc())
        )
    )


def list_staff() -> list[StaffUser]:
    return list(
        db.session.scalars(
            select(StaffUser).where(StaffUser.is_active.is_(True)).order_by(StaffUser.id)
        )
    )


def seats(store) -> Seats:
    staff = db.session.scalar(
        select(func.count()).select_from(StaffUser).where(StaffUser.is_active.is_(True))
    )
    invited = db.session.scalar(
        select(func.count()).select_from(StaffInvitation).where(*_pending())
    )
    return Seats(staff + invited, int(entitlement(store, "staff_seats")))


def _lock_staff() -> list[StaffUser]:
    """Serialise changes to the staff of this store (seats, owners): lock the owners' rows."""
    return list(
        db.session.scalars(
            select(StaffUser)
            .where(StaffUser.role == "owner", StaffUser.is_active.is_(True))
            .order_by(StaffUser.id)
            .with_for_update()
        )
    )


def _check_role(role: str, acting: StaffUser) -> None:
    if role not in STAFF_ROLES:
        raise StaffError("role", N_("Choose a role."))
    if role == "owner" and acting.role != "owner":
        raise StaffError("role", N_("Only an owner can make someone an owner."))


def _actor(user: StaffUser, ip: str) -> Actor:
    return Actor("store", user.id, user.email, ip)


def invite(store, *, email: str, role: str, acting: StaffUser, ip: str = "") -> StaffInvitation:
    """Invite `email` to the staff with `role` and queue the e-mail; commits."""
    email = normalize_email(email)
    if problem := email_problem(email):
        raise StaffError("email", problem)
    _check_role(role, acting)
    _lock_staff()
    if db.session.scalar(select(StaffUser.id).where(StaffUser.email == email)) is not None:
        raise StaffError("email", N_("This person is already on the staff."))
    already = db.session.scalar(
        select(StaffInvitation.id).where(StaffInvitation.email == email, *_pending())
    )
    if already is not None:
        raise StaffError("email", N_("This address already has a pending invitation."))
    usage = seats(store)
    if usage.is_full:
        raise StaffError(
            "email",
            N_(
                "Your plan includes %(limit)s staff seats and all are taken (staff and pending "
                "invitations). Remove someone or upgrade your plan."
            ),
            limit=usage.limit,
        )
    invitation = StaffInvitation(
        email=email,
        role=role,
        invited_by=acting.email,
        expires_at=utcnow() + timedelta(days=INVITATION_DAYS),
    )
    db.session.add(invitation)
    db.session.flush()
    record(
        "staff.invite", actor=_actor(acting, ip), tenant_id=store.id,
        target=f"invitation:{invitation.id}", after={"email": email, "role": role},
    )  # fmt: skip
    from workers.queue import enqueue

    enqueue(
        "workers.jobs.staff.send_staff_invitation",
        invitation.id,
        tenant_id=store.id,
        queue="notifications",
    )
    db.session.commit()
    return invitation


def revoke_invitation(store, invitation_id: int, *, acting: StaffUser, ip: str = "") -> bool:
    invitation = db.session.get(StaffInvitation, invitation_id, with_for_update=True)
    if invitation is None or invitation.accepted_at or invitation.revoked_at:
        return False
    if invitation.role == "owner" and acting.role != "owner":
        raise StaffError("role", N_("Only an owner can change or remove an owner."))
    invitation.revoked_at = utcnow()
    record(
        "staff.invitation_revoke", actor=_actor(acting, ip), tenant_id=store.id,
        target=f"invitation:{invitation.id}", before={"email": invitation.email},
    )  # fmt: skip
    db.session.commit()
    return True


# -- the link ------------------------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="staff-invitation")


def invitation_token(store, invitation: StaffInvitation) -> str:
    return _serializer().dumps({"t": store.id, "i": invitation.id, "e": invitation.email})


def find_invitation(store, token: str, *, lock: bool = False) -> StaffInvitation | None:
    """The pending invitation the token is for, in this store; None if forged, for another
    store, expired, revoked or already used."""
    try:
        data = _serializer().loads(token or "", max_age=INVITATION_DAYS * 86400)
    except BadSignature:  # also when expired
        return None
    if not isinstance(data, dict) or data.get("t") != store.id:
        return None
    invitation = db.session.get(StaffInvitation, data.get("i"), with_for_update=lock)
    if invitation is None or invitation.email != data.get("e"):
        return None
    if invitation.accepted_at or invitation.revoked_at or invitation.expires_at <= utcnow():
        return None
    return invitation


def accept(store, token: str, *, name: str, password: str, ip: str = "") -> StaffUser:
    """Join the staff through the invitation: the account is made with the invited role; commits.
    Raises StaffError (field "token" if the link is no longer usable)."""
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise StaffError("name", N_("Enter your name (at most 100 characters)."))
    if problem := password_problem(password):
        raise StaffError("password", problem)
    invitation = find_invitation(store, token, lock=True)
    if invitation is None:
        raise StaffError("token", N_("This invitation is no longer valid. Ask for a new one."))
    if problem := password_problem(password, email=invitation.email):
        raise StaffError("password", problem)
    if db.session.scalar(select(StaffUser.id).where(StaffUser.email == invitation.email)):
        raise StaffError("token", N_("This person is already on the staff."))
    user = StaffUser(email=invitation.email, name=name, role=invitation.role)
    user.set_password(password)
    db.session.add(user)
    invitation.accepted_at = utcnow()
    db.session.flush()
    record(
        "staff.join", actor=_actor(user, ip), tenant_id=store.id, target=f"staff:{user.id}",
        after={"email": user.email, "role": user.role, "invitation": invitation.id},
    )  # fmt: skip
    db.session.commit()
    return user


# -- roles and removal ---------------------------------------------------------------------------


def _member(user_id: int) -> StaffUser:
    user = db.session.get(StaffUser, user_id, with_for_update=True)
    if user is None or not user.is_active:
        raise StaffError("user", N_("This staff member does not exist."))
    return user


def _guard_owner(target: StaffUser, acting: StaffUser, owners: list[StaffUser]) -> None:
    if target.role == "owner":
        if acting.role != "owner":
            raise StaffError("role", N_("Only an owner can change or remove an owner."))
        if len(owners) <= 1:
            raise StaffError("role", N_("A store keeps at least one owner."))


def change_role(store, user_id: int, role: str, *, acting: StaffUser, ip: str = "") -> StaffUser:
    _check_role(role, acting)
    owners = _lock_staff()
    target = _member(user_id)
    if target.role == role:
        return target
    _guard_owner(target, acting, owners)
    before = target.role
    target.role = role
    record(
        "staff.role_change", actor=_actor(acting, ip), tenant_id=store.id,
        target=f"staff:{target.id}", before={"role": before}, after={"role": role},
    )  # fmt: skip
    db.session.commit()
    return target


def remove(store, user_id: int, *, acting: StaffUser, ip: str = "") -> None:
    """Take someone off the staff: their account is deleted and their sessions end; commits."""
    owners = _lock_staff()
    target = _member(user_id)
    _guard_owner(target, acting, owners)
    record(
        "staff.remove", actor=_actor(acting, ip), tenant_id=store.id, target=f"staff:{target.id}",
        before={"email": target.email, "role": target.role},
    )  # fmt: skip
    sessions.revoke_all(target)
    db.session.delete(target)
    db.session.commit()
