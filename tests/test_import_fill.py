"""A pledge's columns given once: rows that leave them empty take them from the pledge's other
rows, only different values conflict, and source URLs add up (docs/data-dictionary.md)."""

import csv
import datetime
import io
import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aid.demo.loader import load_demo
from aid.lines.columns import COLUMNS, PLEDGE_COLUMNS
from aid.lines.export import export_csv
from aid.lines.importer import lines_import
from aid.models import Line, Pledge
from tests.conftest import row_counts
from tests.factories import csv_text, empty_the_ledger, export, messages, row, run

BBC = "https://www.bbc.com/news/uk-63725431"
GOV = "https://www.gov.uk/government/news/sea-kings"
MOD = "https://www.mod.uk/sea-kings"


def stored(ref: str) -> tuple:
    """What the ledger holds of a pledge, lines and sources included, as a user reads it."""
    pledge = Pledge.objects.get(ref=ref)
    return (
        pledge.donor.code,
        pledge.recipient.code,
        pledge.announced_on,
        pledge.date_precision,
        pledge.official.name if pledge.official else None,
        pledge.official_title,
        pledge.package,
        pledge.status,
        pledge.notes,
        list(pledge.lines.order_by("line_no").values_list("line_no", "description", "quantity")),
        sorted(link.source.url for link in pledge.source_links.all()),
    )


def urls(ref: str) -> list[str]:
    links = Pledge.objects.get(ref=ref).source_links.order_by("id")
    return [link.source.url for link in links]


# Each pledge column, a cell for it and what the pledge then holds.
GIVEN_ONCE = [
    ("donor", "US", lambda p: p.donor.code, "US"),
    ("recipient", "PL", lambda p: p.recipient.code, "PL"),
    ("announced_on", "2022-11", lambda p: (p.announced_on, p.date_precision),
     (datetime.date(2022, 11, 1), "month")),
    ("date_precision", "year", lambda p: p.date_precision, "year"),
    ("official", "Ben Wallace", lambda p: p.official.name, "Ben Wallace"),
    ("official_title", "Defence Secretary", lambda p: p.official_title, "Defence Secretary"),
    ("package", "Sea King package", lambda p: p.package, "Sea King package"),
    ("status", "delivered", lambda p: p.status, "delivered"),
    ("notes", "first of three", lambda p: p.notes, "first of three"),
    ("source_urls", GOV, lambda p: [s.source.url for s in p.source_links.all()], [GOV]),
]  # fmt: skip


@pytest.mark.parametrize("column, cell, read, expected", GIVEN_ONCE)
@pytest.mark.parametrize("on_row", [0, 2])
def test_a_pledge_column_given_on_one_row_is_the_pledges(
    editor, column, cell, read, expected, on_row
):
    rows = [row(line_no=str(number), item=f"item {number}", **{column: ""}) for number in (1, 2, 3)]
    rows[on_row][column] = cell
    if column == "date_precision":  # a year's date is its first day, given on every row
        for each in rows:
            each["announced_on"] = "2022-01-01"
    report = run(csv_text(*rows), editor)
    assert report.ok, messages(report)
    assert read(Pledge.objects.get(ref="GB-1")) == expected
    assert Line.objects.count() == 3


def test_required_pledge_columns_may_be_given_once(editor):
    text = csv_text(row(), row(line_no="2", donor="", announced_on="", source_urls=""))
    report = run(text, editor)
    assert report.ok, messages(report)
    assert stored("GB-1")[:4] == ("GB", "UA", datetime.date(2022, 11, 23), "day")


def test_two_different_values_conflict_naming_both_rows_and_nothing_is_written(editor):
    before = row_counts()
    text = csv_text(
        row(package="Package 6"),
        row(line_no="2", package=""),
        row(line_no="3", package="Package 7", announced_on="2022-11-24"),
        row(pledge_ref="other"),
    )
    report = run(text, editor)
    assert messages(report) == [
        "row 4, column announced_on: conflicts with row 2 of pledge GB-1, which has "
        "'2022-11-23': leave the cell empty or give the same value ('2022-11-24')",
        "row 4, column package: conflicts with row 2 of pledge GB-1, which has 'Package 6': "
        "leave the cell empty or give the same value ('Package 7')",
    ]
    assert row_counts() == before


def test_a_value_spelt_two_ways_is_one_value(editor):
    text = csv_text(
        row(donor="gb", announced_on="2022-11", date_precision="month", status="Delivered"),
        row(line_no="2", donor="GB", announced_on="2022-11-01", status="delivered"),
    )
    report = run(text, editor)
    assert report.ok, messages(report)
    pledge = Pledge.objects.get(ref="GB-1")
    assert (pledge.donor.code, pledge.date_precision, pledge.status) == ("GB", "month", "delivered")


