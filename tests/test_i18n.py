"""The UI is Chinese first, English available, and the Chinese catalog is complete."""

import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
ZH_PO = ROOT / "app/translations/zh_Hans_CN/LC_MESSAGES/messages.po"


def test_chinese_is_the_default_and_english_is_one_click_away(apex):
    assert "开通分站" in apex.get("/").get_data(as_text=True)
    apex.get("/lang/en?next=/")
    assert "Open your store" in apex.get("/").get_data(as_text=True)
    apex.get("/lang/zh_Hans_CN?next=/")
    assert "开通分站" in apex.get("/").get_data(as_text=True)


def test_an_english_browser_gets_english(app, site):
    page = site("kameng.test").get("/", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "Open your store" in page.get_data(as_text=True)


def test_service_errors_are_translated(apex):
    page = apex.submit(
        "/open",
        {
            "slug": "www",
            "name": "x",
            "owner_email": "a@example.com",
            "owner_password": "pass-word1",
        },
    )
    assert "该分站地址为保留地址" in page.get_data(as_text=True)


def test_every_message_in_the_code_has_a_chinese_translation(tmp_path):
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "--ignore-dirs=.venv tests",
            "-F",
            "babel.cfg",
            "-k",
            "N_",
            "-k",
            "_l",
            "-k",
            "translate",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    extracted = {m.id for m in read_po(pot.open("rb")) if m.id}
    with ZH_PO.open("rb") as f:
        catalog = read_po(f)
    translated = {m.id for m in catalog if m.id and m.string}
    missing = sorted(str(m) for m in extracted - translated)
    assert missing == [], f"run `make extract-messages` and translate: {missing}"
