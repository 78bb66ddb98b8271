"""Process bundles (BPMN files, the forms they reference, the lane-to-role map, metadata):
reading them from a folder, checking them as a whole, publishing them as immutable versions."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from service import engine
from service.engine import InvalidProcess, Problem, safexml
from service.models import ProcessVersion
from service.taskforms import validation

#: Roles that exist whatever the processes say; process roles come from their lane maps.
SYSTEM_ROLES = ("designer", "auditor", "admin")
ROLE_MAP_FILE = "roles.json"
META_FILE = "process.json"


@dataclass
class Bundle:
    name: str
    bpmn_files: dict[str, str]
    forms: dict[str, Any]
    lane_roles: dict[str, str]
    meta: dict[str, Any] = field(default_factory=dict)

    def digest(self) -> str:
        canonical = json.dumps([self.name, self.bpmn_files, self.forms, self.lane_roles, self.meta],
                               sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()


def read_bundle(folder: Path, forms_dir: Path) -> Bundle:
    """A process folder: *.bpmn, roles.json, process.json; forms from the folder or forms_dir."""
    problems: list[Problem] = []
    bpmn_files = {p.name: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.bpmn"))}
    if not bpmn_files:
        problems.append(Problem(str(folder), None, "no .bpmn file in the folder"))
    lane_roles = _read_json(folder / ROLE_MAP_FILE, problems, default={}).get("lanes", {})
    meta = _read_json(folder / META_FILE, problems, default={})
    if problems:
        raise InvalidProcess(problems)
    forms: dict[str, Any] = {}
    for form_name in _referenced_forms(bpmn_files) | ({meta["start_form"]} if meta.get("start_form") else set()):
        for candidate in (folder / form_name, forms_dir / form_name):
            if candidate.is_file():
                forms[form_name] = _read_json(candidate, problems, default=None)
                break
    if problems:
        raise InvalidProcess(problems)
    return Bundle(meta.get("name", folder.name), bpmn_files, forms, lane_roles, meta)


def _read_json(path: Path, problems: list[Problem], default):
    if not path.is_file():
        if default is not None:
            return default
        problems.append(Problem(path.name, None, "file not found"))
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        problems.append(Problem(path.name, err.lineno, f"invalid JSON: {err.msg}"))
        return default


def _referenced_forms(bpmn_files: dict[str, str]) -> set[str]:
    names = set()
    for filename, text in bpmn_files.items():
        try:
            tree = safexml.parse(text.encode("utf-8"), filename)
        except safexml.UnsafeXml:
            continue  # check() reports it with the rest
        names.update(tree.xpath(f"//*[local-name()='property'][@name='{engine.FORM_PROPERTY}']/@value"))
    return names


def check(bundle: Bundle) -> engine.ProcessModel:
    """Parse and cross-check a bundle; raise InvalidProcess listing every problem found."""
    model = engine.parse_process({name: text.encode("utf-8") for name, text in bundle.bpmn_files.items()},
                                 bundle.meta.get("process_id"))
    problems: list[Problem] = []
    where = ", ".join(bundle.bpmn_files)
    for bpmn_id, task in model.user_tasks.items():
        if not task["lane"]:
            problems.append(Problem(where, None, f"user task {bpmn_id} is in no lane"))
        elif task["lane"] not in bundle.lane_roles:
            problems.append(Problem(ROLE_MAP_FILE, None, f"lane '{task['lane']}' of user task {bpmn_id} maps to no role"))
        form_name = task["properties"].get(engine.FORM_PROPERTY)
        if not form_name:
            problems.append(Problem(where, None, f"user task {bpmn_id} has no {engine.FORM_PROPERTY} property"))
        elif bundle.forms.get(form_name) is None:
            problems.append(Problem(form_name, None, f"form of user task {bpmn_id} not found"))
    for form_name, schema in bundle.forms.items():
        problems.extend(Problem(form_name, None, p) for p in validation.schema_problems(schema))
    if problems:
        raise InvalidProcess(problems)
    return model


def publish(session: Session, bundle: Bundle, by: str, now: datetime) -> tuple[ProcessVersion, bool]:
    """Store the bundle as the next version of its process, unless it equals the latest one."""
    model = check(bundle)
    digest = bundle.digest()
    current = latest(session, bundle.name)
    if current is not None and current.digest == digest:
        return current, False
    number = (session.scalar(select(func.max(ProcessVersion.version)).where(ProcessVersion.name == bundle.name)) or 0) + 1
    version = ProcessVersion(
        name=bundle.name, version=number, process_id=model.process_id, title=bundle.meta.get("title", ""),
        bpmn_files=bundle.bpmn_files, forms=bundle.forms, lane_roles=bundle.lane_roles, meta=bundle.meta,
        spec_json=model.spec_json, elements=model.elements, digest=digest, published_at=now, published_by=by,
    )
    session.add(version)
    session.flush()
    return version, True


def latest(session: Session, name: str) -> ProcessVersion | None:
    return session.scalars(select(ProcessVersion).where(ProcessVersion.name == name)
                           .order_by(ProcessVersion.version.desc()).limit(1)).first()


def known_roles(session: Session) -> set[str]:
    roles = set(SYSTEM_ROLES)
    for lane_roles in session.scalars(select(ProcessVersion.lane_roles)):
        roles.update(lane_roles.values())
    return roles


@dataclass(frozen=True)
class Published:
    """What commands need of a process version, kept in memory: versions never change."""

    id: int
    name: str
    version: int
    title: str
    forms: dict[str, Any]
    lane_roles: dict[str, str]
    meta: dict[str, Any]
    model: engine.ProcessModel

    def form_of(self, bpmn_id: str) -> dict[str, Any]:
        name = self.model.properties(bpmn_id).get(engine.FORM_PROPERTY)
        return self.forms.get(name) or {"type": "object", "properties": {}}


class ModelCache:
    """Parsed process versions by id, loaded from the database once per process."""

    def __init__(self) -> None:
        self._published: dict[int, Published] = {}

    def published(self, session: Session, version_id: int) -> Published:
        found = self._published.get(version_id)
        if found is None:
            row = session.get(ProcessVersion, version_id)
            found = Published(row.id, row.name, row.version, row.title, row.forms, row.lane_roles, row.meta,
                              engine.ProcessModel(row.process_id, row.spec_json, row.elements))
            self._published[version_id] = found
        return found

    def warm(self, session: Session) -> int:
        """Parse every published version now (a web worker's start), not on first use; how many."""
        for version_id in session.scalars(select(ProcessVersion.id)):
            self.published(session, version_id)
        return len(self._published)

    def get(self, version: ProcessVersion) -> engine.ProcessModel:
        return self.published(object_session(version), version.id).model
