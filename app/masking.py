"""Masks for personal data shown in lists and exports: contacts (a***@example.com,
138****1234), names, and identity, licence and account numbers.

Back-office lists and exports show only these; the full value is for the one record's own page,
to staff whose role may see contacts (`view_contacts`), and for the customer themselves."""

from __future__ import annotations


def mask_middle(value: str, *, head: int = 3, tail: int = 4) -> str:
    """ "110101199003071234" → "110***********1234"; short values keep only their last char."""
    value = (value or "").strip()
    if len(value) <= head + tail:
        return "*" * max(0, len(value) - 1) + value[-1:]
    return value[:head] + "*" * (len(value) - head - tail) + value[-tail:]


def mask_email(address: str) -> str:
    """ "alice@example.com" → "a***@example.com": the domain stays, the name does not."""
    address = (address or "").strip()
    name, at, domain = address.partition("@")
    if not at:
        return mask_middle(address, head=1, tail=1) if address else ""
    return f"{name[:1]}***@{domain}"


def mask_phone(number: str) -> str:
    """ "13812341234" → "138****1234"; short numbers keep only their last digit."""
    number = (number or "").strip()
    if not number:
        return ""
    if len(number) >= 7:
        return f"{number[:3]}****{number[-4:]}"
    return mask_middle(number, head=0, tail=1)


def mask_contact(value: str) -> str:
    """An e-mail address or a phone number (or any account id), masked as what it looks like."""
    value = (value or "").strip()
    return mask_email(value) if "@" in value else mask_phone(value)


def mask_name(name: str) -> str:
    """ "张三丰" → "张**": the first character only."""
    name = (name or "").strip()
    return name[:1] + "**" if name else ""
