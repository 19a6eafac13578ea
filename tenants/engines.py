"""Where each store's data lives: the ONLY module that knows which database dialect is in use.

PostgreSQL (production): one database; shared tables in schema `shared`, each store's tables in
schema `t_<id>`, reached through `schema_translate_map` on one pooled engine (never `SET
search_path`, which would leak across pooled connections and PgBouncer).

SQLite (embedded default): `instance/platform.db` holds the shared tables and each store has
`instance/tenants/t_<id>.db`; every connection ATTACHes the platform file as `shared`, so the same
`shared.<table>` SQL works on both. Rollback-journal mode (not WAL) makes a transaction that writes
both files atomic, and `BEGIN IMMEDIATE` serialises writers instead of failing on lock upgrades.

With no store bound, store tables point at a schema that does not exist, so a forgotten binding
fails loudly instead of reading another store's rows.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from flask import current_app
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.pool import QueuePool

UNBOUND_SCHEMA = "tenant_unbound"
EXTENSION_KEY = "kameng.engines"


def tenant_schema_name(tenant_id: int) -> str:
    return f"t_{int(tenant_id)}"


class EngineRegistry:
    """Builds and caches the engines of one application: the platform's and one per store."""

    def __init__(self, database_url: str, *, pool_size: int = 10, echo: bool = False):
        url = make_url(database_url)
        self.dialect = url.get_backend_name()
        self._lock = threading.Lock()
        self._tenant_engines: dict[int, Engine] = {}
        self._echo = echo
        if self.dialect == "sqlite":
            self.platform_file = Path(url.database).resolve()
            self.tenants_dir = self.platform_file.parent / "tenants"
            self.tenants_dir.mkdir(parents=True, exist_ok=True)
            # The main database of a platform connection is an empty in-memory one: shared tables
            # are found in the attached `shared`, store tables find nothing and fail.
            self._platform = self._sqlite_engine("sqlite://")
        elif self.dialect == "postgresql":
            self._base = create_engine(
                url,
                pool_size=pool_size,
                max_overflow=pool_size * 2,
                pool_pre_ping=True,
                echo=echo,
                # Server-side prepared statements break behind PgBouncer in transaction mode.
                connect_args={"prepare_threshold": None},
            )
            self._platform = self._base.execution_options(
                schema_translate_map={None: UNBOUND_SCHEMA}
            )
        else:
            raise ValueError(f"unsupported database: {self.dialect} (use PostgreSQL or SQLite)")

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    # -- engines ---------------------------------------------------------------------------------

    def platform(self) -> Engine:
        """The engine used when no store is bound: shared tables only."""
        return self._platform

    def for_tenant(self, tenant_id: int | None) -> Engine:
        if tenant_id is None:
            return self._platform
        engine = self._tenant_engines.get(tenant_id)
        if engine is not None:
            return engine
        with self._lock:
            engine = self._tenant_engines.get(tenant_id)
            if engine is None:
                if self.is_sqlite:
                    # mode=rw: a store whose file is gone fails instead of getting a new empty file.
                    path = self._tenant_file(tenant_id)
                    engine = self._sqlite_engine(f"sqlite:///file:{path}?mode=rw&uri=true")
                else:
                    engine = self._base.execution_options(
                        schema_translate_map={None: tenant_schema_name(tenant_id)}
                    )
                self._tenant_engines[tenant_id] = engine
        return engine

    def schema_for(self, tenant_id: int) -> str | None:
        """The store schema's name as the database sees it (None: the main database on SQLite)."""
        return None if self.is_sqlite else tenant_schema_name(tenant_id)

    def insert_ignoring_conflicts(self, table, *conflict_columns):
        """INSERT ... ON CONFLICT (columns) DO NOTHING, in this database's dialect."""
        if self.is_sqlite:
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert
        return insert(table).on_conflict_do_nothing(index_elements=list(conflict_columns))

    def bulk_insert_ignoring_conflicts(
        self, connection: Connection, table, rows: list[dict], *conflict_columns: str
    ) -> None:
        """Insert many rows fast, skipping those that conflict on `conflict_columns`.

        PostgreSQL: one statement per call, `INSERT ... SELECT * FROM unnest(arrays)`, so the
        server parses one short query instead of one per row. SQLite: executemany.
        """
        if not rows:
            return
        if self.is_sqlite:
            connection.execute(self.insert_ignoring_conflicts(table, *conflict_columns), rows)
            return
        columns = list(rows[0])
        dialect = connection.dialect
        schema = table.schema or connection.get_execution_options().get(
            "schema_translate_map", {}
        ).get(None)
        preparer = dialect.identifier_preparer
        qualified = (f"{preparer.quote_schema(schema)}." if schema else "") + preparer.quote(
            table.name
        )
        arrays = ", ".join(
            f"CAST(:{name} AS {table.c[name].type.compile(dialect=dialect)}[])" for name in columns
        )
        conflict = ", ".join(preparer.quote(c) for c in conflict_columns)
        statement = text(
            f"INSERT INTO {qualified} ({', '.join(preparer.quote(c) for c in columns)}) "
            f"SELECT * FROM unnest({arrays}) ON CONFLICT ({conflict}) DO NOTHING"
        )
        connection.execute(statement, {name: [row[name] for row in rows] for name in columns})

    # -- storage lifecycle -----------------------------------------------------------------------

    def create_shared_storage(self, connection: Connection) -> None:
        """Make sure the shared schema exists (SQLite: the attached file always does)."""
        if not self.is_sqlite:
            connection.execute(text('CREATE SCHEMA IF NOT EXISTS "shared"'))

    def create_tenant_storage(self, tenant_id: int) -> None:
        """Create the empty schema (SQLite: the empty file) of a new store."""
        if self.is_sqlite:
            path = self._tenant_file(tenant_id)
            if path.exists():
                raise FileExistsError(path)
            sqlite3.connect(path).close()
        else:
            with self._base.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{tenant_schema_name(tenant_id)}"'))

    def drop_tenant_storage(self, tenant_id: int) -> None:
        """Delete a store's schema and everything in it. Irreversible."""
        engine = self._tenant_engines.pop(tenant_id, None)
        if self.is_sqlite:
            if engine is not None:
                engine.dispose()
            path = self._tenant_file(tenant_id)
            for suffix in ("", "-journal"):
                Path(str(path) + suffix).unlink(missing_ok=True)
        else:
            with self._base.begin() as conn:
                conn.execute(
                    text(f'DROP SCHEMA IF EXISTS "{tenant_schema_name(tenant_id)}" CASCADE')
                )

    def tenant_storage_exists(self, tenant_id: int) -> bool:
        if self.is_sqlite:
            return self._tenant_file(tenant_id).exists()
        with self._base.connect() as conn:
            return bool(
                conn.execute(
                    text("SELECT 1 FROM pg_namespace WHERE nspname = :n"),
                    {"n": tenant_schema_name(tenant_id)},
                ).scalar()
            )

    def dispose(self, close: bool = True) -> None:
        """Drop pooled connections (close=False in a forked child: leave the parent's alone)."""
        if self.is_sqlite:
            for engine in self._tenant_engines.values():
                engine.dispose(close=close)
            self._platform.dispose(close=close)
        else:
            self._base.dispose(close=close)  # store engines share this pool

    # -- SQLite details --------------------------------------------------------------------------

    def _tenant_file(self, tenant_id: int) -> Path:
        return self.tenants_dir / f"{tenant_schema_name(tenant_id)}.db"

    def _sqlite_engine(self, url: str) -> Engine:
        engine = create_engine(
            url,
            poolclass=QueuePool,
            pool_size=5,
            max_overflow=10,
            echo=self._echo,
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        platform_file = str(self.platform_file)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record):
            # Let SQLAlchemy, not the driver, decide when transactions begin (see "begin" below).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("ATTACH DATABASE ? AS shared", (platform_file,))
            cursor.execute("PRAGMA shared.journal_mode = DELETE")
            cursor.execute("PRAGMA main.journal_mode = DELETE")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(connection):
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine


def registry() -> EngineRegistry:
    return current_app.extensions[EXTENSION_KEY]


def engine_for(tenant_id: int | None) -> Engine:
    """The engine for a store (None = the platform) of the current application."""
    return registry().for_tenant(tenant_id)


def init_app(app) -> EngineRegistry:
    reg = EngineRegistry(app.config["DATABASE_URL"], pool_size=app.config.get("DB_POOL_SIZE", 10))
    app.extensions[EXTENSION_KEY] = reg
    return reg
