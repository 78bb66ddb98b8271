"""The `phaen` (แผน) command line for operators; it reads the same PHAEN_* settings as the server."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from collections.abc import Iterable
from datetime import datetime
from functools import wraps
from pathlib import Path

import click
from sqlalchemy.exc import OperationalError

from service import audit as audit_service
from service import oplog, queries
from service.auth import ADMIN, Actor, require_designer
from service.bundles import committees as seats
from service.bundles import intake
from service.commands import (
    admin,
    administration,
    committees,
    designer,
    holidays,
    jobs,
    notices,
    plans,
    progress,
    progress_import,
    recording,
    reminders,
    renders,
    strategies,
)
from service.config import Settings
from service.context import Context
from service.engine import InvalidProcess
from service.errors import Invalid, ServiceError
from service.thai.legaldays import BANGKOK
from service.tracking import reads, reporting


def _context() -> Context:
    """The command's context; its database connections close when the command ends."""
    context = Context.create(Settings.from_env())
    click.get_current_context().call_on_close(context.db.dispose)
    return context


def reports_errors(fn):
    """Service errors become one clear line on stderr and a non-zero exit, never a traceback."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ServiceError as err:
            click.echo(f"ผิดพลาด: {err.message}", err=True)
            for item in err.errors:
                click.echo(f"  {item.get('field', '')}: {item.get('message', '')}", err=True)
            sys.exit(1)
        except InvalidProcess as err:
            click.echo("กระบวนงานไม่ผ่านการตรวจสอบ:", err=True)
            for problem in err.problems:
                click.echo(f"  {problem}", err=True)
            sys.exit(1)
        except OperationalError as err:
            click.echo(f"ผิดพลาด: ติดต่อฐานข้อมูลไม่ได้ (PHAEN_DATABASE_URL): {_first_line(err.orig or err)}", err=True)
            sys.exit(1)

    return wrapper


def _first_line(err: BaseException) -> str:
    return (str(err).strip().splitlines() or [type(err).__name__])[0]


@click.group(help="Phaen (แผน): the operational-plan procedure of Thai local authorities.")
def main() -> None:
    pass


@main.command(help="Create or upgrade the database and publish the processes in processes/.")
@reports_errors
def init() -> None:
    ctx = _context()
    ctx.db.migrate()
    refreshed = recording.refresh_read_models(ctx)
    if refreshed:
        click.echo(f"deadlines of {refreshed} plans recomputed by this version's rules")
    for name, version, created in admin.register_processes(ctx):
        click.echo(f"process {name} version {version}" + (" published" if created else " unchanged"))


@main.group(help="Organizations (local authorities).")
def org() -> None:
    pass


@org.command("add", help="Add an organization: phaen org add CODE NAME")
@click.argument("code")
@click.argument("name")
@click.option("--province", default="", help="Province (จังหวัด)")
@reports_errors
def org_add(code: str, name: str, province: str) -> None:
    created = admin.add_organization(_context(), code, name, province)
    click.echo(f"organization {created.code}: {created.name}")


@org.command("strategies", help="An organization's development strategies: phaen org strategies CODE "
             "[--set FILE.txt | --list] (one a line, \"CODE<TAB>NAME\" or \"NAME\"; --set replaces the list)")
@click.argument("code")
@click.option("--set", "file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Replace the list with the strategies of this UTF-8 text file")
@click.option("--list", "show", is_flag=True, help="Show the list (the default)")
@reports_errors
def org_strategies(code: str, file: Path | None, show: bool) -> None:
    ctx = _context()
    if file is not None:
        kept = strategies.keep(ctx, None, code, strategies.lines(file.read_text(encoding="utf-8-sig")))
        click.echo(f"{len(kept['strategies'])} strategies kept for {code}")
    else:
        kept = strategies.listing(ctx, None, code)
    for entry in kept["strategies"]:
        click.echo(f"{entry['position']}\t{entry['code']}\t{entry['name']}")


@main.group(help="Official holidays for counting legal periods (a change counts a minute after it is made).")
def holiday() -> None:
    pass


@holiday.command("add", help="Keep a holiday: phaen holiday add 2026-12-31 \"วันสิ้นปี\"")
@click.argument("day")
@click.argument("name")
@reports_errors
def holiday_add(day: str, name: str) -> None:
    kept = holidays.keep(_context(), "operator", holidays.parse_day(day), name)
    click.echo(f"holiday {kept['day']} {kept['name']}: counts from {_bangkok(kept['counts_from'])}")


@holiday.command("import", help="Keep the holidays of a CSV file (day,name per line), all or none")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@reports_errors
def holiday_import(file: Path) -> None:
    kept = holidays.keep_all(_context(), "operator", holidays.csv_text(file.read_bytes()))
    click.echo(f"{len(kept)} holidays kept")


@holiday.command("remove", help="Stop counting a holiday: phaen holiday remove 2026-12-31")
@click.argument("day")
@reports_errors
def holiday_remove(day: str) -> None:
    ended = holidays.remove(_context(), "operator", holidays.parse_day(day))
    click.echo(f"holiday {ended['day']} {ended['name']}: counts until {_bangkok(ended['counts_until'])}")


@holiday.command("list", help="The holidays that count or will count")
@click.option("--year", type=int, help="Only one year (Common Era, or Buddhist Era above 2400)")
@reports_errors
def holiday_list(year: int | None) -> None:
    for kept in holidays.listing(_context(), year - 543 if year and year > 2400 else year):
        until = f" until {_bangkok(kept['counts_until'])}" if kept["counts_until"] else ""
        click.echo(f"{kept['day']}  {kept['name']}  (counts from {_bangkok(kept['counts_from'])}{until})")


def _bangkok(instant: str) -> str:
    """An ISO instant as Bangkok time, to the second, for people at the console."""
    return datetime.fromisoformat(instant).astimezone(BANGKOK).isoformat(timespec="seconds")


@main.group(help="Users, their roles and API tokens.")
def user() -> None:
    pass


@user.command("add", help="Add a user with one or more roles in an organization (or --national).")
@click.argument("username")
@click.option("--org", "org_code", help="Organization code")
@click.option("--national", is_flag=True, help="Roles in every organization (admin, auditor, designer)")
@click.option("--role", "roles", multiple=True, required=True, help="Role (repeatable)")
@click.option("--name", "display_name", default="", help="Display name")
@click.option("--token", "with_token", is_flag=True, help="Issue an API token and print it as the last line")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input")
@reports_errors
def user_add(username, org_code, national, roles, display_name, with_token, password_stdin) -> None:
    if bool(org_code) == national:
        raise click.UsageError("give either --org CODE or --national")
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    if password_stdin and not password:
        raise click.UsageError("the password read from standard input is empty")
    token = admin.add_user(_context(), username, org_code, list(roles), password, display_name, with_token)
    click.echo(f"user {username} ({', '.join(roles)}) in {org_code or 'every organization'}")
    if token:
        click.echo(token)


@user.command("grant", help="Give a user a role in another organization (e.g. an auditor of several).")
@click.argument("username")
@click.option("--org", "org_code", help="Organization code")
@click.option("--national", is_flag=True, help="The role in every organization")
@click.option("--role", required=True)
@reports_errors
def user_grant(username: str, org_code: str | None, national: bool, role: str) -> None:
    if bool(org_code) == national:
        raise click.UsageError("give either --org CODE or --national")
    admin.grant_role(_context(), username, org_code, role)
    click.echo(f"user {username}: {role} in {org_code or 'every organization'}")


@user.command("unit", help="Make a user an official of one of the organization's responsible units: "
                           "phaen user unit USERNAME --org CODE --unit กองช่าง (they record its projects' progress).")
@click.argument("username")
@click.option("--org", "org_code", required=True, help="Organization code")
@click.option("--unit", required=True, help="The unit as the plan names it (หน่วยงานรับผิดชอบหลัก)")
@reports_errors
def user_unit(username: str, org_code: str, unit: str) -> None:
    progress.assign_unit(_context(), username, org_code, unit)
    click.echo(f"user {username}: {unit} of {org_code}")


@user.command("oversight", help="Make a user the overseer of a province or one district of it (สถ.จังหวัด / "
                                "สถ.อำเภอ): they see its organizations' plans, read-only, and /oversight; "
                                "--remove ends it.")
@click.argument("username")
@click.option("--province", default="", help="The province, as the organizations' list names it")
@click.option("--district", default="", help="One district of the province (default: the whole province)")
@click.option("--remove", is_flag=True, help="The user oversees nothing any more")
@reports_errors
def user_oversight(username: str, province: str, district: str, remove: bool) -> None:
    if remove == bool(province):
        raise click.UsageError("give either --province [--district] or --remove")
    operator = Actor(None, "operator", None, frozenset({(None, ADMIN)}))  # the console: a national admin's power
    area = administration.set_oversight(_context(), operator, username, province, district)["oversight"]
    click.echo(f"user {username}: oversees " + (f"{area['district'] + ', ' if area['district'] else ''}"
                                                f"{area['province']}" if area else "nothing"))


@user.command("token", help="Issue a new API token for a user (printed as the last line).")
@click.argument("username")
@click.option("--days", type=int, help="Valid this many days (default: PHAEN_TOKEN_DAYS, 90)")
@reports_errors
def user_token(username: str, days: int | None) -> None:
    click.echo(admin.issue_token(_context(), username, days))


@user.command("tokens", help="A user's API tokens: id, issued, expires, state, last characters (never the secret).")
@click.argument("username")
@reports_errors
def user_tokens(username: str) -> None:
    listed = admin.tokens_of(_context(), username)
    if not listed:
        click.echo(f"{username} has no API token")
    for token in listed:
        click.echo(_token_line(token))


@user.command("revoke", help="End API tokens of a user: phaen user revoke USERNAME --token ID | --all")
@click.argument("username")
@click.option("--token", "token_id", help="The token's id (see phaen user tokens)")
@click.option("--all", "every", is_flag=True, help="Every token of the user still valid")
@reports_errors
def user_revoke(username: str, token_id: str | None, every: bool) -> None:
    if every == (token_id is not None):
        raise click.UsageError("give either --token ID or --all")
    ended = admin.revoke_tokens_of(_context(), username, token_id)
    for token in ended:
        click.echo(_token_line(token))
    click.echo(f"{len(ended)} token(s) of {username} revoked")


def _token_line(token: dict) -> str:
    revoked = f" at {_bangkok(token['revoked_at'])} by {token['revoked_by']}" if token["revoked_at"] else ""
    return (f"{token['id']}\t...{token['hint'] or '????'}\tissued {_bangkok(token['created_at'])}\t"
            f"expires {_bangkok(token['expires_at'])}\t{token['state']}{revoked}")


@user.command("deactivate", help="Deactivate a user: every web session and API token ends, log-in is refused.")
@click.argument("username")
@reports_errors
def user_deactivate(username: str) -> None:
    admin.set_active(_context(), username, False)
    click.echo(f"user {username} deactivated; every session and token ended")


@user.command("activate", help="Let a deactivated user log in again (their old tokens stay revoked).")
@click.argument("username")
@reports_errors
def user_activate(username: str) -> None:
    admin.set_active(_context(), username, True)
    click.echo(f"user {username} active")


@user.command("passwd", help="Set a user's password: read from standard input, or prompted for on a terminal.")
@click.argument("username")
@reports_errors
def user_passwd(username: str) -> None:
    if sys.stdin.isatty():
        password = click.prompt("รหัสผ่านใหม่", hide_input=True, confirmation_prompt="ยืนยันรหัสผ่านใหม่")
    else:
        password = sys.stdin.readline().rstrip("\n")
    admin.set_password(_context(), username, password)
    click.echo(f"password of {username} changed; every session and token of theirs ended")


@main.command(help="Load the demo organization and one user per role; prints their passwords and tokens.")
@reports_errors
def demo() -> None:
    ctx = _context()
    data = json.loads((ctx.settings.processes_dir / "demo.json").read_text(encoding="utf-8"))
    click.echo(f"{data['organization']['name']} ({data['organization']['code']})")
    click.echo(f"{'username':<12} {'password':<14} {'roles':<24} token")
    for username, password, roles, token in admin.load_demo(ctx, data):
        click.echo(f"{username:<12} {password:<14} {','.join(roles):<24} {token}")


@main.command(help="Serve the web application and the API (--production: gunicorn, service/gunicorn_conf.py).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--production", is_flag=True, help="Run gunicorn with several workers")
@click.option("--workers", type=int, help="gunicorn workers (default: PHAEN_WEB_WORKERS or 2 x cores + 1)")
@click.option("--timer-interval", default=30.0, show_default=True,
              help="Without --production: seconds between in-process sweeps of due timers (0: none)")
@click.option("--jobs-interval", default=1.0, show_default=True,
              help="Without --production: seconds between in-process looks at an empty job queue (0: no worker)")
def serve(host: str, port: int, production: bool, workers: int | None, timer_interval: float,
          jobs_interval: float) -> None:
    _warn_ignored_clock(_context())
    if production:
        os.environ["PHAEN_BIND"] = f"{host}:{port}"
        if workers:
            os.environ["PHAEN_WEB_WORKERS"] = str(workers)
        config = Path(__file__).with_name("gunicorn_conf.py")
        gunicorn = Path(sys.executable).with_name("gunicorn")
        os.execv(str(gunicorn), [str(gunicorn), "-c", str(config), "service.wsgi:app"])
    from service.app import create_app
    from service.oplog import configure

    configure()
    if timer_interval > 0:
        # the embedded default is one process: it fires its own timers, so a demo's 30-day wait ends
        # without a second command (with --production, `phaen timers run` workers do it)
        threading.Thread(target=_sweep_forever, args=(Context.create(Settings.from_env()), timer_interval,
                                                      threading.Event()), daemon=True, name="timer-sweep").start()
        click.echo(f"timers: fired in this process every {timer_interval:g} s")
    if jobs_interval > 0:
        # documents are rendered in the background (commands/renders.py): the embedded default works
        # its own queue (with --production, `phaen jobs run` workers do it)
        threading.Thread(target=_work_forever, args=(Context.create(Settings.from_env()), jobs_interval,
                                                     threading.Event()), daemon=True, name="jobs").start()
        click.echo("jobs: worked in this process (documents rendered in the background)")
    create_app().run(host=host, port=port, threaded=True)


def _warn_ignored_clock(ctx: Context) -> None:
    ignored = ctx.ignored_clock_override()
    if ignored is not None:
        click.echo(f"WARNING: a clock override (set to {ignored.astimezone(BANGKOK).isoformat()}) is stored but "
                   "PHAEN_ALLOW_CLOCK_OVERRIDE is off: running on system time. Set PHAEN_ALLOW_CLOCK_OVERRIDE=1 "
                   "to use it, or `phaen clock reset` to remove it.", err=True)
        oplog.log("clock_override_ignored", set_to=ignored.isoformat())


def _sweep_forever(ctx: Context, interval: float, stopping: threading.Event) -> None:
    while not stopping.is_set():
        try:
            _tick(ctx)
        except OperationalError as err:  # the database is away: say so, and try again next sweep
            oplog.log("timer_sweep_failed", error=_first_line(err.orig or err))
        stopping.wait(interval)


@main.group(help="Timer events (legal deadlines).")
def timers() -> None:
    pass


def _tick(ctx: Context) -> int:
    started = time.perf_counter()
    fired = plans.fire_due_timers(ctx)
    reminded = notices.sweep(ctx)  # the legal limits near or passed of the steps still open; the daily digests
    reminded += reminders.schedule(ctx)  # the plan's year: the day's job (overdue projects, reports due)
    oplog.command("timer_sweep", started, plans=len(fired), reminded=reminded)
    for plan_id, names in fired:
        click.echo(f"plan {plan_id}: {', '.join(names) if names else 'no timer fired'}")
    return len(fired)


@timers.command("tick", help="Fire every due timer once.")
@reports_errors
def timers_tick() -> None:
    ctx = _context()
    _warn_ignored_clock(ctx)
    if not _tick(ctx):
        click.echo(f"no timer due at {ctx.clock.now().isoformat()}")


@timers.command("run", help="Keep firing due timers; any number of workers may run at once.")
@click.option("--interval", default=30.0, show_default=True, help="Seconds between sweeps")
@reports_errors
def timers_run(interval: float) -> None:
    oplog.configure()
    ctx = _context()
    _warn_ignored_clock(ctx)
    stopping = threading.Event()
    # SIGTERM lets the current plan's transaction finish; SIGKILL loses at most that transaction.
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    _sweep_forever(ctx, interval, stopping)


@timers.command("incidents", help="Plans the sweep could not move on: open incidents (--all: resolved ones too).")
@click.option("--all", "every", is_flag=True, help="Resolved incidents too")
@reports_errors
def timers_incidents(every: bool) -> None:
    for item in queries.incidents(_context(), None, open_only=not every):
        state = f"resolved {item['resolved_at']}" if item["resolved_at"] else f"retry {item['retry_at']}"
        click.echo(f"plan {item['plan_id']} ({item['organization']})\t{item['failures']}x since {item['first_at']}"
                   f"\t{state}\t{item['message']}")


@main.group("jobs", help="Background jobs (document renders): list them, work them, retry the failed.")
def jobs_group() -> None:
    pass


def _work_forever(ctx: Context, interval: float, stopping: threading.Event) -> None:
    """Work the queue until stopped: every due job, then a pause of ``interval`` when none is due."""
    assert renders.RENDER in jobs.HANDLERS  # the handlers are registered by their modules' import
    worker, pruned_at = jobs.worker_name(), 0.0
    while not stopping.is_set():
        try:
            if not jobs.work(ctx, worker, limit=1):
                if time.monotonic() - pruned_at > 3600:
                    jobs.prune(ctx)
                    pruned_at = time.monotonic()
                stopping.wait(interval)
        except OperationalError as err:  # the database is away: say so, and try again
            oplog.log("jobs_failed", error=_first_line(err.orig or err))
            stopping.wait(interval)


@jobs_group.command("run", help="Work the job queue; any number of workers may run at once (PostgreSQL).")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between looks at an empty queue")
@click.option("--once", is_flag=True, help="Run the jobs due now, then stop")
@reports_errors
def jobs_run(interval: float, once: bool) -> None:
    oplog.configure()
    ctx = _context()
    _warn_ignored_clock(ctx)
    if once:
        click.echo(f"jobs run: {jobs.work(ctx)}")
        return
    stopping = threading.Event()
    # SIGTERM lets the current job finish; SIGKILL leaves it to another worker once its lease runs out.
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    _work_forever(ctx, interval, stopping)


@jobs_group.command("list", help="The latest jobs, newest first.")
@click.option("--state", type=click.Choice(jobs.STATES), help="Only jobs in this state")
@click.option("--limit", default="50", show_default=True, help="How many (1-1000)")
@reports_errors
def jobs_list(state: str | None, limit: str) -> None:
    count = _whole_number(limit, "--limit")
    rows = jobs.listing(_context(), state, count)
    for row in rows:
        error = (row["last_error"] or "").splitlines()[-1:] or [""]
        click.echo(f"{row['id']}\t{row['kind']}\t{row['state']}\t{row['attempts']}/{row['max_attempts']}\t"
                   f"{json.dumps(row['payload'], ensure_ascii=False)}\t{row['run_after'].isoformat()}\t{error[0]}")
    if not rows:
        click.echo("ไม่มีงาน")


@jobs_group.command("retry", help="Queue a failed job again, with its attempts counted afresh.")
@click.argument("job_id")
@reports_errors
def jobs_retry(job_id: str) -> None:
    number = _whole_number(job_id, "JOB_ID")
    row = jobs.retry(_context(), number)
    click.echo(f"job {row['id']}: queued again")


@main.group("notify", help="Notifications: their deliveries, and a test message to one person.")
def notify_group() -> None:
    pass


@notify_group.command("status", help="Deliveries queued, sent and failed; the latest in trouble, with their error.")
@reports_errors
def notify_status() -> None:
    found = notices.status(_context())
    counts = found["counts"]
    click.echo(f"notifications {found['notifications']}\tqueued {counts['queued']}\tsent {counts['sent']}\t"
               f"failed {counts['failed']}")
    for row in found["troubled"]:
        click.echo(f"{row['id']}\t{row['channel']}\t{row['address']}\t{row['state']}\t{row['attempts']}\t"
                   f"{((row['last_error'] or '').splitlines() or [''])[-1]}")


@notify_group.command("test", help="Send one test message to a person now, on every channel.")
@click.option("--user", "username", required=True)
@reports_errors
def notify_test(username: str) -> None:
    results = notices.test(_context(), username)
    for channel, outcome in results.items():
        click.echo(f"{channel}\t{outcome}")
    if any(outcome.startswith("failed") for outcome in results.values()):
        sys.exit(1)


@notify_group.command("reminders", help="Write today's reminders of the plan's year now (overdue projects, "
                                        "reports due); run again the same day, it writes nothing more.")
@reports_errors
def notify_reminders() -> None:
    click.echo(f"notifications {reminders.remind(_context())}")


def _whole_number(text: str, name: str) -> int:
    if not text.strip().isascii() or not text.strip().isdigit() or len(text.strip()) > 18:
        raise Invalid(f"{name} ต้องเป็นจำนวนเต็มบวก ไม่ใช่ {text!r}")
    return int(text)


@main.group(help="The application clock (settable only where PHAEN_ALLOW_CLOCK_OVERRIDE=1).")
def clock() -> None:
    pass


@clock.command("show")
def clock_show() -> None:
    ctx = _context()
    _warn_ignored_clock(ctx)
    state = "overridable" if ctx.settings.allow_clock_override else "system time"
    click.echo(f"{ctx.clock.now().isoformat()} ({state})")


@clock.command("set", help="Set the clock, e.g. 2020-10-17T00:00:00+07:00; it keeps running from there.")
@click.argument("at")
@reports_errors
def clock_set(at: str) -> None:
    try:
        instant = datetime.fromisoformat(at)
    except ValueError as err:
        raise click.BadParameter("use an ISO date-time such as 2020-10-17T00:00:00+07:00") from err
    ctx = _context()
    admin.set_clock(ctx, instant)
    click.echo(ctx.clock.now().isoformat())


@clock.command("reset", help="Return to system time.")
@reports_errors
def clock_reset() -> None:
    ctx = _context()
    admin.set_clock(ctx, None)
    click.echo(ctx.clock.now().isoformat())


@main.group(help="Audit: verify plans' histories, export and verify plan bundles.")
def audit() -> None:
    pass


def _report(result) -> bool:
    where = f"plan {result.plan_id}" if result.plan_id is not None else "bundle"
    if result.ok:
        click.echo(f"{where}: ok, {result.events} events, head {result.head}")
        return True
    d = result.first_divergence
    at = f" at event {d.seq} ({d.kind})" if d.seq is not None else ""
    click.echo(f"{where}: FAILED{at}: {d.reason}: {d.detail}", err=True)
    click.echo(f"  expected: {json.dumps(d.expected, ensure_ascii=False, default=str)}", err=True)
    click.echo(f"  found:    {json.dumps(d.found, ensure_ascii=False, default=str)}", err=True)
    return False


@audit.command("verify", help="Verify a plan's chain, replay and snapshot: phaen audit verify PLAN | --all; "
               "only events after each plan's verified checkpoint are replayed, unless --full")
@click.argument("plan_id", type=int, required=False)
@click.option("--all", "every", is_flag=True, help="Verify every plan; exit 1 if any fails")
@click.option("--full", is_flag=True, help="Replay every event, ignoring checkpoints (a clean run records new ones)")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Processes for --all (default: one per core)")
@click.option("--progress/--no-progress", default=None, help="A progress line on stderr (default: when a terminal)")
@reports_errors
def audit_verify(plan_id: int | None, every: bool, full: bool, workers: int | None, progress: bool | None) -> None:
    if every == (plan_id is not None):
        raise click.UsageError("give either a plan number or --all")
    ctx = _context()
    show = progress if progress is not None else every and sys.stderr.isatty()
    failed = checked = events = replayed = unchanged = 0
    shown = 0.0

    def progress_line(done: int, total: int) -> None:
        nonlocal shown
        if done == total or time.monotonic() - shown >= 0.2:  # a redraw per plan would cost more than the plan
            shown = time.monotonic()
            click.echo(f"\r\033[Kverifying: {done}/{total} plans ({done * 100 // total}%), {failed} failed",
                       err=True, nl=done == total)

    results: Iterable[audit_service.Verification]
    if every:
        results = audit_service.verify_all(ctx, checkpoint=True, full=full, workers=workers or os.cpu_count() or 1,
                                           progress=progress_line if show else None)
    else:
        assert plan_id is not None  # checked above: without --all a plan number is given
        results = [audit_service.verify_plan(ctx, plan_id, checkpoint=True, full=full)]
    for result in results:
        checked += 1
        if not (show and result.ok):  # on a terminal the progress line counts what verified: failures are listed
            if show:
                click.echo("\r\033[K", err=True, nl=False)  # the failure's lines replace the progress line
            failed += not _report(result)
        events += result.events
        replayed += result.replayed
        unchanged += result.unchanged
    if every:
        click.echo(f"{checked} plans verified, {failed} failed; {replayed} of {events} events replayed"
                   f"{' (full)' if full else ', the rest hashed up to verified checkpoints'}"
                   + (f"; {unchanged} plans unchanged since their checkpoint, not read again (--full reads them)"
                      if unchanged else ""))
    if failed:
        sys.exit(1)


@main.group("progress", help="The plan's year: its tracked projects, their progress and the reports.")
def progress_group() -> None:
    pass


@progress_group.command("list", help="A plan's tracked projects and their status: phaen progress list PLAN --user NAME")
@click.argument("plan_id", type=int)
@click.option("--user", "username", required=True, help="Who reads (their organizations and roles apply)")
@click.option("--unit", default="", help="Only this responsible unit's projects")
@click.option("--status", default="", help="not_started, in_progress, done, cancelled or overdue")
@reports_errors
def progress_list(plan_id: int, username: str, unit: str, status: str) -> None:
    ctx = _context()
    page = reads.progress(ctx, queries.actor_named(ctx, username), plan_id, reads.Filters(unit, "", status), None)
    for project in page["projects"]:
        state = "ยกเลิกออกจากแผน" if project["withdrawn"] \
            else page["statuses"].get(project["status"], project["status"])
        click.echo(f"{project['number']:<10} {state:<22} {project['unit']:<24} {project['name']}")
    figures = page["summary"]
    click.echo(f"{figures['projects']} projects, budget {figures['budget']:,.2f}, "
               f"disbursed {figures['disbursed']:,.2f} ({figures['disbursed_percent']}%)")


@progress_group.command("import", help="Check (and with --apply record) a spreadsheet of progress, all or none: "
                                       "phaen progress import PLAN FILE --user NAME [--apply]")
@click.argument("plan_id", type=int)
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--user", "username", required=True, help="Who records (a unit records its own projects only)")
@click.option("--apply", "apply_", is_flag=True, help="Record the rows when every one is right")
@reports_errors
def progress_import_file(plan_id: int, file: str, username: str, apply_: bool) -> None:
    ctx = _context()
    actor = queries.actor_named(ctx, username)
    path = Path(file)
    checked = progress_import.check(ctx, actor, plan_id, path.read_bytes(), path.name)
    if not checked.ok:
        for problem in checked.problems():
            click.echo(f"  {problem.get('field', '')}: {problem.get('message', '')}", err=True)
        raise click.ClickException("ไฟล์นี้มีรายการที่บันทึกไม่ได้ ยังไม่ได้บันทึกสิ่งใด")
    shown = checked.as_dict()
    click.echo(f"{len(shown['changed'])} projects change, {shown['unchanged']} unchanged")
    if apply_:
        progress_import.apply(ctx, actor, plan_id, checked.entries())
        click.echo("recorded")


@progress_group.command("report", help="Write a report: phaen progress report PLAN six-months|annual --user NAME "
                                       "[--format pdf|xlsx|json] [--cutoff YYYY-MM-DD] [-o FILE]")
@click.argument("plan_id", type=int)
@click.argument("kind", type=click.Choice(["six-months", "annual"]))
@click.option("--user", "username", required=True, help="Who reads (their organizations apply)")
@click.option("--format", "extension", type=click.Choice(["pdf", "xlsx", "json"]), default="pdf", show_default=True)
@click.option("--cutoff", default=None, help="The report's day (default: its last day, or today while it runs)")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="File (default its Thai name)")
@reports_errors
def progress_report(plan_id: int, kind: str, username: str, extension: str, cutoff: str | None,
                    output: str | None) -> None:
    ctx = _context()
    actor = queries.actor_named(ctx, username)
    made = reporting.report_file(ctx, actor, plan_id, kind, extension, cutoff)
    if made.pending:  # no copy of these figures kept: an operator's console may wait for the render
        renders.render_report(ctx, plan_id, made.pending)  # kept in the render cache, as a job keeps it
        made = reporting.report_file(ctx, actor, plan_id, kind, extension, cutoff)
    path = Path(output or made.filename)
    path.write_bytes(made.content)
    click.echo(str(path))


@audit.command("export", help="Write a plan's self-contained bundle (JSON): phaen audit export PLAN [-o FILE]")
@click.argument("plan_id", type=int)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="File (default plan-N.json)")
@reports_errors
def audit_export(plan_id: int, output: str | None) -> None:
    path = Path(output or f"plan-{plan_id}.json")
    path.write_bytes(audit_service.export_bundle(_context(), plan_id))
    click.echo(str(path))


@audit.command("verify-bundle", help="Verify an exported bundle with no database: phaen audit verify-bundle FILE")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def audit_verify_bundle(file: str) -> None:
    if not _report(audit_service.verify_bundle(file)):
        sys.exit(1)


@main.group(help="Process bundles: deploy (check, dry run, diff, publish), list, migrate a plan.")
def process() -> None:
    pass


def _person(ctx: Context, username: str):
    return queries.actor_named(ctx, username)


@process.command("deploy", help="Check and publish a bundle folder: phaen process deploy DIR --user DESIGNER")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--user", "username", required=True, help="A user holding the designer role")
@click.option("--check-only", is_flag=True, help="Check, dry-run and diff only; store nothing")
@click.option("--lang", type=click.Choice(["th", "en"]), default="th", show_default=True)
@reports_errors
def process_deploy(folder: Path, username: str, check_only: bool, lang: str) -> None:
    ctx = _context()
    person = _person(ctx, username)
    require_designer(person)
    files = intake.files_of_folder(folder, ctx.settings.forms_dir)
    report = designer.validate(ctx, files, folder.name)[0] if check_only else \
        designer.deploy(ctx, person, files, folder.name)
    for item in report.problems + report.warnings:
        click.echo(str(item) if lang == "th" else f"{item.file}:{item.line or ''}: {item.message('en')}",
                   err=not item.warning)
    if not report.ok:
        sys.exit(1)
    for run in report.runs:
        click.echo(f"dry run: {run.label_th if lang == 'th' else run.label_en}: "
                   f"{' > '.join(s['name'] for s in run.steps)}")
    for kind, changes in (report.diff or {}).items():
        for change in changes:
            click.echo(f"{change['change']} {kind[:-1]} {change['key']}")
    if report.published:
        click.echo(f"process {report.name} version {report.version} published")
    elif not check_only:
        click.echo(f"process {report.name} version {report.version} unchanged")


@process.command("list", help="Processes and their published versions.")
@reports_errors
def process_list() -> None:
    for entry in queries.processes(_context()):
        for version in entry["versions"]:
            click.echo(f"{entry['name']}\t{version['version']}\t{version['published_at']}\t"
                       f"{version['published_by']}\t{version['change_note'] or ''}")


@process.command("migrate", help="Move a running plan to a newer version: phaen process migrate PLAN --user ADMIN")
@click.argument("plan_id", type=int)
@click.option("--user", "username", required=True, help="An admin of the plan's organization")
@click.option("--to", "to_version", type=int, help="Version (default: the latest)")
@reports_errors
def process_migrate(plan_id: int, username: str, to_version: int | None) -> None:
    ctx = _context()
    moved = designer.migrate_plan(ctx, _person(ctx, username), plan_id, to_version)
    click.echo(f"plan {plan_id}: version {moved['from_version']} -> {moved['to_version']}")


# --- Committees and office holders (the console acts as a national admin: admin.OPERATOR) ---------
@main.group("committee", help="An organization's committees and office holders, with their terms.")
def committee_group() -> None:
    pass


def _operator() -> Actor:
    return Actor(None, admin.OPERATOR, None, frozenset({(None, ADMIN)}))


def _iso_day(text: str, option: str) -> str:
    try:
        day = datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        day = None
    if day is None or day.year > 2400:  # a year in พ.ศ. would find nobody, and say nothing
        raise Invalid(f"{option} ต้องเป็นวันที่ในรูปแบบ ปปปป-ดด-วว (ค.ศ.) ไม่ใช่ {text!r}")
    return day.isoformat()


def _term_line(term: dict) -> str:
    return (f"{term['id']}\t{term['committee']}\t{term['seat_title']}\t{term['name']}\t{term['starts_on']}\t"
            f"{term['ends_on'] or '-'}")


@committee_group.command("list", help="The terms kept (ended ones too), or with --on who sat that day, chair "
                         "first: phaen committee list --org CODE [--on 2026-01-31]")
@click.option("--org", "org_code", required=True, help="The organization's code")
@click.option("--on", "day", help="Only who sat on this day (YYYY-MM-DD, Common Era)")
@reports_errors
def committee_list(org_code: str, day: str | None) -> None:
    on = _iso_day(day, "--on") if day is not None else None
    kept = committees.listing(_context(), _operator(), org_code)
    lines = [_term_line(term) for entry in kept["committees"]
             for term in (seats.sitting(entry["terms"], entry["key"], on) if on else entry["terms"])]
    click.echo("\n".join(lines) if lines else f"ไม่มีผู้ดำรงตำแหน่ง{' ณ วันที่ ' + on if on else 'ที่บันทึกไว้'}")


@committee_group.command("add", help="Keep a new term: phaen committee add --org CODE --committee ROLE --name NAME "
                         "--seat chair|vice_chair|member|secretary|assistant_secretary|holder [--position P] "
                         "--from DAY [--to DAY]")
@click.option("--org", "org_code", required=True, help="The organization's code")
@click.option("--committee", "committee", required=True, help="A role the published processes' lanes declare")
@click.option("--name", "name", required=True, help="The person's name, in Thai")
@click.option("--seat", "seat", required=True, help=", ".join(seats.SEATS))
@click.option("--position", "position", help="The position printed (required for a holder)")
@click.option("--from", "starts_on", required=True, help="The term's first day (YYYY-MM-DD, Common Era)")
@click.option("--to", "ends_on", help="The term's last day (default: still serving)")
@reports_errors
def committee_add(org_code: str, committee: str, name: str, seat: str, position: str | None, starts_on: str,
                  ends_on: str | None) -> None:
    term = committees.add(_context(), _operator(), org_code, {
        "committee": committee, "name": name, "seat": seat, "position": position, "starts_on": starts_on,
        "ends_on": ends_on})
    click.echo(f"term {_term_line(term)}")


@committee_group.command("end", help="End a term on its last day: phaen committee end ID --on DAY")
@click.argument("seat_id")
@click.option("--on", "day", required=True, help="The term's last day (YYYY-MM-DD, Common Era)")
@reports_errors
def committee_end(seat_id: str, day: str) -> None:
    ctx = _context()
    number = _whole_number(seat_id, "รหัสวาระ")
    term = committees.end(ctx, _operator(), committees.organization_of(ctx, number), number, {"ends_on": day})
    click.echo(f"term {_term_line(term)}")


if __name__ == "__main__":
    main()
