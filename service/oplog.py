"""Structured operations log: one JSON line per request and per command, on stderr."""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

from flask import Flask, g, request

logger = logging.getLogger("phaen")


class _JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {"at": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"), "level": record.levelname.lower(),
                **getattr(record, "fields", {"message": record.getMessage()})}
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(level: str = "INFO") -> None:
    if any(getattr(h, "_phaen", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonLines())
    handler._phaen = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


def log(event: str, **fields: Any) -> None:
    logger.info(event, extra={"fields": {"event": event, **fields}})


def command(kind: str, started: float, **fields: Any) -> None:
    log("command", kind=kind, ms=round((time.perf_counter() - started) * 1000, 1), **fields)


def init_app(app: Flask) -> None:
    @app.before_request
    def _start() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _log(response):
        actor = g.get("actor")
        log("request", method=request.method, path=request.path, status=response.status_code,
            ms=round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 1),
            user=getattr(actor, "username", None), plan=(request.view_args or {}).get("plan_id"))
        return response
