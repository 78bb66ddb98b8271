"""The plan's year drawn: pure functions from figures to SVG markup, one drawing for the progress
page, the dashboard and the report PDFs alike (WeasyPrint draws the same inline SVG). Colours and
sizes are SVG attributes, not page CSS, so paper and screen look the same; every chart has its
<title> and <desc>, and its figures as a table for screen readers (the pages put it in <details>).
Deterministic: the same figures make the same bytes, so a report made again stays the same."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape
from typing import Any

from markupsafe import Markup

from service.thai.baht import money

WIDTH = 340  # px of every chart: a 360 px phone, less the page's margins; scaled down below that
INK, MUTED, GRID = "#222", "#555", "#d5dbe1"
MONEY = (("budget", "งบประมาณ", "#b8c7d9"), ("contracted", "ตามสัญญา", "#6f8fb3"),
         ("disbursed", "เบิกจ่ายแล้ว", "#1f4e79"))
STATUS_COLOURS = {"not_started": "#9aa5b1", "in_progress": "#d9a400", "done": "#2e7d4f", "cancelled": "#b3261e"}
PLANNED, WORKED = "#6f8fb3", "#1f4e79"
MONTH_WIDTH = 12  # px of a month in a project's two ผด.02 bars


@dataclass(frozen=True)
class Chart:
    """A chart: its title (its accessible name), the drawing, and its figures as a table."""
    key: str
    title: str
    svg: Markup
    table: Markup


@dataclass(frozen=True)
class Amounts:
    """One row of money: a strategy, a plan-program, or the whole."""
    label: str
    budget: Any  # baht: float, int or Decimal
    contracted: Any
    disbursed: Any


def amount(value: Any) -> str:
    return money(Decimal(str(value or 0)))


def percent(part: Any, whole: Any) -> str:
    whole = Decimal(str(whole or 0))
    return f"{Decimal(str(part or 0)) * 100 / whole:.2f}" if whole else "0.00"


@dataclass(frozen=True)
class Words:
    """A label: SVG <text> on screen. On paper, WeasyPrint lays SVG text out a character at a time,
    which tears Thai vowels and tone marks off their consonants, so Thai words are set as HTML over
    the drawing at the same place (digits and Latin letters stay in the SVG)."""
    x: float
    y: float  # the baseline
    words: str
    size: int = 12
    anchor: str = "start"  # start, middle or end, as SVG's text-anchor
    fill: str = INK

    def svg(self) -> str:
        return (f'<text x="{self.x:g}" y="{self.y:g}" font-size="{self.size}" text-anchor="{self.anchor}" '
                f'fill="{self.fill}">{escape(self.words)}</text>')

    def html(self) -> str:
        width = 200  # a box wide enough for any label, aligned on x as the anchor says
        left = {"start": self.x, "middle": self.x - width / 2, "end": self.x - width}[self.anchor]
        align = {"start": "left", "middle": "center", "end": "right"}[self.anchor]
        size = self.size * 1.3  # Laksaman is small for its size: the words as large as the SVG's digits
        return (f'<span style="position: absolute; left: {left:g}px; top: {self.y - size:g}px; '
                f"width: {width}px; text-align: {align}; font-size: {size:g}px; line-height: {size:g}px; "
                f'color: {self.fill}; white-space: nowrap">{escape(self.words)}</span>')


def _text(x: float, y: float, words: str, size: int = 12, anchor: str = "start", fill: str = INK) -> Words:
    return Words(x, y, words, size, anchor, fill)


def _rect(x: float, y: float, width: float, height: float, fill: str, said: str = "") -> str:
    tip = f"<title>{escape(said)}</title>" if said else ""
    return (f'<rect x="{x:g}" y="{y:g}" width="{max(width, 0.5):g}" height="{height:g}" fill="{fill}">'
            f"{tip}</rect>")


def _svg(key: str, title: str, desc: str, height: float, body: list[Any], paper: bool = False) -> Markup:
    """The chart's SVG; on ``paper``, inside a box of its size with its Thai words over it (Words)."""
    body = [part for part in body if not isinstance(part, Words) or part.words]
    over = [part for part in body if isinstance(part, Words) and paper and not part.words.isascii()]
    drawing = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{WIDTH}" '
               f'height="{height:g}" viewBox="0 0 {WIDTH} {height:g}" aria-labelledby="{key}-title" '
               f'aria-describedby="{key}-desc"><title id="{key}-title">{escape(title)}</title>'
               f'<desc id="{key}-desc">{escape(desc)}</desc>'
               + "".join(part.svg() if isinstance(part, Words) else part for part in body if part not in over)
               + "</svg>")
    if not paper:
        return Markup(drawing)
    return Markup(f'<div class="chart-paper" style="position: relative; width: {WIDTH}px; height: {height:g}px">'
                  + drawing + "".join(part.html() for part in over) + "</div>")


