"""Blacklist matching: IP addresses and CIDR ranges, e-mail with wildcards, phone, customer."""

from __future__ import annotations

import ipaddress
from fnmatch import fnmatchcase

KINDS = ("ip", "email", "phone", "customer")


class InvalidEntry(ValueError):
    pass


def normalise(kind: str, value: str) -> str:
    """The stored form of an entry; raises InvalidEntry when it cannot match anything."""
    value = (value or "").strip()
    if kind == "ip":
        try:
            return str(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise InvalidEntry(value) from None
    if kind == "email":
        value = value.lower()
        if "@" not in value or len(value) > 254 or value.startswith("@"):
            raise InvalidEntry(value)
        return value
    if kind == "phone":
        digits = "".join(ch for ch in value if ch.isdecimal() or ch == "+")
        if len(digits) < 5 or len(digits) > 32:
            raise InvalidEntry(value)
        return digits
    if kind == "customer":
        if not value.isdecimal():
            raise InvalidEntry(value)
        return str(int(value))
    raise InvalidEntry(kind)


def matches(kind: str, entry: str, *, ip: str, email: str, phone: str, customer_id) -> bool:
    """Whether one stored entry matches the buyer. E-mail entries may use `*` and `?`
    (`*@spam.example`, `*@*.spam.example`); IP entries are networks (a single address is a /32)."""
    if kind == "ip" and ip:
        try:
            return ipaddress.ip_address(ip) in ipaddress.ip_network(entry, strict=False)
        except (ValueError, TypeError):
            return False
    if kind == "email" and email:
        return fnmatchcase(email.strip().lower(), entry)
    if kind == "phone" and phone:
        try:
            return normalise("phone", phone) == entry
        except InvalidEntry:
            return False
    if kind == "customer" and customer_id is not None:
        return str(customer_id) == entry
    return False
