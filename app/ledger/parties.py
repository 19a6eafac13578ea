"""Parties the platform owes money to (stores and suppliers) and the accounts each one has.

Every party has four accounts, all in the shared ledger:
- pending: earned but still held (stores: profit; suppliers: `payable`, the name it has always had);
- available: settled, may be withdrawn;
- withdrawing: asked for, waiting for the platform's payout;
- owed: what the party owes the platform (a refund after settlement larger than what was
  available). A debit balance here blocks withdrawals and is paid off first by later settlements.
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("store", "supplier")
PENDING_SUFFIX = {"store": "pending", "supplier": "payable"}


@dataclass(frozen=True)
class Party:
    kind: str
    id: int

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"unknown party kind {self.kind!r}")

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def tenant_id(self) -> int | None:
        """The store this party is (audit events and ledger transactions carry it)."""
        return self.id if self.kind == "store" else None

    @property
    def pending(self) -> str:
        return f"{self.key}:{PENDING_SUFFIX[self.kind]}"

    @property
    def available(self) -> str:
        return f"{self.key}:available"

    @property
    def withdrawing(self) -> str:
        return f"{self.key}:withdrawing"

    @property
    def owed(self) -> str:
        return f"{self.key}:owed"

    @property
    def accounts(self) -> tuple[str, str, str, str]:
        return (self.pending, self.available, self.withdrawing, self.owed)

    @classmethod
    def parse(cls, key: str) -> Party:
        kind, _, number = key.partition(":")
        if kind not in KINDS or not number.isdecimal():
            raise ValueError(f"not a party: {key!r}")
        return cls(kind, int(number))

    @classmethod
    def holding(cls, code: str) -> Party | None:
        """The party whose pending account `code` is, or None."""
        parts = code.split(":")
        kind = parts[0]
        if len(parts) == 3 and kind in KINDS and parts[1].isdecimal():
            return cls(kind, int(parts[1])) if parts[2] == PENDING_SUFFIX[kind] else None
        return None


def store(tenant_id: int) -> Party:
    return Party("store", tenant_id)


def supplier(supplier_id: int) -> Party:
    return Party("supplier", supplier_id)
