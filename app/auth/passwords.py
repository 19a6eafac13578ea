"""Password hashing and the password policy (one for every kind of account: customers, store
staff, platform staff and suppliers)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

from app.i18n import N_

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")


@cache
def common_passwords() -> frozenset[str]:
    """The small list of passwords everybody tries first (lower case)."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().lower() for line in lines if line.strip() and not line.startswith("#")
    )


def password_problem(password: str, *, email: str | None = None) -> str | None:
    """Why a new password is refused (a message id to translate), or None. `email` is the
    account's address: a password may not be the address, nor its name before the @."""
    if not password or len(password) < MIN_PASSWORD_LENGTH:
        return N_("The password must be at least 8 characters long.")
    if len(password) > MAX_PASSWORD_LENGTH:
        return N_("The password must be at most 128 characters long.")
    if password.isdecimal() or password.isalpha():
        return N_("The password must mix letters with digits or symbols.")
    folded = password.strip().lower()
    address = (email or "").strip().lower()
    if address and folded in {address, address.partition("@")[0]}:
        return N_("The password must not be your e-mail address.")
    if folded in common_passwords():
        return N_("This password is too common; choose one that is harder to guess.")
    return None


class PasswordMixin:
    """For account models with a `password_hash` column."""

    password_hash: str

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return bool(password) and check_password_hash(self.password_hash, password)
