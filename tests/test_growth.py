"""Growth tools: scheduled announcements that appear and disappear on time in cached pages and
every theme pack; share posters (size, a QR code that decodes to the sharer's link, cached,
gated by plan); referral attribution from a poster's link to a commission; recommendations from
the store's own orders only, never another customer's; marketing e-mail to those who opted in,
rate-limited and capped per day, with a one-click unsubscribe; the campaign assets library."""

from __future__ import annotations

import io
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from app.billing import services as billing
from app.billing.plans import save_plan
from app.customers import referral
from app.customers.models import Customer
from app.db import utcnow
from app.extensions import db
from app.growth import announcements, mailing, recommendations
from app.growth.models import CampaignQueue, CampaignRecipient, MarketingCampaign
from app.growth.posters import POSTER_SIZE, font_path
from app.web.urls import tenant_url
from tenants.context import tenant_context
from tenants.resolver import tenant_by_id
from tests.support.catalog import make_product
from tests.support.customer_money import customer_email, new_customer
from tests.support.money import card_sku, with_markup
from tests.support.staff import staff_client
from tests.support.themes import PACKS, publish_look
from tests.test_customer_referral import paid_by_gateway, set_rate
from tests.test_customers import login, new_email, register, shop, text
from tests.test_jobs import outbox_messages, wait_for_jobs

APEX = "kameng.test"
SYSTEM = announcements.Actor("system")


def on_plan(app, make_store, plan: str | None = "pro"):
    store = make_store()
    with app.app_context():
        if plan:
            billing.assign_plan(store.id, plan, actor="test")
        return tenant_by_id(store.id)


def owner(site, store):
    client = site(f"{store.slug}.{APEX}")
    assert client.login_store(f"owner@{store.slug}.example.com", "s3cret-pass").status_code == 302
    return client


def anonymous(site, store):
    """A visitor without cookies, so cached pages are answered before Flask (the middleware)."""
    visitor = shop(site, store)
    visitor.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    return visitor


def announce(app, store, kind, title, starts=None, ends=None, **extra):
    with app.app_context(), tenant_context(store):
        terms = announcements.AnnouncementTerms(
            kind, title, starts_at=starts, ends_at=ends, **extra
        )
        return announcements.save_announcement(store, terms, actor=SYSTEM).id


def store_url(app, store, path: str) -> str:
    with app.app_context():
        return tenant_url(store, path)


def decode_qr(png: bytes) -> str:
    found = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert found, "no QR code found on the poster"
    return found[0].text


# -- announcements -------------------------------------------------------------------------------


def test_scheduled_announcements_appear_and_disappear_on_time_in_cached_pages(
    app, make_store, site
):
    store = make_store()
    now = utcnow()
    announce(
        app, store, "bar", "限时秒杀开始", now + timedelta(seconds=1.5), now + timedelta(seconds=3)
    )
    announce(
        app, store, "banner", "早已结束的活动", now - timedelta(hours=2), now - timedelta(hours=1)
    )
    visitor = anonymous(site, store)
    first = text(visitor.get("/"))
    assert "限时秒杀开始" not in first and "早已结束的活动" not in first
    assert "限时秒杀开始" not in text(visitor.get("/"))  # now answered from the page cache
    assert visitor.cookie() is None
    time.sleep(max(0.0, (now + timedelta(seconds=1.6) - utcnow()).total_seconds()))
    assert "限时秒杀开始" in text(visitor.get("/"))
    assert "限时秒杀开始" in text(visitor.get("/search?q=x"))  # the bar is on every page
    time.sleep(max(0.0, (now + timedelta(seconds=3.1) - utcnow()).total_seconds()))
    assert "限时秒杀开始" not in text(visitor.get("/"))
    assert "早已结束的活动" not in text(visitor.get("/"))


