"""The explorer draws a row's cells in Python (``CellRow``), not with template tags per cell: the HTML is the
one the template drew, escaping included."""

from __future__ import annotations

from django.template import Context, Template

from finance_portal.oversight.explorer_base import Cell, CellRow

# What templates/oversight/explorer_dataset.html drew for a row before.
PER_CELL = Template(
    '<tr>{% for cell in row %}<td{% if cell.css %} class="{{ cell.css }}"{% endif %}>{% if cell.href %}'
    '<a href="{{ cell.href }}">{{ cell.text }}</a>{% else %}{{ cell.text }}{% endif %}</td>{% endfor %}</tr>'
)
WHOLE_ROW = Template("<tr>{{ row }}</tr>")


def test_a_row_draws_as_the_per_cell_template_did() -> None:
    row = CellRow([
        Cell("B-1 <b>&\"'</b>", "", "/bills/1/?a=1&b=<2>"),
        Cell("1000.00 CNY", "num", ""),
        Cell("", "", ""),
        Cell("2026-12-07", "nowrap", ""),
        Cell("<script>alert(1)</script>", "x\"y", ""),
    ])
    before = PER_CELL.render(Context({"row": row}))
    assert WHOLE_ROW.render(Context({"row": row})) == before
    assert "<script>" not in before and "&lt;script&gt;" in before


def test_a_row_is_still_a_list_of_cells() -> None:
    row = CellRow([Cell("a", "num", "")])
    assert row[0].text == "a" and row[0].css == "num" and row == [Cell("a", "num", "")]
