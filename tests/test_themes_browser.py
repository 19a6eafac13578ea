"""Real-browser tests of the storefront in each theme pack: Debian's Chromium, driven by
Playwright, against the application served on a real socket.

For each pack a guest on a phone buys a card key from the home page through the sandbox gateway
and sees it; screenshots of the home and product pages are kept under test-artifacts/themes/
(KAMENG_TEST_ARTIFACTS moves them); no page logs a console error or has a request fail, and no
request leaves the store's host except the sandbox gateway's page on the platform. The owner
also edits and publishes a setting in the theme editor and a guest sees it.

Store hosts resolve to 127.0.0.1 through Chromium's --host-resolver-rules, so the Host header is
the real store host and the application resolves it as in production. Outside CI the tests skip
when Chromium or Playwright is missing; with CI=true they run (and fail if they cannot).
"""

from __future__ import annotations

import os
import shutil
import threading
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from app.config import PROJECT_ROOT
from tests.support.catalog import add_keys, make_product
from tests.support.themes import PACKS, premium_allowed, publish_look

APEX = "kameng.test"
PASSWORD = "owner-pass-1"
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--no-first-run",
    f"--host-resolver-rules=MAP *.{APEX} 127.0.0.1, MAP {APEX} 127.0.0.1",
]
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
}
HOME_BUDGET_BYTES = 300 * 1024  # first load, product images excluded
ARTIFACTS = Path(os.environ.get("KAMENG_TEST_ARTIFACTS") or PROJECT_ROOT / "test-artifacts")


def _missing_browser() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -r requirements-dev.txt)"
    if not Path(CHROMIUM).is_file():
        return f"Chromium is not installed ({CHROMIUM}); apt-get install chromium"
    return None


_MISSING = _missing_browser()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        _MISSING is not None and os.environ.get("CI") != "true",
        reason=f"real-browser tests need Chromium and Playwright: {_MISSING}",
    ),
]


# -- the server and the browser --------------------------------------------------------------------