def test_the_schedule_stamp_only_moves_forward():
    items = [
        {"starts": 10.0, "ends": 20.0},
        {"starts": 15.0, "ends": None},
    ]
    stamps = [
        announcements.schedule_stamp({"items": items, "passed": 0.0}, t) for t in (5, 12, 16, 21)
    ]
    assert stamps == [0, 10000, 15000, 20000]
    # Rebuilt after the first ended: no longer listed, its end still counts.
    assert announcements.schedule_stamp({"items": items[1:], "passed": 20.0}, 21) == 20000


@pytest.mark.parametrize("pack", ("_base", *PACKS))
def test_every_theme_pack_shows_the_bar_the_banners_and_the_popup(app, make_store, site, pack):
    store = on_plan(app, make_store)
    if pack != "_base":
        publish_look(app, store, pack)
    announce(app, store, "bar", "全场九折")
    announce(app, store, "banner", "新品上架", body="点卡低至八折", link="/search?q=card")
    announce(app, store, "popup", "春节不打烊", body="客服 24 小时在线")
    html = text(anonymous(site, store).get("/"))
    assert "全场九折" in html and "新品上架" in html and 'href="/search?q=card"' in html
    assert 'id="shop-popup"' in html and "春节不打烊" in html and "popup.js" in html


def test_staff_manage_announcements_support_only_looks(app, make_store, site):
    store = make_store()  # every plan
    staff = owner(site, store)
    saved = staff.submit(
        "/admin/marketing/announcements",
        {"kind": "bar", "title": "周末活动", "body": "", "link": "javascript:alert(1)",
         "position": "0", "is_active": "y"},
    )  # fmt: skip
    assert saved.status_code == 400 and "/p/12" in text(saved)
    saved = staff.submit(
        "/admin/marketing/announcements",
        {"kind": "bar", "title": "周末活动", "link": "/p/1", "position": "0", "is_active": "y"},
    )
    assert saved.status_code == 302
    assert "周末活动" in text(anonymous(site, store).get("/"))
    support = staff_client(app, site, store, "support")
    assert support.get("/admin/marketing/announcements").status_code == 200
    refused = support.post(
        "/admin/marketing/announcements",
        data={"csrf_token": support.csrf_token("/admin/marketing/announcements"), "title": "x"},
    )
    assert refused.status_code == 403
    with app.app_context(), tenant_context(store):
        row_id = announcements.all_announcements()[0].id
    deleted = staff.submit(
        f"/admin/marketing/announcements/{row_id}",
        {},
        action=f"/admin/marketing/announcements/{row_id}/delete",
    )
    assert deleted.status_code == 302
    assert "周末活动" not in text(anonymous(site, store).get("/"))


# -- posters and referral ------------------------------------------------------------------------


def test_a_product_poster_has_the_size_and_a_qr_code_of_the_product_link(app, make_store, site):
    store = on_plan(app, make_store)
    product = make_product(app, name="王者荣耀点券")
    visitor = anonymous(site, store)
    answer = visitor.get(f"/p/{product['product_id']}/poster.png")
    assert answer.status_code == 200 and answer.mimetype == "image/png"
    png = answer.get_data()
    assert Image.open(io.BytesIO(png)).size == POSTER_SIZE
    assert decode_qr(png) == store_url(app, store, f"/p/{product['product_id']}")
    files = list((Path(app.config["INSTANCE_PATH"]) / "posters" / str(store.id)).glob("*.png"))
    assert len(files) == 1
    assert visitor.get(f"/p/{product['product_id']}/poster.png").get_data() == png
    assert len(list(files[0].parent.glob("*.png"))) == 1  # drawn once, then served from file


