"""Reading uploaded bundle files within their limits: a zip or loose files, names and sizes
checked before anything is parsed."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from service.bundles import catalog
from service.bundles.findings import BundleRejected, Finding, finding
from service.engine import safexml
from service.errors import Invalid

MAX_FILES = 100
MAX_FILE_BYTES = safexml.MAX_XML_BYTES
MAX_BUNDLE_BYTES = 8 * 1024 * 1024


def files_from_zip(data: bytes) -> dict[str, bytes]:
    """The .bpmn and .json files of a zip (folders flattened), read within the size limits."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = [i for i in archive.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX/")
                   and not i.filename.rsplit("/", 1)[-1].startswith(".")]
    except (zipfile.BadZipFile, ValueError) as err:
        raise BundleRejected([finding("(zip)", None, "bad_zip", detail=str(err))]) from err
    if len(entries) > MAX_FILES:
        raise BundleRejected([finding("(zip)", None, "too_many_files", limit=MAX_FILES)])
    files: dict[str, bytes] = {}
    problems: list[Finding] = []
    total = 0
    for entry in entries:
        name = entry.filename.rsplit("/", 1)[-1]
        if entry.file_size > MAX_FILE_BYTES:
            problems.append(finding(name, None, "file_too_large", limit=MAX_FILE_BYTES // 1024,
                                    size=entry.file_size // 1024))
            continue
        total += entry.file_size
        if total > MAX_BUNDLE_BYTES:
            raise BundleRejected([finding("(zip)", None, "bundle_too_large", limit=MAX_BUNDLE_BYTES // 1024)])
        try:
            with archive.open(entry) as stream:
                content = stream.read(MAX_FILE_BYTES + 1)  # the header's size may lie
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError) as err:
            problems.append(finding(name, None, "bad_zip", detail=str(err)))
            continue
        if name in files:
            problems.append(finding(name, None, "duplicate_file"))
        files[name] = content
    if problems:
        raise BundleRejected(problems)
    return files


def check_files(files: dict[str, bytes]) -> list[Finding]:
    problems = []
    if len(files) > MAX_FILES:
        return [finding("(bundle)", None, "too_many_files", limit=MAX_FILES)]
    total = 0
    for name, content in files.items():
        if "/" in name or "\\" in name or ".." in name or not name.endswith((".bpmn", ".json")) or len(name) > 200:
            problems.append(finding(name, None, "bad_file_name"))
        if len(content) > MAX_FILE_BYTES:
            problems.append(finding(name, None, "file_too_large", limit=MAX_FILE_BYTES // 1024,
                                    size=len(content) // 1024))
        total += len(content)
    if total > MAX_BUNDLE_BYTES:
        problems.append(finding("(bundle)", None, "bundle_too_large", limit=MAX_BUNDLE_BYTES // 1024))
    if not any(name.endswith(".bpmn") for name in files):
        problems.append(finding("(bundle)", None, "no_bpmn"))
    return problems


def files_of_folder(folder: Path, forms_dir: Path | None = None) -> dict[str, bytes]:
    """A bundle folder's .bpmn and .json files, plus the referenced forms it lacks from forms_dir."""
    if not folder.is_dir():
        raise Invalid(f"ไม่พบโฟลเดอร์ {folder}")
    files = {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file() and p.suffix in (".bpmn", ".json")}
    if forms_dir is not None and forms_dir.is_dir():
        wanted = catalog.referenced_forms({k: v.decode("utf-8", "replace") for k, v in files.items()
                                            if k.endswith(".bpmn")})
        try:
            meta = json.loads(files.get(catalog.META_FILE, b"{}"))
        except ValueError:
            meta = None
        for name in wanted | (catalog.meta_forms(meta) if isinstance(meta, dict) else set()):
            if name not in files and (forms_dir / name).is_file():
                files[name] = (forms_dir / name).read_bytes()
    return files
