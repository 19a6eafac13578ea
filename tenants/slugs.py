"""Rules for store slugs (the `acme` of acme.<platform-domain>)."""

from __future__ import annotations

import re

from app.i18n import N_

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,28})[a-z0-9]$")

RESERVED_SLUGS = frozenset(
    (
        "www",
        "admin",
        "administrator",
        "api",
        "app",
        "apps",
        "assets",
        "auth",
        "billing",
        "blog",
        "cdn",
        "console",
        "dashboard",
        "dev",
        "docs",
        "help",
        "img",
        "images",
        "kameng",
        "login",
        "logout",
        "mail",
        "email",
        "smtp",
        "imap",
        "pop",
        "ftp",
        "m",
        "mobile",
        "ns",
        "ns1",
        "ns2",
        "open",
        "pay",
        "payment",
        "payments",
        "platform",
        "root",
        "shop",
        "static",
        "status",
        "store",
        "stores",
        "support",
        "supplier",
        "suppliers",
        "test",
        "staging",
        "system",
        "webhook",
        "webhooks",
        "wiki",
        "account",
        "accounts",
        "my",
        "official",
        "service",
    )
)


def slug_problem(slug: str) -> str | None:
    """Why `slug` cannot be used (an English message id for translation), or None if it can."""
    if not slug:
        return N_("Choose a store address.")
    if len(slug) < 3 or len(slug) > 30:
        return N_("The store address must be 3 to 30 characters long.")
    if not SLUG_PATTERN.match(slug):
        return N_("Use only lower-case letters, digits and hyphens, not at the start or end.")
    if "--" in slug:
        return N_("The store address cannot contain two hyphens in a row.")
    if slug in RESERVED_SLUGS:
        return N_("This store address is reserved.")
    return None