def test_a_customers_poster_carries_their_invite_code_and_brings_invitees(app, make_store, site):
    store = with_markup(app, on_plan(app, make_store))
    set_rate(app, store, 1000)  # 10 %
    sku = card_sku(app)
    with app.app_context():
        from app.catalog.models import Sku

        product_id = db.session.get(Sku, sku).product_id
    sharer = new_customer(app, store)
    client = shop(site, store)
    login(client, customer_email(app, store, sharer))
    assert 'id="share-poster"' in text(client.get(f"/p/{product_id}"))
    png = client.get(f"/p/{product_id}/poster.png").get_data()
    with app.app_context(), tenant_context(store):
        code = db.session.get(Customer, sharer).invite_code
    link = decode_qr(png)
    assert link == store_url(app, store, f"/p/{product_id}?ref={code}")
    assert decode_qr(client.get("/poster.png").get_data()) == store_url(app, store, f"/?ref={code}")

    # Two friends scan it (no cookies: the product page is cached after the first).
    emails = []
    for _ in range(2):
        friend = anonymous(site, store)
        assert friend.get(link.removeprefix(store_url(app, store, ""))).status_code == 200
        assert friend.cookie(referral.COOKIE) is not None
        emails.append(new_email("friend"))
        assert register(friend, emails[-1]).status_code == 302
    with app.app_context(), tenant_context(store):
        friends = db.session.scalars(select(Customer).where(Customer.email.in_(emails))).all()
        assert [f.referrer_id for f in friends] == [sharer, sharer]
        friend_id = friends[0].id
    paid_by_gateway(app, store, sku, friend_id)  # 12.00 → 1.20 for the sharer
    from tests.support.customer_money import balance_of

    assert balance_of(app, store, sharer) == 120


def test_an_existing_customer_is_attributed_with_their_first_order(app, make_store, site):
    store = on_plan(app, make_store)
    sharer = new_customer(app, store)
    with app.app_context(), tenant_context(store):
        code = referral.invite_code(db.session.get(Customer, sharer))
        db.session.commit()
    buyer = new_customer(app, store)
    sku = card_sku(app)
    client = shop(site, store)
    landing = client.get(f"/r/{code}?to=/search")
    assert landing.status_code == 302 and landing.headers["Location"] == "/search"
    assert client.get("/r/X?to=//evil.example").headers["Location"] == "/"
    client.get(f"/r/{code}")
    login(client, customer_email(app, store, buyer))
    placed = client.submit(
        f"/checkout?sku={sku}&quantity=1", {"contact_email": "", "provider": "sandbox"}
    )
    assert placed.status_code in (302, 303), text(placed)[:500]
    with app.app_context(), tenant_context(store):
        assert db.session.get(Customer, buyer).referrer_id == sharer


def test_posters_and_the_assets_library_need_marketing_tools(app, make_store, site):
    store = on_plan(app, make_store, None)  # Free
    product = make_product(app)
    visitor = anonymous(site, store)
    assert visitor.get("/poster.png").status_code == 404
    assert visitor.get(f"/p/{product['product_id']}/poster.png").status_code == 404
    assert 'id="share-poster"' not in text(visitor.get(f"/p/{product['product_id']}"))
    staff = owner(site, store)
    assert staff.get("/admin/marketing/assets").status_code == 402
    assert staff.get("/admin/marketing/poster.png").status_code == 402
    assert 'id="marketing-upgrade"' in text(staff.get("/admin/marketing"))
    assert staff.get("/admin/marketing/announcements").status_code == 200


def test_a_cjk_font_is_found_when_fonts_noto_cjk_is_installed(app):
    with app.app_context():
        found = font_path(True, "")
    if not Path("/usr/share/fonts/opentype/noto").is_dir():
        pytest.skip("fonts-noto-cjk is not installed here")
    assert found and "CJK" in found


# -- recommendations -----------------------------------------------------------------------------


