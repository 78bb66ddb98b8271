"""The designer's checks of the committee keywords of forms (x-default-from, x-committee-date):
the shipped bundles pass; the bad bundles of tests/fixtures/bad_bundles/61..67 cover each refusal
through the API; here the cases the corpus does not (what is allowed, and findings together)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.bundles import intake, lint
from service.bundles.findings import BundleRejected

ROOT = Path(__file__).parents[2]
BASE = {p.name: p.read_bytes() for p in (ROOT / "tests" / "fixtures" / "bad_bundles" / "base").iterdir()}
SHIPPED = sorted(p.name for p in (ROOT / "processes").iterdir() if p.is_dir())


def with_fields(**fields) -> dict[str, bytes]:
    form = json.loads(BASE["fill.schema.json"])
    form["properties"].update(fields)
    return {**BASE, "fill.schema.json": json.dumps(form, ensure_ascii=False).encode()}


def codes(files: dict[str, bytes]) -> list[str]:
    try:
        lint.check(files, "sample")
    except BundleRejected as err:
        return [f.code for f in err.findings]
    return []


@pytest.mark.parametrize("name", SHIPPED)
def test_the_shipped_bundles_use_the_committee_keywords_cleanly(name):
    files = intake.files_of_folder(ROOT / "processes" / name, ROOT / "forms")
    lint.check(files, name)  # raises BundleRejected with every finding otherwise


def test_the_shipped_forms_use_both_keywords():
    texts = [p.read_text(encoding="utf-8") for p in (ROOT / "forms").glob("*.schema.json")]
    assert any('"x-default-from"' in t for t in texts) and any('"x-committee-date"' in t for t in texts)


def test_a_prefill_from_a_lane_role_and_one_meeting_date_pass():
    assert codes(with_fields(
        signer={"type": "string", "title": "ผู้ลงนาม", "x-default-from": {"committee": "clerk", "field": "name"}},
        signer_title={"type": "string", "title": "ตำแหน่ง", "x-default-from": {"committee": "clerk",
                                                                               "field": "position"}},
        chair={"type": "string", "title": "ประธาน", "x-default-from": {"committee": "clerk"}},  # field: name
        met_on={"type": "string", "format": "date", "title": "วันประชุม", "x-committee-date": True})) == []


@pytest.mark.parametrize("source", [["clerk"], {"committee": 7}, {"field": "name"},
                                    {"committee": "clerk", "feild": "name"}, None])
def test_a_malformed_prefill_is_refused(source):
    assert codes(with_fields(signer={"type": "string", "title": "ผู้ลงนาม", "x-default-from": source})) == \
        ["committee_default_shape"]


def test_every_problem_of_a_field_is_found_and_read_in_both_languages():
    files = with_fields(
        count={"type": "integer", "title": "จำนวน", "x-default-from": {"committee": "mayor", "field": "age"}},
        met_on={"type": "string", "title": "วันประชุม", "x-committee-date": False})
    with pytest.raises(BundleRejected) as err:
        lint.check(files, "sample")
    found = {f.code: f for f in err.value.findings}
    assert set(found) == {"committee_default_unknown", "committee_default_field", "committee_default_not_text",
                          "committee_date_not_true", "committee_date_not_date"}
    assert all(f.file == "fill.schema.json" for f in found.values())
    assert "mayor" in found["committee_default_unknown"].message() and \
        "clerk" in found["committee_default_unknown"].message("en")
    assert all(f.message("th") != f.message("en") for f in found.values())


def test_a_committee_of_a_lane_without_roles_json_is_left_to_its_own_finding():
    files = with_fields(signer={"type": "string", "title": "ผู้ลงนาม",
                                "x-default-from": {"committee": "executive", "field": "name"}})
    found = codes({**files, "roles.json": b"[]"})
    assert "roles_invalid" in found and "committee_default_unknown" not in found
