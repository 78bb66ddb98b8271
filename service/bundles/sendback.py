"""Send-backs as a process declares them on its deciding steps: the decision that sends the plan
back (``sendBackWhen="field=value"``), the field that says why (``sendBackReasonField``) and the
lists of the draft shown to those who decide (``draftLists``); from the plan's event log, which
open step was sent back, by whom, when and why; and what changed in a list between two rounds."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from service.bundles import elements, samples
from service.bundles.findings import Finding, finding
from service.errors import Invalid
from service.taskforms import validation

SEND_BACK_WHEN = "sendBackWhen"
SEND_BACK_REASON = "sendBackReasonField"
DRAFT_LISTS = "draftLists"
#: the fields that tell two versions of a project apart, besides its name
COMPARED = ("budget", "strategy", "plan_program", "place", "responsible_unit", "activities", "months", "source",
            "agency", "is_equipment", "equipment_category", "equipment_type")


@dataclass(frozen=True)
class SendBack:
    """A deciding step's send-back: the decision field, the values that send back, the reason field."""

    field: str
    values: frozenset[str]
    reason_field: str

    def sends_back(self, data: Mapping[str, Any] | None) -> bool:
        return isinstance(data, Mapping) and str(data.get(self.field)) in self.values


def declared(properties: Mapping[str, str]) -> SendBack | None:
    """The send-back a step's properties declare (``field=value``, several values joined by ``|``)."""
    when = (properties.get(SEND_BACK_WHEN) or "").strip()
    field, sep, values = when.partition("=")
    if not sep or not field.strip() or not values.strip():
        return None
    return SendBack(field.strip(), frozenset(v.strip() for v in values.split("|") if v.strip()),
                    (properties.get(SEND_BACK_REASON) or "").strip())


def draft_lists(properties: Mapping[str, str]) -> list[str]:
    """The list fields of the plan's data that a deciding step shows (``draftLists``, comma-separated)."""
    return [name.strip() for name in (properties.get(DRAFT_LISTS) or "").split(",") if name.strip()]