def test_recommendations_come_from_the_stores_own_orders_and_never_show_another_customer(
    app, make_store, site, backend
):
    store = with_markup(app, on_plan(app, make_store))
    other_store = on_plan(app, make_store)
    x, y, z = (card_sku(app) for _ in range(3))
    with app.app_context():
        from app.catalog.models import Sku

        px, py, pz = (db.session.get(Sku, s).product_id for s in (x, y, z))
    alice, bob, carol = (new_customer(app, store) for _ in range(3))
    for customer in (alice, bob):
        paid_by_gateway(app, store, x, customer)
        paid_by_gateway(app, store, y, customer)
    paid_by_gateway(app, store, x, alice)  # Alice buys X often
    paid_by_gateway(app, store, x, carol)
    paid_by_gateway(app, store, z, carol)  # X with Z: one buyer only, never shown
    with app.app_context():
        from workers.jobs.growth import compute_recommendations_everywhere

        assert compute_recommendations_everywhere() >= 2
        db.session.commit()  # as the job runner does: the store jobs may start
        wait_for_jobs(app, backend)

    page = text(anonymous(site, store).get(f"/p/{px}"))
    together = page.split('id="bought-together"')[1]
    assert f"/p/{py}" in together and f"/p/{pz}" not in together
    assert 'id="bought-together"' not in text(anonymous(site, other_store).get(f"/p/{px}"))

    # Carol is signed in: her own buy-again, "for you" from the aggregate, nobody else's SKUs.
    client = shop(site, store)
    login(client, customer_email(app, store, carol))
    home = text(client.get("/"))
    again = home.split('id="buy-again"')[1].split("</section>")[0]
    assert f'data-sku="{x}"' in again and f'data-sku="{z}"' in again
    assert f'data-sku="{y}"' not in again
    assert f"/p/{py}" in home.split('id="for-you"')[1].split("</section>")[0]
    # Her visit left nothing personal in the cached page anonymous visitors get.
    public = text(anonymous(site, store).get("/"))
    assert 'id="buy-again"' not in public and 'id="for-you"' not in public
    assert 'id="popular"' in public

    # A hidden product is never recommended.
    from app.pricing.services import save_listing

    with app.app_context(), tenant_context(store):
        save_listing(store, py, is_hidden=True)
        db.session.commit()
    from app.catalog.cache import bump_store_version

    with app.app_context():
        bump_store_version(store.id)
    assert 'id="bought-together"' not in text(anonymous(site, store).get(f"/p/{px}"))


def test_a_new_lower_price_on_what_a_customer_buys_often_is_pointed_out(app, make_store, site):
    store = with_markup(app, on_plan(app, make_store), 3000)
    sku = card_sku(app)
    alice = new_customer(app, store)
    for _ in range(2):
        paid_by_gateway(app, store, sku, alice)
    with app.app_context(), tenant_context(store):
        recommendations.compute_for_store(store)
    with_markup(app, store, 1000)  # 13.00 → 11.00
    client = shop(site, store)
    login(client, customer_email(app, store, alice))
    account = text(client.get("/account"))
    deals = account.split('id="deals"')[1].split("</section>")[0]
    assert f'data-sku="{sku}"' in deals and "13.00" in deals and "11.00" in deals
    assert f"/checkout?sku={sku}&amp;quantity=1" in account.split('id="buy-again"')[1]


def test_lookup_results_offer_buy_again(app, make_store, site):
    store = make_store()
    with app.app_context(), tenant_context(store):
        from app.merchant.services import get_settings

        assert get_settings() is not None
    sku = card_sku(app)
    email = new_email("guest")
    from app.orders.services import create_order

    with app.app_context(), tenant_context(store):
        create_order(
            store, sku_id=sku, quantity=2, contact_email=email, query_password="lookup-pw-1"
        )
    found = shop(site, store).submit("/lookup", {"needle": email, "query_password": "lookup-pw-1"})
    assert f"/checkout?sku={sku}&amp;quantity=2" in text(found)


# -- marketing e-mail ----------------------------------------------------------------------------


def opted_in(app, store, count: int) -> list[int]:
    ids = []
    for _ in range(count):
        customer_id = new_customer(app, store)
        with app.app_context(), tenant_context(store):
            customer = db.session.get(Customer, customer_id)
            mailing.set_opt_in(store, customer, True, actor=SYSTEM)
            db.session.commit()
        ids.append(customer_id)
    return ids