def _table(title: str, head: Sequence[str], rows: Sequence[Sequence[str]]) -> Markup:
    cells = "".join("<tr>" + "".join(f'<th scope="row">{escape(row[0])}</th>' if i == 0 else
                                     f'<td class="num">{escape(cell)}</td>' for i, cell in enumerate(row)) + "</tr>"
                    for row in rows)
    return Markup(f'<table class="chart-figures"><caption>{escape(title)}</caption><thead><tr>'
                  + "".join(f'<th scope="col">{escape(h)}</th>' for h in head)
                  + f"</tr></thead><tbody>{cells}</tbody></table>")


def _short(label: str, limit: int = 46) -> str:
    return label if len(label) <= limit else label[:limit - 1] + "…"


def money_bars(key: str, title: str, rows: Sequence[Amounts], paper: bool = False) -> Chart:
    """Budget, contracted and disbursed of each row as three bars under its name, with the amounts
    and the share of the budget: the longest budget takes BAR px, the words the rest of the width."""
    bar, step = 190, 62
    largest = max((Decimal(str(r.budget or 0)) for r in rows), default=Decimal(0)) or Decimal(1)
    body: list[Any] = []
    for index, row in enumerate(rows):
        y = index * step
        body.append(_text(0, y + 13, _short(row.label)))
        for line, (field, name, colour) in enumerate(MONEY):
            value = getattr(row, field)
            width = float(Decimal(str(value or 0)) * bar / largest)
            share = "" if field == "budget" else f" ({percent(value, row.budget)}%)"
            top = y + 18 + line * 14
            body.append(_rect(0, top, round(width, 1), 11, colour, f"{name} {amount(value)} บาท{share}"))
            body.append(_text(round(width, 1) + 4, top + 10, f"{amount(value)}{share}", 11))
    if not rows:
        body.append(_text(0, 16, "ไม่มีโครงการ", 12, fill=MUTED))
    height = max(len(rows) * step, 24)
    desc = "; ".join(f"{r.label}: งบประมาณ {amount(r.budget)} บาท ตามสัญญา {amount(r.contracted)} บาท "
                     f"({percent(r.contracted, r.budget)}%) เบิกจ่ายแล้ว {amount(r.disbursed)} บาท "
                     f"({percent(r.disbursed, r.budget)}%)" for r in rows) or "ไม่มีโครงการ"
    table = _table(title, ("", "งบประมาณ (บาท)", "ตามสัญญา (บาท)", "ร้อยละ", "เบิกจ่ายแล้ว (บาท)", "ร้อยละ"),
                   [(r.label, amount(r.budget), amount(r.contracted), percent(r.contracted, r.budget),
                     amount(r.disbursed), percent(r.disbursed, r.budget)) for r in rows])
    return Chart(key, title, _svg(key, title, desc, height, body, paper), table)


