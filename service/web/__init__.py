"""The pages people use, in Thai: log-in, inbox, task forms, plans, documents, the auditors' and
the designers' pages. Each page calls the same service functions as the JSON API; errors are
answered by service/http.py's policy (the Thai error page)."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from decimal import Decimal

from flask import Blueprint, Flask

from service import http, labels
from service.thai import dates, legaldays
from service.thai.baht import money
from service.web import (
    administration,
    attachments,
    audit,
    auth,
    committees,
    dashboard,
    designer,
    documents,
    holidays,
    inbox,
    incidents,
    notices,
    oversight,
    plans,
    progress,
    public,
    reports,
    strategies,
    tasks,
)


def session_config() -> dict:
    """Cookie and CSRF settings; Secure cookies when PHAEN_SECURE_COOKIES=1 (served over HTTPS)."""
    return {
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("PHAEN_SECURE_COOKIES", "").strip() == "1",
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=10),
        "WTF_CSRF_TIME_LIMIT": None,  # the token lasts as long as the session: long forms take time
    }


def init_app(app: Flask, exempt: tuple[Blueprint, ...] = ()) -> None:
    """Sessions, CSRF (``exempt``: blueprints of programs, which carry bearer tokens), log-in and
    the page blueprints."""
    auth.login_manager.init_app(app)
    auth.csrf.init_app(app)
    for blueprint in exempt:
        auth.csrf.exempt(blueprint)
    for blueprint in (auth.bp, inbox.bp, tasks.bp, plans.bp, documents.bp, audit.bp, designer.bp,
                      incidents.bp, attachments.bp, strategies.bp, notices.bp, public.bp, holidays.bp,
                      administration.bp, committees.bp, progress.bp, reports.bp, oversight.bp, dashboard.bp):
        app.register_blueprint(blueprint)
    app.jinja_env.globals["unread_notices"] = notices.unread_count
    app.jinja_env.filters.update(thai_date=dates.short, thai_datetime=_thai_datetime,
                                 process_version=labels.process_version, actor_name=labels.actor_name,
                                 baht=_baht)
    app.jinja_env.globals["this_be_year"] = _this_be_year


def _baht(value: float | int | None) -> str:
    """An amount as the pages print money: 1,234,567.50."""
    return money(Decimal(str(value or 0)))


def _this_be_year() -> int:
    """The year in Bangkok today, in พ.ศ.: examples on the forms name the year people are in."""
    return legaldays.day_of(http.ctx().clock.now()).year + 543


def _thai_datetime(value: str | datetime) -> str:
    return dates.short_datetime(datetime.fromisoformat(value) if isinstance(value, str) else value)
