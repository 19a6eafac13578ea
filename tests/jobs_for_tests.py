"""Tiny jobs used by tests/test_jobs.py (importable by real worker processes)."""

import os

from tenants.context import require_tenant


def touch(path: str) -> None:
    with open(path, "w") as f:
        f.write("1")


def write_store_slug(path: str) -> None:
    with open(path, "w") as f:
        f.write(require_tenant().slug)


def append_line(path: str) -> None:
    with open(path, "a") as f:
        f.write("x\n")


def write_pid(path: str) -> None:
    with open(path, "w") as f:
        f.write(str(os.getpid()))
