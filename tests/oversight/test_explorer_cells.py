"""The explorer draws a row's cells in Python (``CellRow``), not with template tags per cell: the HTML is the
one the template drew, escaping included."""

from __future__ import annotations

import pytest
from django.template import Context, Template

from finance_portal.oversight.explorer_base import Cell, CellRow

# What templates/oversight/explorer_dataset.html drew for a row before.
PER_CELL = Template(
    '<tr>{% for cell in row %}<td{% if cell.css %} class="{{ cell.css }}"{% endif %}'
    '{% if cell.label %} data-label="{{ cell.label }}"{% endif %}>{% if cell.href %}'
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
        Cell("1", "num", "", 'Face "<b>"'),
    ])
    before = PER_CELL.render(Context({"row": row}))
    assert WHOLE_ROW.render(Context({"row": row})) == before
    assert "<script>" not in before and "&lt;script&gt;" in before
    assert 'data-label="Face &quot;&lt;b&gt;&quot;"' in before


def test_a_row_is_still_a_list_of_cells() -> None:
    row = CellRow([Cell("a", "num", "")])
    assert row[0].text == "a" and row[0].css == "num" and row == [Cell("a", "num", "")]


@pytest.mark.django_db
def test_the_bills_dataset_reads_only_what_it_shows_and_shows_the_same(client) -> None:  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from bills.models import Bill
    from finance_portal.oversight.explorer import DATASETS
    from tests.bills.factories import accepted, build_world, financed, listed
    from tests.conftest import login

    world = build_world()
    dataset = DATASETS["bills"]
    bills = [accepted(world, "100.00"), listed(world, "200.00"), financed(world, "300.00")]
    everything = Bill.objects.select_related("creditor", "debtor", "holder", "parent").order_by("-created_at", "pk")
    with CaptureQueriesContext(connection) as captured:
        rows = [(dataset.row(b, csv=True), dataset.cells(b)) for b in dataset.queryset()]
    assert len(captured.captured_queries) == 1  # nothing deferred is read afterwards, row by row
    assert rows == [(dataset.row(b, csv=True), dataset.cells(b)) for b in everything]
    assert len(rows) == len(bills)
    login(client, "regulator")

    def export() -> tuple[int, str]:
        with CaptureQueriesContext(connection) as ctx:
            body = b"".join(client.get("/oversight/data/bills/", {"format": "csv"}).streaming_content).decode()
        return len(ctx.captured_queries), body

    few, _ = export()
    for n in range(4):
        accepted(world, f"{400 + n}.00")
    many, body = export()
    assert few == many and body.count("\n") == len(bills) + 5  # header and seven bills
