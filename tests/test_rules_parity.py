"""The pledge service (admin, API) and the CSV importer apply the same rules (aid/rules.py): the
divergences found between them, one test each."""

from decimal import Decimal

from aid.models import Line, Pledge
from tests.test_import import csv_text, messages, row, run

URL = "https://www.bbc.com/news/uk-63725431"


def test_a_value_without_a_basis_is_unknown_on_both_paths(make_pledge, helicopters, editor):
    pledge = make_pledge(
        lines=[
            Line(description="Package", category=helicopters, value=Decimal("100"), currency="GBP")
        ]
    )
    assert pledge.lines.get().value_basis == "unknown"
    report = run(csv_text(row(pledge_ref="B", value="100", currency="GBP")), editor)
    assert report.ok, messages(report)
    assert Pledge.objects.get(ref="B").lines.get().value_basis == "unknown"


def test_an_import_never_reuses_a_removed_lines_number(editor):
    guns = {"item": "L119 light guns", "category": "artillery", "quantity": "6"}
    assert run(csv_text(row(), row(item="Sea King spares", quantity="10")), editor).ok
    assert run(csv_text(row(line_no="1")), editor).ok  # line 2 removed
    report = run(csv_text(row(line_no="1"), row(**guns)), editor)
    assert report.ok, messages(report)
    numbers = dict(Line.objects.values_list("description", "line_no"))
    assert numbers == {"Sea King helicopters": 1, "L119 light guns": 3}
    assert set(Line.history.filter(line_no=2).values_list("description", flat=True)) == {
        "Sea King spares"
    }
    # A file without line numbers still matches the lines it named before.
    assert run(csv_text(row(), row(**guns)), editor).ok
    assert dict(Line.objects.values_list("description", "line_no")) == numbers
