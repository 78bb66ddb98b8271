"""The database tables (SQLAlchemy 2 typed models). Alembic migrations in service/migrations
create them; nothing here is SQLite- or PostgreSQL-specific."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

GENESIS_HASH = "0" * 64  # the previous hash of a plan's first event


class UtcDateTime(TypeDecorator):
    """Aware UTC datetimes in and out, whatever the database keeps."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:  # SQLite keeps no offset
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UtcDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Organization(Base):
    __tablename__ = "organizations"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    province: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime]
    type: Mapped[str] = mapped_column(String(20), default="", server_default="")  # commands/administration.TYPES
    district: Mapped[str] = mapped_column(String(100), default="", server_default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")  # deactivated: its users too


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]

    organization: Mapped[Organization | None] = relationship()
    memberships: Mapped[list[RoleMembership]] = relationship(back_populates="user", cascade="all, delete-orphan")


class RoleMembership(Base):
    """A user holds a role in an organization (an auditor may hold it in several); without an
    organization the role is national: it reaches every organization (admin, auditor, designer)."""

    __tablename__ = "role_memberships"
    __table_args__ = (UniqueConstraint("user_id", "organization_id", "role"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    role: Mapped[str] = mapped_column(String(64))

    user: Mapped[User] = relationship(back_populates="memberships")


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256, never the token
    hint: Mapped[str] = mapped_column(String(8), default="", server_default="")  # its last characters, to tell it
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]  # refused from then on, like an unknown token
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(64))

    user: Mapped[User] = relationship()


