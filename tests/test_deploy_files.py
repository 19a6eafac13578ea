"""The deployment files in deploy/ stay true to the code: every setting is in the environment
example, the Caddyfile is one Caddy accepts, and no connection prepares statements server-side
(PgBouncer in transaction mode could not route them)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from deploy.prod_local import find_binary

ROOT = Path(__file__).resolve().parent.parent
SETTING_RE = re.compile(r'(?:environ\.get|_env_bool|_env_int)\(\s*"([A-Z_]+)"')


def test_the_environment_example_lists_every_setting():
    read = set(SETTING_RE.findall((ROOT / "app" / "config.py").read_text()))
    read |= set(SETTING_RE.findall((ROOT / "app" / "__init__.py").read_text()))
    example = (ROOT / "deploy" / "kameng.env.example").read_text()
    listed = set(re.findall(r"^#?([A-Z_]+)=", example, re.MULTILINE))
    assert "DATABASE_URL" in read and "SECRET_KEY" in read
    assert read - listed == set(), "add these to deploy/kameng.env.example"


def test_caddy_accepts_the_caddyfile(tmp_path):
    caddy = find_binary("caddy")
    if caddy is None:
        pytest.skip("caddy is not installed")
    caddyfile = ROOT / "deploy" / "Caddyfile"
    home = str(tmp_path)
    checked = subprocess.run(
        [caddy, "validate", "--adapter", "caddyfile", "--config", str(caddyfile)],
        env={"HOME": home, "XDG_DATA_HOME": home, "XDG_CONFIG_HOME": home},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    text = caddyfile.read_text()
    assert "ask http://127.0.0.1:8081/internal/tls-ask" in text
    assert "respond /internal/* 404" in text


def test_pgbouncer_pools_transactions():
    config = (ROOT / "deploy" / "pgbouncer.ini").read_text()
    assert re.search(r"^pool_mode = transaction$", config, re.MULTILINE)


@pytest.mark.postgres
def test_connections_never_prepare_statements_server_side(app):
    from tenants.engines import registry

    with app.app_context(), registry().platform().connect() as conn:
        assert conn.connection.driver_connection.prepare_threshold is None
