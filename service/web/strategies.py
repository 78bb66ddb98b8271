"""The page where an organization's admin (or a national admin) keeps its development strategies:
the list in order, replaced whole from a text box, one strategy a line (commands/strategies.py)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from service import queries
from service.auth import ADMIN
from service.commands import strategies
from service.errors import Forbidden, Invalid
from service.http import ctx
from service.web import public
from service.web.auth import actor

bp = Blueprint("strategies_web", __name__)
MAX_TEXT = 60_000  # characters of the text box: a hundred long names and then some


@bp.get("/strategies")
@login_required
def mine() -> ResponseReturnValue:
    """An organization's admin: their organization's list; a national admin: which organization.
    :raise 403: the user is no administrator."""
    me = actor()
    if ADMIN not in me.national_roles:
        own = strategies.kept_by_admin(ctx(), me)
        if not own:
            raise Forbidden("เฉพาะผู้ดูแลระบบเท่านั้นที่กำหนดยุทธศาสตร์การพัฒนาได้")
        return redirect(url_for("strategies_web.show", code=own[0]))
    return render_template("strategies.html", organizations=queries.organizations(ctx(), me), kept=None)


@bp.get("/organizations/<code>/strategies")
@login_required
def show(code: str) -> ResponseReturnValue:
    """:raise 404: not an organization the user sees; 403: not its admin nor a national admin."""
    kept = strategies.listing(ctx(), actor(), code, keeper=True)
    return _page(kept, _as_text(kept["strategies"]))


@bp.post("/organizations/<code>/strategies")
@login_required
def keep(code: str) -> ResponseReturnValue:
    """Replace the list with the text box's lines. :raise 403, 404: as for the page; 422: a bad list."""
    kept = strategies.listing(ctx(), actor(), code, keeper=True)
    text = request.form.get("strategies", "")
    try:
        if len(text) > MAX_TEXT:
            raise Invalid("ข้อความยาวเกินไป", [{"field": "/strategies",
                                                "message": f"ข้อความยาวได้ไม่เกิน {MAX_TEXT:,} ตัวอักษร"}])
        strategies.keep(ctx(), actor(), code, strategies.lines(text))
    except Invalid as err:
        return _page(kept, text[:MAX_TEXT], err.errors), 422
    flash("บันทึกรายการยุทธศาสตร์แล้ว แผนที่บันทึกไว้ก่อนหน้านี้ยังคงยุทธศาสตร์เดิมของโครงการไว้ตามที่บันทึก", "success")
    return redirect(url_for("strategies_web.show", code=code))


def _page(kept: dict[str, Any], text: str, errors: list[dict[str, str]] | None = None) -> str:
    return render_template("strategies.html", kept=kept, text=text, errors=errors or [],
                           limit=strategies.MAX_STRATEGIES, ita=public.ita(kept["organization"]))


def _as_text(entries: list[dict[str, Any]]) -> str:
    return "\n".join(f"{e['code']} | {e['name']}" if e["code"] else e["name"] for e in entries)

