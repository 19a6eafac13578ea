"""Card-key inventory rules: import (streamed, de-duplicated, encrypted), stock, void, rotate,
audited export, low-stock alerts.

Imports are one transaction: every valid, new key of the file commits together, or none does
(a crash or a file that is not UTF-8 leaves nothing behind); blank lines are skipped; invalid and
duplicate lines are reported by line number and never stop the import.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select, update

from app.catalog.models import Sku
from app.crypto import Sealed, keyring
from app.db import utcnow
from app.extensions import db
from app.i18n import N_
from app.inventory.models import CardKey, CardKeyBatch, KeyAccessLog
from tenants.engines import registry

CHUNK_LINES = 5000
MAX_LINE_CHARS = 512
MAX_REPORTED_LINES = 1000
SEPARATOR_CHOICES = {
    "none": None,
    "space": " ",
    "tab": "\t",
    "comma": ",",
    "pipe": "|",
    "dashes": "----",
}
FIELD_SEPARATOR = "\x1f"  # between card number and password inside the encrypted secret
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # tab is allowed


class InventoryError(ValueError):
    def __init__(self, message: str, **params):
        super().__init__(message)
        self.message = message
        self.params = params


@dataclass
class ImportReport:
    batch_id: int | None = None
    added: int = 0
    duplicates: int = 0
    invalid: int = 0
    duplicate_lines: list[int] = field(default_factory=list)
    invalid_lines: list[tuple[int, str]] = field(default_factory=list)

    def note_duplicate(self, line_no: int) -> None:
        self.duplicates += 1
        if len(self.duplicate_lines) < MAX_REPORTED_LINES:
            self.duplicate_lines.append(line_no)

    def note_invalid(self, line_no: int, reason: str) -> None:
        self.invalid += 1
        if len(self.invalid_lines) < MAX_REPORTED_LINES:
            self.invalid_lines.append((line_no, reason))

    def as_text(self) -> str:
        parts = (
            [f"duplicate lines: {', '.join(map(str, self.duplicate_lines))}"]
            if (self.duplicate_lines)
            else []
        )
        parts += [f"line {n}: {reason}" for n, reason in self.invalid_lines]
        return "\n".join(parts)


@dataclass(frozen=True)
class ParsedKey:
    line_no: int
    card_no: str
    password: str

    @property
    def plaintext(self) -> bytes:
        return f"{self.card_no}{FIELD_SEPARATOR}{self.password}".encode()


def mask_secret(text: str) -> str:
    """ABCD****WXYZ: enough to recognise a key, never enough to use it."""
    if len(text) >= 10:
        return f"{text[:4]}****{text[-4:]}"
    if len(text) >= 4:
        return f"{text[:1]}****{text[-1:]}"
    return "****"


def split_secret(plaintext: bytes) -> tuple[str, str]:
    card_no, _, password = plaintext.decode().partition(FIELD_SEPARATOR)
    return card_no, password


def parse_line(line_no: int, raw: str, separator: str | None) -> ParsedKey | str | None:
    """A key, a reason the line is invalid (message id), or None for a blank line."""
    text = raw.strip().lstrip("\ufeff")
    if not text:
        return None
    if len(text) > MAX_LINE_CHARS:
        return N_("line is longer than 512 characters")
    if CONTROL_CHARACTERS.search(text):
        return N_("line contains control characters")
    if separator is None:
        return ParsedKey(line_no, "", text)
    if separator == ",":
        fields = next(csv.reader([text]))
        if len(fields) != 2:
            return N_("expected a card number and a password separated by the separator")
        card_no, password = (f.strip() for f in fields)
    else:
        card_no, sep, password = text.partition(separator)
        card_no, password = card_no.strip(), password.strip()
        if not sep:
            return N_("expected a card number and a password separated by the separator")
    if not card_no or not password:
        return N_("card number or password is empty")
    return ParsedKey(line_no, card_no, password)


def decode_lines(source: Iterable[bytes | str]) -> Iterable[tuple[int, str]]:
    """Number lines, decoding bytes as UTF-8; a line that is not UTF-8 stops the import."""
    for line_no, raw in enumerate(source, start=1):
        if isinstance(raw, bytes):
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise InventoryError(
                    N_("Line %(line)s is not UTF-8 text; nothing was imported."), line=line_no
                ) from None
        yield line_no, raw.rstrip("\r\n")


def import_keys(
    sku: Sku,
    source: Iterable[bytes | str],
    *,
    separator: str | None = None,
    origin: str = "paste",
    filename: str = "",
    imported_by: str = "",
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import card keys for `sku` from lines of text; see the module docstring for the rules."""
    if sku.product.delivery_type != "card_key":
        raise InventoryError(N_("This SKU is not delivered by card keys."))
    ring = keyring()
    aad = sku_aad(sku.id)
    report = ImportReport()
    batch = CardKeyBatch(
        sku_id=sku.id, source=origin, filename=filename[:200], imported_by=imported_by
    )
    db.session.add(batch)
    db.session.flush()
    report.batch_id = batch.id
    table = CardKey.__table__
    engines = registry()
    seen: set[bytes] = set()
    chunk: list[tuple[ParsedKey, bytes]] = []
    processed = 0
    attempted = [0]

    def flush_chunk():
        # Keys already in the inventory are found first (to report their lines); the insert
        # still ignores conflicts, so a concurrent import of the same keys cannot fail this one.
        existing = set(
            db.session.scalars(
                select(CardKey.secret_hmac).where(CardKey.secret_hmac.in_([d for _, d in chunk]))
            )
        )
        now = utcnow()
        rows = []
        for key, digest in chunk:
            if digest in existing:
                report.note_duplicate(key.line_no)
                continue
            sealed = ring.seal(key.plaintext, aad)
            rows.append(
                {
                    "sku_id": sku.id,
                    "batch_id": batch.id,
                    "key_id": sealed.key_id,
                    "ciphertext": sealed.blob,
                    "secret_hmac": digest,
                    "masked": mask_secret(key.card_no or key.password),
                    "status": "available",
                    "created_at": now,
                }
            )
        if rows:
            engines.bulk_insert_ignoring_conflicts(
                db.session.connection(), table, rows, "secret_hmac"
            )
            attempted[0] += len(rows)
        chunk.clear()

    try:
        for line_no, raw in decode_lines(source):
            processed = line_no
            parsed = parse_line(line_no, raw, separator)
            if parsed is None:
                continue
            if isinstance(parsed, str):
                report.note_invalid(line_no, parsed)
                continue
            digest = ring.fingerprint(parsed.plaintext)
            if digest in seen:
                report.note_duplicate(line_no)
                continue
            seen.add(digest)
            chunk.append((parsed, digest))
            if len(chunk) >= CHUNK_LINES:
                flush_chunk()
                if progress:
                    progress(processed)
        flush_chunk()
    except Exception:
        db.session.rollback()
        raise
    if progress:
        progress(processed)
    report.duplicate_lines.sort()
    # Counted, not assumed: a concurrent import may have inserted some of the same keys first.
    report.added = db.session.scalar(
        select(func.count()).select_from(CardKey).where(CardKey.batch_id == batch.id)
    )
    report.duplicates += attempted[0] - report.added
    batch.added = report.added
    batch.duplicates = report.duplicates
    batch.invalid = report.invalid
    batch.report = report.as_text()
    db.session.commit()
    after_stock_change(sku.id)
    return report


