"""Platform account rules."""

from __future__ import annotations

from sqlalchemy import select

from app.auth.emails import email_problem, normalize_email
from app.auth.passwords import password_problem
from app.extensions import db
from app.platform.models import PlatformUser


class PlatformAccountError(ValueError):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def ensure_platform_admin(email: str, password: str, name: str = "") -> tuple[PlatformUser, bool]:
    """Create the platform owner `email`, or reset its password; returns (user, created)."""
    email = normalize_email(email)
    if problem := email_problem(email) or password_problem(password, email=email):
        raise PlatformAccountError(problem)
    user = db.session.scalar(select(PlatformUser).where(PlatformUser.email == email))
    created = user is None
    if created:
        user = PlatformUser(email=email, name=name or email.split("@")[0], role="owner")
        db.session.add(user)
    user.set_password(password)
    user.is_active = True
    db.session.commit()
    return user, created