class WebSession(Base):
    """A signed-in browser. The cookie names a random key whose digest is kept here, so the server
    can end one session (log-out) or all of a user's (password change, deactivation) even though
    the cookie itself stays valid until it times out."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 of the key in the cookie
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class LoginFailure(Base):
    """Wrong passwords given for one typed user name, whether or not a user has it: an unknown
    name counts and locks exactly like a known one, so the answers never tell them apart. The
    name is kept as a digest (people type passwords into the name field)."""

    __tablename__ = "login_failures"
    name_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # in a row, since the last good log-in
    locked_until: Mapped[datetime | None]
    last_failed_at: Mapped[datetime] = mapped_column(index=True)  # forgotten a while after


class LoginThrottle(Base):
    """Failed log-ins from one client address in the current window (every web node counts here)."""

    __tablename__ = "login_throttle"
    address_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_started_at: Mapped[datetime] = mapped_column(index=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)


class ProcessVersion(Base):
    """An immutable published process: BPMN, forms and lane map, and the parsed spec stored once."""

    __tablename__ = "process_versions"
    __table_args__ = (UniqueConstraint("name", "version"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer)
    process_id: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300), default="")
    bpmn_files: Mapped[dict[str, Any]]  # filename -> XML text
    forms: Mapped[dict[str, Any]]  # filename -> JSON Schema
    lane_roles: Mapped[dict[str, Any]]  # lane name -> role
    meta: Mapped[dict[str, Any]]
    spec_json: Mapped[str] = mapped_column(Text)
    elements: Mapped[dict[str, Any]]
    digest: Mapped[str] = mapped_column(String(64))
    published_at: Mapped[datetime]
    published_by: Mapped[str] = mapped_column(String(64), default="")


class Plan(Base):
    """One operational plan of one organization and fiscal year: an instance of a process."""

    __tablename__ = "plans"
    __table_args__ = (Index("ix_plans_next_timer_at", "next_timer_at"),
                      Index("ix_plans_organization_year", "organization_id", "fiscal_year", "id"),
                      Index("ix_plans_fiscal_year", "fiscal_year", "id"))  # the plan lists' order
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    fiscal_year: Mapped[int] = mapped_column(Integer)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    status: Mapped[str] = mapped_column(String(16), default="running")
    state_json: Mapped[str] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)  # optimistic concurrency counter
    next_timer_at: Mapped[datetime | None]
    deadlines: Mapped[list[Any]]
    started_at: Mapped[datetime]
    started_by: Mapped[str] = mapped_column(String(64))
    completed_at: Mapped[datetime | None]
    # The head of the plan's event log: commands append from here without reading the log.
    event_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    event_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH, server_default=GENESIS_HASH)
    state_digest: Mapped[str] = mapped_column(String(64), default="", server_default="")

    organization: Mapped[Organization] = relationship()
    process_version: Mapped[ProcessVersion] = relationship()

    __mapper_args__ = {"version_id_col": version}


class OpenTask(Base):
    """Inbox read model: one row per task waiting for a person, written with each save."""

    __tablename__ = "open_tasks"
    __table_args__ = (Index("ix_open_tasks_inbox", "organization_id", "role", "due_at", "opened_at", "id"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    name: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    lane: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(64))
    due_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    opened_at: Mapped[datetime]


class Event(Base):
    """Append-only log: one event per command that changed a plan, hash-chained per plan."""

    __tablename__ = "events"
    __table_args__ = (UniqueConstraint("plan_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    task: Mapped[str | None] = mapped_column(String(100))
    task_id: Mapped[str | None] = mapped_column(String(36))
    data: Mapped[dict[str, Any]]
    state_digest: Mapped[str] = mapped_column(String(64))  # the plan's state after this event
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Holiday(Base):
    """An official non-working day the administrator keeps, for counting legal periods, with
    when it started and stopped counting (never edited in place: see legaldays.Calendar)."""

    __tablename__ = "kept_holidays"
    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    name: Mapped[str] = mapped_column(String(200))
    effective_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    added_by: Mapped[str] = mapped_column(String(64))
    removed_by: Mapped[str | None] = mapped_column(String(64))


class ClockOverride(Base):
    """The clock setting of a training or demo deployment (at most one row)."""

    __tablename__ = "clock_override"
    id: Mapped[int] = mapped_column(primary_key=True)
    set_to: Mapped[datetime]
    set_at: Mapped[datetime]


class Draft(Base):
    """A bundle saved from the modeler: kept as the designer left it, never run, never published.
    Each save is a new row, so earlier drafts stay as they were."""

    __tablename__ = "drafts"
    __table_args__ = (Index("ix_drafts_name", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))  # the process it is a draft of
    based_on_version: Mapped[int | None] = mapped_column(Integer)  # the published version it started from
    files: Mapped[dict[str, Any]]  # filename -> text (BPMN, forms, roles.json, process.json)
    saved_by: Mapped[str] = mapped_column(String(64))
    saved_at: Mapped[datetime]


class FrozenDocument(Base):
    """A document as it was announced: stored once, never changed, served as stored from then on.
    Its SHA-256 is also in the plan's event log (a document_frozen event)."""

    __tablename__ = "frozen_documents"
    # by SHA-256: the public verify page looks a typed or uploaded document up by its digest
    __table_args__ = (UniqueConstraint("plan_id", "kind"), Index("ix_frozen_documents_sha256", "sha256"))
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    kind: Mapped[str] = mapped_column(String(32))  # as in documents.DOCUMENTS: plan, announcement …
    as_of_seq: Mapped[int] = mapped_column(Integer)  # the event the document shows the plan as of
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    frozen_at: Mapped[datetime]