def status_bars(key: str, title: str, counts: Sequence[tuple[str, str, int]], paper: bool = False) -> Chart:
    """How many projects have each status ((status, its title, count)): a bar each after its title."""
    label, bar, step = 140, 150, 26
    most = max((count for _, _, count in counts), default=0) or 1
    body: list[Any] = []
    for index, (status, name, count) in enumerate(counts):
        y = index * step + 2
        width = round(count * bar / most, 1)
        body.append(_text(0, y + 15, name))
        body.append(_rect(label, y + 3, width, 16, STATUS_COLOURS.get(status, MUTED), f"{name} {count} โครงการ"))
        body.append(_text(label + width + 4, y + 16, f"{count}"))
    desc = "; ".join(f"{name} {count} โครงการ" for _, name, count in counts)
    table = _table(title, ("สถานะ", "จำนวนโครงการ"), [(name, f"{count}") for _, name, count in counts])
    return Chart(key, title, _svg(key, title, desc, len(counts) * step + 4, body, paper), table)


#: the month charts: a left margin for the scale, then 12 columns of COLUMN px
LEFT, COLUMN, PLOT, TOP = 28, 26, 110, 8


def _month_axis(labels: Sequence[str], scale: str, top_label: str) -> list[Any]:
    """The grid, the scale's top and zero, and each month's name with its พ.ศ. year below it."""
    body: list[Any] = [f'<line x1="{LEFT}" x2="{WIDTH}" y1="{TOP}" y2="{TOP}" stroke="{GRID}"/>',
            f'<line x1="{LEFT}" x2="{WIDTH}" y1="{TOP + PLOT}" y2="{TOP + PLOT}" stroke="{MUTED}"/>',
            _text(LEFT - 3, TOP + 4, top_label, 10, "end", MUTED), _text(LEFT - 3, TOP + PLOT, "0", 10, "end", MUTED)]
    if scale:
        body.append(_text(LEFT, TOP + PLOT + 36, scale, 10, fill=MUTED))
    for index, label in enumerate(labels):
        name, _, year = label.partition(" ")
        centre = LEFT + index * COLUMN + COLUMN / 2
        body.append(_text(centre, TOP + PLOT + 13, name, 10, "middle"))
        body.append(_text(centre, TOP + PLOT + 24, year, 9, "middle", MUTED))
    return body


def months_columns(key: str, title: str, months: Sequence[tuple[str, int, int]], paper: bool = False) -> Chart:
    """Per month of the fiscal year ((label "ต.ค. 63", planned, worked)): how many projects were
    planned to be worked that month (light) and how many were worked (dark), side by side."""
    most = max((max(p, w) for _, p, w in months), default=0) or 1
    body = _month_axis([m[0] for m in months], "แท่งอ่อน: ตามแผน · แท่งเข้ม: ดำเนินการจริง (โครงการ)", f"{most}")
    for index, (label, planned, worked) in enumerate(months):
        x = LEFT + index * COLUMN + 3
        for offset, (count, colour, name) in enumerate(((planned, PLANNED, "ตามแผน"), (worked, WORKED, "ดำเนินการจริง"))):
            height = round(count * PLOT / most, 1)
            body.append(_rect(x + offset * 10, TOP + PLOT - height, 9, height, colour,
                              f"{label} {name} {count} โครงการ"))
    desc = "; ".join(f"{label}: ตามแผน {p} ดำเนินการจริง {w} โครงการ" for label, p, w in months)
    table = _table(title, ("เดือน", "ตามแผน (โครงการ)", "ดำเนินการจริง (โครงการ)"),
                   [(label, f"{p}", f"{w}") for label, p, w in months])
    return Chart(key, title, _svg(key, title, desc, TOP + PLOT + 42, body, paper), table)


