"""E-mail address checks shared by every sign-up and contact form."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

from app.i18n import N_


def normalize_email(address: str) -> str:
    return (address or "").strip().lower()


def email_problem(address: str) -> str | None:
    """Why an address is unusable (a message id to translate), or None."""
    if not address:
        return N_("Enter an e-mail address.")
    if len(address) > 254:
        return N_("This e-mail address is too long.")
    try:
        validate_email(address, check_deliverability=False, test_environment=True)
    except EmailNotValidError:
        return N_("This is not a valid e-mail address.")
    return None
