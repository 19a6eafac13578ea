"""Store customers sign up, sign in, reset their password and find their orders, one store each."""

import re
import time
import uuid

from itsdangerous import TimestampSigner
from sqlalchemy import func, select, update

from app.customers.models import Customer
from app.customers.services import RESET_MAX_AGE_SECONDS, order_history
from app.extensions import db
from app.orders.models import Order
from app.orders.services import create_order
from tenants.context import tenant_context
from tests.support.catalog import add_keys, make_product
from tests.test_jobs import outbox_messages, wait_for_jobs

APEX = "kameng.test"
PASSWORD = "shop-pass-1"


def shop(site, store):
    """A visitor of the store's storefront whose browser asks for English."""
    client = site(f"{store.slug}.{APEX}")
    client.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def new_email(prefix: str = "buyer") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"


def register(client, email, password=PASSWORD, **extra):
    data = {"email": email, "password": password, "confirm": password, **extra}
    return client.submit("/account/register", data)


def login(client, email, password=PASSWORD):
    return client.submit("/account/login", {"email": email, "password": password})


def logout(client):
    return client.post("/account/logout", data={"csrf_token": client.csrf_token("/account")})


def text(response) -> str:
    return response.get_data(as_text=True)


def customer_count(app, store, email) -> int:
    with app.app_context(), tenant_context(store):
        return db.session.scalar(
            select(func.count()).select_from(Customer).where(Customer.email == email)
        )


def test_a_customer_signs_up_signs_out_and_signs_back_in(app, make_store, site):
    store = make_store(name="Account Shop")
    visitor = shop(site, store)
    email = new_email()
    assert "/account/login" in text(visitor.get("/"))  # the header offers to sign in

    signed_up = register(visitor, email, name="Alice")
    assert signed_up.status_code == 302 and signed_up.headers["Location"] == "/account"
    account = text(visitor.get("/account"))
    assert "My account" in account and "Alice" in account and email in account

    assert logout(visitor).status_code == 302
    assert visitor.get("/account").headers["Location"].startswith("/account/login")

    wrong = login(visitor, email, "wrong-pass-9")
    assert wrong.status_code == 401 and "Wrong e-mail or password." in text(wrong)
    assert visitor.get("/account").status_code == 302

    back = login(visitor, email.upper(), PASSWORD)
    assert back.status_code == 302 and back.headers["Location"] == "/account"
    assert visitor.get("/account").status_code == 200
    assert 'href="/account">My account' in text(visitor.get("/"))
    with app.app_context(), tenant_context(store):
        customer = db.session.scalar(select(Customer).where(Customer.email == email))
        assert customer.last_login_at is not None and customer.check_password(PASSWORD)
        assert customer.get_id() == f"customer:{store.id}:{customer.id}"


def test_a_second_account_for_the_same_email_is_refused_with_a_clear_message(app, make_store, site):
    store = make_store()
    email = new_email()
    assert register(shop(site, store), email).status_code == 302

    again = register(shop(site, store), email.upper(), password="other-pass-2")
    assert again.status_code == 400
    assert "An account with this e-mail address already exists." in text(again)
    assert customer_count(app, store, email) == 1


def test_sign_up_says_which_field_is_wrong_and_creates_nothing(app, make_store, site):
    store = make_store()
    visitor = shop(site, store)
    email = new_email()
    weak = register(visitor, email, password="password")
    assert weak.status_code == 400
    assert "The password must mix letters with digits or symbols." in text(weak)
    mismatch = visitor.submit(
        "/account/register", {"email": email, "password": PASSWORD, "confirm": "other-pass-2"}
    )
    assert mismatch.status_code == 400 and "The two passwords do not match." in text(mismatch)
    bad_phone = register(visitor, email, phone="call me")
    assert bad_phone.status_code == 400 and "This is not a valid phone number." in text(bad_phone)
    assert customer_count(app, store, email) == 0


def reset_link(app, backend, email) -> str:
    with app.app_context():
        wait_for_jobs(app, backend)
    messages = outbox_messages(app, email)
    assert len(messages) == 1
    return re.search(r"http://[^/\s]+(/account/reset/\S+)", messages[0]).group(1)


