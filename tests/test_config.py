"""Settings: embedded defaults, secrets generated once and never regenerated silently."""

import pytest

from app.config import ConfigError, load_config


def test_embedded_defaults(tmp_path, monkeypatch):
    for name in (
        "DATABASE_URL",
        "REDIS_URL",
        "PLATFORM_DOMAIN",
        "SECRET_KEY",
        "DATA_ENCRYPTION_KEYS",
    ):
        monkeypatch.delenv(name, raising=False)
    config = load_config(tmp_path)
    assert config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'platform.db'}"
    assert config["REDIS_URL"] is None and config["JOBS_IN_PROCESS"] is True
    assert config["PLATFORM_DOMAIN"] == "localhost"
    assert len(config["SECRET_KEY"]) > 40
    assert config["DATA_ENCRYPTION_KEYS"].startswith("k1:")
    assert config["RATELIMIT_STORAGE_URI"] == "memory://"  # rate limits counted in memory


def test_a_named_rate_limit_is_set_from_the_environment(tmp_path, monkeypatch):
    from app.web.ratelimits import LIMITS

    monkeypatch.setenv("RATE_LIMIT_CHECKOUT", "99 per minute")
    config = load_config(tmp_path)
    assert config["RATE_LIMIT_CHECKOUT"] == "99 per minute"
    assert "checkout" in LIMITS
    assert config["RATELIMIT_IN_MEMORY_FALLBACK_ENABLED"] is True  # Redis away: keep serving


def test_secrets_are_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATA_ENCRYPTION_KEYS", raising=False)
    first = load_config(tmp_path)
    second = load_config(tmp_path)
    assert first["SECRET_KEY"] == second["SECRET_KEY"]
    assert first["DATA_ENCRYPTION_KEYS"] == second["DATA_ENCRYPTION_KEYS"]


def test_a_lost_secret_is_not_regenerated_once_data_exists(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATA_ENCRYPTION_KEYS", raising=False)
    load_config(tmp_path)
    (tmp_path / "platform.db").write_bytes(b"")
    (tmp_path / "data_keys").unlink()
    with pytest.raises(ConfigError, match="data_keys"):
        load_config(tmp_path)


def test_environment_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/k")
    monkeypatch.setenv("REDIS_URL", "redis://r:6379/0")
    monkeypatch.setenv("PLATFORM_DOMAIN", "Kameng.Example")
    monkeypatch.setenv("SECRET_KEY", "s")
    monkeypatch.setenv("DATA_ENCRYPTION_KEYS", "k1:abc")
    config = load_config(tmp_path)
    assert config["DATABASE_URL"] == "postgresql+psycopg://u@db/k"
    assert config["JOBS_IN_PROCESS"] is False
    assert config["RATELIMIT_STORAGE_URI"] == "redis://r:6379/0"
    assert config["PLATFORM_DOMAIN"] == "kameng.example"
