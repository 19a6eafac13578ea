"""Two-factor sign-in: owners must enrol (QR code, a real TOTP code), sign-in asks for the code
after the password, recovery codes work once, and turning it off needs a current code; the same
for platform accounts."""

import re
import time

import pyotp
import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.extensions import db
from app.merchant.models import StaffUser
from app.platform.models import PlatformUser
from tenants.context import tenant_context
from tests.support.staff import APEX, add_staff, signed_in

OWNER_PASSWORD = "owner-pass-1"


@pytest.fixture
def required(app, monkeypatch):
    monkeypatch.setitem(app.config, "REQUIRE_OWNER_TWO_FACTOR", True)


def page(answer) -> str:
    return answer.get_data(as_text=True)


def enrol(client, prefix: str) -> tuple[pyotp.TOTP, list[str]]:
    """Set up two-factor on the account page; returns the authenticator and the recovery codes."""
    started = client.submit(f"{prefix}/account", {}, f"{prefix}/account/two-factor/start")
    assert started.status_code == 302
    shown = page(client.get(f"{prefix}/account"))
    assert 'id="totp-qr"' in shown and "<svg" in shown
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', shown).group(1)
    totp = pyotp.TOTP(secret)
    wrong = client.submit(
        f"{prefix}/account", {"code": "000000"}, f"{prefix}/account/two-factor/confirm"
    )
    assert wrong.status_code == 400
    done = client.submit(
        f"{prefix}/account", {"code": totp.now()}, f"{prefix}/account/two-factor/confirm"
    )
    assert done.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7]{4}-[a-z2-7]{4})</code></li>", page(done))
    assert len(codes) == 10
    assert not re.findall(r"<li><code>", page(client.get(f"{prefix}/account")))  # shown once
    return totp, codes


def next_code(totp: pyotp.TOTP) -> str:
    """The code of the next 30-second step (accepted: clocks drift), newer than any used."""
    return totp.at(time.time() + 30)


def test_an_owner_must_enrol_then_signs_in_with_password_and_code(app, required, make_store, site):
    store = make_store(password=OWNER_PASSWORD)
    email = f"owner@{store.slug}.example.com"
    owner = signed_in(site, store, email, OWNER_PASSWORD)
    for path in ("/admin/", "/admin/orders", "/admin/staff"):
        held = owner.get(path)
        assert held.status_code == 302 and held.headers["Location"].endswith("/admin/account")
    assert 'id="two-factor-required"' in page(owner.get("/admin/account"))
    totp, _codes = enrol(owner, "/admin")
    assert owner.get("/admin/").status_code == 200

    with app.app_context(), tenant_context(store):
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
        assert user.totp_secret_sealed and totp.secret not in user.totp_secret_sealed

    browser = site(f"{store.slug}.{APEX}")
    asked = browser.login_store(email, OWNER_PASSWORD)
    assert asked.status_code == 302 and asked.headers["Location"].endswith("/admin/login/code")
    assert browser.get("/admin/").status_code == 302  # not signed in before the code
    assert browser.submit("/admin/login/code", {"code": "123456"}).status_code == 401
    code = next_code(totp)
    assert browser.submit("/admin/login/code", {"code": code}).status_code == 302
    assert browser.get("/admin/").status_code == 200

    replay = site(f"{store.slug}.{APEX}")
    replay.login_store(email, OWNER_PASSWORD)
    assert replay.submit("/admin/login/code", {"code": code}).status_code == 401  # used once


def test_a_recovery_code_signs_in_once_and_is_kept_hashed(app, required, make_store, site):
    store = make_store(password=OWNER_PASSWORD)
    email = f"owner@{store.slug}.example.com"
    _totp, codes = enrol(signed_in(site, store, email, OWNER_PASSWORD), "/admin")
    with app.app_context(), tenant_context(store):
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
        stored = repr(user.recovery_codes)
    assert all(code not in stored and code.replace("-", "") not in stored for code in codes)

    first = site(f"{store.slug}.{APEX}")
    first.login_store(email, OWNER_PASSWORD)
    assert first.submit("/admin/login/code", {"code": codes[3].upper()}).status_code == 302
    assert first.get("/admin/").status_code == 200
    second = site(f"{store.slug}.{APEX}")
    second.login_store(email, OWNER_PASSWORD)
    assert second.submit("/admin/login/code", {"code": codes[3]}).status_code == 401
    with app.app_context(), tenant_context(store):
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
        assert len(user.recovery_codes) == 9
    with app.app_context():
        used = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.tenant_id == store.id, AuditEvent.action == "account.recovery_code_used"
            )
        )
        assert used is not None and used.after == {"recovery_codes_left": 9}


