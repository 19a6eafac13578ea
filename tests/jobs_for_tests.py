"""Tiny jobs used by tests/test_jobs.py (importable by real worker processes)."""

import os

from tenants.context import require_tenant


def touch(path: str) -> None:
    with open(path, "w") as f:
        f.write("1")


def write_store_slug(path: str) -> None:
    with open(path, "w") as f:
        f.write(require_tenant().slug)


def count_periodic_run() -> None:
    from pathlib import Path

    from flask import current_app

    with (Path(current_app.config["INSTANCE_PATH"]) / "periodic-count").open("a") as f:
        f.write("x")


def write_pid(path: str) -> None:
    with open(path, "w") as f:
        f.write(str(os.getpid()))
