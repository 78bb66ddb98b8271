"""A corpus of broken and hostile bundles (tests/fixtures/bad_bundles/): each is refused with its
expected message, with file and line where there is one, nothing is stored and nothing crashes."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from service.bundles import lint
from service.bundles.findings import BundleRejected
from service.commands import admin
from service.models import ProcessVersion

CORPUS = Path(__file__).parents[1] / "fixtures" / "bad_bundles"
#: Versions stored before any test upload: one per shipped process folder (processes/*).
SHIPPED = sum(1 for p in (Path(__file__).parents[2] / "processes").iterdir() if p.is_dir())
BASE = {p.name: p.read_bytes() for p in (CORPUS / "base").iterdir()}
CASES = sorted(CORPUS.glob("[0-9]*.json"))


def apply(recipe: dict) -> dict[str, bytes]:
    files = dict(BASE)
    for name, old, new in recipe.get("replace", []):
        assert old.encode() in files[name], f"recipe does not match the base bundle: {old!r}"
        files[name] = files[name].replace(old.encode(), new.encode())
    for name, content in recipe.get("files", {}).items():
        if content is None:
            files.pop(name)
        else:
            files[name] = content.encode()
    return files


@pytest.fixture
def headers(ctx, org):
    return {"Authorization": f"Bearer {admin.add_user(ctx, 'designer-bad', None, ['designer'], with_token=True)}"}


def stored(ctx) -> int:
    with ctx.db.read() as session:
        return session.scalar(select(func.count()).select_from(ProcessVersion))


def post(client, headers, files: dict[str, bytes], **extra):
    return client.post("/api/v1/processes", headers=headers, content_type="multipart/form-data",
                       data={**extra, "files": [(io.BytesIO(v), k) for k, v in files.items()]})


def test_the_base_bundle_is_valid(client, headers, ctx):
    response = post(client, headers, BASE, validate_only="1")
    assert response.status_code == 200, response.get_json()
    assert all(run["finished"] for run in response.get_json()["dry_run"])


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_each_bad_bundle_is_refused_with_its_message(case, client, headers, ctx):
    recipe = json.loads(case.read_text(encoding="utf-8"))
    before = stored(ctx)
    response = post(client, headers, apply(recipe))
    assert response.status_code == 422, response.get_data(as_text=True)[:500]
    errors = response.get_json()["errors"]
    found = [e for e in errors if e["code"] == recipe["expect"]]
    assert found, f"expected {recipe['expect']}, got {[(e['code'], e['message']) for e in errors]}"
    assert all(e["message"] and e["file"] for e in errors)
    if "contains" in recipe:
        assert any(recipe["contains"] in e["message"] for e in found), found
    english = post(client, headers, apply(recipe), lang="en").get_json()["errors"]
    assert [e["code"] for e in english] == [e["code"] for e in errors]
    assert all(en["message"] != th["message"] for en, th in zip(english, errors, strict=True))
    assert stored(ctx) == before


def test_billion_laughs_is_refused_without_expanding(client, headers, ctx):
    entities = "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    bomb = (f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY l0 "ha">{entities}]>'
            f'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">&l9;</bpmn:definitions>')
    response = post(client, headers, {**BASE, "sample.bpmn": bomb.encode()})
    assert response.status_code == 422
    assert [e["code"] for e in response.get_json()["errors"]] == ["xml_doctype"]
    assert stored(ctx) == SHIPPED


def test_a_50_mb_file_is_refused(client, headers, ctx):
    huge = b"<x>" + b" " * (50 * 1024 * 1024) + b"</x>"
    too_big = client.post("/api/v1/processes", headers={**headers, "Content-Type": "application/zip"}, data=huge)
    assert too_big.status_code == 413 and too_big.mimetype == "application/problem+json"  # never even read
    with pytest.raises(BundleRejected) as refused:
        lint.check({**BASE, "sample.bpmn": huge})
    too_large = [f for f in refused.value.findings if f.code == "file_too_large"]
    assert too_large[0].file == "sample.bpmn" and "KB" in too_large[0].message()
    assert stored(ctx) == SHIPPED


def test_broken_and_oversized_zips(client, headers, ctx):
    response = client.post("/api/v1/processes", headers={**headers, "Content-Type": "application/zip"},
                           data=b"PK\x03\x04 not really a zip")
    assert response.status_code == 422 and response.get_json()["errors"][0]["code"] == "bad_zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("sample.bpmn", b"<" + b"a" * (40 * 1024 * 1024))  # compresses to a few KB
    bomb = client.post("/api/v1/processes", headers={**headers, "Content-Type": "application/zip"},
                       data=buffer.getvalue())
    assert bomb.status_code == 422 and bomb.get_json()["errors"][0]["code"] == "file_too_large"
    assert stored(ctx) == SHIPPED


def test_only_designers(client, org, ctx):
    for role in ("admin", "executive", "auditor"):
        assert post(client, org.headers(role), BASE).status_code == 403
    assert stored(ctx) == SHIPPED