class Incident(Base):
    """A plan the timer sweep could not move on (its process failed on it): kept so that admins
    see it, retried with a growing pause, resolved by the first sweep that moves the plan on.
    One open incident per plan: a repeat counts on it."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_open", "resolved_at", "plan_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    kind: Mapped[str] = mapped_column(String(32))  # timer_failed
    message: Mapped[str] = mapped_column(Text)
    failures: Mapped[int] = mapped_column(Integer, default=1)
    first_at: Mapped[datetime]
    last_at: Mapped[datetime]
    retry_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]


class TaskDraft(Base):
    """What one user typed into an open task's form and saved without completing it: the submitted
    fields as typed (pairs of input name and value, unreadable values too), shown to that user
    alone when they return, and gone once the task closes (commands/recording.py)."""

    __tablename__ = "task_drafts"
    __table_args__ = (UniqueConstraint("task_id", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[str] = mapped_column(String(36))  # the open task (open_tasks.id, reused: no key)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    fields: Mapped[list[Any]]  # [[input name, value], ...] as the browser sent them
    size: Mapped[int] = mapped_column(Integer)  # bytes of ``fields`` as JSON, bounded (commands/taskdrafts.py)
    revision: Mapped[int] = mapped_column(Integer)  # counts saves: a tab that saw an older one is told
    saved_at: Mapped[datetime]

    __mapper_args__ = {"version_id_col": revision}


class Attachment(Base):
    """A file attached to a step as evidence (minutes, a signed announcement, a photo of the notice
    board): its bytes kept under the instance folder by SHA-256 (evidence/store.py), its SHA-256
    also in the plan's event log (the attachment_added event numbered ``seq``)."""

    __tablename__ = "attachments"
    __table_args__ = (UniqueConstraint("plan_id", "task_id", "sha256"), Index("ix_attachments_plan", "plan_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    task_id: Mapped[str] = mapped_column(String(36))  # or a project's progress (evidence/listing.progress_key)
    task: Mapped[str] = mapped_column(String(100))  # the step's BPMN id
    seq: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(8))  # pdf, jpeg, png: from the content
    filename: Mapped[str] = mapped_column(String(200))
    added_by: Mapped[str] = mapped_column(String(64))
    added_at: Mapped[datetime]


class Job(Base):
    """Work done in the background, outside any person's request (commands/jobs.py): rendering a
    document now; notifications later. A worker takes a queued job by a lease (``locked_by`` until
    ``locked_until``): a worker that dies leaves it to be taken again once the lease runs out. A job
    that fails is tried again later, a bounded number of times, then stays failed, to be reported."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_due", "state", "run_after"), Index("ix_jobs_dedup_key", "dedup_key"))
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))  # which handler runs it, e.g. "render"
    dedup_key: Mapped[str] = mapped_column(String(200))  # one queued job per key, e.g. "render:12:plan"
    plan_id: Mapped[int | None] = mapped_column(Integer, index=True)  # the plan it serves, if any (no key)
    payload: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(16))  # queued, running, done, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer)
    run_after: Mapped[datetime]
    locked_by: Mapped[str | None] = mapped_column(String(100))
    locked_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class RenderedDocument(Base):
    """The latest rendering of one of a plan's documents, kept with the digest of what it was made
    from (documents/cache.py): a download whose digest matches serves these bytes instead of
    rendering again. One per plan and kind, replaced whole by the next rendering."""

    __tablename__ = "rendered_documents"
    __table_args__ = (UniqueConstraint("plan_id", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    kind: Mapped[str] = mapped_column(String(32))
    source_key: Mapped[str] = mapped_column(String(64))  # SHA-256 of the content and the code it is made by
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    rendered_at: Mapped[datetime]
    render_ms: Mapped[int] = mapped_column(Integer)


class Strategy(Base):
    """One of the development strategies an organization keeps, in its development plan's order
    (commands/strategies.py). Projects pick their strategy from this list; a plan keeps the name
    it recorded, so changing the list never rewrites a recorded plan."""

    __tablename__ = "strategies"
    __table_args__ = (UniqueConstraint("organization_id", "position"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # 1, 2, ... as the development plan orders them
    code: Mapped[str] = mapped_column(String(20), default="")  # e.g. "ยุทธศาสตร์ที่ 1"; may be empty
    name: Mapped[str] = mapped_column(String(300))
    kept_by: Mapped[str] = mapped_column(String(64))
    kept_at: Mapped[datetime]


class VerifyCheckpoint(Base):
    """Where a plan's history last verified clean (audit/verify.py): the next verification hashes
    the chain up to it and replays only what came after. Trusted only as far as it agrees with the
    chain: its hash must still be the event's at ``seq``, its state must digest to that event's."""

    __tablename__ = "verify_checkpoints"
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)  # the last event verified
    event_hash: Mapped[str] = mapped_column(String(64))
    state_digest: Mapped[str] = mapped_column(String(64))
    state: Mapped[bytes] = mapped_column(LargeBinary)  # the plan's state after event ``seq``, zlib-compressed
    basis: Mapped[str] = mapped_column(String(64))  # SHA-256 of what replay rested on besides the events
    verified_at: Mapped[datetime]
    verified_by: Mapped[str] = mapped_column(String(100))  # the code that verified: Phaen's and the engine's versions


class TrackedProject(Base):
    """One project of an announced plan as its unit carries it out (service/tracking): what the plan
    (or an announced amendment) lists, and the progress last recorded. A read model: every change of
    it is an event in the plan's chain (``projects_listed``, ``progress_recorded``), which alone is
    what auditors verify and reports are computed from. Amounts in satang, to stay exact."""

    __tablename__ = "tracked_projects"
    __table_args__ = (UniqueConstraint("plan_id", "number"), Index("ix_tracked_projects_order", "plan_id", "position"))
    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))  # the fiscal year's plan (not an amendment)
    number: Mapped[str] = mapped_column(String(20))  # as ผด.02 numbers it: strategy.plan-program.row, "ค." equipment
    position: Mapped[int] = mapped_column(Integer)  # the paper's order
    name: Mapped[str] = mapped_column(String(300))
    unit: Mapped[str] = mapped_column(String(200))
    strategy: Mapped[str] = mapped_column(String(300))
    plan_program: Mapped[str] = mapped_column(String(100))
    budget: Mapped[int] = mapped_column(BigInteger)  # satang
    months: Mapped[list[Any]]  # the months planned (ผด.02's bar)
    is_equipment: Mapped[bool] = mapped_column(Boolean, default=False)
    list_version: Mapped[int] = mapped_column(Integer)  # 0: the plan; N: listed or changed by amendment N
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)  # removed from the plan by an amendment
    progress: Mapped[dict[str, Any]]  # the latest progress recorded (tracking.rules.FIELDS)
    status: Mapped[str] = mapped_column(String(16))
    updated_at: Mapped[datetime | None]
    updated_by: Mapped[str | None] = mapped_column(String(64))


class UnitMembership(Base):
    """A user of an organization's responsible unit (กองช่าง, กองคลัง …): they record the progress of
    the projects the plan gives that unit, and no other."""

    __tablename__ = "unit_memberships"
    __table_args__ = (UniqueConstraint("user_id", "organization_id", "unit"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    unit: Mapped[str] = mapped_column(String(200))


class Notification(Base):
    """One thing a person should know (a step waiting for them, a send-back): written in the
    transaction of the command that caused it, with the job that delivers it (commands/notices.py),
    so a crash never loses one and a rolled-back command never sends one. It is the in-app bell's
    row; its deliveries carry it to the person's other channels."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user", "user_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    plan_id: Mapped[int | None] = mapped_column(Integer, index=True)
    event: Mapped[str] = mapped_column(String(40))  # which kind of event (processes/notifications.json)
    #: what the message's wording fills in ($step, $plan, $reason …): the wording is the deployment's
    #: data, applied when the message is shown or sent
    values: Mapped[dict[str, Any]]
    link: Mapped[str] = mapped_column(String(300))  # the path of the page it is about (a step, a plan)
    source: Mapped[str] = mapped_column(String(120), index=True)  # what caused it: "plan id:event seq", a limit …
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]