def sku_aad(sku_id: int) -> bytes:
    """Associated data binding a ciphertext to its SKU: a key moved to another SKU won't open."""
    return f"card-key:sku:{sku_id}".encode()


def reveal(key: CardKey) -> tuple[str, str]:
    """Decrypt a key: (card number, password). Callers log the reveal."""
    return split_secret(keyring().open(Sealed(key.key_id, key.ciphertext), sku_aad(key.sku_id)))


def stock_counts(sku_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    ids = list(sku_ids)
    counts: dict[int, dict[str, int]] = {
        i: {"available": 0, "reserved": 0, "sold": 0, "void": 0} for i in ids
    }
    if not ids:
        return counts
    rows = db.session.execute(
        select(CardKey.sku_id, CardKey.status, func.count())
        .where(CardKey.sku_id.in_(ids))
        .group_by(CardKey.sku_id, CardKey.status)
    )
    for sku_id, status, count in rows:
        counts[sku_id][status] = count
    return counts


def available_count(sku_id: int) -> int:
    return stock_counts([sku_id])[sku_id]["available"]


def void_key(key_id: int, actor: str) -> bool:
    """Void one unsold key. Returns False when it was already reserved, sold or void."""
    key = db.session.get(CardKey, key_id, with_for_update=True)
    if key is None or key.status != "available":
        return False
    key.status = "void"
    db.session.commit()
    after_stock_change(key.sku_id)
    return True


def void_batch(batch_id: int, actor: str) -> int:
    """Void every still-available key of a batch; reserved and sold keys are left alone."""
    batch = db.session.get(CardKeyBatch, batch_id, with_for_update=True)
    if batch is None:
        raise InventoryError(N_("No such batch."))
    result = db.session.execute(
        update(CardKey)
        .where(CardKey.batch_id == batch_id, CardKey.status == "available")
        .values(status="void")
    )
    batch.voided_at = utcnow()
    batch.voided_by = actor
    db.session.commit()
    after_stock_change(batch.sku_id)
    return result.rowcount


def export_unsold(sku: Sku, actor: str, reason: str) -> Iterable[str]:
    """CSV lines of the SKU's available keys, decrypted. The export is logged before any line."""
    if not reason.strip():
        raise InventoryError(N_("Say why the keys are exported."))
    keys = db.session.scalars(
        select(CardKey).where(CardKey.sku_id == sku.id, CardKey.status == "available")
    ).all()
    db.session.add(
        KeyAccessLog(
            actor=actor, action="export", sku_id=sku.id, key_count=len(keys), detail=reason
        )
    )
    db.session.commit()
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "card_no", "password"])
    for key in keys:
        card_no, password = reveal(key)
        writer.writerow([key.id, card_no, password])
    return buffer.getvalue().splitlines(keepends=True)