def test_a_password_reset_link_works_once_and_expires(app, backend, make_store, site, monkeypatch):
    store = make_store(name="Reset Shop")
    email, unknown = new_email(), new_email("nobody")
    assert register(shop(site, store), email).status_code == 302

    visitor = shop(site, store)
    asked = visitor.submit("/account/reset", {"email": email})
    stranger = visitor.submit("/account/reset", {"email": unknown})
    notice = "If an account uses this address, we have e-mailed it a reset link."
    assert asked.status_code == stranger.status_code == 200
    assert notice in text(asked) and notice in text(stranger)
    path = reset_link(app, backend, email)
    assert outbox_messages(app, unknown) == []
    assert "Reset Shop" in outbox_messages(app, email)[0]

    with monkeypatch.context() as later:
        later.setattr(
            TimestampSigner,
            "get_timestamp",
            lambda self: int(time.time()) + RESET_MAX_AGE_SECONDS + 60,
        )
        expired = visitor.get(path)
    assert expired.status_code == 400 and "This link has expired or was already used." in text(
        expired
    )

    assert visitor.get(path).status_code == 200
    weak = visitor.submit(path, {"password": "short", "confirm": "short"})
    assert weak.status_code == 400 and "at least 8 characters" in text(weak)
    done = visitor.submit(path, {"password": "new-pass-2", "confirm": "new-pass-2"})
    assert done.status_code == 302 and done.headers["Location"] == "/account"
    assert visitor.get("/account").status_code == 200  # signed in with the new password

    assert visitor.get(path).status_code == 400  # used once: the link is dead now
    reused = visitor.post(path, data={"password": "evil-pass-3", "confirm": "evil-pass-3"})
    assert reused.status_code == 400
    fresh = shop(site, store)
    assert login(fresh, email, PASSWORD).status_code == 401
    assert login(fresh, email, "new-pass-2").status_code == 302


def test_a_reset_link_of_store_a_does_nothing_on_store_b(app, backend, make_store, site):
    store_a, store_b = make_store(), make_store()
    email = new_email()
    register(shop(site, store_a), email)
    register(shop(site, store_b), email)
    shop(site, store_a).submit("/account/reset", {"email": email})
    path = reset_link(app, backend, email)
    assert shop(site, store_b).get(path).status_code == 400
    assert shop(site, store_a).get(path).status_code == 200


def test_customers_of_one_store_are_strangers_to_another(app, make_store, site):
    store_a, store_b = make_store(), make_store()
    email = new_email()
    assert register(shop(site, store_a), email).status_code == 302
    assert login(shop(site, store_b), email).status_code == 401

    # The same address signs up separately on store B, with its own password.
    assert register(shop(site, store_b), email, password="b-pass-22").status_code == 302
    assert login(shop(site, store_a), email, "b-pass-22").status_code == 401
    assert login(shop(site, store_b), email, PASSWORD).status_code == 401
    assert login(shop(site, store_a), email, PASSWORD).status_code == 302
    assert customer_count(app, store_a, email) == customer_count(app, store_b, email) == 1


def test_staff_and_customer_sessions_never_pass_for_each_other(app, make_store, site):
    store = make_store(password="owner-pass-1")
    owner_email = f"owner@{store.slug}.example.com"

    staff = shop(site, store)
    assert staff.login_store(owner_email, "owner-pass-1").status_code == 302
    assert staff.get("/admin/").status_code == 200
    refused = staff.get("/account")
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/account/login")
    assert "/account/login" in text(staff.get("/"))  # staff are not shown a customer account

    # A customer with the very same e-mail and password is a different identity.
    customer = shop(site, store)
    assert register(customer, owner_email, password="owner-pass-1").status_code == 302
    assert customer.get("/account").status_code == 200
    barred = customer.get("/admin/")
    assert barred.status_code == 302 and barred.headers["Location"].startswith("/admin/login")
    assert customer.get("/admin/orders").status_code == 302

    # Signing in as the customer replaces the staff session instead of adding to it.
    assert login(staff, owner_email, "owner-pass-1").status_code == 302
    assert staff.get("/admin/").status_code == 302


def test_a_blocked_customer_is_signed_out_and_cannot_sign_in(app, make_store, site):
    store = make_store()
    visitor = shop(site, store)
    email = new_email()
    register(visitor, email)
    with app.app_context(), tenant_context(store):
        db.session.execute(update(Customer).where(Customer.email == email).values(is_blocked=True))
        db.session.commit()
    assert visitor.get("/account").status_code == 302
    assert login(shop(site, store), email).status_code == 401


