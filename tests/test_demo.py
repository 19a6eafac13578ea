"""`make run`'s demo data: seeding twice changes nothing, and every printed login works."""

from app.demo import DEMO_ADMIN, DEMO_BUYER, DEMO_PASSWORD, DEMO_SUPPLIER, seed_demo


def test_the_demo_seeds_once_and_its_logins_work(app, site, apex):
    with app.app_context():
        first = seed_demo()
    with app.app_context():
        again = seed_demo()
    assert first == again
    logins = {what: (url, login) for what, url, login in first}
    assert logins["Supplier portal"][1] == DEMO_SUPPLIER

    assert apex.login_platform(DEMO_ADMIN, DEMO_PASSWORD).status_code == 302
    supplier = site(app.config["PLATFORM_DOMAIN"])
    signed = supplier.submit("/supplier/login", {"email": DEMO_SUPPLIER, "password": DEMO_PASSWORD})
    assert signed.status_code == 302 and supplier.get("/supplier/").status_code == 200
    for slug in ("demo", "neon"):
        url, owner = logins[f"Store {slug} back-office"]
        shop = site(f"{slug}.{app.config['PLATFORM_DOMAIN']}")
        assert shop.login_store(owner, DEMO_PASSWORD).status_code == 302
        assert shop.get("/admin/").status_code == 200
        assert shop.get("/").status_code == 200

    buyer = site(f"demo.{app.config['PLATFORM_DOMAIN']}")
    assert logins["Store demo customer (API)"][1] == DEMO_BUYER
    signed = buyer.submit("/account/login", {"email": DEMO_BUYER, "password": DEMO_PASSWORD})
    assert signed.status_code == 302
    keys = buyer.get("/account/api").get_data(as_text=True)
    assert "api-not-offered" not in keys and "创建密钥" in keys  # the store offers the API
