"""Submit, review and look up real-name verification. Callers commit.

Identity and licence numbers are sealed (AES-GCM, bound to the party) with a mask kept for
lists; the licence image is re-encoded by Pillow and sealed into the instance's private folder.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from app import private_files
from app.audit import services as audit
from app.crypto import open_text, seal_text
from app.db import utcnow
from app.extensions import db
from app.i18n import N_
from app.images import ImageRefused
from app.kyc.models import KINDS, Verification
from app.ledger.parties import Party
from app.masking import mask_middle

# Mainland identity card: 17 digits and a digit or X; unified social credit code: 18 characters.
ID_NUMBER = re.compile(r"^\d{17}[\dXx]$")
LICENCE_NUMBER = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
MAX_IMAGE_BYTES = 4 * 1024 * 1024
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CODES = "10X98765432"


def valid_id_number(value: str) -> bool:
    """An 18-character mainland identity number with a correct check character (GB 11643)."""
    value = value.strip().upper()
    if not ID_NUMBER.match(value):
        return False
    total = sum(int(digit) * weight for digit, weight in zip(value, ID_WEIGHTS, strict=False))
    return ID_CHECK_CODES[total % 11] == value[-1]


class VerificationRefused(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


@dataclass(frozen=True)
class Application:
    kind: str
    legal_name: str
    id_number: str
    company_name: str = ""
    licence_number: str = ""
    licence_image: bytes | None = None


def current(party: str) -> Verification | None:
    """The party's newest application (the one that counts)."""
    return db.session.scalar(
        select(Verification).where(Verification.party == party).order_by(Verification.id.desc())
    )


def is_verified(party: str) -> bool:
    found = current(party)
    return found is not None and found.status == "approved"


def _purpose(party: str, what: str) -> str:
    return f"kyc:{party}:{what}"


def submit(party: str, application: Application, *, actor: audit.Actor) -> Verification:
    """Record an application for review; refused while one is pending or after approval."""
    existing = current(party)
    if existing is not None and existing.status in ("pending", "approved"):
        raise VerificationRefused(
            "kind",
            N_("Your verification is already approved.")
            if existing.status == "approved"
            else N_("Your verification is already under review."),
        )
    problems = _problems(application)
    if problems:
        raise VerificationRefused(*problems[0])
    id_number = application.id_number.strip().upper()
    verification = Verification(
        party=party,
        kind=application.kind,
        legal_name=application.legal_name.strip(),
        id_number_sealed=seal_text(id_number, _purpose(party, "id")),
        id_number_mask=mask_middle(id_number),
        submitted_by=actor.email,
        submitted_at=utcnow(),
    )
    if application.kind == "business":
        licence = application.licence_number.strip().upper()
        verification.company_name = application.company_name.strip()
        verification.licence_number_sealed = seal_text(licence, _purpose(party, "licence"))
        verification.licence_number_mask = mask_middle(licence, head=2, tail=4)
        verification.licence_image = _store_image(party, application.licence_image)
    db.session.add(verification)
    db.session.flush()
    audit.record(
        "verification.submit",
        actor=actor,
        tenant_id=_tenant_id(party),
        target=f"verification:{verification.id}",
        after={"kind": verification.kind, "id_number": verification.id_number_mask},
    )
    return verification


def _problems(application: Application) -> list[tuple[str, str]]:
    problems = []
    if application.kind not in KINDS:
        problems.append(("kind", N_("Choose individual or business.")))
    if not 2 <= len(application.legal_name.strip()) <= 100:
        problems.append(("legal_name", N_("Enter the full legal name (2 to 100 characters).")))
    if not valid_id_number(application.id_number):
        problems.append(("id_number", N_("Enter an 18-character identity card number.")))
    if application.kind == "business":
        if not 2 <= len(application.company_name.strip()) <= 200:
            problems.append(("company_name", N_("Enter the company name as on the licence.")))
        if not LICENCE_NUMBER.match(application.licence_number.strip().upper()):
            problems.append(
                ("licence_number", N_("Enter the 18-character unified social credit code."))
            )
        if not application.licence_image:
            problems.append(("licence_image", N_("Upload a photo or scan of the licence.")))
    return problems


def _store_image(party: str, data: bytes | None) -> str:
    try:
        return private_files.store_image(
            "kyc", f"kyc:{party}", data or b"", max_bytes=MAX_IMAGE_BYTES
        )
    except ImageRefused as refused:
        raise VerificationRefused(
            "licence_image",
            N_("The licence image is too large (at most 4 MB).")
            if refused.reason == "size"
            else N_("The licence image must be a PNG, JPEG or WebP picture."),
        ) from None


def licence_image(verification: Verification) -> tuple[bytes, str] | None:
    """The licence image in clear and its mimetype, for reviewers."""
    return private_files.read_image(
        "kyc", f"kyc:{verification.party}", verification.licence_image or ""
    )


def reveal(verification: Verification, *, actor: audit.Actor) -> dict[str, str]:
    """The sealed numbers in clear for a reviewer; every reveal is audited."""
    party = verification.party
    revealed = {"id_number": open_text(verification.id_number_sealed, _purpose(party, "id"))}
    if verification.licence_number_sealed:
        revealed["licence_number"] = open_text(
            verification.licence_number_sealed, _purpose(party, "licence")
        )
    audit.record(
        "verification.reveal",
        actor=actor,
        tenant_id=_tenant_id(party),
        target=f"verification:{verification.id}",
    )
    return revealed


def review(
    verification_id: int, *, approve: bool, reason: str = "", actor: audit.Actor
) -> Verification:
    """Approve or reject a pending application (a rejection needs a reason)."""
    verification = db.session.scalar(
        select(Verification).where(Verification.id == verification_id).with_for_update()
    )
    if verification is None or verification.status != "pending":
        raise VerificationRefused("status", N_("This application has already been reviewed."))
    reason = reason.strip()
    if not approve and not reason:
        raise VerificationRefused("reason", N_("Say why the application is rejected."))
    verification.status = "approved" if approve else "rejected"
    verification.reason = reason[:2000]
    verification.reviewed_by, verification.reviewed_at = actor.email, utcnow()
    audit.record(
        "verification.approve" if approve else "verification.reject",
        actor=actor,
        tenant_id=_tenant_id(verification.party),
        target=f"verification:{verification.id}",
        before={"status": "pending"},
        after={"status": verification.status, "reason": verification.reason},
    )
    return verification


def pending(limit: int = 200) -> list[Verification]:
    return list(
        db.session.scalars(
            select(Verification)
            .where(Verification.status == "pending")
            .order_by(Verification.id)
            .limit(limit)
        )
    )


def _tenant_id(party: str) -> int | None:
    return Party.parse(party).tenant_id


def backlog() -> tuple[int, datetime | None]:
    """How many applications wait for review, and since when the oldest."""
    count, oldest = db.session.execute(
        select(func.count(), func.min(Verification.submitted_at)).where(
            Verification.status == "pending"
        )
    ).one()
    return int(count), oldest
