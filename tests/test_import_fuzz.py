"""Whatever bytes arrive, the import answers with a refusal or a report, never a crash, and a file
with any problem changes nothing (issue 7: bad input never corrupts or crashes)."""

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aid.lines.columns import COLUMNS
from aid.lines.importer import ImportRefused, lines_import
from tests.conftest import row_counts
from tests.factories import csv_text, row

FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
VALID = csv_text(
    row(),
    row(line_no="2", item="artillery rounds", category="artillery", quantity="", unit="rounds"),
    row(pledge_ref="US-1", donor="US", announced_on="2023-01", item="aid package",
        category="unallocated", quantity="", value="2500000000", currency="USD"),
)  # fmt: skip
AWKWARD = ["", '"', '""', ",", ";", "\r", "\n", "\r\n", "'", "=1+1", "\x00", "\ufeff", "é", "-1",
           "1e400", "NaN", "9" * 40, "2022-13-45", "http://", " ", "\t"]  # fmt: skip


def import_answers(user, data: bytes):
    """Import `data`; check the invariants; return the report, or None when it was refused."""
    before = row_counts()
    try:
        report = lines_import(actor=user, data=data, filename="fuzz.csv")
    except ImportRefused as refusal:
        assert str(refusal)  # a refusal says why
        assert row_counts() == before
        return None
    for problem in report.errors + report.warnings:
        assert str(problem).startswith(("row ", "file"))
    if not report.ok:
        assert row_counts() == before, "a file with problems changed the ledger"
    return report


@pytest.mark.django_db
@FUZZ
@given(data=st.binary(max_size=2000))
def test_random_bytes(editor, data):
    import_answers(editor, data)


@pytest.mark.django_db
@FUZZ
@given(seed=st.integers(0, 2**32), edits=st.integers(1, 12))
def test_a_valid_file_mutated(editor, seed, edits):
    """A valid file with characters deleted, duplicated or replaced by awkward ones."""
    rng = random.Random(seed)
    text = list(VALID)
    for _ in range(edits):
        at = rng.randrange(len(text))
        action = rng.choice(["delete", "insert", "duplicate"])
        if action == "delete":
            del text[at]
        elif action == "insert":
            text[at:at] = rng.choice(AWKWARD)
        else:
            text[at:at] = text[at : at + rng.randrange(1, 40)]
    encoding = rng.choice(["utf-8", "utf-8-sig", "utf-16", "latin-1"])
    import_answers(editor, "".join(text).encode(encoding, errors="replace"))


@pytest.mark.django_db
@FUZZ
@given(cells=st.lists(st.text(max_size=30), min_size=len(COLUMNS), max_size=len(COLUMNS)))
def test_any_text_in_every_cell(editor, cells):
    record = dict(zip(COLUMNS, cells, strict=True))
    quoted = {name: '"' + value.replace('"', '""') + '"' for name, value in record.items()}
    import_answers(editor, csv_text(quoted).encode("utf-8", errors="replace"))


def test_a_huge_cell_is_refused_or_reported(editor):
    report = import_answers(editor, csv_text(row(item="x" * 1_000_000)).encode())
    assert report is None or not report.ok


def test_thousands_of_columns(editor):
    columns = [*COLUMNS, *(f"extra_{number}" for number in range(5000))]
    report = import_answers(editor, csv_text(row(), columns=columns).encode())
    assert report.ok and len(report.warnings) == 5000


def test_thousands_of_cells_in_a_row(editor):
    text = VALID.rstrip("\r\n") + "," * 5000 + "x\r\n"
    report = import_answers(editor, text.encode())
    assert [(p.row, p.column) for p in report.errors] == [(4, "")]