def test_source_urls_combine_in_the_order_first_given(editor):
    text = csv_text(
        row(source_urls=f"{GOV} {BBC}"),
        row(line_no="2", source_urls=""),
        row(line_no="3", source_urls=f"{MOD} {BBC}?utm_source=x"),
    )
    report = run(text, editor)
    assert report.ok, messages(report)
    assert urls("GB-1") == [GOV, BBC, MOD]
    exported = list(csv.DictReader(io.StringIO("".join(export_csv(Line.objects.all())))))
    assert {line["source_urls"] for line in exported} == {f"{GOV} {BBC} {MOD}"}
    assert run(csv_text(row(source_urls=GOV), row(line_no="2", source_urls=MOD)), editor).ok
    assert urls("GB-1") == [GOV, MOD]  # the file is the pledge's whole list of sources


def test_a_bad_url_is_reported_on_the_row_that_gives_it(editor):
    text = csv_text(row(), row(line_no="2", source_urls="not-a-url!"), row(line_no="3"))
    report = run(text, editor)
    assert [(p.row, p.column) for p in report.errors] == [(3, "source_urls")]
    assert Pledge.objects.count() == 0


def test_a_bad_cell_given_once_is_reported_on_its_row_only(editor):
    text = csv_text(row(), row(line_no="2", donor="", status="rumoured"), row(line_no="3"))
    report = run(text, editor)
    assert [(p.row, p.column) for p in report.errors] == [(3, "status")]


def test_a_withdrawal_given_once_is_refused_on_the_row_that_gives_it(editor):
    report = run(csv_text(row(), row(line_no="2"), row(line_no="3", status="withdrawn")), editor)
    assert messages(report) == [
        "row 4, column status: withdrawn: you may not withdraw pledges (reviewers may)"
    ]
    assert Pledge.objects.count() == 0


def test_a_column_empty_on_every_row_means_what_it_means_on_one_row(editor, wallace):
    full = {"official": "Ben Wallace", "package": "Package 6", "status": "delivered"}
    assert run(csv_text(row(**full), row(line_no="2", **full)), editor).ok
    assert run(csv_text(row(), row(line_no="2")), editor).ok
    two_rows = stored("GB-1")
    assert run(csv_text(row(**full)), editor).ok
    assert run(csv_text(row()), editor).ok
    one_row = stored("GB-1")
    assert two_rows[4:9] == one_row[4:9] == (None, "", "", "announced", "")


def test_rows_without_a_ref_fill_nothing(editor):
    """They group by their pledge columns, so a row that leaves one empty is another pledge."""
    text = csv_text(row(pledge_ref="", package="P"), row(pledge_ref="", item="rounds"))
    report = run(text, editor)
    assert report.ok and report.pledges_created == 2


def test_an_export_given_once_per_pledge_imports_as_the_export(admin_user):
    """An exported file with each pledge's columns left only on its first row imports into an
    empty ledger as the whole file does: exporting again gives the original bytes."""
    load_demo()
    first = export()
    records = list(csv.reader(io.StringIO(first, newline="")))
    header, seen = records[0], set()
    ref = header.index("pledge_ref")
    for record in records[1:]:
        if record[ref] in seen:
            for column in PLEDGE_COLUMNS:
                record[header.index(column)] = ""
        seen.add(record[ref])
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(records)
    empty_the_ledger()
    # Verified as the export's pledges are (a file cannot verify; the importer does, for admins).
    report = lines_import(
        actor=admin_user, data=buffer.getvalue().encode(), filename="export.csv", verify=True
    )
    assert report.ok, messages(report)[:5]
    assert export() == first


refs = itertools.count()
PLEDGE = {
    "donor": "US",
    "recipient": "PL",
    "announced_on": "2023-Q2",
    "date_precision": "quarter",
    "official": "Lloyd Austin",
    "official_title": "Secretary of Defense",
    "package": "PDA 38",
    "status": "partly-delivered",
    "notes": "three lines",
}
URLS = [BBC, GOV, MOD]


@pytest.mark.django_db
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data(), lines=st.integers(min_value=2, max_value=4))
def test_which_rows_give_a_pledge_column_and_their_order_do_not_matter(editor, data, lines):
    number = next(refs)
    full = [
        row(pledge_ref=f"full-{number}", line_no=str(line), item=f"item {line}",
            source_urls=" ".join(URLS), **PLEDGE)
        for line in range(1, lines + 1)
    ]  # fmt: skip
    given_once = [{**cells, "pledge_ref": f"once-{number}"} for cells in full]
    for column in PLEDGE:
        keeper = data.draw(st.integers(0, lines - 1), label=column)
        for index, cells in enumerate(given_once):
            if index != keeper:
                cells[column] = data.draw(st.sampled_from(["", cells[column]]))
    cited = [data.draw(st.sets(st.sampled_from(URLS)), label="urls") for _ in given_once]
    cited[data.draw(st.integers(0, lines - 1))] = set(URLS)
    for cells, subset in zip(given_once, cited, strict=True):
        cells["source_urls"] = " ".join(url for url in URLS if url in subset)
    shuffled = data.draw(st.permutations(given_once))
    report = run(csv_text(*full, *shuffled, columns=COLUMNS), editor)
    assert report.ok, messages(report)
    assert stored(f"once-{number}") == stored(f"full-{number}")
