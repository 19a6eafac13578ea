"""Masks for personal numbers shown in lists (identity, licence and account numbers)."""


def mask_middle(value: str, *, head: int = 3, tail: int = 4) -> str:
    """ "110101199003071234" → "110***********1234"; short values keep only their last char."""
    value = (value or "").strip()
    if len(value) <= head + tail:
        return "*" * max(0, len(value) - 1) + value[-1:]
    return value[:head] + "*" * (len(value) - head - tail) + value[-tail:]
