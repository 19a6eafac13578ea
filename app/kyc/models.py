"""Real-name verification applications (shared schema); the newest one of a party counts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import SharedModel, UtcDateTime, utcnow
from app.i18n import N_

KINDS = {"individual": N_("Individual"), "business": N_("Business")}
STATUSES = {"pending": N_("Under review"), "approved": N_("Approved"), "rejected": N_("Rejected")}


class Verification(SharedModel):
    __tablename__ = "verifications"
    __table_args__ = (Index("ix_verifications_party", "party", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    party: Mapped[str] = mapped_column(String(40))  # "store:<id>" or "supplier:<id>"
    kind: Mapped[str] = mapped_column(String(20))
    legal_name: Mapped[str] = mapped_column(String(100))
    # Identity card number (individual) or the legal representative's (business): sealed, with
    # a mask for lists.
    id_number_sealed: Mapped[str] = mapped_column(Text)
    id_number_mask: Mapped[str] = mapped_column(String(40))
    company_name: Mapped[str] = mapped_column(String(200), default="")
    licence_number_sealed: Mapped[str | None] = mapped_column(Text)
    licence_number_mask: Mapped[str] = mapped_column(String(40), default="")
    # A sealed file under the instance's private folder (never a public media path).
    licence_image: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    submitted_by: Mapped[str] = mapped_column(String(254))
    submitted_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    reviewed_by: Mapped[str | None] = mapped_column(String(254))
    reviewed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    @property
    def status_label(self) -> str:
        return STATUSES[self.status]

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]