@pytest.fixture(scope="module")
def live_server(app):
    """The test application on a real socket; absolute URLs carry its port."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    previous = app.config.get("PUBLIC_PORT")
    app.config["PUBLIC_PORT"] = server.port
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.port
    server.shutdown()
    thread.join(10)
    app.config["PUBLIC_PORT"] = previous


@pytest.fixture(scope="module")
def browser():
    if _MISSING is not None:
        pytest.fail(f"CI=true, so the real-browser tests must run: {_MISSING}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Watch:
    """Everything a page did that a test may complain about."""

    def __init__(self, page):
        self.console_errors: list[str] = []
        self.failed: list[str] = []
        self.requests: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.console_errors.append(f"page error: {error}"))
        page.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))
        page.on("request", lambda r: self.requests.append(r.url))
        page.on(
            "response",
            lambda r: r.status >= 400 and self.failed.append(f"{r.url} answered {r.status}"),
        )

    def _console(self, message):
        if message.type == "error":
            self.console_errors.append(message.text)

    def assert_clean(self):
        assert self.console_errors == [], self.console_errors
        assert self.failed == [], self.failed

    def foreign_requests(self, store_host: str) -> list[str]:
        """Requests that left the store's host, except the sandbox gateway's own page."""
        foreign = []
        for url in self.requests:
            parts = urlsplit(url)
            if parts.scheme == "data":
                continue
            if parts.hostname == store_host:
                continue
            on_gateway = parts.hostname == APEX and parts.path.startswith(
                ("/pay/sandbox/", "/static/")
            )
            if not on_gateway:
                foreign.append(url)
        return foreign


def screenshot(page, name: str) -> Path:
    folder = ARTIFACTS / "themes"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 1000
    return path


def accessibility_problems(page) -> list[str]:
    """Cheap checks on the current page: labelled form fields, images with alt, one h1, a
    language, and the skip link first in the tab order."""
    return page.evaluate(
        """() => {
          const problems = [];
          for (const el of document.querySelectorAll('input, select, textarea')) {
            if (el.type === 'hidden') continue;
            const named = el.labels && el.labels.length || el.getAttribute('aria-label')
              || el.closest('label');
            if (!named) problems.push('unlabelled ' + el.outerHTML.slice(0, 80));
          }
          for (const img of document.querySelectorAll('img')) {
            if (!img.hasAttribute('alt')) problems.push('no alt ' + img.outerHTML.slice(0, 80));
          }
          if (document.querySelectorAll('h1').length !== 1) problems.push('h1 count');
          if (!document.documentElement.lang) problems.push('no lang');
          const first = document.querySelector('a, button, input, select, textarea');
          if (!first || !first.classList.contains('skip-link')) problems.push('skip link');
          return problems;
        }"""
    )


# -- a guest buys a card key in every pack ---------------------------------------------------------


@pytest.mark.parametrize("pack", PACKS)
def test_a_guest_on_a_phone_buys_a_card_key_in_each_pack(
    app, make_store, live_server, browser, monkeypatch, pack
):
    port = live_server
    store = make_store(name=f"{pack.title()} 游戏卡盟")
    item = make_product(app, name=f"Steam 充值卡 {pack}", skus=[(1000, 800), (5000, 4800)])
    make_product(app, name="爱奇艺月卡", skus=[(1800, 1600)])
    secret = f"KEY-{pack.upper()}-{uuid.uuid4().hex[:12]}"
    add_keys(app, item["sku_ids"][0], [secret, f"SPARE-{uuid.uuid4().hex}"])
    headline = f"{pack} 秒发卡 {uuid.uuid4().hex[:4]}"
    accent = {"classic": "#b91c1c", "aurora": "#4338ca", "neon": "#22d3ee"}[pack]
    with premium_allowed(monkeypatch):
        publish_look(
            app, store, pack, banner_title=headline, accent=accent,
            sections=["banner", "announcement", "categories", "hot", "products"],
        )  # fmt: skip

    host = f"{store.slug}.{APEX}"
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.set_default_timeout(15000)
    watch = Watch(page)
    try:
        loaded = []
        page.on("response", lambda response: loaded.append(response))
        page.goto(f"http://{host}:{port}/")
        page.wait_for_load_state("networkidle")
        # The published settings show: the headline and the accent colour.
        assert page.text_content("h1").strip() == headline
        root_accent = page.evaluate(
            "getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()"
        )
        assert root_accent == accent
        assert f"pack-{pack}" in page.get_attribute("body", "class")
        weight = sum(len(r.body()) for r in loaded if "/media/" not in r.url and r.status == 200)
        assert weight <= HOME_BUDGET_BYTES, f"home page weighs {weight} bytes"
        assert accessibility_problems(page) == []
        screenshot(page, f"{pack}-home")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.className") == "skip-link"

        # On to its category (the home page shows a bounded selection of the shared catalog,
        # which other tests fill), then the product.
        page.goto(f"http://{host}:{port}/c/{item['category_id']}")
        page.click(f".product-card a[href='/p/{item['product_id']}']")
        page.wait_for_url(f"**/p/{item['product_id']}")
        assert item["name"] in page.text_content("h1")
        assert accessibility_problems(page) == []
        screenshot(page, f"{pack}-product")
        page.check(f"input[name=sku][value='{item['sku_ids'][0]}']")
        page.click(".buy-form .buy-button")

        page.wait_for_url("**/checkout?**")
        assert accessibility_problems(page) == []
        page.fill("#contact_email", "buyer@example.com")
        page.fill("#query_password", "lookup-1")
        page.check("input[name=provider][value=sandbox]")
        screenshot(page, f"{pack}-checkout")
        page.click("form .buy-button")

        page.wait_for_url(f"http://{APEX}:{port}/pay/sandbox/**")
        page.click("button[value=approve]")
        page.wait_for_url(f"http://{host}:{port}/order/**")
        key = page.locator(".key-list code").first
        assert key.inner_text() == secret
        assert "已发货" in page.inner_text(".order-status")
        screenshot(page, f"{pack}-order")
        copy = page.locator(".key-list button.copy").last
        copy.click()
        assert copy.inner_text() == "✓"  # copied (select-and-copy on plain http)

        # The footer's privacy policy, filled from the store's settings, in the pack's look.
        page.click("#privacy-link")
        page.wait_for_url(f"http://{host}:{port}/privacy")
        assert f"pack-{pack}" in page.get_attribute("body", "class")
        assert store.name in page.inner_text("#privacy-policy")
        assert accessibility_problems(page) == []

        watch.assert_clean()
        assert watch.foreign_requests(host) == []
    finally:
        context.close()


# -- no other site may frame a store ---------------------------------------------------------------


def test_another_site_cannot_show_a_store_in_a_frame(app, make_store, live_server, browser):
    """A page of another site (served here by a plain HTTP server, with no policy of its own)
    frames a store page: Chromium refuses to show it, citing frame-ancestors."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    port = live_server
    store = make_store(name="Unframed Store")
    victim = f"http://{store.slug}.{APEX}:{port}/privacy"

    class Attacker(BaseHTTPRequestHandler):
        def do_GET(self):
            body = f'<!doctype html><title>x</title><iframe src="{victim}"></iframe>'.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    attacker = ThreadingHTTPServer(("127.0.0.1", 0), Attacker)
    threading.Thread(target=attacker.serve_forever, daemon=True).start()
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15000)
    refused = []
    page.on("console", lambda message: refused.append(message.text))
    try:
        page.goto(f"http://127.0.0.1:{attacker.server_port}/")
        page.wait_for_timeout(2000)
        framed = [f for f in page.frames if f != page.main_frame]
        assert framed, "the frame was not created"
        assert all("privacy-policy" not in f.content() for f in framed)
        assert any("frame-ancestors" in text for text in refused), refused
    finally:
        context.close()
        attacker.shutdown()