def test_turning_it_off_needs_a_current_code_and_owners_keep_it_when_required(
    app, monkeypatch, make_store, site
):
    store = make_store()
    email = add_staff(app, store, "support")
    member = signed_in(site, store, email, "staff-pass-1")
    assert member.get("/admin/orders").status_code == 200  # not required of support
    totp, _ = enrol(member, "/admin")
    off = "/admin/account/two-factor/disable"
    assert member.submit("/admin/account", {"code": "000000"}, off).status_code == 400
    with app.app_context(), tenant_context(store):
        assert db.session.scalar(select(StaffUser.totp_enabled_at).where(StaffUser.email == email))
    assert member.submit("/admin/account", {"code": next_code(totp)}, off).status_code == 302
    with app.app_context(), tenant_context(store):
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
        assert user.totp_enabled_at is None and user.totp_secret_sealed is None
    again = site(f"{store.slug}.{APEX}")
    assert again.login_store(email, "staff-pass-1").headers["Location"].endswith("/admin/")
    with app.app_context():
        actions = set(
            db.session.scalars(select(AuditEvent.action).where(AuditEvent.tenant_id == store.id))
        )
    assert {"account.two_factor_enable", "account.two_factor_disable"} <= actions

    monkeypatch.setitem(app.config, "REQUIRE_OWNER_TWO_FACTOR", True)
    owner = signed_in(site, store, f"owner@{store.slug}.example.com", "s3cret-pass")
    totp, _ = enrol(owner, "/admin")
    kept = owner.submit("/admin/account", {"code": next_code(totp)}, off)
    assert kept.status_code == 400
    with app.app_context(), tenant_context(store):
        assert db.session.scalar(select(StaffUser.totp_enabled_at).where(StaffUser.role == "owner"))


def test_platform_owners_enrol_and_sign_in_with_a_code(app, required, platform_admin, apex):
    email, password = platform_admin
    assert apex.login_platform(email, password).status_code == 302
    held = apex.get("/platform/stores")
    assert held.status_code == 302 and held.headers["Location"].endswith("/platform/account")
    totp, _ = enrol(apex, "/platform")
    assert apex.get("/platform/stores").status_code == 200
    apex.submit("/platform/stores", {}, "/platform/logout")
    asked = apex.login_platform(email, password)
    assert asked.headers["Location"].endswith("/platform/login/code")
    assert apex.submit("/platform/login/code", {"code": next_code(totp)}).status_code == 302
    assert apex.get("/platform/audit").status_code == 200
    with app.app_context():
        user = db.session.scalar(select(PlatformUser).where(PlatformUser.email == email))
        assert user.has_two_factor


def test_an_operator_can_reset_a_lost_factor_and_it_is_asked_again(
    app, required, make_store, site, runner
):
    store = make_store(password=OWNER_PASSWORD)
    email = f"owner@{store.slug}.example.com"
    owner = signed_in(site, store, email, OWNER_PASSWORD)
    enrol(owner, "/admin")
    result = runner.invoke(
        args=["platform", "reset-two-factor", "--email", email, "--store", store.slug]
    )
    assert result.exit_code == 0, result.output
    assert owner.get("/admin/").status_code == 302  # its session was signed out
    again = signed_in(site, store, email, OWNER_PASSWORD)  # no code asked: nothing to ask
    assert again.get("/admin/").headers["Location"].endswith("/admin/account")  # enrol again
    unknown = runner.invoke(args=["platform", "reset-two-factor", "--email", "nobody@x.test"])
    assert unknown.exit_code != 0
    with app.app_context():
        reset = db.session.scalar(
            select(AuditEvent).where(
                AuditEvent.tenant_id == store.id, AuditEvent.action == "account.two_factor_reset"
            )
        )
        assert reset is not None and reset.actor_kind == "system"


def test_guessing_codes_is_rate_limited(app, backend, make_store, site):
    from app import create_app
    from tests.support.web import SiteClient

    limited = create_app(
        backend.config(
            RATELIMIT_ENABLED=True,
            LOGIN_RATE_LIMIT="3 per minute",
            RATELIMIT_STORAGE_URI="memory://",
        )
    )
    store = make_store(password=OWNER_PASSWORD)
    email = f"owner@{store.slug}.example.com"
    enrol(signed_in(site, store, email, OWNER_PASSWORD), "/admin")
    client = SiteClient(limited, f"{store.slug}.{APEX}")
    assert client.login_store(email, OWNER_PASSWORD).status_code == 302
    statuses = [
        client.submit("/admin/login/code", {"code": "000000"}).status_code for _ in range(4)
    ]
    assert statuses[:3] == [401, 401, 401] and statuses[3] == 429
