"""The lines CSV's columns, defined once (aid/lines/columns.py): the file, its data package and
its data dictionary agree, and the `review` column tells drafts from verified pledges in a staff
export without letting a file verify anything."""

import csv
import io

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from aid.lines.columns import COLUMNS, IGNORED_ON_INPUT
from aid.lines.datapackage import table_schema
from aid.lines.dictionary import END, START, columns_markdown, document, with_columns
from aid.lines.export import export_csv
from aid.lines.importer import lines_import
from aid.models import Line, Pledge

LINES = "/api/v1/lines/"
ROW = {
    "donor": "GB",
    "announced_on": "2023-03-01",
    "item": "Storm Shadow",
    "category": "missiles",
    "source_urls": "https://www.bbc.com/news/uk-63725431",
}


def parsed(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def streamed(response) -> str:
    assert response.status_code == 200, response.content[:500]
    return b"".join(response.streaming_content).decode("utf-8")


@pytest.fixture
def drafts_and_verified(make_pledge):
    """A verified pledge (GB-V) and a draft (GB-D) of the same donor."""
    return make_pledge(ref="GB-V"), make_pledge(ref="GB-D", review="draft")


def review_by_ref(rows) -> dict[str, str]:
    return {row["pledge_ref"]: row["review"] for row in rows}


# --- One definition, every consumer -------------------------------------------------------------


def test_the_data_dictionary_shows_the_columns_table_as_defined():
    text = document().read_text(encoding="utf-8")
    assert text.count(START) == text.count(END) == 1
    assert with_columns(text) == text, "run `manage.py lines_dictionary --write`"


def test_lines_dictionary_write_rewrites_a_stale_table(settings, tmp_path):
    (tmp_path / "docs").mkdir()
    stale = f"# Before\n\n{START}\n| column |\n|---|\n| `gone` |\n{END}\n\n## After\n"
    (tmp_path / "docs" / "data-dictionary.md").write_text(stale, encoding="utf-8")
    settings.BASE_DIR = tmp_path
    call_command("lines_dictionary", "--write", stdout=io.StringIO())
    written = (tmp_path / "docs" / "data-dictionary.md").read_text(encoding="utf-8")
    assert written == f"# Before\n\n{START}\n{columns_markdown()}{END}\n\n## After\n"
    assert "`gone`" not in written and "| `review` | `draft` `verified` | ignored |" in written


def test_the_data_package_describes_the_exported_header_column_by_column(make_pledge):
    make_pledge()
    header = next(csv.reader(io.StringIO("".join(export_csv(Line.objects.all())))))
    fields = table_schema()["fields"]
    assert [field["name"] for field in fields] == header == COLUMNS
    for field in fields:
        ignored = "(ignored on import)" in field["description"]
        assert ignored == (field["name"] in IGNORED_ON_INPUT), field["name"]
    review = next(field for field in fields if field["name"] == "review")
    assert review["constraints"] == {"required": True, "enum": ["draft", "verified"]}


# --- The review column --------------------------------------------------------------------------


def test_a_staff_export_of_drafts_says_which_rows_are_drafts(drafts_and_verified):
    out = io.StringIO()
    call_command("export_lines", "review=draft", "review=verified", stdout=out)
    assert review_by_ref(parsed(out.getvalue())) == {"GB-V": "verified", "GB-D": "draft"}


def test_the_api_csv_has_the_review_column_for_staff_and_verified_rows_only_for_anyone(
    drafts_and_verified, editor
):
    staff = APIClient()
    staff.force_authenticate(editor)
    asked = {"format": "csv", "review": ["draft", "verified"]}
    rows = parsed(streamed(staff.get(LINES, asked)))
    assert review_by_ref(rows) == {"GB-V": "verified", "GB-D": "draft"}
    public = parsed(streamed(APIClient().get(LINES, {"format": "csv"})))
    assert review_by_ref(public) == {"GB-V": "verified"}


def import_text(header: list[str], cells: dict[str, str]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerow([cells.get(name, "") for name in header])
    return out.getvalue().encode()


def test_a_review_cell_does_not_verify_a_pledge(drafts_and_verified, editor):
    out = io.StringIO()
    call_command("export_lines", "review=draft", stdout=out)
    claimed = out.getvalue().replace(",draft,", ",verified,")
    assert ",draft," not in claimed and ",verified," in claimed
    new = import_text(COLUMNS, {**ROW, "pledge_ref": "GB-NEW", "review": "verified"})
    for data in (claimed.replace("Sea King", "Sea Kings").encode(), new):
        report = lines_import(actor=editor, data=data, filename="claims.csv")
        assert report.ok and not report.warnings, [str(p) for p in report.errors + report.warnings]
    reviews = dict(Pledge.objects.values_list("ref", "review"))
    assert reviews == {"GB-V": "verified", "GB-D": "draft", "GB-NEW": "draft"}
    assert Line.objects.get(pledge__ref="GB-D").description == "Sea Kings helicopters"


def test_a_file_without_the_review_column_still_imports(editor):
    header = [name for name in COLUMNS if name != "review"]
    data = import_text(header, {**ROW, "pledge_ref": "OLD-1"})
    report = lines_import(actor=editor, data=data, filename="before-review.csv")
    assert report.ok and not report.warnings, [str(p) for p in report.errors + report.warnings]
    assert Pledge.objects.get(ref="OLD-1").review == Pledge.Review.DRAFT
