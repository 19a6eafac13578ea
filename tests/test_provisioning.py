"""Opening, suspending, resuming and dropping stores, from services and the CLI."""

import threading

import pytest
from sqlalchemy import func, select

from app.extensions import db
from tenants.engines import registry
from tenants.models import Tenant, TenantDomain
from tenants.provisioning import ProvisioningError, create_tenant, drop_tenant, set_status
from tenants.slugs import slug_problem
from tests.conftest import unique_slug


@pytest.mark.parametrize("slug", ["abc", "acme-cards", "a1b2c3", "x" * 30, "shop-2024"])
def test_good_slugs_are_accepted(slug):
    assert slug_problem(slug) is None


@pytest.mark.parametrize(
    ("slug", "why"),
    [
        ("", "Choose"),
        ("ab", "3 to 30"),
        ("x" * 31, "3 to 30"),
        ("-abc", "hyphens"),
        ("abc-", "hyphens"),
        ("Acme", "lower-case"),
        ("ac_me", "lower-case"),
        ("a--b", "two hyphens"),
        ("xn--abc", "two hyphens"),
        ("www", "reserved"),
        ("admin", "reserved"),
        ("api", "reserved"),
        ("platform", "reserved"),
        ("static", "reserved"),
        ("mail", "reserved"),
    ],
)
def test_bad_slugs_are_refused_with_a_reason(slug, why):
    assert why in slug_problem(slug)


def count_tenants(app, slug):
    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(Tenant).where(Tenant.slug == slug)
        )


def test_creating_an_existing_slug_fails_clearly_and_creates_nothing(app, make_store):
    store = make_store()
    with app.app_context(), pytest.raises(ProvisioningError) as error:
        create_tenant(
            slug=store.slug, name="Again", owner_email="x@example.com", owner_password="pass-word1"
        )
    assert error.value.field == "slug"
    assert "already taken" in error.value.message
    assert count_tenants(app, store.slug) == 1


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("name", {"name": ""}),
        ("owner_email", {"owner_email": "not-an-email"}),
        ("owner_password", {"owner_password": "short"}),
        ("owner_password", {"owner_password": "12345678901"}),
    ],
)
def test_bad_store_details_are_refused_and_nothing_is_created(app, field, kwargs):
    slug = unique_slug()
    values = dict(slug=slug, name="Fine", owner_email="ok@example.com", owner_password="pass-word1")
    values.update(kwargs)
    with app.app_context(), pytest.raises(ProvisioningError) as error:
        create_tenant(**values)
    assert error.value.field == field
    assert count_tenants(app, slug) == 0


@pytest.mark.slow
def test_racing_requests_for_one_slug_create_exactly_one_store(app, backend):
    slug = unique_slug("race")
    outcomes, barrier = [], threading.Barrier(6)

    def attempt(n):
        with app.app_context():
            barrier.wait()
            try:
                create_tenant(
                    slug=slug,
                    name=f"Racer {n}",
                    owner_email=f"r{n}@example.com",
                    owner_password="pass-word1",
                )
                outcomes.append("created")
            except ProvisioningError as error:
                outcomes.append(error.message)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("created") == 1
    assert all(o == "This store address is already taken." for o in outcomes if o != "created")
    assert count_tenants(app, slug) == 1
    with app.app_context():
        tenant = db.session.scalar(select(Tenant).where(Tenant.slug == slug))
        assert tenant.status == "active"
        assert registry().tenant_storage_exists(tenant.id)


def test_a_failed_provisioning_leaves_no_row_and_no_schema(app, monkeypatch):
    from tenants import migrations

    def broken_stamp(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(migrations, "stamp_tenant", broken_stamp)
    slug = unique_slug()
    with app.app_context(), pytest.raises(RuntimeError):
        create_tenant(
            slug=slug, name="Doomed", owner_email="d@example.com", owner_password="pass-word1"
        )
    assert count_tenants(app, slug) == 0
    with app.app_context():
        next_id = db.session.scalar(select(func.max(Tenant.id))) or 0
        assert not registry().tenant_storage_exists(next_id + 1)


def test_suspend_resume_and_drop(app, make_store, site):
    store = make_store(name="Lifecycle")
    host = f"{store.slug}.kameng.test"
    with app.app_context():
        set_status(store.slug, "suspended", reason="unpaid invoice")
    closed = site(host).get("/")
    assert closed.status_code == 503
    assert "暂停营业" in closed.get_data(as_text=True)
    assert site(host).get("/admin/login").status_code == 200  # the owner can still sign in
    with app.app_context():
        set_status(store.slug, "active")
    assert site(host).get("/").status_code == 200
    with app.app_context():
        drop_tenant(store.slug)
        assert not registry().tenant_storage_exists(store.id)
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(TenantDomain)
                .where(TenantDomain.tenant_id == store.id)
            )
            == 0
        )
    assert site(host).get("/").status_code == 404


def test_a_closed_store_shows_closed_everywhere(app, make_store, site):
    store = make_store()
    with app.app_context():
        set_status(store.slug, "closed")
    assert site(f"{store.slug}.kameng.test").get("/").status_code == 503
    assert site(f"{store.slug}.kameng.test").get("/admin/login").status_code == 503


def test_cli_manages_stores(app, runner):
    slug = unique_slug("cli")
    result = runner.invoke(
        args=[
            "tenants",
            "create",
            "--slug",
            slug,
            "--name",
            "CLI Store",
            "--owner-email",
            "cli@example.com",
            "--owner-password",
            "pass-word1",
        ]
    )
    assert result.exit_code == 0, result.output
    assert f"created store {slug}" in result.output

    again = runner.invoke(
        args=[
            "tenants",
            "create",
            "--slug",
            slug,
            "--name",
            "CLI Store",
            "--owner-email",
            "cli@example.com",
            "--owner-password",
            "pass-word1",
        ]
    )
    assert again.exit_code != 0
    assert "already taken" in again.output

    listing = runner.invoke(args=["tenants", "list"])
    assert slug in listing.output and "active" in listing.output

    assert runner.invoke(args=["tenants", "suspend", slug]).exit_code == 0
    assert "suspended" in runner.invoke(args=["tenants", "list"]).output
    assert runner.invoke(args=["tenants", "resume", slug]).exit_code == 0
    assert runner.invoke(args=["tenants", "drop", slug]).exit_code != 0  # needs --yes
    assert runner.invoke(args=["tenants", "drop", slug, "--yes"]).exit_code == 0
    assert slug not in runner.invoke(args=["tenants", "list"]).output
    assert runner.invoke(args=["tenants", "suspend", slug]).exit_code != 0


def test_cli_creates_a_platform_admin(runner):
    result = runner.invoke(
        args=["platform", "create-admin", "--email", "boss@example.com", "--password", "pass-word1"]
    )
    assert result.exit_code == 0, result.output
    weak = runner.invoke(
        args=["platform", "create-admin", "--email", "boss2@example.com", "--password", "short"]
    )
    assert weak.exit_code != 0 and "at least 8" in weak.output