def rotate_keys(batch_size: int = 1000, progress: Callable[[int], None] | None = None) -> int:
    """Re-encrypt every key not under the current data key; returns how many were rewritten."""
    ring = keyring()
    done = 0
    while True:
        keys = db.session.scalars(
            select(CardKey).where(CardKey.key_id != ring.current_id).limit(batch_size)
        ).all()
        if not keys:
            return done
        for key in keys:
            aad = sku_aad(key.sku_id)
            sealed = ring.seal(ring.open(Sealed(key.key_id, key.ciphertext), aad), aad)
            key.key_id, key.ciphertext = sealed.key_id, sealed.blob
        db.session.commit()
        done += len(keys)
        if progress:
            progress(len(keys))


def after_stock_change(sku_id: int) -> None:
    """Stock moved: check the low-stock threshold and refresh what storefronts show.

    Exact counts (stock version) move on every change; the catalog version — which every
    store's pages depend on — only when the SKU's shown state (in stock / low / sold out) moves.
    """
    from app.cache import cache
    from app.catalog.cache import bump_catalog_version, bump_stock_version
    from app.storefront.catalog import stock_state
    from workers.queue import enqueue

    enqueue(
        "workers.jobs.inventory.check_low_stock_job", sku_id, job_key=f"low-stock-check:{sku_id}"
    )
    bump_stock_version()
    state = stock_state("card_key", available_count(sku_id))
    key = f"stock-state:{sku_id}"
    if cache().get(key) != state:
        cache().set(key, state, 30 * 24 * 3600)
        bump_catalog_version()


def check_low_stock(sku_id: int) -> bool:
    """Alert once per crossing below the threshold; re-arm when stock is back above it.

    The flag flips with a conditional UPDATE, so two checks racing send one alert."""
    sku = db.session.get(Sku, sku_id)
    if sku is None or sku.product.delivery_type != "card_key":
        return False
    available = available_count(sku_id)
    if available >= sku.low_stock_threshold:
        if sku.low_stock_alerted_at is not None:
            sku.low_stock_alerted_at = None
            db.session.commit()
        return False
    claimed = db.session.execute(
        update(Sku)
        .where(Sku.id == sku_id, Sku.low_stock_alerted_at.is_(None))
        .values(low_stock_alerted_at=utcnow())
    ).rowcount
    db.session.commit()
    if claimed:
        from workers.queue import enqueue

        enqueue(
            "workers.jobs.inventory.send_low_stock_alert",
            sku_id,
            available,
            queue="notifications",
        )
    return bool(claimed)


# -- reservations: checkout reserves, payment sells, expiry and cancellation release -----------


def reserve_keys(sku_id: int, quantity: int, order_ref: str, until) -> list[int]:
    """Reserve `quantity` available keys of a SKU for an order, inside the caller's transaction.

    `FOR UPDATE SKIP LOCKED` lets concurrent buyers take different keys instead of waiting on
    (or double-taking) the same rows; SQLite serialises writers instead. Raises InventoryError
    when fewer than `quantity` are available: the caller rolls back and nothing is reserved.
    """
    ids = db.session.scalars(
        select(CardKey.id)
        .where(CardKey.sku_id == sku_id, CardKey.status == "available")
        .order_by(CardKey.id)
        .limit(quantity)
        .with_for_update(skip_locked=True)
    ).all()
    if len(ids) < quantity:
        raise InventoryError(N_("Only %(count)s left in stock."), count=len(ids))
    db.session.execute(
        update(CardKey)
        .where(CardKey.id.in_(ids))
        .values(status="reserved", order_ref=order_ref, reserved_until=until)
    )
    return list(ids)


def release_keys(order_ref: str) -> int:
    """Give an order's reserved (not sold) keys back to stock, in the caller's transaction."""
    return db.session.execute(
        update(CardKey)
        .where(CardKey.order_ref == order_ref, CardKey.status == "reserved")
        .values(status="available", order_ref=None, reserved_until=None)
    ).rowcount


def sell_keys(order_ref: str) -> list[CardKey]:
    """Turn an order's reserved keys into sold ones, in the caller's transaction."""
    keys = db.session.scalars(
        select(CardKey)
        .where(CardKey.order_ref == order_ref, CardKey.status == "reserved")
        .order_by(CardKey.id)
        .with_for_update()
    ).all()
    now = utcnow()
    for key in keys:
        key.status, key.sold_at, key.reserved_until = "sold", now, None
    return list(keys)
