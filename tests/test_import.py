"""Importing the canonical lines CSV: every mistake reported by row and column with nothing written,
what spreadsheets produce accepted, re-imports idempotent, every change in the history."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from aid.lines.columns import COLUMNS
from aid.lines.importer import ImportRefused, lines_import
from aid.models import ItemAlias, ItemType, Line, Official, Pledge
from sources.models import PledgeSource, Source
from tests.conftest import row_counts
from tests.factories import csv_text, messages, row, run

HEADER = ",".join(COLUMNS)


def test_a_valid_file_creates_pledges_lines_sources_and_officials(editor):
    wallace = {"official": "Ben Wallace", "official_title": "Defence Secretary"}
    text = csv_text(
        row(**wallace),
        row(**wallace, line_no="2", item="artillery rounds", category="artillery", quantity="",
            unit="rounds"),
        row(pledge_ref="US-1", donor="US", announced_on="2023-01", item="aid package",
            category="unallocated", quantity="", value="2500000000", currency="usd",
            source_urls="https://www.defense.gov/News/Releases/1?utm_source=x"),
    )  # fmt: skip
    report = run(text, editor)
    assert report.ok, messages(report)
    assert (report.pledges_created, report.lines_created, report.sources_created) == (2, 3, 2)
    assert report.officials_created == 1
    gb = Pledge.objects.get(ref="GB-1")
    assert gb.recipient.code == "UA"  # the default recipient
    assert gb.official.name == "Ben Wallace" and gb.official_title == "Defence Secretary"
    first, second = gb.lines.order_by("line_no")
    assert (first.quantity, first.quantity_qualifier) == (3, "exact")
    assert (second.quantity, second.quantity_qualifier, second.unit) == (
        None,
        "unspecified",
        "rounds",
    )
    us = Pledge.objects.get(ref="US-1")
    assert (us.announced_on, us.date_precision) == (datetime.date(2023, 1, 1), "month")
    line = us.lines.get()
    assert (line.value, line.currency, line.value_basis) == (
        Decimal("2500000000.00"),
        "USD",
        "unknown",
    )
    assert us.source_links.get().source.url == "https://www.defense.gov/News/Releases/1"


@pytest.mark.parametrize(
    "cells, column, message",
    [
        ({"donor": "UK"}, "donor", "unknown party code; did you mean"),
        ({"donor": "United Kingdom"}, "donor", "did you mean GB"),
        ({"recipient": "GB"}, "recipient", "must differ from the donor"),
        ({"category": "helicopter"}, "category", "unknown category slug; did you mean helicopters"),
        ({"announced_on": "23/11/2022"}, "announced_on", "is not a date"),
        ({"announced_on": "2022-02-30"}, "announced_on", "is not a real date"),
        ({"announced_on": "2099-01-01"}, "announced_on", "is in the future"),
        ({"date_precision": "month"}, "announced_on", "the first day of the month: 2022-11-01"),
        ({"announced_on": "2022-11", "date_precision": "day"}, "announced_on", "names a month"),
        ({"date_precision": "week"}, "date_precision", "must be one of day, month"),
        ({"quantity": "-3"}, "quantity", "cannot be negative"),
        ({"quantity": "2.5"}, "quantity", "not a fraction"),
        ({"quantity": "three"}, "quantity", "is not a number"),
        ({"quantity": "0"}, "quantity", "positive whole number"),
        ({"quantity_qualifier": "unspecified"}, "quantity_qualifier", "cannot be unspecified"),
        ({"quantity": "", "quantity_qualifier": "at_least"}, "quantity_qualifier", "no quantity"),
        ({"quantity_qualifier": "roughly"}, "quantity_qualifier", "must be one of exact"),
        ({"value": "1000"}, "currency", "Give the currency of the value"),
        ({"value": "1000", "currency": "EUX"}, "currency", "not an ISO 4217 currency code"),
        ({"currency": "EUR"}, "currency", "A currency is given but no value"),
        ({"value": '"1,000.50"', "currency": "EUR"}, "value", "use a dot for decimals"),
        ({"value": "10.555", "currency": "EUR"}, "value", "more than 2 decimal places"),
        ({"value": "-5", "currency": "EUR"}, "value", "cannot be negative"),
        ({"value": "5", "currency": "EUR", "value_basis": "guess"}, "value_basis", "one of stated"),
        ({"unit": "crates"}, "unit", "must be one of units"),
        ({"status": "rumoured"}, "status", "must be one of announced"),
        ({"source_urls": "not a url"}, "source_urls", "“not” is not a valid http(s) URL"),
        ({"source_urls": "ftp://example.org/x"}, "source_urls", "is not a valid http(s) URL"),
        ({"item": ""}, "item", "is required"),
        ({"donor": ""}, "donor", "is required"),
        ({"line_no": "x"}, "line_no", "whole number from 1"),
        ({"package": "p" * 201}, "package", "at most 200 fit"),
        ({"value": "9" * 40, "currency": "EUR"}, "value", "is too large"),
        ({"quantity": "9" * 5000}, "quantity", "is too large"),
        ({"line_no": "²"}, "line_no", "whole number from 1"),
    ],
)
def test_each_bad_cell_is_named_by_row_and_column_and_nothing_is_written(
    editor, make_pledge, cells, column, message
):
    make_pledge(ref="existing")
    before = row_counts()
    report = run(csv_text(row(pledge_ref="ok-1"), row(pledge_ref="bad", **cells)), editor)
    assert not report.ok
    problems = [p for p in report.errors if p.row == 3 and p.column == column]
    assert problems and message in problems[0].message, messages(report)
    assert f"row 3, column {column}: " in str(problems[0])
    assert row_counts() == before
    assert not Pledge.objects.filter(ref="ok-1").exists()


def test_every_bad_row_is_reported_not_only_the_first(editor):
    text = csv_text(
        row(quantity="-1"), row(line_no="2", donor="XX"), row(pledge_ref="B", value="x")
    )
    report = run(text, editor)
    assert [(p.row, p.column) for p in report.errors] == [
        (2, "quantity"),
        (3, "donor"),
        (4, "value"),
    ]
    assert str(report.errors[0]) == (
        "row 2, column quantity: cannot be negative: a quantity is a positive whole number ('-1')"
    )
    assert Pledge.objects.count() == 0


def test_a_line_number_used_twice_in_a_pledge_is_an_error(editor):
    report = run(csv_text(row(line_no="1"), row(line_no="1", item="other")), editor)
    assert messages(report) == ["row 3, column line_no: line 1 of pledge GB-1 is already on row 2"]


def test_header_missing_a_required_column_is_an_error_and_unknown_columns_warn(editor):
    columns = [c for c in COLUMNS if c != "category"] + ["comment"]
    report = run(csv_text(row(comment="x"), columns=columns), editor)
    assert messages(report) == [
        "row 1, column category: this required column is missing from the header"
    ]
    assert [str(w) for w in report.warnings] == [
        "row 1, column comment: unknown column; its cells are ignored"
    ]


def test_unknown_column_is_only_a_warning(editor):
    columns = [*COLUMNS, "comment"]
    report = run(csv_text(row(comment="checked by AB"), columns=columns), editor)
    assert report.ok and report.pledges_created == 1
    assert "column comment: unknown column" in str(report.warnings[0])


def test_what_spreadsheets_write_is_read(editor):
    """BOM, CRLF, `;` as delimiter, quoted cells with newlines and `;`, trailing empty rows."""
    notes = '"first line\r\nsecond; with ""quotes"""'
    text = csv_text(
        row(notes=notes),
        row(notes=notes, line_no="2", item='"Mi-8; transport"', category="helicopters"),
        delimiter=";",
    )
    data = "\ufeff".encode() + (text + ";;;\r\n\r\n;;\r\n").encode()
    report = run(data, editor)
    assert report.ok, messages(report)
    pledge = Pledge.objects.get(ref="GB-1")
    assert pledge.notes == 'first line\r\nsecond; with "quotes"'
    assert sorted(pledge.lines.values_list("description", flat=True)) == [
        "Mi-8; transport",
        "Sea King helicopters",
    ]


