"""Process bundles (BPMN files, the forms they reference, the lane-to-role map, metadata):
reading them from a folder, checking them as a whole, publishing them as immutable versions, and
what process.json says of a version (its start form, who may start it, whether it is the default)."""

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
from service.auth import ADMIN, ORGANIZATION_ROLES, SYSTEM_ROLES
from service.engine import InvalidProcess, Problem, safexml
from service.models import ProcessVersion
from service.taskforms import validation

ROLE_MAP_FILE = "roles.json"
META_FILE = "process.json"
#: process.json's keys
START_FORM_KEY = "start_form"  # the JSON Schema of the data a plan starts with
STARTER_ROLES_KEY = "starter_roles"  # roles that may start a plan (an organization's admin always may)
ONE_PER_YEAR_KEY = "one_per_fiscal_year"  # false lets an organization run several a year
DEFAULT_KEY = "default"  # the process a plan starts on when none is named
#: which stable address of the public notice board the process's announced plans answer (noticeboard.KINDS)
PUBLIC_BOARD_KEY = "public_board"
#: how the projects of the process's announced plans are tracked through the year (service/tracking)
TRACKING_KEY = "tracking"
EMPTY_FORM: dict[str, Any] = {"type": "object", "properties": {}}


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

    def files(self) -> dict[str, str]:
        """The bundle as the files a designer edits: the BPMN, each form, roles.json and process.json."""
        files = dict(self.bpmn_files)
        files.update({form: json.dumps(schema, ensure_ascii=False, indent=2) for form, schema in self.forms.items()})
        files[ROLE_MAP_FILE] = json.dumps({"lanes": self.lane_roles}, ensure_ascii=False, indent=2)
        files[META_FILE] = json.dumps(self.meta, ensure_ascii=False, indent=2)
        return files


def bundle_of(version: ProcessVersion) -> Bundle:
    return Bundle(version.name, version.bpmn_files, version.forms, version.lane_roles, version.meta)


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
    for form_name in referenced_forms(bpmn_files) | meta_forms(meta):
        for candidate in (folder / form_name, forms_dir / form_name):
            if candidate.is_file():
                forms[form_name] = _read_json(candidate, problems, default=None)
                break
    if problems:
        raise InvalidProcess(problems)
    return Bundle(meta.get("name", folder.name), bpmn_files, forms, lane_roles, meta)


def meta_forms(meta: dict[str, Any]) -> set[str]:
    """The forms process.json names (the start form, the progress form of its tracking)."""
    tracking = meta.get(TRACKING_KEY)
    named = [meta.get(START_FORM_KEY), tracking.get("form") if isinstance(tracking, dict) else None]
    return {name for name in named if isinstance(name, str) and name}


def progress_form(meta: dict[str, Any], forms: dict[str, Any]) -> dict[str, Any]:
    """The form the process's tracked projects record their progress by (empty: none tracked)."""
    tracking = meta.get(TRACKING_KEY)
    return forms.get(tracking.get("form") or "", {}) if isinstance(tracking, dict) else {}


def status_titles(progress: dict[str, Any]) -> dict[str, str]:
    """A progress form's statuses and their Thai titles, as the form names them."""
    status = (progress.get("properties") or {}).get("status") or {}
    return dict(zip(status.get("enum") or [], status.get("x-enumTitles") or [], strict=False))


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


def referenced_forms(bpmn_files: dict[str, str]) -> set[str]:
    names = set()
    for filename, text in bpmn_files.items():
        try:
            tree = safexml.parse(text.encode("utf-8"), filename)
        except safexml.UnsafeXml:
            continue  # check() reports it with the rest
        names.update(tree.xpath(f"//*[local-name()='property'][@name='{engine.FORM_PROPERTY}']/@value"))
    return names


