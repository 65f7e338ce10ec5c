"""The lines export reads a chunk of lines at a time, with its pledges' source URLs from one
stream beside them, and writes each chunk a column at a time (`text_cells`, `value_cells`,
`csv_text`) instead of through csv.writer: neither may change a byte of the file."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aid.demo.loader import load_demo
from aid.lines import export as lines_csv
from aid.lines.export import SourceURLs, export_csv
from aid.models import Line, Pledge
from ledger.api.csv import cell, csv_text, text_cells, value_cells

texts = st.one_of(
    st.none(),
    st.text(alphabet=st.sampled_from(list(",\"'\r\n\t =+-@ aé€\u2028")), max_size=6),
    st.text(max_size=6),
)
values = st.one_of(
    st.none(),
    st.integers(min_value=0),
    st.dates(),
    st.decimals(min_value=0, max_value=10**12, places=2, allow_nan=False),
)


def written_by_csv_module(rows) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows([cell(each) for each in row] for row in rows)
    return out.getvalue()


@given(st.lists(st.tuples(texts, values, texts, texts), min_size=1, max_size=12))
def test_columns_are_written_as_csv_writer_writes_rows(rows):
    first, numbers, second, repeated = zip(*rows, strict=True)
    repeated = [repeated[0]] * len(rows)  # a column of one value: written once, looked up
    columns = [text_cells(first), value_cells(numbers), text_cells(second), text_cells(repeated)]
    expected = written_by_csv_module(zip(first, numbers, second, repeated, strict=True))
    assert "".join(csv_text(columns)) == expected


def test_dates_and_amounts_are_written_as_python_writes_them():
    cells = value_cells([datetime.date(2022, 11, 23), Decimal("500000000.00"), 3, None])
    assert cells == ["2022-11-23", "500000000.00", "3", ""]


@pytest.fixture
def ledger(editor):
    load_demo()
    return "".join(export_csv(Line.objects.all()))


def test_any_chunk_size_gives_the_same_file(ledger, monkeypatch):
    """Pledges whose lines straddle chunks keep their URLs; pledges without one stay empty."""
    for size in (1, 2, 7):
        monkeypatch.setattr(lines_csv, "CHUNK", size)
        assert "".join(export_csv(Line.objects.all())) == ledger


def test_pledges_changed_between_the_two_queries_keep_their_source_urls(ledger, monkeypatch):
    """The URLs are read before the lines: a pledge moved meanwhile is looked up by id."""
    pledges = list(Pledge.objects.order_by("-announced_on", "ref").values_list("pk", flat=True))
    read_urls = SourceURLs.__init__

    def then_move_two_pledges(self, lines):
        read_urls(self, lines)
        Pledge.objects.filter(pk=pledges[3]).update(announced_on=datetime.date(2020, 1, 1))
        Pledge.objects.filter(pk=pledges[-3]).update(announced_on=datetime.date(2026, 1, 31))

    monkeypatch.setattr(lines_csv, "CHUNK", 5)
    monkeypatch.setattr(SourceURLs, "__init__", then_move_two_pledges)
    racing = "".join(export_csv(Line.objects.all()))
    monkeypatch.undo()
    assert racing == "".join(export_csv(Line.objects.all())) != ledger
