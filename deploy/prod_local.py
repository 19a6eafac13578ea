"""`make prod-local`: Kameng in its production shape on this machine, everything on loopback.

    Caddy (internal CA, on-demand TLS asking the app) → two gunicorn processes
        → PgBouncer (transaction pooling) → PostgreSQL
    Redis (a private redis-server); two `python -m workers` processes; `python -m workers.schedule`

Everything comes from Debian packages (caddy, pgbouncer, redis-server, an existing PostgreSQL
server) and the project's virtualenv; the system services are never used: each binary runs with
a config written under the run's folder (default `instance/prod-local`), on free ports. The run
creates its own database (default `kameng_prod_local`), migrates it, seeds the demo, prints the
URLs and keeps running until Ctrl-C. tests/test_production_shape.py drives the same class.

    python -m deploy.prod_local [--dir DIR] [--database NAME] [--domain localhost]
                                [--fresh] [--drop]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("KAMENG_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
BINARIES = ("caddy", "pgbouncer", "redis-server")
SBIN = ("/usr/sbin", "/usr/local/sbin", "/sbin")


class ProdLocalError(RuntimeError):
    """Something this machine lacks or a process that would not start; the message says which."""


def find_binary(name: str) -> str | None:
    """A Debian binary, also where root's PATH has it but a user's may not (/usr/sbin)."""
    found = shutil.which(name)
    if found:
        return found
    for folder in SBIN:
        candidate = Path(folder) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def missing_binaries() -> list[str]:
    return [name for name in BINARIES if find_binary(name) is None]


def free_ports(count: int) -> list[int]:
    """`count` distinct free loopback ports (held open together so none is handed out twice)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def wait_until(condition, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise ProdLocalError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Ports:
    https: int
    http: int
    ask: int
    pgbouncer: int
    redis: int
    web: list[int]
    simulator: int


@dataclass
class Process:
    """One child process in its own process group, its output in `log`."""

    name: str
    popen: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signum)

    def kill(self) -> None:
        """SIGKILL the process and everything it started (gunicorn's workers): a crash."""
        self.signal_group(signal.SIGKILL)
        self.popen.wait(timeout=10)

    def stop(self, timeout: float = 15) -> None:
        if not self.alive():
            return  # killed already (its whole group), or exited
        self.signal_group(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self.signal_group(signal.SIGKILL)  # a child that outlived its leader, if any

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


@dataclass
class ProdLocal:
    """The production shape on loopback. start() brings it up, stop() takes it down."""

    folder: Path
    database: str = "kameng_prod_local"
    platform_domain: str = "localhost"
    postgres_url: str = PG_ADMIN_URL
    web_processes: int = 2
    web_workers: int = 2
    rq_workers: int = 2
    run_simulator: bool = True
    fresh: bool = False
    # Settings for every Kameng process on top of the production-shaped ones below.
    settings: dict = field(default_factory=dict)
    processes: dict[str, Process] = field(default_factory=dict)
    rq_names: dict[str, str] = field(default_factory=dict)  # worker1 → its name in RQ
    ports: Ports | None = None

    def __post_init__(self):
        self.folder = Path(self.folder).resolve()

    # -- what clients need ---------------------------------------------------------------------

    @property
    def root_ca(self) -> Path:
        """Caddy's internal root certificate: trust it to reach the HTTPS sites."""
        return self.folder / "caddy" / "data" / "pki" / "authorities" / "local" / "root.crt"

    def url(self, host: str, path: str = "/") -> str:
        return f"https://{host}:{self.ports.https}{path}"

    @property
    def database_url(self) -> str:
        """What the app uses: the database through PgBouncer."""
        return f"postgresql://{self._pg_user}@127.0.0.1:{self.ports.pgbouncer}/{self.database}"

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.ports.redis}/0"

    def app_settings(self) -> dict[str, str]:
        """Every Kameng process's environment (the same on web, workers and scheduler)."""
        values = {
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "PLATFORM_DOMAIN": self.platform_domain,
            "PREFERRED_URL_SCHEME": "https",
            "PUBLIC_PORT": str(self.ports.https),
            "TRUSTED_PROXIES": "1",
            "SESSION_COOKIE_SECURE": "true",
            "HSTS_SECONDS": "0",  # a browser would remember it for every *.localhost port
            "KAMENG_INSTANCE_PATH": str(self.folder / "instance"),
            "LOG_FORMAT": "json",
            # Local conveniences, never on a real server: anyone may approve a sandbox payment,
            # and owners sign in with the demo's password alone.
            "SANDBOX_PAYMENTS": "true",
            "REQUIRE_OWNER_TWO_FACTOR": "false",
            **self._secrets(),
        }
        values.update({name: str(value) for name, value in self.settings.items()})
        return values

    def env(self, **extra) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.app_settings())
        env.update(extra)
        env["PYTHONUNBUFFERED"] = "1"
        return env

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> ProdLocal:
        missing = missing_binaries()
        if missing:
            raise ProdLocalError(
                f"missing {', '.join(missing)}: apt-get install -y caddy pgbouncer redis-server"
            )
        for name in ("logs", "instance", "caddy", "pgbouncer", "redis"):
            (self.folder / name).mkdir(parents=True, exist_ok=True)
        https, http, ask, pgbouncer, redis, simulator, *web = free_ports(6 + self.web_processes)
        self.ports = Ports(https, http, ask, pgbouncer, redis, web, simulator)
        try:
            self._start_redis()
            self._create_database()
            self._start_pgbouncer()
            self._migrate()
            for index, port in enumerate(self.ports.web, start=1):
                self._start_web(index, port)
            for index, port in enumerate(self.ports.web, start=1):
                wait_until(
                    lambda p=port: self._answers(f"http://127.0.0.1:{p}/healthz"),
                    60,
                    f"web{index} on :{port} ({self.processes[f'web{index}'].log})",
                )
            self._start_caddy()
            for index in range(1, self.rq_workers + 1):
                rq_name = f"prod-local-{index}-{secrets.token_hex(3)}"
                self.rq_names[f"worker{index}"] = rq_name
                self._spawn(f"worker{index}", [sys.executable, "-m", "workers", "--name", rq_name])
            self._spawn("scheduler", [sys.executable, "-m", "workers.schedule"])
            if self.run_simulator:
                self._spawn("simulator", [sys.executable, "-m", "workers.simulator",
                                          "--port", str(self.ports.simulator)])  # fmt: skip
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, drop_database: bool = False) -> None:
        """Stop every process this run started (newest first), then drop the database if asked."""
        for process in reversed(list(self.processes.values())):
            process.stop()
        self.processes.clear()
        if drop_database:
            self.drop_database()

    def __enter__(self) -> ProdLocal:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def kill(self, name: str) -> None:
        """SIGKILL one process and its children (a crashed machine or an OOM kill)."""
        self.processes[name].kill()

    # -- the pieces ------------------------------------------------------------------------------

    @property
    def _pg_user(self) -> str:
        return urlsplit(self.postgres_url).username or "postgres"

    def _secrets(self) -> dict[str, str]:
        """Generated once per run folder and handed to every process (never generated by the
        processes themselves: five of them starting at once would each invent different keys)."""
        path = self.folder / "secrets.json"
        if path.exists():
            return json.loads(path.read_text())
        values = {
            "SECRET_KEY": secrets.token_urlsafe(48),
            "DATA_ENCRYPTION_KEYS": "k1:"
            + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            "DATA_HMAC_KEY": secrets.token_urlsafe(32),
        }
        path.write_text(json.dumps(values, indent=1))
        path.chmod(0o600)
        return values

    def _spawn(self, name: str, command: list[str], env: dict | None = None) -> Process:
        log = self.folder / "logs" / f"{name}.log"
        with open(log, "ab") as out:
            popen = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env or self.env(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # its own process group: kill() takes its children too
            )
        process = Process(name, popen, log)
        self.processes[name] = process
        return process

    def _check_alive(self, name: str) -> None:
        process = self.processes[name]
        if not process.alive():
            raise ProdLocalError(f"{name} exited ({process.popen.returncode}):\n{process.tail()}")

    def _start_redis(self) -> None:
        self._spawn("redis", [
            find_binary("redis-server"), "--port", str(self.ports.redis), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "no", "--dir", str(self.folder / "redis"),
        ])  # fmt: skip
        wait_until(lambda: port_open(self.ports.redis), 15, "redis-server")

    def _admin_connection(self):
        import psycopg

        return psycopg.connect(self.postgres_url, autocommit=True, connect_timeout=5)

    def _create_database(self) -> None:
        with self._admin_connection() as conn:
            if self.fresh:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)
            ).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{self.database}"')

    def drop_database(self) -> None:
        with self._admin_connection() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def _start_pgbouncer(self) -> None:
        """Transaction pooling, as in deploy/pgbouncer.ini; trust on loopback instead of SCRAM.
        Logs go to stderr (our log file) and no unix socket or pid file is written, so the
        process may drop root for the postgres user without needing a writable folder."""
        upstream = urlsplit(self.postgres_url)
        config = self.folder / "pgbouncer" / "pgbouncer.ini"
        lines = [
            "[databases]",
            f"{self.database} = host={upstream.hostname or '127.0.0.1'} "
            f"port={upstream.port or 5432} dbname={self.database} user={self._pg_user}",
            "",
            "[pgbouncer]",
            "listen_addr = 127.0.0.1",
            f"listen_port = {self.ports.pgbouncer}",
            "unix_socket_dir =",
            "auth_type = any",
            "pool_mode = transaction",
            "max_client_conn = 500",
            "default_pool_size = 10",
            "reserve_pool_size = 5",
            "server_reset_query =",
            "ignore_startup_parameters = extra_float_digits",
            f"admin_users = {self._pg_user}",
            "log_connections = 0",
            "log_disconnections = 0",
        ]
        if os.geteuid() == 0:
            lines.append("user = postgres")  # pgbouncer refuses to run as root
        config.write_text("\n".join(lines) + "\n")
        config.chmod(0o644)
        self._spawn("pgbouncer", [find_binary("pgbouncer"), str(config)])
        wait_until(lambda: port_open(self.ports.pgbouncer), 15, "pgbouncer")
        self._check_alive("pgbouncer")

    def _flask(self, *args: str) -> str:
        command = [sys.executable, "-m", "flask", "--app", "wsgi", *args]
        done = subprocess.run(command, cwd=ROOT, env=self.env(), capture_output=True, text=True)
        with open(self.folder / "logs" / "cli.log", "a") as log:
            log.write(f"$ flask {' '.join(args)}\n{done.stdout}{done.stderr}\n")
        if done.returncode != 0:
            raise ProdLocalError(f"flask {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
        return done.stdout

    def _migrate(self) -> None:
        """Shared schema first, then every store schema (the upgrade order of docs/operations)."""
        self._flask("db", "upgrade")
        self._flask("tenants", "migrate", "--parallel", "2")

    def _start_web(self, index: int, port: int) -> None:
        metrics = self.folder / f"metrics-web{index}"
        env = self.env(
            GUNICORN_BIND=f"127.0.0.1:{port}",
            GUNICORN_WORKERS=str(self.web_workers),
            GUNICORN_LOGLEVEL="info",
            PROMETHEUS_MULTIPROC_DIR=str(metrics),
        )
        metrics.mkdir(exist_ok=True)
        config = str(ROOT / "deploy" / "gunicorn.conf.py")
        self._spawn(
            f"web{index}", [sys.executable, "-m", "gunicorn", "-c", config, "wsgi:app"], env
        )

    def _answers(self, url: str, host: str | None = None) -> bool:
        request = urllib.request.Request(url, headers={"Host": host or self.platform_domain})
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                return response.status == 200
        except (OSError, urllib.error.URLError):
            return False

    def caddyfile(self) -> str:
        """deploy/Caddyfile's shape with the local differences: internal CA instead of ACME,
        high ports, storage in the run folder, no admin endpoint."""
        upstreams = " ".join(f"127.0.0.1:{port}" for port in self.ports.web)
        apex = self.platform_domain
        proxy = f"""reverse_proxy {upstreams} {{
		lb_policy round_robin
		lb_try_duration 10s
		lb_try_interval 250ms
		fail_duration 30s
		max_fails 1
		health_uri /healthz
		health_interval 2s
		health_timeout 2s
		health_headers {{
			Host {apex}
		}}
		header_up X-Request-ID {{http.request.uuid}}
	}}"""
        ask_proxy = proxy.replace(
            "header_up X-Request-ID",
            f"header_up Host {apex}\n\t\theader_up X-Forwarded-Host {apex}\n\t\t"
            "header_up X-Request-ID",
        )
        return f"""{{
	admin off
	skip_install_trust
	http_port {self.ports.http}
	https_port {self.ports.https}
	storage file_system {{
		root {self.folder / "caddy" / "data"}
	}}
	on_demand_tls {{
		ask http://127.0.0.1:{self.ports.ask}/internal/tls-ask
	}}
}}

# Internal only: Caddy's "ask" reaches the app as a request to the apex.
http://:{self.ports.ask} {{
	bind 127.0.0.1
	{ask_proxy}
}}

# The apex: a certificate at start.
{apex} {{
	bind 127.0.0.1
	tls internal
	encode zstd gzip
	respond /internal/* 404
	{proxy}
}}

# Store subdomains and custom domains: a certificate on first use, if the app says yes.
https:// {{
	bind 127.0.0.1
	tls internal {{
		on_demand
	}}
	encode zstd gzip
	respond /internal/* 404
	{proxy}
}}
"""

    def _start_caddy(self) -> None:
        caddyfile = self.folder / "caddy" / "Caddyfile"
        caddyfile.write_text(self.caddyfile())
        home = self.folder / "caddy"
        env = self.env(HOME=str(home), XDG_DATA_HOME=str(home / "xdg-data"),
                       XDG_CONFIG_HOME=str(home / "xdg-config"))  # fmt: skip
        self._spawn(
            "caddy",
            [find_binary("caddy"), "run", "--config", str(caddyfile), "--adapter", "caddyfile"],
            env,
        )
        wait_until(lambda: self.root_ca.exists() and port_open(self.ports.https), 30, "caddy")
        self._check_alive("caddy")
        context = ssl.create_default_context(cafile=str(self.root_ca))

        def apex_answers() -> bool:
            # The apex's name may not resolve (kameng.test): connect to loopback, SNI the apex.
            try:
                with (
                    socket.create_connection(("127.0.0.1", self.ports.https), timeout=3) as raw,
                    context.wrap_socket(raw, server_hostname=self.platform_domain) as tls,
                ):
                    tls.sendall(
                        f"GET /healthz HTTP/1.1\r\nHost: {self.platform_domain}\r\n"
                        "Connection: close\r\n\r\n".encode()
                    )
                    return tls.recv(64).startswith(b"HTTP/1.1 200")
            except OSError:
                return False

        wait_until(apex_answers, 30, f"https://{self.platform_domain} through caddy")

    # -- demo ------------------------------------------------------------------------------------

    def seed_demo(self) -> str:
        """The demo platform admin, stores and catalog; its top-ups go to this run's simulator."""
        output = self._flask("demo", "seed")
        if self.run_simulator:
            self._point_demo_supplier_at(f"http://127.0.0.1:{self.ports.simulator}")
        return output

    def _point_demo_supplier_at(self, url: str) -> None:
        command = [sys.executable, "-c", POINT_DEMO_SUPPLIER, url]
        subprocess.run(command, cwd=ROOT, env=self.env(), check=True, capture_output=True)


# Run in a child with the run's settings: the demo's simulator supplier listens on this run's port.
POINT_DEMO_SUPPLIER = """
import sys
from sqlalchemy import select
from app import create_app
from app.catalog.models import Supplier
from app.demo import DEMO_SIMULATOR
from app.extensions import db
from app.suppliers.services import configure_connector, connector_settings
app = create_app()
with app.app_context():
    for supplier in db.session.scalars(select(Supplier).where(Supplier.connector == "simulator")):
        if connector_settings(supplier).get("base_url") == DEMO_SIMULATOR["base_url"]:
            configure_connector(supplier, "simulator", {"base_url": sys.argv[1]})
"""


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.prod_local",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dir", default=str(ROOT / "instance" / "prod-local"))
    parser.add_argument("--database", default="kameng_prod_local")
    parser.add_argument("--domain", default="localhost", help="PLATFORM_DOMAIN (the apex)")
    parser.add_argument("--fresh", action="store_true", help="drop the database first")
    parser.add_argument("--drop", action="store_true", help="drop the database on exit")
    args = parser.parse_args(argv)

    shape = ProdLocal(Path(args.dir), database=args.database, platform_domain=args.domain,
                      fresh=args.fresh)  # fmt: skip
    print(f"Starting Kameng's production shape in {shape.folder} …", flush=True)
    try:
        shape.start()
        seeded = shape.seed_demo()
    except ProdLocalError as error:
        shape.stop()
        raise SystemExit(f"prod-local: {error}") from None
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    ports = shape.ports
    upstream = shape.postgres_url.rsplit("/", 1)[0]
    print(seeded)
    print(f"Processes (logs in {shape.folder / 'logs'}):")
    print(f"  caddy       {shape.url(shape.platform_domain)}  (ask :{ports.ask})")
    print(f"  gunicorn    {', '.join(f'127.0.0.1:{p}' for p in ports.web)}")
    print(f"  pgbouncer   127.0.0.1:{ports.pgbouncer} (transactions) → {upstream}/{shape.database}")
    print(f"  redis       127.0.0.1:{ports.redis}")
    print(f"  workers     {shape.rq_workers} × python -m workers, python -m workers.schedule")
    print(f"  simulator   http://127.0.0.1:{ports.simulator} (the demo's top-up supplier)")
    print("Caddy's own CA signs the certificates: trust it, or")
    print(f"  curl --cacert {shape.root_ca} {shape.url(shape.platform_domain, '/readyz')}")
    print("Browsers resolve *.localhost here; other domains need a hosts entry or --resolve.")
    kept = "drops the database" if args.drop else "keeps the database (--fresh starts over)"
    print(f"Ctrl-C stops everything and {kept}.", flush=True)
    reported: set[str] = set()
    try:
        while not stopping:
            for name, process in shape.processes.items():
                if not process.alive() and name not in reported:
                    reported.add(name)
                    print(f"!! {name} exited ({process.popen.returncode}); see {process.log}")
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    print("Stopping …", flush=True)
    shape.stop(drop_database=args.drop)


if __name__ == "__main__":
    main()