# -- the owner publishes a setting in the editor ---------------------------------------------------


def test_the_owner_previews_and_publishes_a_setting_that_guests_then_see(
    app, make_store, live_server, browser
):
    port = live_server
    store = make_store(name="Editor Store", password=PASSWORD)
    make_product(app, name="Q币直购卡")
    host = f"{store.slug}.{APEX}"
    base = f"http://{host}:{port}"

    staff = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en")
    guest = browser.new_context(**PHONE)
    admin, shopper = staff.new_page(), guest.new_page()
    admin.set_default_timeout(15000)
    shopper.set_default_timeout(15000)
    admin_watch, shopper_watch = Watch(admin), Watch(shopper)
    try:
        admin.goto(f"{base}/admin/login")
        admin.fill("input[name=email]", f"owner@{store.slug}.example.com")
        admin.fill("input[name=password]", PASSWORD)
        admin.click("button[type=submit]")
        admin.goto(f"{base}/admin/theme")
        admin.check("input[name=pack][value=aurora]")
        admin.click("text=Use this pack in my draft")
        admin.wait_for_url(f"{base}/admin/theme")

        draft_words = f"Draft {uuid.uuid4().hex[:6]}"
        admin.fill("#s-banner_title", draft_words)
        admin.click("button[value=save]")
        admin.wait_for_url(f"{base}/admin/theme")
        frame = admin.frame_locator("#preview-frame")
        assert frame.locator("h1").text_content().strip() == draft_words
        assert frame.locator(".preview-bar").count() == 1
        screenshot(admin, "editor")

        shopper.goto(f"{base}/")
        assert draft_words not in shopper.inner_text("body")  # customers never see the draft

        admin.click("button[value=publish]")
        admin.wait_for_url(f"{base}/admin/theme")
        assert "Theme published" in admin.inner_text("body") or "发布" in admin.inner_text("body")
        shopper.goto(f"{base}/")
        assert shopper.text_content("h1").strip() == draft_words
        assert "pack-aurora" in shopper.get_attribute("body", "class")

        admin_watch.assert_clean()
        shopper_watch.assert_clean()
        assert shopper_watch.foreign_requests(host) == []
        assert admin_watch.foreign_requests(host) == []
    finally:
        staff.close()
        guest.close()