def test_rows_are_numbered_as_a_spreadsheet_shows_them(editor):
    """A quoted newline does not start a new row; blank rows still count."""
    text = csv_text(row(notes='"two\nlines"'), {}, row(pledge_ref="B", quantity="-1"))
    report = run(text, editor)
    assert [(p.row, p.column) for p in report.errors] == [(4, "quantity")]


def test_formula_neutralised_cells_come_back_as_they_were(editor):
    report = run(csv_text(row(item="'=SUM(A1)", notes="''quoted")), editor)
    assert report.ok
    pledge = Pledge.objects.get(ref="GB-1")
    assert pledge.lines.get().description == "=SUM(A1)"
    assert pledge.notes == "'quoted"


def test_dry_run_reports_the_plan_and_writes_nothing(editor):
    before = row_counts()
    report = run(csv_text(row(), row(line_no="2", item="rounds")), editor, dry_run=True)
    assert report.ok and report.dry_run
    assert [(p.ref, p.action, p.row, p.lines) for p in report.plans] == [("GB-1", "create", 2, 2)]
    assert report.summary().startswith("Dry run, nothing written: would import 2 rows")
    assert row_counts() == before and Source.objects.count() == 0


def test_reimport_updates_and_creates_no_duplicates(editor):
    text = csv_text(row(), row(line_no="2", item="artillery rounds", category="artillery"))
    assert run(text, editor).ok
    counts = row_counts()
    again = run(text, editor)
    assert (again.pledges_unchanged, again.lines_created, again.lines_updated) == (1, 0, 0)
    assert row_counts() == counts  # not even history grows for an unchanged file

    changed = csv_text(row(quantity="4"))  # line 2 left out, line 1 changed
    report = run(changed, editor)
    assert [(p.action, p.lines_updated, p.lines_removed) for p in report.plans] == [
        ("update", 1, 1)
    ]
    pledge = Pledge.objects.get(ref="GB-1")
    assert list(pledge.lines.values_list("line_no", "quantity")) == [(1, 4)]
    assert Line.history.filter(pledge_id=pledge.pk, history_type="-").count() == 1