def test_an_order_placed_while_signed_in_is_in_the_history_with_its_link(app, make_store, site):
    store = make_store()
    item = make_product(app, skus=[(1000, 800)])
    sku_id = item["sku_ids"][0]
    add_keys(app, sku_id, [f"ACC-{uuid.uuid4().hex}" for _ in range(2)])
    customer, guest = shop(site, store), shop(site, store)
    email = new_email()
    register(customer, email)

    page = f"/checkout?sku={sku_id}&quantity=1"
    assert f'value="{email}"' in text(customer.get(page))  # the contact e-mail is filled in
    placed = customer.submit(page, {"contact_email": email}, action=page)
    assert placed.status_code == 302, text(placed)[:500]
    guest_order = guest.submit(page, {"contact_email": new_email("guest")}, action=page)
    assert guest_order.status_code == 302

    with app.app_context(), tenant_context(store):
        mine = db.session.scalar(select(Order).where(Order.contact_email == email))
        customer_id = db.session.scalar(select(Customer.id).where(Customer.email == email))
        assert mine.customer_id == customer_id
        others = db.session.scalars(select(Order.order_no).where(Order.order_no != mine.order_no))
        other_numbers = list(others)
    history = text(customer.get("/account"))
    assert mine.order_no in history and "Awaiting payment" in history
    assert all(number not in history for number in other_numbers)
    link = re.search(rf'href="http://[^/"]+(/order/{mine.order_no}\?t=[^"]+)"', history).group(1)
    order_page = customer.get(link.replace("&amp;", "&"))
    assert order_page.status_code == 200 and mine.order_no in text(order_page)


def test_the_history_is_newest_first_and_paginated(app, make_store):
    store = make_store()
    item = make_product(app, skus=[(1000, 800)])
    add_keys(app, item["sku_ids"][0], [f"PG-{uuid.uuid4().hex}" for _ in range(3)])
    with app.app_context(), tenant_context(store):
        customer = Customer(email=new_email(), name="")
        customer.set_password(PASSWORD)
        db.session.add(customer)
        db.session.commit()
        placed = [
            create_order(store, sku_id=item["sku_ids"][0], quantity=1, customer_id=customer.id)
            for _ in range(3)
        ]
        numbers = [order.order_no for order in placed]
        first, second = order_history(customer.id, 1, per_page=2), order_history(customer.id, 2, 2)
        assert (first.total, first.pages) == (3, 2)
        listed = [o.order_no for o in first.orders] + [o.order_no for o in second.orders]
        assert listed == list(reversed(numbers))


def test_markup_in_a_customer_name_is_shown_as_text(app, make_store, site):
    store = make_store()
    visitor = shop(site, store)
    register(visitor, new_email(), name='<script>alert("x")</script>')
    page = text(visitor.get("/account"))
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(" in page


def test_sign_in_sign_up_and_reset_are_rate_limited(backend, make_store):
    from app import create_app
    from tests.support.web import SiteClient

    limited = create_app(
        backend.config(
            RATELIMIT_ENABLED=True,
            LOGIN_RATE_LIMIT="2 per minute",
            RATELIMIT_STORAGE_URI="memory://",
        )
    )
    store = make_store()
    client = SiteClient(limited, f"{store.slug}.{APEX}")
    attempts = {
        "/account/login": {"email": new_email(), "password": "bad-pass-1"},
        "/account/register": {"email": "not-an-address", "password": "x", "confirm": "x"},
        "/account/reset": {"email": new_email()},
    }
    for path, data in attempts.items():
        statuses = [client.submit(path, data).status_code for _ in range(3)]
        assert 429 not in statuses[:2] and statuses[2] == 429, (path, statuses)


def test_an_account_is_locked_after_repeated_failed_sign_ins_from_anywhere(backend, make_store):
    from app import create_app
    from tests.support.web import SiteClient

    limited = create_app(
        backend.config(
            RATELIMIT_ENABLED=True,
            LOGIN_RATE_LIMIT="100 per minute",
            LOGIN_LOCKOUT_LIMIT="3 per 15 minutes",
            RATELIMIT_STORAGE_URI="memory://",
        )
    )
    store = make_store()
    owner = f"owner@{store.slug}.example.com"
    wrong = {"email": owner, "password": "wrong-pass-1"}
    for address in ("203.0.113.1", "203.0.113.2", "203.0.113.3"):  # a distributed guess
        client = SiteClient(limited, f"{store.slug}.{APEX}")
        page = client.submit("/admin/login", wrong, environ_base={"REMOTE_ADDR": address})
        assert page.status_code == 401
    locked = SiteClient(limited, f"{store.slug}.{APEX}").submit(
        "/admin/login", {"email": owner, "password": "s3cret-pass"}
    )
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    other = SiteClient(limited, f"{store.slug}.{APEX}").submit(
        "/admin/login", {"email": f"x-{owner}", "password": "wrong-pass-1"}
    )
    assert other.status_code == 401  # other accounts are not locked