def start(app, store, subject="春季大促") -> int:
    with app.app_context(), tenant_context(store):
        campaign = mailing.create_campaign(store, subject, "全场九折，欢迎选购。", actor=SYSTEM)
        mailing.start_campaign(store, campaign, actor=SYSTEM)
        return campaign.id


def test_only_customers_who_opted_in_get_offers_and_one_click_unsubscribes(
    app, make_store, site, backend
):
    store = on_plan(app, make_store)
    yes = new_customer(app, store)
    no = new_customer(app, store)
    client = shop(site, store)
    login(client, customer_email(app, store, yes))
    assert 'id="marketing-preference"' in text(client.get("/account"))
    said = client.submit("/account", {"opt_in": "1"}, action="/account/marketing")
    assert said.status_code == 302
    subject = f"新品 {uuid.uuid4().hex[:6]}"
    start(app, store, subject)
    with app.app_context():
        wait_for_jobs(app, backend)
    mine = [m for m in outbox_messages(app, customer_email(app, store, yes)) if subject in m]
    assert len(mine) == 1
    assert not [m for m in outbox_messages(app, customer_email(app, store, no)) if subject in m]
    link = next(line for line in mine[0].splitlines() if "/unsubscribe/" in line).split()[-1]
    path = link.removeprefix(store_url(app, store, ""))
    answer = anonymous(site, store).get(path)
    assert answer.status_code == 200 and 'id="unsubscribed"' in text(answer)
    with app.app_context(), tenant_context(store):
        assert db.session.get(Customer, yes).marketing_opt_in is False
        assert mailing.audience_count() == 0
    assert anonymous(site, store).get("/unsubscribe/forged").status_code == 404
    assert anonymous(site, store).post(path).status_code == 204  # RFC 8058 one-click POST


def test_sending_is_rate_limited_and_capped_per_store_and_day(app, make_store, monkeypatch):
    with app.app_context():
        save_plan(
            "mail-small", name="Mail small", create=True,
            entitlements={"marketing_email_daily": 3, "marketing_posters": True},
        )  # fmt: skip
    store = on_plan(app, make_store, "mail-small")
    opted_in(app, store, 5)
    monkeypatch.setitem(app.config, "MARKETING_EMAIL_PER_MINUTE", 2)
    monkeypatch.setitem(app.config, "JOBS_IN_PROCESS", app.config["JOBS_IN_PROCESS"])
    with app.app_context(), tenant_context(store):
        campaign = mailing.create_campaign(store, "限量", "正文", actor=SYSTEM)
        campaign_id = campaign.id
        now = utcnow()
        # Started by hand here (no job), then driven batch by batch.
        from app.growth.models import CampaignRecipient as Recipient

        for customer_id in db.session.scalars(select(Customer.id)):
            db.session.add(Recipient(campaign_id=campaign_id, customer_id=customer_id))
        campaign.status, campaign.started_at = "sending", now
        db.session.add(CampaignQueue(tenant_id=store.id, campaign_id=campaign_id, next_run_at=now))
        db.session.commit()
        assert mailing.send_batch(store, campaign_id, now) == 2  # per minute
        queued = db.session.get(CampaignQueue, (store.id, campaign_id))
        assert queued.next_run_at == now + timedelta(seconds=60)
        assert mailing.send_batch(store, campaign_id, now + timedelta(seconds=60)) == 1  # cap 3
        queued = db.session.get(CampaignQueue, (store.id, campaign_id))
        assert queued.next_run_at > now + timedelta(hours=1)  # tomorrow
        assert mailing.send_batch(store, campaign_id, now + timedelta(seconds=120)) == 0
        tomorrow = queued.next_run_at + timedelta(minutes=1)
        assert mailing.send_batch(store, campaign_id, tomorrow) == 2
        done = db.session.get(MarketingCampaign, campaign_id)
        assert (done.status, done.sent_count) == ("sent", 5)
        assert db.session.get(CampaignQueue, (store.id, campaign_id)) is None
        assert mailing.send_batch(store, campaign_id, tomorrow) == 0  # a retried job: nothing