def reopened_by(step: str, opened_at: datetime, completions: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The completion that reopened ``step`` (opened at ``opened_at``) when the step had been
    completed before: the last completion at or before it opened. ``completions``: the plan's
    task-completion events in order (``at``, ``task`` and whatever else they carry)."""
    done_before = False
    sender: Mapping[str, Any] | None = None
    for event in completions:
        if _instant(event["at"]) > opened_at:
            break
        done_before = done_before or event["task"] == step
        sender = event
    if not done_before or sender is None or sender["task"] == step:
        return None
    return sender


def returned(sender: Mapping[str, Any], data: Mapping[str, Any] | None,
             elements: Mapping[str, Mapping[str, Any]]) -> dict[str, Any] | None:
    """The send-back a reopening completion (``reopened_by``, with the ``data`` it submitted) made,
    as its step's properties declare it: who, in which role, when, from which step, and why; None
    when that step declares no send-back or decided otherwise."""
    element = elements.get(sender["task"] or "", {})
    send_back = declared(element.get("properties") or {})
    if send_back is None or not send_back.sends_back(data):
        return None
    reason = (data or {}).get(send_back.reason_field) if send_back.reason_field else None
    return {"by": sender["actor"], "role": sender.get("role"), "at": _instant(sender["at"]).isoformat(),
            "from_step": sender["task"], "from_title": element.get("name") or sender["task"],
            "reason": reason if isinstance(reason, str) else ""}


def list_changes(before: Iterable[Mapping[str, Any]], after: Iterable[Mapping[str, Any]]) -> dict[str, list]:
    """What changed in a list of projects between two submissions, matched by name (the same name
    twice matches in order): added and removed (name, budget), changed (name, budget before and after,
    and whether anything else of it changed)."""
    left: dict[str, list[Mapping[str, Any]]] = {}
    for item in before:
        if isinstance(item, Mapping):
            left.setdefault(str(item.get("name", "")), []).append(item)
    added, changed = [], []
    for item in after:
        if not isinstance(item, Mapping):
            continue
        name = str(item.get("name", ""))
        earlier = left.get(name)
        if not earlier:
            added.append({"name": name, "budget": _amount(item.get("budget"))})
            continue
        old = earlier.pop(0)
        different = [key for key in COMPARED if _comparable(old.get(key)) != _comparable(item.get(key))]
        if different:
            changed.append({"name": name, "budget_before": _amount(old.get("budget")),
                            "budget": _amount(item.get("budget")), "fields": different})
    removed = [{"name": name, "budget": _amount(item.get("budget"))} for name, items in left.items() for item in items]
    return {"added": added, "removed": removed, "changed": changed}


def changes_by_event(events: Iterable[dict[str, Any]], form_kinds: Iterable[str]) -> dict[int, dict[str, Any]]:
    """Event seq -> {list field: its changes} for each form submission that gave again a list an
    earlier submission had given (a re-draft after a send-back), when something in it changed."""
    kinds = set(form_kinds)
    last: dict[str, list] = {}
    found: dict[int, dict[str, Any]] = {}
    for event in events:
        if event["kind"] not in kinds or not isinstance(event.get("data"), dict):
            continue
        for name, value in event["data"].items():
            if not isinstance(value, list) or not all(isinstance(v, Mapping) and "name" in v for v in value):
                continue
            if name in last:
                diff = list_changes(last[name], value)
                if any(diff.values()):
                    found.setdefault(event["seq"], {})[name] = diff
            last[name] = value
    return found


# --- The designers' checks (lint) ------------------------------------------------------------
def problems(file: str, task: Any, forms: Mapping[str, Any]) -> list[Finding]:
    """What is wrong with a user task's send-back properties against its form and the bundle's forms."""
    properties = {p.get("name"): p.get("value") or "" for p in task.iter("{*}property") if p.get("name")}
    where, line = elements.where(task), task.sourceline
    found: list[Finding] = []
    for name in draft_lists(properties):
        if not any(_declares_list(form, name) for form in forms.values()):
            found.append(finding(file, line, "draft_list_unknown", where=where, field=name))
    if SEND_BACK_WHEN not in properties:
        if properties.get(SEND_BACK_REASON):
            found.append(finding(file, line, "send_back_reason_only", where=where))
        return found
    send_back = declared(properties)
    if send_back is None:
        return [*found, finding(file, line, "send_back_syntax", where=where, value=properties[SEND_BACK_WHEN])]
    form_name = elements.form_property(task) or ""
    form = forms.get(form_name)
    if not isinstance(form, dict):
        return found  # the form's own finding (task_no_form, form_missing) says it
    fields = form.get("properties") or {}
    decision = fields.get(send_back.field)
    if not isinstance(decision, dict):
        found.append(finding(file, line, "send_back_field", where=where, field=send_back.field, form=form_name))
    elif isinstance(decision.get("enum"), list):
        choices = [str(c) for c in decision["enum"]]
        found += [finding(file, line, "send_back_value", where=where, field=send_back.field, value=value,
                          choices=", ".join(choices)) for value in sorted(send_back.values) if value not in choices]
    if not send_back.reason_field:
        return [*found, finding(file, line, "send_back_no_reason", where=where)]
    reason = fields.get(send_back.reason_field)
    if not isinstance(reason, dict) or reason.get("type") != "string":
        return [*found, finding(file, line, "send_back_reason_field", where=where, field=send_back.reason_field,
                                form=form_name)]
    if isinstance(decision, dict) and not found:
        for value in sorted(send_back.values):
            if not _requires_reason(form, send_back, value):
                found.append(finding(file, line, "send_back_reason_optional", where=where, form=form_name,
                                     field=send_back.reason_field, decision=f"{send_back.field} = {value}",
                                     decision_field=send_back.field))
    return found


def _declares_list(form: Any, name: str) -> bool:
    field = (form.get("properties") or {}).get(name) if isinstance(form, dict) else None
    return isinstance(field, dict) and field.get("type") == "array"


def _requires_reason(form: dict[str, Any], send_back: SendBack, value: str) -> bool:
    """Whether the form refuses a send-back with ``value`` that gives no reason (or an empty one):
    the form's sample data, sending back, without the reason."""
    data = samples.sample(form)
    if not isinstance(data, dict):
        return True  # the form's own finding (form_no_sample) says it
    decision = (form.get("properties") or {}).get(send_back.field) or {}
    data[send_back.field] = type(decision["enum"][0])(value) if decision.get("enum") else value
    for given in ({}, {send_back.reason_field: ""}):
        attempt = {k: v for k, v in data.items() if k != send_back.reason_field} | given
        try:
            validation.validate(form, attempt)
        except Invalid as err:
            if any(e["field"] == f"/{send_back.reason_field}" for e in err.errors):
                continue
        return False
    return True


def _instant(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _amount(value: Any) -> str | None:
    """A budget as exact text (two decimals), so a JSON client and a page show the same figure."""
    try:
        return str(Decimal(str(value)).quantize(Decimal("0.01")))
    except ArithmeticError:
        return None


def _comparable(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    if isinstance(value, list):
        return sorted(map(str, value))
    return value
