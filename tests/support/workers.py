"""Real `python -m workers` processes and a private Redis server, for fault tests."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def children(pid: int) -> list[int]:
    """Direct child processes of `pid` (an RQ worker's work horse)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(p) for p in handle.read().split()]
    except OSError:
        return []


def dead(pid: int) -> bool:
    """Gone, or a zombie (an orphan waits for init to reap it)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def wait_until(condition, timeout: float = 20.0, interval: float = 0.1, what: str = ""):
    """Poll `condition()` until it returns something truthy; fail the test after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what or condition}")
        time.sleep(interval)


class WorkerProcess:
    """`python -m workers` on the given environment, its output in `log_path`.

    Started with --fork, so a job runs in a forked "work horse" the tests can see in flight
    (horse_pids); it is in its own process group, so killing the worker alone would leave the
    job running: kill() takes both down at once, as a crash of the machine or an out-of-memory
    kill of the container would. (The default, non-forking worker dies with its job.)"""

    def __init__(self, env: dict, log_path: Path, queues: tuple[str, ...] = ()):
        self.env, self.log_path, self.queues = env, log_path, queues
        self.process: subprocess.Popen | None = None

    def start(self) -> WorkerProcess:
        command = [sys.executable, "-m", "workers", "--fork"]
        if self.queues:
            command += ["--queues", *self.queues]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    def horse_pids(self) -> list[int]:
        return children(self.pid) if self.alive() else []

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the worker and its work horse: no clean-up code runs anywhere."""
        if self.process is None:
            return
        horses = self.horse_pids()
        for pid in (self.pid, *horses):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        for pid in horses:
            wait_until(lambda p=pid: dead(p), 10, 0.02, f"process {pid} to die")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.kill()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """A redis-server of our own on a free port, without persistence: a restart empties it,
    which is the worst case for queued jobs. Never the shared server other tests use."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        from redis import Redis

        client = Redis.from_url(self.url, socket_connect_timeout=0.2)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except Exception:
                return False

        wait_until(answers, 10, 0.05, "the private redis-server")
        client.close()
        return self

    def crash(self) -> None:
        """SIGKILL: whatever it held is gone."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def restart(self) -> None:
        self.crash()
        self.start()

    def __enter__(self) -> PrivateRedis:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.crash()