def test_rows_without_pledge_ref_are_grouped_and_reimported_idempotently(editor):
    text = csv_text(row(pledge_ref=""), row(pledge_ref="", item="rounds", category="artillery"))
    first = run(text, editor)
    assert first.ok and first.pledges_created == 1 and first.lines_created == 2
    second = run(text, editor)
    assert second.pledges_unchanged == 1 and Pledge.objects.count() == 1


def test_sources_and_officials_are_matched_before_created(editor, gb, wallace):
    source = Source.objects.create(url="https://www.bbc.com/news/uk-63725431", title="BBC")
    text = csv_text(
        row(source_urls="HTTPS://WWW.BBC.COM/news/uk-63725431?utm_medium=x#top",
            official="ben wallace"),
    )  # fmt: skip
    report = run(text, editor)
    assert report.ok and (report.sources_created, report.officials_created) == (0, 0)
    pledge = Pledge.objects.get(ref="GB-1")
    assert pledge.source_links.get().source == source
    assert pledge.official == wallace and pledge.official_title == "Defence Secretary"


def test_item_text_is_matched_to_the_catalogue_through_aliases(editor, helicopters):
    sea_king = ItemType.objects.create(name="Westland Sea King", category=helicopters)
    ItemAlias.objects.create(item_type=sea_king, alias="Sea King helicopters")
    report = run(csv_text(row(item="SEA KING HELICOPTERS")), editor)
    assert report.ok
    assert Line.objects.get().item_type == sea_king
    report = run(csv_text(row(pledge_ref="B", item_type="sea king helicopters")), editor)
    assert Pledge.objects.get(ref="B").lines.get().item_type == sea_king


def test_an_item_type_the_catalogue_lacks_is_added_with_a_warning(editor):
    report = run(csv_text(row(item_type="Westland Sea King")), editor)
    assert report.ok and report.item_types_created == 1
    assert "not in the catalogue" in str(report.warnings[0])
    assert ItemType.objects.get(name="Westland Sea King").category.slug == "helicopters"


def test_every_imported_change_is_in_the_history_under_the_importing_user(editor):
    assert run(csv_text(row(official="Ben Wallace")), editor, filename="uk.csv").ok
    pledge = Pledge.objects.get(ref="GB-1")
    for history in (
        pledge.history.get(),
        Line.history.get(pledge_id=pledge.pk),
        PledgeSource.history.get(pledge_id=pledge.pk),
        Source.history.get(),
        Official.history.get(),
    ):
        assert history.history_user == editor
        assert history.history_change_reason == "Imported from uk.csv"
    assert run(csv_text(row(quantity="5")), editor).ok
    assert Line.history.filter(history_type="~").get().history_user == editor