def test_someone_who_unsubscribes_mid_campaign_is_skipped(app, make_store, backend, monkeypatch):
    store = on_plan(app, make_store)
    first, second = opted_in(app, store, 2)
    held = []  # the sending job waits until the unsubscribe is in (in-process jobs start at once)
    monkeypatch.setattr(mailing, "enqueue_batch", lambda *args: held.append(args))
    with app.app_context(), tenant_context(store):
        campaign = mailing.create_campaign(store, "中途退订", "正文", actor=SYSTEM)
        mailing.start_campaign(store, campaign, actor=SYSTEM)
        mailing.unsubscribe(store, mailing.unsubscribe_token(store, second))
        campaign_id = campaign.id
    monkeypatch.undo()
    with app.app_context(), tenant_context(store):
        mailing.enqueue_batch(*held[0])
    with app.app_context():
        wait_for_jobs(app, backend)
    with app.app_context(), tenant_context(store):
        statuses = dict(
            db.session.execute(
                select(CampaignRecipient.customer_id, CampaignRecipient.status).where(
                    CampaignRecipient.campaign_id == campaign_id
                )
            ).all()
        )
    assert statuses == {first: "sent", second: "skipped"}


def test_marketing_email_is_not_on_the_free_plan(app, make_store, site):
    store = on_plan(app, make_store, None)
    opted_in(app, store, 1)
    staff = owner(site, store)
    page = text(staff.get("/admin/marketing/email"))
    assert 'id="email-upgrade"' in page
    refused = staff.post(
        "/admin/marketing/email",
        data={"csrf_token": staff.csrf_token("/admin/marketing"), "subject": "s", "body": "b"},
    )
    assert refused.status_code == 403
    with app.app_context(), tenant_context(store):
        campaign = mailing.create_campaign(store, "s", "b", actor=SYSTEM)
        with pytest.raises(mailing.MailingError):
            mailing.start_campaign(store, campaign, actor=SYSTEM)


# -- the campaign assets library -----------------------------------------------------------------


def test_the_platform_publishes_assets_and_stores_brand_them(
    app, make_store, site, apex, platform_admin
):
    apex.login_platform(*platform_admin)
    title = f"开学季文案 {uuid.uuid4().hex[:6]}"
    added = apex.submit(
        "/platform/marketing",
        {"kind": "copy", "title": title, "body": "{store} 全场九折：{url}", "layout": "card"},
    )
    assert added.status_code == 302
    picture = io.BytesIO()
    Image.new("RGB", (600, 900), "#123456").save(picture, format="PNG")
    template_title = f"深色海报 {uuid.uuid4().hex[:6]}"
    data = {
        "kind": "poster_template", "title": template_title, "layout": "card",
        "text_colour": "#ffffff", "image": (io.BytesIO(picture.getvalue()), "bg.png"),
        "csrf_token": apex.csrf_token("/platform/marketing"),
    }  # fmt: skip
    assert apex.post("/platform/marketing", data=data).status_code == 302

    store = on_plan(app, make_store)
    staff = owner(site, store)
    library = text(staff.get("/admin/marketing/assets"))
    assert f"{store.name} 全场九折：{store_url(app, store, '/')}" in library
    from app.growth.models import CampaignAsset

    with app.app_context():
        template_id = db.session.scalar(
            select(CampaignAsset.id).where(CampaignAsset.title == template_title)
        )
    branded = staff.get(f"/admin/marketing/assets/{template_id}.png")
    assert branded.status_code == 200 and decode_qr(branded.get_data()) == store_url(
        app, store, "/"
    )
    used = staff.submit(
        "/admin/marketing/assets", {}, action=f"/admin/marketing/assets/{template_id}/use"
    )
    assert used.status_code == 302
    with app.app_context(), tenant_context(store):
        from app.growth.services import marketing_settings

        assert marketing_settings().poster_template == f"asset:{template_id}"
