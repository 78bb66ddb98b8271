"""The bundle lint without a database: sample data from forms, timer checks, the outline diff."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.bundles import catalog, lint, outline, samples

ROOT = Path(__file__).parents[2]


@pytest.mark.parametrize("form", sorted((ROOT / "forms").glob("*.json")), ids=lambda p: p.stem)
def test_sample_data_of_every_shipped_form_is_valid(form):
    schema = json.loads(form.read_text(encoding="utf-8"))
    assert samples.sample_problem(schema, samples.sample(schema)) is None


def test_sample_honours_choices_and_examples():
    schema = {"type": "object", "properties": {"d": {"enum": ["a", "b"]}, "n": {"type": "integer", "minimum": 3}}}
    assert samples.sample(schema) == {"d": "a", "n": 3}
    assert samples.sample(schema, choose={"d": "b"})["d"] == "b"
    assert samples.sample({**schema, "examples": [{"d": "b", "n": 9}]}) == {"d": "b", "n": 9}


def test_unquoted_duration_says_how_to_fix_it_in_both_languages():
    item = lint.finding("a.bpmn", 12, "timer_unquoted", where="«รอ» (wait)", expr="P15D")
    assert str(item).startswith("a.bpmn:12: ") and 'เขียน "P15D"' in item.message()
    assert 'write "P15D"' in item.message("en")
    assert item.as_dict("en")["severity"] == "error"


def test_diff_of_the_shipped_process_against_version_two():
    v1 = catalog.read_bundle(ROOT / "processes" / "operational_plan", ROOT / "forms")
    v2 = catalog.read_bundle(ROOT / "tests" / "fixtures" / "operational_plan_v2", ROOT / "forms")
    changes = outline.diff(outline.outline(v1), outline.outline(v2))
    assert ("review_posting", "added") in {(c["key"], c["change"]) for c in changes["tasks"]}
    assert [c["key"] for c in changes["timers"]] == ["posting_deadline"]
    assert "expression" in changes["timers"][0]["fields"]
    assert outline.diff(outline.outline(v1), outline.outline(v1)) == {"tasks": [], "lanes": [], "forms": [],
                                                                       "timers": []}
    assert {c["change"] for c in outline.diff(None, outline.outline(v1))["tasks"]} == {"added"}
