"""Password hashing and the password policy."""

from __future__ import annotations

from werkzeug.security import check_password_hash, generate_password_hash

from app.i18n import N_

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128


def password_problem(password: str) -> str | None:
    """Why a new password is refused (a message id to translate), or None."""
    if not password or len(password) < MIN_PASSWORD_LENGTH:
        return N_("The password must be at least 8 characters long.")
    if len(password) > MAX_PASSWORD_LENGTH:
        return N_("The password must be at most 128 characters long.")
    if password.isdigit() or password.isalpha():
        return N_("The password must mix letters with digits or symbols.")
    return None


class PasswordMixin:
    """For account models with a `password_hash` column."""

    password_hash: str

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return bool(password) and check_password_hash(self.password_hash, password)
