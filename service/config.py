"""Settings, read from PHAEN_* environment variables (the server and the CLI read the same)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parent.parent


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _whole(env: dict[str, str], name: str, default: int, least: int) -> int:
    """A whole-number setting; a bad one stops the start-up with its name rather than being guessed."""
    raw = (env.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9 or int(raw) < least:
        raise ValueError(f"{name} must be a whole number of at least {least}, not {raw!r}")
    return int(raw)


def _public_url(value: str | None) -> str:
    """The public address without a trailing slash; a bad one stops the start-up rather than being
    printed on paper that cannot be recalled."""
    raw = (value or "").strip().rstrip("/")
    if not raw:
        return Settings.public_url
    if not raw.startswith(("https://", "http://")) or not raw.isascii() or any(c.isspace() for c in raw) \
            or "?" in raw or "#" in raw:
        raise ValueError(f"PHAEN_PUBLIC_URL must be an http(s) address such as https://phaen.example.go.th, "
                         f"not {raw!r}")
    return raw


@dataclass
class Settings:
    instance_path: Path
    database_url: str
    processes_dir: Path
    forms_dir: Path
    allow_clock_override: bool = False
    secret_key: str | None = None
    #: how long an API token is valid from its issue (each token stores its own expiry)
    token_lifetime: timedelta = timedelta(days=90)
    #: failed log-ins one client address may make per window before the log-in page answers 429
    login_throttle_failures: int = 30
    login_throttle_window: timedelta = timedelta(minutes=15)
    #: reverse proxies in front of the web nodes whose X-Forwarded-For is believed (0: none, the
    #: peer address is the client); behind one load balancer, 1
    trusted_proxies: int = 0
    #: the address the public reaches the notice board at (/public/...): printed, with a QR code, on
    #: every frozen document, so set it before the first announcement (documents keep what they printed)
    public_url: str = "http://127.0.0.1:5000"
    #: e-mail notifications (channels/email.py): none are sent while no host is set
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_user: str = ""
    smtp_password: str = ""
    mail_from: str = "Phaen <phaen@localhost>"
    #: LINE notifications (channels/line.py): the Messaging API channel's access token
    line_token: str = ""
    line_endpoint: str = "https://api.line.me/v2/bot/message/push"
    #: the channel secret that signs LINE's webhook calls (web/notices.py): linking is refused without it
    line_secret: str = ""

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides) -> Settings:
        env = dict(os.environ if env is None else env)
        instance = Path(env.get("PHAEN_INSTANCE_PATH") or SOURCE_ROOT / "instance").resolve()
        settings = cls(
            instance_path=instance,
            database_url=env.get("PHAEN_DATABASE_URL") or f"sqlite:///{instance / 'phaen.sqlite3'}",
            processes_dir=Path(env.get("PHAEN_PROCESSES_DIR") or SOURCE_ROOT / "processes"),
            forms_dir=Path(env.get("PHAEN_FORMS_DIR") or SOURCE_ROOT / "forms"),
            allow_clock_override=_flag(env.get("PHAEN_ALLOW_CLOCK_OVERRIDE")),
            secret_key=env.get("PHAEN_SECRET_KEY"),
            token_lifetime=timedelta(days=_whole(env, "PHAEN_TOKEN_DAYS", 90, 1)),
            login_throttle_failures=_whole(env, "PHAEN_LOGIN_THROTTLE_FAILURES", 30, 1),
            login_throttle_window=timedelta(minutes=_whole(env, "PHAEN_LOGIN_THROTTLE_MINUTES", 15, 1)),
            trusted_proxies=_whole(env, "PHAEN_TRUSTED_PROXIES", 0, 0),
            public_url=_public_url(env.get("PHAEN_PUBLIC_URL")),
            smtp_host=(env.get("PHAEN_SMTP_HOST") or "").strip(),
            smtp_port=_whole(env, "PHAEN_SMTP_PORT", 25, 1),
            smtp_starttls=_flag(env.get("PHAEN_SMTP_STARTTLS")),
            smtp_user=env.get("PHAEN_SMTP_USER") or "",
            smtp_password=env.get("PHAEN_SMTP_PASSWORD") or "",
            mail_from=env.get("PHAEN_MAIL_FROM") or "Phaen <phaen@localhost>",
            line_token=env.get("PHAEN_LINE_TOKEN") or "",
            line_endpoint=env.get("PHAEN_LINE_ENDPOINT") or "https://api.line.me/v2/bot/message/push",
            line_secret=env.get("PHAEN_LINE_SECRET") or "",
        )
        for key, value in overrides.items():
            setattr(settings, key, value)
        return settings

    def ensure_instance(self) -> None:
        self.instance_path.mkdir(parents=True, exist_ok=True)
