"""Database engine, sessions and the unit of work: one transaction per command; what the health
check reads to tell a working database from an unreachable or damaged one."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError, DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from service.models import (
    ApiToken,
    Base,
    Event,
    Holiday,
    OpenTask,
    Organization,
    Plan,
    ProcessVersion,
    RoleMembership,
    User,
)

MIGRATIONS = Path(__file__).parent / "migrations"
#: The tables the health check reads a row of: those every page, command and timer sweep needs.
MAIN_TABLES: tuple[type[Base], ...] = (Organization, User, RoleMembership, ApiToken, ProcessVersion, Plan, OpenTask,
                                       Event, Holiday)
#: What a damaged SQLite file answers (quick_check's lines), kept short for a probe's answer.
MAX_INTEGRITY_LINES = 5


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
        #: the last integrity check's verdict ("ok" or what is damaged); None until one ran. Damage
        #: does not heal, so a damaged verdict is reported by every later probe until a deep check
        #: (after a restore) finds the file whole again.
        self.integrity: str | None = None

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

    # --- Health -------------------------------------------------------------------------
    def check_integrity(self) -> str:
        """The whole file checked, on SQLite (``PRAGMA quick_check``: every page and record, in time
        proportional to the file; run at start and on demand, not on every probe). PostgreSQL has
        no such statement (its data checksums and amcheck are the operator's): every main table is
        counted, which reads the table or its primary key's index. "ok" or what is wrong;
        remembered in ``integrity``.
        :raise OperationalError: the database cannot be reached."""
        try:
            with self.engine.connect() as connection:
                if self.engine.dialect.name == "sqlite":
                    lines = [row[0] for row in connection.exec_driver_sql("PRAGMA quick_check")]
                    verdict = "ok" if lines == ["ok"] else "damaged: " + "; ".join(lines[:MAX_INTEGRITY_LINES])
                else:
                    for model in MAIN_TABLES:
                        connection.execute(select(func.count()).select_from(model))
                    verdict = "ok"
        except OperationalError as err:
            if not _is_damage(err):
                raise
            verdict = f"damaged: {_reason(err)}"
        except DatabaseError as err:  # "database disk image is malformed", "file is not a database"
            verdict = f"damaged: {_reason(err)}"
        self.integrity = verdict
        return verdict

    def check_at_start(self) -> None:
        """On SQLite, the integrity check once when a process starts, so a damaged file is reported
        by the cheap probe from the first request (an unreachable database is the probe's to say)."""
        if self.engine.dialect.name == "sqlite":
            with contextlib.suppress(OperationalError):
                self.check_integrity()

    def read_main_tables(self) -> str:
        """The newest row of each main table, every column read through to the driver: cheap enough
        for every probe (the values are not decoded: a stored process is hundreds of kB of JSON),
        and it reads the pages the next request would. "ok" or the first table that cannot be read,
        and why. :raise OperationalError: the database cannot be reached."""
        with self.engine.connect() as connection:
            for model in MAIN_TABLES:
                table, key = str(model.__tablename__), model.__mapper__.primary_key[0].name
                try:  # names from our own models, never from a request
                    connection.exec_driver_sql(f"SELECT * FROM {table} ORDER BY {key} DESC LIMIT 1").fetchall()
                except OperationalError as err:
                    if not _is_damage(err):
                        raise
                    return f"damaged: {table}: {_reason(err)}"
                except DatabaseError as err:
                    return f"damaged: {table}: {_reason(err)}"
                finally:
                    connection.rollback()  # on PostgreSQL a failed statement ends the transaction
        return "ok"

    def failure(self, err: BaseException) -> str:
        """What a probe says of an error met on the database: "damaged: ..." or "unreachable: ..."."""
        if isinstance(err, OperationalError) and not _is_damage(err):
            return f"unreachable: {type(err).__name__}"  # the driver's words may name hosts: not for a public probe
        if isinstance(err, DBAPIError):
            return f"damaged: {_reason(err)}"
        return f"unreachable: {type(err).__name__}"

    def unavailable(self, err: BaseException) -> bool:
        """``err`` (or its cause) says the database cannot be reached or is damaged: the system is
        unavailable (503), not wrong about the request. Constraint and data errors are not this:
        they mean a check is missing in the code."""
        seen: BaseException | None = err
        for _ in range(8):  # a chain of causes is short; never follow a cycle
            if seen is None:
                return False
            if isinstance(seen, OperationalError | DisconnectionError) or type(seen) is DatabaseError:
                return True
            if isinstance(seen, DBAPIError):
                return False
            seen = seen.__cause__ or seen.__context__
        return False

    def dispose(self) -> None:
        self.engine.dispose()


def _is_damage(err: OperationalError) -> bool:
    """SQLite reports some damage as an operational error ("disk I/O error" of a truncated file)."""
    text = str(err.orig or err).lower()
    return any(word in text for word in ("malformed", "disk i/o", "not a database", "corrupt"))


def _reason(err: BaseException) -> str:
    """The driver's own first line (not SQLAlchemy's statement and link), for a probe's answer."""
    cause = getattr(err, "orig", None) or err
    return f"{type(cause).__name__}: {(str(cause).strip().splitlines() or [''])[0]}"[:300]
