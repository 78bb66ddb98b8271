"""Settings, read from PHAEN_* environment variables (the server and the CLI read the same)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parent.parent


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass
class Settings:
    instance_path: Path
    database_url: str
    processes_dir: Path
    forms_dir: Path
    allow_clock_override: bool = False
    secret_key: str | None = None

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
        )
        for key, value in overrides.items():
            setattr(settings, key, value)
        return settings

    def ensure_instance(self) -> None:
        self.instance_path.mkdir(parents=True, exist_ok=True)