class Delivery(Base):
    """A notification on its way to one channel (e-mail, LINE), sent by a job (models.Job, kind
    "deliver"); ``key`` is its idempotency key: the e-mail's Message-ID, LINE's X-Line-Retry-Key."""

    __tablename__ = "deliveries"
    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(320))
    key: Mapped[str] = mapped_column(String(64), unique=True)
    state: Mapped[str] = mapped_column(String(16))  # queued, sent, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class NoticeSetting(Base):
    """How one person wants to be told: their e-mail address, their linked LINE user, and the kinds
    of events they turned off (those the process marks as not to be turned off always reach them)."""

    __tablename__ = "notice_settings"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320))
    line_user_id: Mapped[str | None] = mapped_column(String(64))
    muted: Mapped[list[Any]]  # event kinds turned off
    changed_at: Mapped[datetime]
    #: the Bangkok hour (0-23) of the daily digest that replaces immediate e-mail and LINE messages
    #: (None: immediate); the day it was last sent, and the last notification it covered (migration 0022)
    digest_hour: Mapped[int | None] = mapped_column(Integer)
    digest_sent_on: Mapped[date | None] = mapped_column(Date)
    digest_through: Mapped[int | None] = mapped_column(Integer)


class LineLinkCode(Base):
    """The one-time code a person sends to the organization's LINE Official Account to link their LINE
    account (commands/notices.py): only its digest is kept, one per person (a new one replaces the
    old), valid until ``expires_at``, deleted when used."""

    __tablename__ = "line_link_codes"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]


