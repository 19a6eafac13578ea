"""Theme packs: manifests validated on load, the editor's checks, drafts that only staff see,
publishing and rollback, every pack rendering every page, and what search engines read."""

from __future__ import annotations

import io
import json
import re
import shutil
import uuid
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from app.config import PROJECT_ROOT
from app.extensions import db
from app.theming import services as theming
from app.theming.manifest import ManifestError, load_packs
from app.theming.models import ThemeRevision
from app.web.themes import theme_chain
from tenants.context import tenant_context
from tests.support.catalog import add_keys, make_product
from tests.support.themes import PACKS, premium_allowed, publish_look

APEX = "kameng.test"
PASSWORD = "owner-pass-1"


def owner(make_store, site, name="Theme Store"):
    """A store and its signed-in owner on the store's host."""
    store = make_store(name=name, password=PASSWORD)
    admin = site(f"{store.slug}.{APEX}")
    admin.login_store(f"owner@{store.slug}.example.com", PASSWORD)
    return store, admin


def visitor(site, store):
    return site(f"{store.slug}.{APEX}")


def text(response) -> str:
    return response.get_data(as_text=True)


def editor_form(admin, **changes) -> dict:
    """The editor's form as the browser would post it now, with `changes` (field name → value)."""
    page = text(admin.get("/admin/theme"))
    form = re.search(r'<form class="theme-form".*?</form>', page, re.S).group(0)
    data: dict = {}
    for tag in re.findall(r"<(?:input|select|textarea)[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or 'type="file"' in tag:
            continue
        name = name.group(1)
        if 'type="checkbox"' in tag:
            if "checked" in tag:
                data.setdefault(name, []).append(re.search(r'value="([^"]*)"', tag).group(1))
            continue
        value = re.search(r'value="([^"]*)"', tag)
        if tag.startswith("<select"):
            select_html = re.search(
                rf'<select[^>]*name="{re.escape(name)}".*?</select>', form, re.S
            ).group(0)
            chosen = re.search(r'<option value="([^"]*)" selected', select_html)
            data[name] = chosen.group(1) if chosen else ""
        elif tag.startswith("<textarea"):
            data[name] = re.search(
                rf'<textarea[^>]*name="{re.escape(name)}"[^>]*>(.*?)</textarea>', form, re.S
            ).group(1)
        else:
            data[name] = value.group(1) if value else ""
    data.pop("csrf_token", None)
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


def save(admin, action="save", files=None, **changes):
    data = editor_form(admin, **changes)
    data["action"] = action
    data["csrf_token"] = admin.csrf_token("/admin/theme")
    data.update(files or {})
    return admin.post("/admin/theme", data=data, content_type="multipart/form-data")


def png(size=(40, 20), colour=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG")
    return out.getvalue()


def draft_values(app, store) -> dict | None:
    with app.app_context(), tenant_context(store):
        draft = theming.draft_revision()
        return dict(draft.values) if draft else None


# -- manifests -------------------------------------------------------------------------------------


def test_the_shipped_packs_load_and_together_use_every_setting_type():
    packs = load_packs(PROJECT_ROOT / "themes")
    assert {"_base", *PACKS} <= set(packs)
    types = {s.type for p in packs.values() for s in p.schema.settings.values()}
    assert types == {
        "colour", "image", "text", "richtext", "select", "checkbox", "range", "product",
        "category", "sections",
    }  # fmt: skip
    neon = packs["neon"]
    assert neon.is_premium and neon.extends == "_base"
    assert neon.schema.settings["accent"].default == "#22d3ee"  # its defaults override _base's
    assert "glow" in neon.schema.settings and "glow" not in packs["_base"].schema.settings
    assert neon.stylesheets == ("base.css", "neon.css")
    assert [t.name for t in theme_chain(packs, "neon")] == ["neon", "_base"]
    assert [t.name for t in theme_chain(packs, "no-such-pack")] == ["_base"]


def _themes_dir(tmp_path: Path, **packs: dict) -> Path:
    root = tmp_path / "themes"
    shutil.copytree(PROJECT_ROOT / "themes" / "_base", root / "_base")
    for name, manifest in packs.items():
        (root / name / "static").mkdir(parents=True)
        (root / name / "theme.json").write_text(
            manifest if isinstance(manifest, str) else json.dumps(manifest), encoding="utf-8"
        )
    return root


def _manifest(**changes) -> dict:
    manifest = {
        "name": "Test",
        "version": "1.0.0",
        "author": "Tests",
        "description": "A pack under test.",
        "settings_schema": [],
    }
    manifest.update(changes)
    return manifest


def test_a_pack_overrides_only_what_it_changes(tmp_path):
    root = _themes_dir(
        tmp_path,
        child=_manifest(
            settings_schema=[
                {
                    "id": "colours",
                    "label": "Colours",
                    "settings": [
                        {"id": "accent", "type": "colour", "label": "Hue", "default": "#000000"}
                    ],
                },
                {
                    "id": "extra",
                    "label": "Extra",
                    "settings": [{"id": "stripes", "type": "checkbox", "label": "Stripes"}],
                },
            ],
            defaults={"radius": 0},
        ),
    )
    (root / "child" / "templates" / "shop").mkdir(parents=True)
    packs = load_packs(root)
    child, base = packs["child"].schema, packs["_base"].schema
    assert [g.id for g in child.groups] == [g.id for g in base.groups] + ["extra"]
    assert child.settings["accent"].label == "Hue"
    assert child.settings["radius"].default == 0 and base.settings["radius"].default == 12
    assert child.settings["text"] == base.settings["text"]  # untouched settings are inherited
    assert child.defaults()["stripes"] is False


@pytest.mark.parametrize(
    ("manifest", "expected"),
    [
        ("{not json", "not valid JSON"),
        (_manifest(colour="red"), "unknown key 'colour'"),
        (_manifest(version="one"), "'version' must look like 1.2.3"),
        (_manifest(extends="ghost"), "extends 'ghost', which is not a theme pack"),
        (_manifest(screenshot="shot.png"), "screenshot static/shot.png does not exist"),
        (_manifest(stylesheets=["../x.css"]), "must be a .css file name"),
        (
            _manifest(
                settings_schema=[
                    {
                        "id": "g",
                        "label": "G",
                        "settings": [{"id": "c", "type": "color", "label": "C"}],
                    }
                ]
            ),
            "settings[0] 'c': 'type' must be one of colour",
        ),
        (
            _manifest(
                settings_schema=[
                    {
                        "id": "g",
                        "label": "G",
                        "settings": [{"id": "c", "type": "colour", "label": "C", "default": "red"}],
                    }
                ]
            ),
            "'c': 'default': a colour needs a default like #1a2b3c",
        ),
        (
            _manifest(
                settings_schema=[
                    {
                        "id": "g",
                        "label": "G",
                        "settings": [
                            {"id": "r", "type": "range", "label": "R", "min": 5, "max": 1}
                        ],
                    }
                ]
            ),
            "'r': 'min' must be below 'max'",
        ),
        (
            _manifest(
                settings_schema=[
                    {
                        "id": "g",
                        "label": "G",
                        "settings": [{"id": "accent", "type": "text", "label": "A"}],
                    }
                ]
            ),
            "setting 'accent' is already in group 'colours'",
        ),
        (_manifest(defaults={"nope": 1}), "defaults: 'nope' is not a setting of this pack"),
        (_manifest(defaults={"radius": 7}), "defaults: 'radius': must be a step of the range"),
    ],
)
def test_a_broken_manifest_is_refused_with_its_file_and_place(tmp_path, manifest, expected):
    root = _themes_dir(tmp_path, broken=manifest)
    with pytest.raises(ManifestError) as refused:
        load_packs(root)
    message = str(refused.value)
    assert "themes/broken/theme.json" in message and expected in message, message


def test_packs_that_extend_each_other_in_a_circle_are_refused(tmp_path):
    root = _themes_dir(tmp_path, a=_manifest(extends="b"), b=_manifest(extends="a"))
    with pytest.raises(ManifestError, match="leads back to"):
        load_packs(root)


# -- every pack, every page ------------------------------------------------------------------------


@pytest.mark.parametrize("pack", ("_base", *PACKS))
def test_every_pack_renders_every_storefront_page_with_only_local_assets(
    app, make_store, site, monkeypatch, pack
):
    store = make_store(name=f"Pack {pack}")
    item = make_product(app, skus=[(1000, 800), (2000, 1800)])
    add_keys(app, item["sku_ids"][0], [f"P-{uuid.uuid4().hex}"])
    with premium_allowed(monkeypatch):
        publish_look(app, store, pack)
    shop = visitor(site, store)
    pages = [
        "/",
        f"/c/{item['category_id']}",
        f"/p/{item['product_id']}",
        "/search?q=Product",
        f"/checkout?sku={item['sku_ids'][0]}&quantity=1",
        "/lookup",
        "/account/login",
        "/account/register",
    ]
    for path in pages:
        page = shop.get(path)
        html = text(page)
        assert page.status_code == 200, (path, html[:300])
        assert f'class="pack-{pack}' in html, path
        assert re.search(r'<link rel="stylesheet" href="/theme\.css\?v=\w+">', html), path
        for sheet in app.extensions["kameng.themes"][pack].stylesheets:
            assert f"/theme/{pack}/{sheet}?v=" in html, (path, sheet)
        # Nothing is fetched from anywhere but this host.
        assert not re.search(r'(?:src|href)="(?:https?:)?//', html.split("</head>")[1]), path
        assert html.count("<h1") >= 1, path
    assert item["name"] in text(shop.get(f"/p/{item['product_id']}"))
    missing = shop.get("/p/999999")
    assert missing.status_code == 404 and f'class="pack-{pack}' in text(missing)
    for sheet in app.extensions["kameng.themes"][pack].stylesheets:
        assert shop.get(f"/theme/{pack}/{sheet}").status_code == 200


def test_the_theme_stylesheet_carries_the_settings_with_readable_derived_colours(
    app, make_store, site
):
    store = make_store()
    publish_look(app, store, "aurora", accent="#ffe066", text="#101010", radius="6")
    shop = visitor(site, store)
    home = text(shop.get("/"))
    href = re.search(r'href="(/theme\.css\?v=\w+)"', home).group(1)
    sheet = shop.get(href)
    css = text(sheet)
    assert sheet.mimetype == "text/css" and "immutable" in sheet.headers["Cache-Control"]
    assert "--accent:#ffe066" in css and "--radius:6px" in css and "--gradient-end:#06b6d4" in css
    assert "--on-accent:#111827" in css  # dark text on a light yellow accent
    accent_text = re.search(r"--accent-text:(#\w{6})", css).group(1)
    from app.theming.css import contrast

    assert contrast(accent_text, "#ffffff") >= 4.5  # links stay readable on white cards
    assert "no-cache" in shop.get("/theme.css?v=stale").headers["Cache-Control"]


# -- the editor's checks ---------------------------------------------------------------------------


def test_a_bad_colour_is_refused_and_nothing_changes(app, make_store, site):
    store, admin = owner(make_store, site)
    refused = save(admin, **{"s-accent": "red"})
    assert refused.status_code == 400
    assert "Enter a colour like #1a2b3c." in text(refused) or "#1a2b3c" in text(refused)
    assert draft_values(app, store) is None or draft_values(app, store)["accent"] != "red"
    unreadable = save(admin, **{"s-text": "#f6f7f8"})  # pale grey text on a pale background
    assert unreadable.status_code == 400 and "4.5" in text(unreadable)
    too_long = save(admin, **{"s-banner_title": "x" * 61})
    assert too_long.status_code == 400 and "60" in text(too_long)
    with app.app_context(), tenant_context(store):
        assert db.session.scalar(select(ThemeRevision.id)) is None or all(
            "x" * 61 not in json.dumps(r.values) for r in db.session.scalars(select(ThemeRevision))
        )


def test_images_are_checked_by_pillow_and_stored_re_encoded(app, make_store, site):
    store, admin = owner(make_store, site)
    big = png(size=(1000, 1000))
    big += b"\0" * (512 * 1024)  # over the logo's 512 KB
    refused = save(admin, files={"s-logo": (io.BytesIO(big), "logo.png")})
    assert refused.status_code == 400 and "512 KB" in text(refused)
    not_image = save(admin, files={"s-logo": (io.BytesIO(b"<svg onload=alert(1)>"), "x.png")})
    assert not_image.status_code == 400
    too_wide = save(admin, files={"s-logo": (io.BytesIO(png(size=(1300, 10))), "wide.png")})
    assert too_wide.status_code == 400 and "1200" in text(too_wide)
    assert draft_values(app, store) is None or draft_values(app, store)["logo"] is None

    smuggled = png() + b"<script>alert(1)</script>"
    saved = save(admin, files={"s-logo": (io.BytesIO(smuggled), "logo.png")})
    assert saved.status_code == 302
    logo = draft_values(app, store)["logo"]
    assert logo.startswith(f"store/{store.id}/theme/") and logo.endswith(".png")
    served = admin.get(f"/media/{logo}")
    assert served.status_code == 200 and b"<script>" not in served.get_data()
    removed = save(admin, **{"s-logo-remove": "y"})
    assert removed.status_code == 302 and draft_values(app, store)["logo"] is None


def test_rich_text_is_sanitised_before_it_is_stored_or_shown(app, make_store, site):
    store, admin = owner(make_store, site)
    hostile = (
        '<p>Open <b onclick="steal()">24h</b></p><script>alert(1)</script>'
        '<a href="javascript:alert(2)">x</a><a href="https://qq.example.com/g">group</a>'
        "<img src=x onerror=alert(3)><style>body{display:none}</style>"
    )
    published = save(admin, action="publish", **{"s-footer_text": hostile})
    assert published.status_code == 302
    with app.app_context(), tenant_context(store):
        stored = theming.published_revision().values["footer_text"]
    for bad in ("<script", "onclick", "javascript:", "<img", "onerror", "<style"):
        assert bad not in stored
    assert "<b>24h</b>" in stored and 'href="https://qq.example.com/g"' in stored
    home = text(visitor(site, store).get("/"))
    # (The shared catalog may hold other tests' escaped XSS payloads: look for live markup.)
    assert "<b>24h</b>" in home and "<script>alert(1)" not in home and "steal()" not in home


def test_pickers_accept_only_what_the_store_shows(app, make_store, site):
    store, admin = owner(make_store, site)
    item = make_product(app)
    bad = save(admin, **{"s-hot_products": ["999999"]})
    assert bad.status_code == 400
    good = save(
        admin,
        action="publish",
        **{
            "s-hot_products": [str(item["product_id"])],
            "s-spotlight_category": str(item["category_id"]),
            "s-sections-spotlight": "y",
            "s-sections-spotlight-position": "1",
            "s-hot_title": "本周爆款",
        },
    )
    assert good.status_code == 302
    home = text(visitor(site, store).get("/"))
    assert "本周爆款" in home and 'id="section-spotlight"' in home
    assert home.index('id="section-spotlight"') < home.index('id="section-hot"')


def test_premium_packs_follow_the_billing_entitlement(app, make_store, site, monkeypatch):
    store, admin = owner(make_store, site)
    with premium_allowed(monkeypatch, allowed=False):
        page = text(admin.get("/admin/theme"))
        assert re.search(r'value="neon"[^>]*disabled', page)
        refused = admin.submit("/admin/theme", {"pack": "neon"}, action="/admin/theme/pack")
        assert refused.status_code == 302
        assert draft_values(app, store) is None
        assert admin.submit("/admin/theme", {"pack": "classic"}, action="/admin/theme/pack")
        assert draft_values(app, store) is not None
    with premium_allowed(monkeypatch, allowed=True):
        admin.submit("/admin/theme", {"pack": "neon"}, action="/admin/theme/pack")
        admin.submit("/admin/theme", {}, action="/admin/theme/publish")
    assert 'class="pack-neon' in text(visitor(site, store).get("/"))


def test_a_premium_look_falls_back_on_a_plan_without_it_and_returns_after(app, make_store, site):
    """The real entitlement: billing's plan decides; a downgrade keeps the published revision."""
    from app.billing.services import assign_plan
    from tenants.resolver import tenant_by_id

    store = make_store()

    def on_plan(code):
        with app.app_context():
            assign_plan(store.id, code, actor="test")
            return tenant_by_id(store.id)

    publish_look(app, on_plan("pro"), "neon")
    assert 'class="pack-neon' in text(visitor(site, store).get("/"))
    on_plan("free")
    assert 'class="pack-neon' not in text(visitor(site, store).get("/"))
    with app.app_context(), tenant_context(store):
        assert theming.published_revision().pack == "neon"  # kept, not rewritten
    on_plan("pro")
    assert 'class="pack-neon' in text(visitor(site, store).get("/"))


# -- drafts, publishing, rollback ------------------------------------------------------------------


def test_customers_never_see_a_draft_and_staff_preview_it_uncached(app, make_store, site):
    store, admin = owner(make_store, site)
    publish_look(app, store, "classic", banner_title="LIVE-TITLE", sections=["banner"])
    guest = visitor(site, store)
    assert "LIVE-TITLE" in text(guest.get("/"))  # rendered and cached for cookieless visitors

    assert (
        save(admin, **{"s-banner_title": "DRAFT-TITLE", "s-accent": "#123456"}).status_code == 302
    )
    preview = admin.get("/admin/theme/preview")
    assert preview.status_code == 302 and preview.headers["Location"].endswith("/")
    staff_home = admin.get("/")
    assert "DRAFT-TITLE" in text(staff_home) and "LIVE-TITLE" not in text(staff_home)
    assert staff_home.headers["Cache-Control"] == "private, no-store"
    assert "preview-bar" in text(staff_home)
    draft_css = admin.get(re.search(r'href="(/theme\.css\?v=\w+)"', text(staff_home)).group(1))
    assert (
        "--accent:#123456" in text(draft_css) and "no-store" in draft_css.headers["Cache-Control"]
    )

    # Guests — without a cookie (the cache's fast path), with one, on any page — see the live look.
    for client in (guest, visitor(site, store)):
        for _ in range(2):
            home = text(client.get("/"))
            assert "LIVE-TITLE" in home and "DRAFT-TITLE" not in home and "preview-bar" not in home
    guest.get("/lang/en")  # now with a session cookie
    assert "DRAFT-TITLE" not in text(guest.get("/"))
    css = text(guest.get(re.search(r'href="(/theme\.css\?v=\w+)"', text(guest.get("/"))).group(1)))
    assert "#123456" not in css
    # A guest who forges the preview flag gets nothing: only signed-in staff preview.
    with guest.client.session_transaction() as forged:
        forged["theme_preview"] = True
    assert "DRAFT-TITLE" not in text(guest.get("/"))

    # Publishing shows it to everyone at once, cached pages included.
    assert admin.submit("/admin/theme", {}, action="/admin/theme/publish").status_code == 302
    assert "DRAFT-TITLE" in text(visitor(site, store).get("/"))
    assert "no-store" not in admin.get("/").headers.get("Cache-Control", "")


def test_rollback_publishes_an_earlier_version_again_and_history_is_kept(app, make_store, site):
    store, admin = owner(make_store, site)
    first = publish_look(app, store, "classic", banner_title="VERSION-ONE", sections=["banner"])
    publish_look(app, store, "aurora", banner_title="VERSION-TWO", sections=["banner"])
    shop = visitor(site, store)
    assert "VERSION-TWO" in text(shop.get("/")) and 'class="pack-aurora' in text(shop.get("/"))

    page = text(admin.get("/admin/theme"))
    assert f"/admin/theme/rollback/{first}" in page
    rolled = admin.submit("/admin/theme", {}, action=f"/admin/theme/rollback/{first}")
    assert rolled.status_code == 302
    home = text(shop.get("/"))
    assert "VERSION-ONE" in home and 'class="pack-classic' in home
    with app.app_context(), tenant_context(store):
        history = theming.history()
        assert [r.state for r in history] == ["published", "retired", "retired"]
        assert history[0].restored_from == first
        assert theming.rollback.__name__  # the live one cannot be restored onto itself:
        with pytest.raises(theming.ThemeError):
            theming.rollback(store, history[0].id, author="t")
    with app.app_context():
        from tenants.models import Tenant

        assert db.session.get(Tenant, store.id).theme == "classic"


def test_only_the_last_ten_published_versions_are_kept(app, make_store):
    store = make_store()
    for number in range(theming.KEEP_PUBLISHED + 3):
        publish_look(app, store, "classic", banner_title=f"V{number}")
    with app.app_context(), tenant_context(store):
        history = theming.history()
    assert len(history) == theming.KEEP_PUBLISHED
    assert history[0].values["banner_title"] == f"V{theming.KEEP_PUBLISHED + 2}"


def test_switching_packs_keeps_the_stores_words_and_takes_the_new_palette(
    app, make_store, monkeypatch
):
    store = make_store()
    publish_look(
        app, store, "classic", banner_title="Shared words", grid_density="comfortable",
        accent="#0000aa",
    )  # fmt: skip
    with app.app_context(), tenant_context(store), premium_allowed(monkeypatch):
        draft = theming.choose_pack(store, "neon", author="t")
        assert draft.values["banner_title"] == "Shared words"
        assert "grid_density" not in draft.values and draft.values["glow"] == "#e879f9"
        # Colours are the pack's palette; settings left at classic's defaults take neon's.
        assert draft.values["accent"] == "#22d3ee" and draft.values["background"] == "#0a0e1a"
        assert draft.values["radius"] == 10 and draft.values["header_style"] == "plain"


# -- search engines --------------------------------------------------------------------------------


def test_robots_and_sitemap_use_the_primary_domain_and_list_what_is_visible(app, make_store, site):
    from app.pricing.services import save_listing

    store = make_store()
    shown = make_product(app)
    hidden = make_product(app)
    with app.app_context(), tenant_context(store):
        save_listing(store, hidden["product_id"], is_hidden=True)
    shop = visitor(site, store)
    robots = shop.get("/robots.txt")
    assert robots.mimetype == "text/plain"
    body = text(robots)
    assert "Disallow: /admin" in body and "Disallow: /checkout" in body
    assert f"Sitemap: http://{store.slug}.{APEX}/sitemap.xml" in body
    sitemap = shop.get("/sitemap.xml")
    assert sitemap.mimetype == "application/xml"
    xml = text(sitemap)
    assert f"<loc>http://{store.slug}.{APEX}/</loc>" in xml
    assert f"http://{store.slug}.{APEX}/p/{shown['product_id']}</loc>" in xml
    assert f"/c/{shown['category_id']}</loc>" in xml
    assert f"/p/{hidden['product_id']}<" not in xml

    publish_look(app, store, "classic", hide_from_search=True)
    assert text(shop.get("/robots.txt")).splitlines() == ["User-agent: *", "Disallow: /"]
    assert "<url>" not in text(shop.get("/sitemap.xml"))
    assert '<meta name="robots" content="noindex">' in text(shop.get("/"))


def test_pages_carry_the_stores_title_description_and_open_graph_tags(app, make_store, site):
    store = make_store(name="SEO Store")
    item = make_product(app)
    publish_look(
        app, store, "aurora", seo_title="最低价游戏点卡 · SEO Store",
        seo_description="秒发货的游戏点卡与会员", banner_title="x",
    )  # fmt: skip
    shop = visitor(site, store)
    home = text(shop.get("/"))
    assert "<title>最低价游戏点卡 · SEO Store</title>" in home
    assert '<meta name="description" content="秒发货的游戏点卡与会员">' in home
    assert '<meta property="og:title" content="最低价游戏点卡 · SEO Store">' in home
    assert f'<link rel="canonical" href="http://{store.slug}.{APEX}/">' in home
    product = text(shop.get(f"/p/{item['product_id']}?utm_source=x"))
    assert '<meta property="og:type" content="product">' in product
    assert f'href="http://{store.slug}.{APEX}/p/{item["product_id"]}"' in product  # no query
    search = text(shop.get("/search?q=x"))
    assert '<meta name="robots" content="noindex">' in search
