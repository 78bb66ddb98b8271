"""The charts of the plan's year (service/documents/charts.py): well-formed SVG with its title and
description, the figures escaped, the same bytes for the same figures, scales that hold at zero,
and on paper no Thai word left inside the SVG (WeasyPrint would tear its marks off)."""

from __future__ import annotations

from xml.etree import ElementTree

from service.documents import charts

SVG = "{http://www.w3.org/2000/svg}"
ROWS = [charts.Amounts("ยุทธศาสตร์ <ที่ 1> & ถนน", 480000, 475000, 200000.25), charts.Amounts("ว่าง", 0, 0, 0)]
MONTHS = [("ต.ค. 63", 2, 1), ("พ.ย. 63", 0, 0)] + [(f"เดือน {n}", 0, 0) for n in range(10)]


def drawings(paper=False):
    return [charts.money_bars("money", "เงิน", ROWS, paper), charts.money_bars("none", "ไม่มี", [], paper),
            charts.status_bars("status", "สถานะ", [("done", "แล้วเสร็จ", 3), ("cancelled", "ยกเลิก", 0)], paper),
            charts.months_columns("months", "รายเดือน", MONTHS, paper),
            charts.cumulative_line("line", "สะสม", [("ต.ค. 63", 0), ("พ.ย. 63", 1000.5), ("ธ.ค. 63", None)], 0,
                                   paper)]


def test_every_chart_is_well_formed_svg_with_its_title_and_description_and_a_table():
    for chart in drawings():
        svg = ElementTree.fromstring(str(chart.svg))
        assert svg.get("role") == "img" and svg.get("aria-labelledby") == f"{chart.key}-title"
        assert svg.find(f"{SVG}title").text == chart.title and svg.find(f"{SVG}desc").text
        table = ElementTree.fromstring(str(chart.table))
        assert table.find("caption").text == chart.title
    money = drawings()[0]
    assert "&lt;ที่ 1&gt; &amp; ถนน" in money.svg and "200,000.25 (41.67%)" in money.svg
    assert "0.00 (0.00%)" in money.svg  # a row without a budget: no division by zero


def test_the_same_figures_draw_the_same_bytes():
    assert [str(c.svg) for c in drawings(True)] == [str(c.svg) for c in drawings(True)]


def test_on_paper_the_thai_words_are_set_over_the_drawing_and_the_digits_stay_in_it():
    for chart in drawings(paper=True):
        markup = str(chart.svg)
        drawing = markup[markup.index("<svg"):markup.index("</svg>")]
        texts = ElementTree.fromstring(drawing + "</svg>").iter(f"{SVG}text")
        assert all(text.text.isascii() for text in texts), chart.key
        assert markup.startswith('<div class="chart-paper"')
    assert "position: absolute" in str(drawings(True)[0].svg) and "ยุทธศาสตร์" in str(drawings(True)[0].svg)


def test_a_projects_two_bars_are_runs_of_months():
    months = [(10, "ต.ค.", 2563), (11, "พ.ย.", 2563), (12, "ธ.ค.", 2563), (1, "ม.ค.", 2564)]
    bar = charts.project_bar([10, 11, 1], [11], months)
    assert bar["planned"] == [(0, 24), (36, 12)] and bar["worked"] == [(12, 12)] and bar["width"] == 48
    assert bar["label"] == "ตามแผน: ต.ค. 2563, พ.ย. 2563, ม.ค. 2564 · ดำเนินการจริง: พ.ย. 2563"