def cumulative_line(key: str, title: str, months: Sequence[tuple[str, Any]], budget: Any,
                    paper: bool = False) -> Chart:
    """Disbursement added up month by month ((label, baht by the month's end, or None for a month
    still to come)) against the budget, the top of the scale."""
    whole = Decimal(str(budget or 0))
    top = max([whole, *(Decimal(str(v)) for _, v in months if v is not None)]) or Decimal(1)
    body = _month_axis([m[0] for m in months], f"บาท · เส้นประ: งบประมาณ {amount(budget)} บาท",
                       f"{round(top * 100 / whole)}%" if whole else "")
    budget_y = round(float(TOP + PLOT - whole * PLOT / top), 1)
    body.append(f'<line x1="{LEFT}" x2="{WIDTH}" y1="{budget_y:g}" y2="{budget_y:g}" stroke="{MUTED}" '
                f'stroke-dasharray="4 3"/>')
    points = [(LEFT + index * COLUMN + COLUMN / 2, round(float(TOP + PLOT - Decimal(str(v)) * PLOT / top), 1), label, v)
              for index, (label, v) in enumerate(months) if v is not None]
    if points:
        body.append(f'<polyline fill="none" stroke="{WORKED}" stroke-width="2" points="'
                    + " ".join(f"{x:g},{y:g}" for x, y, _, _ in points) + '"/>')
    for x, y, label, value in points:
        body.append(f'<circle cx="{x:g}" cy="{y:g}" r="3" fill="{WORKED}"><title>{escape(label)} '
                    f"{amount(value)} บาท ({percent(value, budget)}%)</title></circle>")
    desc = "; ".join(f"{label}: {amount(v)} บาท ({percent(v, budget)}%)" if v is not None else f"{label}: ยังไม่ถึง"
                     for label, v in months)
    table = _table(title, ("เดือน", "เบิกจ่ายสะสม (บาท)", "ร้อยละของงบประมาณ"),
                   [(label, amount(v), percent(v, budget)) if v is not None else (label, "—", "—")
                    for label, v in months])
    return Chart(key, title, _svg(key, title, desc, TOP + PLOT + 42, body, paper), table)


def project_bar(planned: list[int], worked: list[int], months: list[tuple[int, str, int]]) -> dict[str, Any]:
    """A project's two bars of ผด.02 (planned above, worked below) as runs of consecutive months in
    pixels, and the words a screen reader says for them: a few rectangles per project, not 24 cells."""
    def runs(chosen: list[int]) -> list[tuple[int, int]]:
        found: list[list[int]] = []
        for index, (month, _, _) in enumerate(months):
            if month in chosen:
                if found and found[-1][0] + found[-1][1] == index:
                    found[-1][1] += 1
                else:
                    found.append([index, 1])
        return [(start * MONTH_WIDTH, length * MONTH_WIDTH) for start, length in found]

    def said(chosen: list[int]) -> str:
        return ", ".join(f"{name} {year}" for month, name, year in months if month in chosen) or "ไม่มี"

    return {"planned": runs(planned), "worked": runs(worked), "width": MONTH_WIDTH * len(months),
            "label": f"ตามแผน: {said(planned)} · ดำเนินการจริง: {said(worked)}"}


def month_label(name: str, year: int) -> str:
    """A month as the charts name it: ต.ค. 63 (the พ.ศ. year's last two digits)."""
    return f"{name} {year % 100:02d}"


def report_charts(figures: dict[str, Any], months: list[tuple[int, str, int]]) -> list[Chart]:
    """The charts of a 6-month or annual report (tracking/reports.py's figures): money by strategy
    and by plan-program, projects by status, and the projects planned and worked month by month."""
    strategies = [Amounts(s["name"] if s["is_equipment"] else f"{s['number']}. {s['name']}", s["budget"],
                          s["contracted"], s["disbursed"]) for s in figures["strategies"]]
    programs = [Amounts(f"แผนงาน{p['name']}", p["budget"], p["contracted"], p["disbursed"])
                for p in figures["programs"]]
    totals = figures["totals"]
    statuses = [(status, title, int(totals[status])) for status, title in figures["statuses"].items()]
    counted = [(month_label(name, year), sum(1 for p in figures["projects"] if month in p["months"]),
                sum(1 for p in figures["projects"] if month in p["months_worked"])) for month, name, year in months]
    return [money_bars("report-strategies", "งบประมาณ วงเงินตามสัญญา และการเบิกจ่าย แยกตามยุทธศาสตร์", strategies, True),
            money_bars("report-programs", "งบประมาณ วงเงินตามสัญญา และการเบิกจ่าย แยกตามแผนงาน", programs, True),
            status_bars("report-statuses", "จำนวนโครงการตามสถานะ", statuses, True),
            months_columns("report-months", "จำนวนโครงการตามแผนและที่ดำเนินการจริง รายเดือน", counted, True)]