def test_a_pledge_without_source_urls_cites_the_file_with_a_warning(editor):
    report = run(csv_text(row(source_urls="")), editor, filename="notes.csv")
    assert report.ok
    assert "no source URL" in str(report.warnings[0])
    source = Pledge.objects.get().source_links.get().source
    assert (source.url, source.title, source.kind) == (None, "Lines CSV file notes.csv", "dataset")


def test_limits_refuse_the_file_with_a_clear_message(editor, settings):
    settings.LEDGER_IMPORT_MAX_ROWS = 2
    with pytest.raises(ImportRefused, match=r"more than 2 rows.*LEDGER_IMPORT_MAX_ROWS"):
        run(csv_text(row(), row(line_no="2"), row(line_no="3")), editor)
    settings.LEDGER_IMPORT_MAX_BYTES = 100
    with pytest.raises(ImportRefused, match=r"at most 100 .*LEDGER_IMPORT_MAX_BYTES"):
        run(csv_text(row()), editor)
    assert Pledge.objects.count() == 0


def test_a_file_that_is_not_utf8_is_refused(editor):
    with pytest.raises(ImportRefused, match="not UTF-8"):
        run(csv_text(row(item="Kühlwagen")).encode("latin-1"), editor)


def test_the_command_reports_problems_and_fails(editor, tmp_path):
    path = tmp_path / "lines.csv"
    path.write_text(csv_text(row(quantity="-2")), newline="")
    with pytest.raises(CommandError, match="1 problems in 1 rows: nothing was imported"):
        call_command("import_lines", str(path), "--user", "editor")
    with pytest.raises(CommandError, match="No user named 'nobody'"):
        call_command("import_lines", str(path), "--user", "nobody")
    path.write_text(csv_text(row()), newline="")
    call_command("import_lines", str(path), "--user", "editor", "--dry-run")
    assert Pledge.objects.count() == 0
    call_command("import_lines", str(path), "--user", "editor")
    assert Pledge.objects.count() == 1


def test_a_long_file_name_still_fits_the_history(editor):
    """The history's change reason holds 100 characters; PostgreSQL refuses more."""
    report = run(csv_text(row()), editor, filename="x" * 150 + ".csv")
    assert report.ok
    reason = Pledge.history.get().history_change_reason
    assert len(reason) == 100 and reason.startswith("Imported from xxx") and reason.endswith("…")


def test_imported_pledges_are_drafts_unless_a_reviewer_verifies_them(editor, reviewer):
    assert run(csv_text(row()), editor).ok
    assert Pledge.objects.get(ref="GB-1").review == "draft"
    data = csv_text(row(pledge_ref="B")).encode()
    assert lines_import(actor=reviewer, data=data, verify=True).ok
    pledge = Pledge.objects.get(ref="B")
    assert (pledge.review, pledge.reviewed_by, pledge.history.get().review) == (
        "verified",
        reviewer,
        "verified",
    )
    assert pledge.reviewed_at is not None


def test_an_editors_import_that_changes_a_verified_pledge_waits_for_review(editor, reviewer):
    assert lines_import(actor=reviewer, data=csv_text(row()).encode(), verify=True).ok
    assert run(csv_text(row()), editor).pledges_unchanged == 1
    assert Pledge.objects.get().review == "verified"
    report = run(csv_text(row(quantity="4")), editor)  # a line changes, the pledge does not
    assert (report.pledges_updated, report.pledges_revised) == (0, 1)
    assert "1 pending changes to published pledges" in report.summary()
    published = Pledge.objects.get(revision_of=None)
    assert (published.review, published.reviewed_by, published.version) == (
        "verified",
        reviewer,
        1,
    )
    assert published.lines.get().quantity == 3  # what the public reads has not moved
    revision = published.pending
    assert (revision.review, revision.lines.get().quantity) == ("draft", 4)
    assert revision.history.get().history_user == editor
    again = csv_text(row(quantity="4", notes="checked"))
    assert lines_import(actor=reviewer, data=again.encode(), verify=True).ok
    published = Pledge.objects.get()  # the reviewer's file published, the revision replaced
    assert (published.review, published.notes, published.lines.get().quantity) == (
        "verified",
        "checked",
        4,
    )
