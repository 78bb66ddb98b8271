"""Database engine, sessions and the unit of work: one transaction per command."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection, _record):
            # Let SQLAlchemy, not the driver, open transactions, so writers can BEGIN IMMEDIATE:
            # two commands on one plan then queue for the lock instead of failing mid-way.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            # In WAL mode NORMAL never corrupts the database; a power cut may lose the last
            # commits, not an application crash. It saves an fsync per command.
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            immediate = conn.get_execution_options().get("phaen_write")
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    engine = create_engine(url)
    _ping_connections_left_idle(engine, PING_AFTER_IDLE_SECONDS)
    return engine


PING_AFTER_IDLE_SECONDS = 5.0


def _ping_connections_left_idle(engine: Engine, idle_seconds: float) -> None:
    """Check a pooled connection before use when it sat unused for a while (the database may have
    restarted or dropped it), and hand out a fresh one if it is dead. A connection in steady use
    is not pinged: that would be one more round trip per request for nothing."""

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection, record, _proxy):
        if time.monotonic() - record.info.get("returned_at", 0.0) >= idle_seconds:
            try:
                with dbapi_connection.cursor() as cursor:
                    cursor.execute("SELECT 1")
                dbapi_connection.rollback()  # leave no transaction open behind the ping
            except Exception as err:
                raise DisconnectionError("a pooled connection was dead; the pool opens a fresh one") from err

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_connection, record):
        record.info["returned_at"] = time.monotonic()


class Database:
    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self._autocommit_reads = self.engine.dialect.name == "postgresql"
        self._head: str | None = None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextlib.contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction that commits when the block ends and rolls back on any error."""
        with self._sessions() as session:
            session.connection(execution_options={"phaen_write": True})
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        with self._sessions() as session:
            if self._autocommit_reads:
                # PostgreSQL gives each statement its own snapshot in READ COMMITTED anyway, so a
                # read needs no transaction: this saves its BEGIN and ROLLBACK round trips, and
                # keeps the driver's prepared statements (psycopg drops them on ROLLBACK).
                session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            yield session
            session.rollback()

    def alembic_config(self) -> Config:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        return config

    def migrate(self, revision: str = "head") -> None:
        with self.engine.begin() as connection:
            config = self.alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

    def downgrade(self, revision: str) -> None:
        with self.engine.begin() as connection:
            config = self.alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, revision)

    def migrations_current(self) -> bool:
        """The database is at the code's head revision: one query (the head is read from the
        migration scripts once, as a load balancer asks every few seconds)."""
        if self._head is None:
            self._head = ScriptDirectory.from_config(self.alembic_config()).get_current_head()
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision() == self._head

    def dispose(self) -> None:
        self.engine.dispose()