class PasswordResetLink(Base):
    """A one-time link an administrator hands a user to set their password: only the digest of its
    random token is kept; it ends when used, replaced by a newer link, or at ``expires_at``."""

    __tablename__ = "password_reset_links"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    issued_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class AdminLogEntry(Base):
    """One administrative change: who did what to whom, when. Append-only (migration 0020 makes the
    database refuse UPDATE and DELETE); names, not ids, of people, so history keeps them."""

    __tablename__ = "admin_log"
    __table_args__ = (Index("ix_admin_log_organization_id_id", "organization_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    username: Mapped[str | None] = mapped_column(String(64))  # the user acted on
    details: Mapped[dict[str, Any]]


class SignIn(Base):
    """One attempt to sign in as a known user, or to change their own password, as its owner reads it
    in their history: when, how it ended, and where from as a hint only: the network (an IPv4 /24,
    an IPv6 /48), never the address, and the browser's own words, trimmed. A name no user has leaves
    no row (the history must not tell which names exist); a user keeps their newest few hundred."""

    __tablename__ = "sign_ins"
    __table_args__ = (Index("ix_sign_ins_user", "user_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(16))  # sign_in, password (a change of one's own)
    outcome: Mapped[str] = mapped_column(String(16))  # ok, wrong_password, locked, throttled, deactivated, no_password
    network: Mapped[str] = mapped_column(String(48))
    browser: Mapped[str] = mapped_column(String(120))


class OversightArea(Base):
    """The area a user oversees (commands/administration.set_oversight): a province, or one district
    of it (``district`` empty: the whole province). They see its organizations' plans, read-only,
    and the oversight dashboard (service/oversight.py); one area per user."""

    __tablename__ = "oversight_areas"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    province: Mapped[str] = mapped_column(String(100))
    district: Mapped[str] = mapped_column(String(100), default="")
    granted_by: Mapped[str] = mapped_column(String(64))
    granted_at: Mapped[datetime]


class PlanStanding(Base):
    """Read model of the oversight dashboard: where an organization's plan of the default process
    stands in its fiscal year, written with each save of the plan (service/oversight.note), so the
    dashboard sorts, filters and counts thousands of organizations in SQL without reading a plan."""

    __tablename__ = "plan_standings"
    __table_args__ = (UniqueConstraint("organization_id", "fiscal_year"),)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    fiscal_year: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # the plan's
    missed: Mapped[bool] = mapped_column(Boolean)  # a deadline's recorded state is missed (done late)
    due_at: Mapped[datetime | None]  # the earliest limit still pending: late once it has passed


#: The dashboard's area scans: a province (and a district of it) in name order.
Index("ix_organizations_area", Organization.province, Organization.district, Organization.name, Organization.id)


class CommitteeSeat(Base):
    """One person's term in one of an organization's committees (or in a single-holder role such as
    the executive's): the committee is a role the processes' lanes declare, the seat what they sit as,
    the term from ``starts_on`` to ``ends_on`` inclusive (Bangkok legal days; None: still serving).
    Never deleted, only ended, so the documents print who sat on the day of each meeting
    (commands/committees.py, bundles/committees.py)."""

    __tablename__ = "committee_seats"
    __table_args__ = (Index("ix_committee_seats_organization", "organization_id", "committee", "starts_on"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    committee: Mapped[str] = mapped_column(String(64))  # a lane's role, e.g. as processes/*/roles.json names it
    name: Mapped[str] = mapped_column(String(200))  # as printed, in Thai
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # the person's account, if they have one
    seat: Mapped[str] = mapped_column(String(20))  # bundles/committees.SEATS
    position: Mapped[str] = mapped_column(String(200), default="")  # printed under the name, e.g. นายกเทศมนตรีตำบล…
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    kept_by: Mapped[str] = mapped_column(String(64))  # the last to add, end or correct it (the admin log has each)
    kept_at: Mapped[datetime]