def check(bundle: Bundle, model: engine.ProcessModel | None = None) -> engine.ProcessModel:
    """Cross-check a bundle with its parsed model (parsed here when not given); raise InvalidProcess
    listing every problem found."""
    if model is None:
        model = engine.parse_texts(bundle.bpmn_files, bundle.meta.get("process_id"))
    problems: list[Problem] = []
    where = ", ".join(bundle.bpmn_files)
    for bpmn_id, task in model.user_tasks.items():
        if not task["lane"]:
            problems.append(Problem(where, None, f"user task {bpmn_id} is in no lane"))
        elif task["lane"] not in bundle.lane_roles:
            problems.append(Problem(ROLE_MAP_FILE, None,
                                    f"lane '{task['lane']}' of user task {bpmn_id} maps to no role"))
        form_name = task["properties"].get(engine.FORM_PROPERTY)
        if not form_name:
            problems.append(Problem(where, None, f"user task {bpmn_id} has no {engine.FORM_PROPERTY} property"))
        elif bundle.forms.get(form_name) is None:
            problems.append(Problem(form_name, None, f"form of user task {bpmn_id} not found"))
    for form_name, schema in bundle.forms.items():
        problems.extend(Problem(form_name, None, p) for p in validation.schema_problems(schema))
    problems.extend(Problem(META_FILE, None, p) for p in _tracking_problems(bundle))
    if problems:
        raise InvalidProcess(problems)
    return model


def _tracking_problems(bundle: Bundle) -> list[str]:
    tracking = bundle.meta.get(TRACKING_KEY)
    if tracking is None:
        return []
    if not isinstance(tracking, dict):
        return [f"{TRACKING_KEY} must be an object"]
    problems = [f"{TRACKING_KEY}.{key} must be a field name" for key in ("projects", "adds", "changes", "removes")
                if key in tracking and not (isinstance(tracking[key], str) and tracking[key])]
    form = tracking.get("form")
    if form is not None and bundle.forms.get(form) is None:
        problems.append(f"{TRACKING_KEY}.form {form!r} not found")
    if "projects" in tracking and form is None:
        problems.append(f"{TRACKING_KEY} lists projects but names no form to record their progress by")
    editors = tracking.get("editors", [])
    if not (isinstance(editors, list) and all(isinstance(role, str) for role in editors)):
        problems.append(f"{TRACKING_KEY}.editors must be a list of roles")
    return problems


def publish(session: Session, bundle: Bundle, by: str, now: datetime,
            model: engine.ProcessModel | None = None) -> tuple[ProcessVersion, bool]:
    """Store the bundle as the next version of its process, unless it equals the latest one.
    ``model``: the bundle's model when the caller has checked it already (check parses otherwise)."""
    model = check(bundle, model)
    digest = bundle.digest()
    current = latest(session, bundle.name)
    if current is not None and current.digest == digest:
        return current, False
    number = (session.scalar(select(func.max(ProcessVersion.version))
                             .where(ProcessVersion.name == bundle.name)) or 0) + 1
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


def latest_versions(session: Session) -> list[ProcessVersion]:
    return [v for name in session.scalars(select(ProcessVersion.name).distinct())
            if (v := latest(session, name)) is not None]


def default_versions(session: Session) -> list[ProcessVersion]:
    """The latest versions that call themselves the default process (one, when all is well)."""
    return [v for v in latest_versions(session) if v.meta.get(DEFAULT_KEY)]


def starter_roles(version: ProcessVersion) -> set[str]:
    return set(version.meta.get(STARTER_ROLES_KEY, [])) | {ADMIN}


def start_form(version: ProcessVersion) -> dict[str, Any]:
    return version.forms.get(version.meta.get(START_FORM_KEY, ""), EMPTY_FORM)


def known_roles(session: Session) -> set[str]:
    roles = set(SYSTEM_ROLES) | set(ORGANIZATION_ROLES)
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
        return self.forms.get(name or "") or EMPTY_FORM


class ModelCache:
    """Parsed process versions by id, loaded from the database once per process."""

    def __init__(self) -> None:
        self._published: dict[int, Published] = {}

    def published(self, session: Session, version_id: int) -> Published:
        found = self._published.get(version_id)
        if found is None:
            row = session.get(ProcessVersion, version_id)
            # ids come from a foreign key or from the table itself, and versions are never deleted
            assert row is not None
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
        session = object_session(version)
        assert session is not None  # a version handed here was loaded by, and is still in, a session
        return self.published(session, version.id).model
