"""Card keys: encrypted at rest, de-duplicated across the inventory, masked, rotatable."""

import uuid

import pytest
from sqlalchemy import select

from app.catalog.models import Sku
from app.crypto import KeyRing
from app.extensions import db
from app.inventory import services as inventory
from app.inventory.models import CardKey, CardKeyBatch, KeyAccessLog
from tests.support.catalog import add_keys, make_product


def secrets(n, prefix=None):
    prefix = prefix or uuid.uuid4().hex[:8].upper()
    return [f"{prefix}{i:08d}SECRET" for i in range(n)]


def test_imported_keys_are_encrypted_masked_and_revealable(app):
    item = make_product(app)
    keys = secrets(3)
    report = add_keys(app, item["sku_ids"][0], keys)
    assert (report.added, report.duplicates, report.invalid) == (3, 0, 0)
    with app.app_context():
        rows = db.session.scalars(
            select(CardKey).where(CardKey.sku_id == item["sku_ids"][0]).order_by(CardKey.id)
        ).all()
        for row, plain in zip(rows, keys, strict=True):
            assert plain.encode() not in row.ciphertext
            assert row.masked == f"{plain[:4]}****{plain[-4:]}"
            assert inventory.reveal(row) == ("", plain)


def test_duplicates_are_found_in_the_file_and_across_the_inventory(app):
    first, second = make_product(app), make_product(app)
    keys = secrets(4)
    add_keys(app, first["sku_ids"][0], keys[:2])
    report = add_keys(app, second["sku_ids"][0], [keys[1], keys[2], keys[2], "", keys[3]])
    assert (report.added, report.duplicates, report.invalid) == (2, 2, 0)
    assert report.duplicate_lines == [1, 3]


def test_card_number_and_password_pairs_with_a_separator(app):
    item = make_product(app)
    tag = uuid.uuid4().hex[:6]
    lines = [f"CARD{tag}01----PASS01", f"CARD{tag}02----PASS02", f"CARD{tag}03 PASS03", "x" * 600]
    with app.app_context():
        sku = db.session.get(Sku, item["sku_ids"][0])
        report = inventory.import_keys(sku, lines, separator="----")
        assert (report.added, report.invalid) == (2, 2)
        assert [n for n, _ in report.invalid_lines] == [3, 4]
        key = db.session.scalar(select(CardKey).where(CardKey.sku_id == sku.id).limit(1))
        assert inventory.reveal(key) == (f"CARD{tag}01", "PASS01")


def test_a_file_that_is_not_utf8_imports_nothing(app):
    item = make_product(app)
    good = [k.encode() + b"\n" for k in secrets(3)]
    with app.app_context():
        sku = db.session.get(Sku, item["sku_ids"][0])
        with pytest.raises(inventory.InventoryError):
            inventory.import_keys(sku, good + [b"\xff\xfe bad\n"])
        assert inventory.available_count(sku.id) == 0
        assert db.session.scalar(select(CardKeyBatch).where(CardKeyBatch.sku_id == sku.id)) is None


def test_void_key_and_batch_change_stock(app):
    item = make_product(app)
    sku_id = item["sku_ids"][0]
    report = add_keys(app, sku_id, secrets(5))
    with app.app_context():
        key_id = db.session.scalar(select(CardKey.id).where(CardKey.sku_id == sku_id).limit(1))
        assert inventory.void_key(key_id, "tester") is True
        assert inventory.void_key(key_id, "tester") is False
        assert inventory.stock_counts([sku_id])[sku_id] == {
            "available": 4,
            "reserved": 0,
            "sold": 0,
            "void": 1,
        }
        assert inventory.void_batch(report.batch_id, "tester") == 4
        assert inventory.available_count(sku_id) == 0


def test_keys_only_import_into_card_key_skus(app):
    item = make_product(app, delivery_type="manual")
    with app.app_context(), pytest.raises(inventory.InventoryError):
        inventory.import_keys(db.session.get(Sku, item["sku_ids"][0]), ["ABC"])


def test_export_of_unsold_keys_needs_a_reason_and_is_logged(app):
    item = make_product(app)
    keys = secrets(2)
    add_keys(app, item["sku_ids"][0], keys)
    with app.app_context():
        sku = db.session.get(Sku, item["sku_ids"][0])
        with pytest.raises(inventory.InventoryError):
            inventory.export_unsold(sku, "boss@example.com", "  ")
        csv_text = "".join(inventory.export_unsold(sku, "boss@example.com", "move to supplier"))
        assert keys[0] in csv_text and keys[1] in csv_text
        log = db.session.scalar(select(KeyAccessLog).where(KeyAccessLog.sku_id == sku.id))
        assert (log.action, log.key_count, log.actor) == ("export", 2, "boss@example.com")


def test_rotation_re_encrypts_under_the_new_key(app):
    item = make_product(app)
    keys = secrets(3)
    add_keys(app, item["sku_ids"][0], keys)
    with app.app_context():
        old = app.extensions["kameng.keyring"]
        new_spec = "k2:" + "C" * 43 + "=," + app.config["DATA_ENCRYPTION_KEYS"]
        app.extensions["kameng.keyring"] = KeyRing(new_spec, app.config["DATA_HMAC_KEY"])
        try:
            inventory.rotate_keys()
            rows = db.session.scalars(
                select(CardKey).where(CardKey.sku_id == item["sku_ids"][0]).order_by(CardKey.id)
            ).all()
            assert {r.key_id for r in rows} == {"k2"}
            assert [inventory.reveal(r)[1] for r in rows] == keys
            # Duplicates are still found after rotation (fingerprints do not depend on the key).
            again = inventory.import_keys(db.session.get(Sku, item["sku_ids"][0]), keys[:1])
            assert again.duplicates == 1
        finally:
            # Rotate back under k1 so later tests with the original ring read every key.
            app.extensions["kameng.keyring"] = KeyRing(
                app.config["DATA_ENCRYPTION_KEYS"] + ",k2:" + "C" * 43 + "=",
                app.config["DATA_HMAC_KEY"],
            )
            inventory.rotate_keys()
            app.extensions["kameng.keyring"] = old


def test_low_stock_alerts_once_per_crossing(app, backend):
    from workers.queue import backend as jobs

    item = make_product(app)
    sku_id = item["sku_ids"][0]
    with app.app_context():
        sku = db.session.get(Sku, sku_id)
        sku.low_stock_threshold = 3
        db.session.commit()
    report = add_keys(app, sku_id, secrets(4))
    with app.app_context():
        assert inventory.check_low_stock(sku_id) is False  # 4 ≥ 3
        keys = db.session.scalars(
            select(CardKey.id).where(CardKey.batch_id == report.batch_id)
        ).all()
        inventory.void_key(keys[0], "t")
        inventory.void_key(keys[1], "t")  # 2 left: below the threshold
        assert inventory.check_low_stock(sku_id) in (True, False)  # the job may have won
        assert db.session.get(Sku, sku_id).low_stock_alerted_at is not None
        assert inventory.check_low_stock(sku_id) is False  # already alerted: not again
    add_keys(app, sku_id, secrets(5))  # restocked: re-armed
    with app.app_context():
        if app.config["JOBS_IN_PROCESS"]:
            jobs().wait_until_idle(30)
        inventory.check_low_stock(sku_id)
        db.session.expire_all()
        assert db.session.get(Sku, sku_id).low_stock_alerted_at is None
