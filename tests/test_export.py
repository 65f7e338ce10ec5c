"""Export of the canonical lines CSV (issue 4): the API's `lines/?format=csv`, `manage.py
export_lines` and the Frictionless Data package that describes the file. One exporter and one
FilterSet serve them all, so each test compares them with the JSON list they must agree with."""

import csv
import datetime
import io
import json
import re
from decimal import Decimal
from types import SimpleNamespace

import frictionless
import pytest
from django.core.management import CommandError, call_command
from django.http import StreamingHttpResponse
from rest_framework.test import APIClient

from aid.lines.columns import COLUMNS
from aid.models import Category, DatePrecision, ItemType, Line, Official, Party, Pledge, Unit
from aid.services import pledge_withdraw
from sources.models import PledgeSource, Source

LINES = "/api/v1/lines/"
BBC = "https://www.bbc.co.uk/news/uk-63725431"
GOV = "https://www.gov.uk/government/news/uk-to-send-sea-king-helicopters"
DOD = "https://www.defense.gov/News/Releases/Release/Article/3252968/"
# The columns whose values are the model's choices, which the data package lists.
ENUMS = {
    "date_precision": DatePrecision.values,
    "quantity_qualifier": Line.Qualifier.values,
    "unit": Unit.values,
    "value_basis": Line.ValueBasis.values,
    "status": Pledge.Status.values,
    "review": Pledge.Review.values,
}


@pytest.fixture
def ledger(make_pledge, wallace, reviewer, helicopters):
    """GB's November pledge (two sources, linked GOV then BBC), a US pledge in dollars, a GB pledge
    of January dated to the month with a formula-like item, and a withdrawn pledge."""
    us = Party.objects.get(code="US")
    austin = Official.objects.create(name="Lloyd Austin", party=us, title="Secretary of Defense")
    gov, bbc, dod = (Source.objects.create(url=url, title=url[-12:]) for url in (GOV, BBC, DOD))
    sea_king = ItemType.objects.create(name="Westland Sea King", category=helicopters)

    def line(item, slug, **fields):
        return Line(description=item, category=Category.objects.get(slug=slug), **fields)

    def cites(*sources):
        return [PledgeSource(source=source) for source in sources]

    money = {"value_basis": "stated"}
    make_pledge(
        official=wallace, package="Sea King package", links=cites(gov, bbc),
        lines=[
            line("Sea King helicopters", "multirole-helicopters", quantity=3, item_type=sea_king),
            line("Package value", "unallocated", value=Decimal("1000000"), currency="GBP", **money),
        ],
    )  # fmt: skip
    make_pledge(
        donor=us, official=austin, announced_on=datetime.date(2022, 12, 21), links=cites(dod),
        lines=[
            line("Patriot battery", "long-range-air-defence", quantity=1, unit="batteries",
                 value=Decimal("1000000000"), currency="USD", value_basis="estimated"),
        ],
    )  # fmt: skip
    make_pledge(
        announced_on=datetime.date(2023, 1, 1), date_precision="month", links=cites(bbc),
        lines=[
            line("Challenger 2 tanks", "main-battle-tanks", quantity=14,
                 quantity_qualifier="approximate"),
            line("=1+1", "equipment"),
            line("Spare parts", "equipment", value=Decimal("1234.56"), currency="EUR", **money),
        ],
    )  # fmt: skip
    withdrawn = make_pledge(
        announced_on=datetime.date(2022, 6, 1), lines=[line("IRIS-T", "air-defence")]
    )
    pledge_withdraw(actor=reviewer, pledge=withdrawn, reason="Never confirmed.")  # at once
    return SimpleNamespace(withdrawn=withdrawn)


@pytest.fixture
def api():
    return APIClient()


def exported(response) -> str:
    assert response.status_code == 200, response.content[:500]
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content).decode("utf-8")


def parsed(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def export(api, params=None) -> list[dict[str, str]]:
    return parsed(exported(api.get(LINES, {**(params or {}), "format": "csv"})))


def keys(rows) -> list[tuple[str, str]]:
    return [(row["pledge_ref"], row["line_no"]) for row in rows]


def listed_keys(api, params=None) -> list[tuple[str, str]]:
    body = api.get(LINES, {**(params or {}), "page_size": 1000}).json()
    return [(row["pledge"], str(row["line_no"])) for row in body["results"]]


# --- The API's lines CSV ------------------------------------------------------------------------


@pytest.mark.parametrize("ask", ["format", "accept"])
def test_the_csv_is_the_canonical_header_then_the_json_rows_in_their_order(ledger, api, ask):
    if ask == "format":
        response = api.get(LINES, {"format": "csv"})
    else:
        response = api.get(LINES, HTTP_ACCEPT="text/csv")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = exported(response)
    assert text.startswith(",".join(COLUMNS) + "\r\n")
    assert not text.startswith("\ufeff")
    rows = parsed(text)
    assert keys(rows) == listed_keys(api) and len(rows) == 6
    # Newest first, then by reference and line number.
    assert [row["announced_on"] for row in rows] == sorted(
        (row["announced_on"] for row in rows), reverse=True
    )


@pytest.mark.parametrize(
    "params",
    [
        {"donor": "GB"},
        {"donor": ["GB", "US"]},
        {"category": "tanks"},  # its level-2 child main-battle-tanks
        {"category": "air-defence"},  # long-range-air-defence; the withdrawn IRIS-T is left out
        {"announced_after": "2022-12-01"},
        {"announced_before": "2022-12-31", "donor": "GB"},
        {"status": "withdrawn"},
        {"status": ["announced", "withdrawn"]},
        {"value_currency": "usd"},
        {"q": "sea king"},
    ],
)
def test_filters_narrow_the_csv_exactly_as_the_json(ledger, api, params):
    rows = export(api, params)
    assert rows, "each filter here selects something"
    assert keys(rows) == listed_keys(api, params)


def test_the_csv_keeps_its_canonical_order_whatever_the_json_is_ordered_by(ledger, api):
    params = {"ordering": "-quantity", "quantity_min": 1}
    assert keys(export(api, params)) == keys(export(api, {"quantity_min": 1}))


def test_a_withdrawn_pledge_is_left_out_unless_status_asks(ledger, api):
    ref = ledger.withdrawn.ref
    assert ref not in {row["pledge_ref"] for row in export(api)}
    asked = export(api, {"status": "withdrawn"})
    assert [(row["pledge_ref"], row["item"], row["status"]) for row in asked] == [
        (ref, "IRIS-T", "withdrawn")
    ]


def test_a_bad_filter_is_a_json_400(ledger, api):
    for extra in ({"format": "csv"}, {}):
        response = api.get(LINES, {"donor": "XX", **extra}, HTTP_ACCEPT="text/csv")
        assert response.status_code == 400
        assert response["Content-Type"] == "application/json"
        assert "XX" in " ".join(response.json()["donor"])


def test_unknowns_are_empty_cells_and_dates_and_numbers_are_plain(ledger, api):
    rows = {row["item"]: row for row in export(api)}
    value = rows["Package value"]
    assert (value["quantity"], value["quantity_qualifier"], value["item_type"]) == (
        "", "unspecified", "",
    )  # fmt: skip
    assert (value["value"], value["currency"]) == ("1000000.00", "GBP")
    assert value["value_basis"] == "stated"
    sea_king = rows["Sea King helicopters"]
    assert (sea_king["value"], sea_king["currency"], sea_king["value_eur"]) == ("", "", "")
    assert sea_king["item_type"] == "Westland Sea King"
    tanks = rows["Challenger 2 tanks"]
    assert (tanks["official"], tanks["official_title"], tanks["package"], tanks["notes"]) == (
        "", "", "", "",
    )  # fmt: skip
    assert (tanks["quantity"], tanks["quantity_qualifier"]) == ("14", "approximate")
    assert (tanks["announced_on"], tanks["date_precision"]) == ("2023-01-01", "month")
    assert rows["Patriot battery"]["value"] == "1000000000.00"
    assert rows["Spare parts"]["value_eur"] == "1234.56"  # euros are not converted
    for row in rows.values():
        assert not {"None", "nan", "NaN", "null"} & set(row.values())
        assert row["quantity"] != "0" and row["value"] != "0"
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", row["announced_on"])
        for name in ("value", "value_eur"):
            assert re.fullmatch(r"(\d+\.\d{2})?", row[name]), (name, row[name])
        assert (row["donor_name"], row["recipient"]) in {
            ("United Kingdom", "UA"), ("United States", "UA"),
        }  # fmt: skip


def test_text_cells_are_neutralised_and_numbers_stay_numbers(ledger, api):
    text = exported(api.get(LINES, {"format": "csv", "announced_after": "2023-01-01"}))
    rows = {row["line_no"]: row for row in parsed(text)}
    assert rows["2"]["item"] == "'=1+1"
    assert ",'=1+1," in text  # not quoted: a spreadsheet shows it as text
    assert ",1234.56,EUR,stated,1234.56," in text  # numbers bare, without an apostrophe


def test_source_urls_are_space_separated_in_link_order(ledger, api):
    rows = export(api, {"donor": "GB", "announced_before": "2022-12-31"})
    assert {row["source_urls"] for row in rows} == {f"{GOV} {BBC}"}


@pytest.mark.parametrize("params", [{}, {"donor": "GB"}, {"category": "air-defence"}])
def test_value_eur_sums_to_the_totals_eur_grand_total(ledger, api, params):
    rows = export(api, params)
    exported_sum = sum(Decimal(row["value_eur"]) for row in rows if row["value_eur"])
    total = api.get("/api/v1/totals/", params).json()["total"][0]
    assert total["currency"] == "EUR" and total["lines"] == len(rows)
    assert total["unconverted"] == 0
    valued = sum(1 for row in rows if row["value_eur"])
    assert valued
    assert abs(exported_sum - Decimal(str(total["value"]))) <= Decimal("0.005") * valued


# --- manage.py export_lines ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "params"),
    [
        ([], {}),
        (["donor=GB", "donor=US", "category=tanks"], {"donor": ["GB", "US"], "category": "tanks"}),
        (["announced_after=2022-12-01", "status=withdrawn", "status=announced"],
         {"announced_after": "2022-12-01", "status": ["withdrawn", "announced"]}),
    ],
)  # fmt: skip
def test_the_command_writes_the_same_bytes_as_the_api(ledger, api, tmp_path, arguments, params):
    response = api.get(LINES, {**params, "format": "csv"})
    assert response.status_code == 200
    expected = b"".join(response.streaming_content)
    out = io.StringIO()
    call_command("export_lines", *arguments, "-o", str(tmp_path / "lines.csv"), stdout=out)
    assert (tmp_path / "lines.csv").read_bytes() == expected
    assert f"Wrote {len(parsed(expected.decode()))} lines" in out.getvalue()
    assert [path.name for path in tmp_path.iterdir()] == ["lines.csv"]  # no partial file left

    stdout = io.StringIO()
    call_command("export_lines", *arguments, stdout=stdout)
    assert stdout.getvalue().encode("utf-8") == expected


@pytest.mark.parametrize(
    ("arguments", "says"),
    [
        (["donor=XX"], "donor: Select a valid choice. XX is not one of the available choices."),
        (["donor=GB", "announced_after=2022-13-01"], "announced_after: Enter a valid date."),
        (["category=no-such-slug"], "category: "),
        (["colour=red"], "Unknown filter “colour”; the filters are: "),
        (["donor"], "“donor”: give filters as NAME=VALUE"),
        (["--datapackage"], "--datapackage needs -o FILE"),
    ],
)
def test_the_command_refuses_a_bad_filter_naming_it(ledger, tmp_path, arguments, says):
    with pytest.raises(CommandError) as refused:
        call_command("export_lines", *arguments, stdout=io.StringIO())
    assert says in str(refused.value)


# --- The Frictionless Data package --------------------------------------------------------------


def test_the_datapackage_endpoint_describes_the_filtered_csv(ledger, api):
    params = {"donor": ["GB", "US"], "category": "tanks", "page": "2", "format": "json"}
    response = api.get(f"{LINES}datapackage/", params)
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    package = response.json()
    assert package["profile"] == "tabular-data-package"
    [resource] = package["resources"]
    assert resource["path"] == (
        "http://testserver/api/v1/lines/?donor=GB&donor=US&category=tanks&format=csv"
    )
    assert resource["profile"] == "tabular-data-resource"
    assert resource["dialect"]["lineTerminator"] == "\r\n"
    schema = resource["schema"]
    assert [field["name"] for field in schema["fields"]] == COLUMNS
    assert (schema["primaryKey"], schema["missingValues"]) == (["pledge_ref", "line_no"], [""])
    fields = {field["name"]: field for field in schema["fields"]}
    assert all(field["description"] for field in fields.values())
    for name, values in ENUMS.items():
        assert fields[name]["constraints"]["enum"] == list(values)
    assert fields["quantity"] == {**fields["quantity"], "type": "integer"}
    assert fields["quantity"]["constraints"] == {"minimum": 1}  # not required: may be empty
    assert fields["announced_on"]["type"] == "date"
    assert fields["value_eur"]["type"] == "number"
    required = {name for name in fields if fields[name].get("constraints", {}).get("required")}
    assert {"pledge_ref", "line_no", "donor", "item", "category", "status"} <= required
    assert not {"quantity", "value", "value_basis", "official", "source_urls"} & required

    # Its path answers with the CSV of those filters.
    csv_response = api.get(resource["path"])
    filters = {"donor": ["GB", "US"], "category": "tanks"}
    assert keys(parsed(exported(csv_response))) == listed_keys(api, filters)


def test_the_datapackage_endpoint_refuses_a_bad_filter(db, api):
    response = api.get(f"{LINES}datapackage/", {"announced_after": "someday"})
    assert response.status_code == 400
    assert "announced_after" in response.json()


def test_the_schema_documents_the_datapackage(db, api):
    schema = api.get("/api/v1/schema/", {"format": "json"}).json()
    operation = schema["paths"][f"{LINES}datapackage/"]["get"]
    assert {"donor", "category", "announced_after"} <= {p["name"] for p in operation["parameters"]}
    assert "application/json" in operation["responses"]["200"]["content"]


def test_frictionless_validates_and_types_an_exported_package(ledger, tmp_path):
    target = tmp_path / "lines.csv"
    call_command("export_lines", "-o", str(target), "--datapackage", stdout=io.StringIO())
    descriptor = json.loads((tmp_path / "datapackage.json").read_text(encoding="utf-8"))
    assert descriptor["resources"][0]["path"] == "lines.csv"  # relative: beside the descriptor

    report = frictionless.validate(str(tmp_path / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    assert report.tasks[0].stats["rows"] == 6

    package = frictionless.Package(str(tmp_path / "datapackage.json"))
    rows = {row["item"]: row for row in package.get_resource("lines").read_rows()}
    assert len(rows) == 6
    assert rows["Challenger 2 tanks"]["quantity"] == 14
    assert rows["Package value"]["quantity"] is None
    assert rows["Package value"]["value"] == Decimal("1000000.00")
    assert rows["Sea King helicopters"]["announced_on"] == datetime.date(2022, 11, 23)
    assert rows["'=1+1"]["line_no"] == 2


def test_frictionless_validates_the_api_csv_with_the_endpoints_descriptor(ledger, api, tmp_path):
    params = {"donor": "GB"}
    package = api.get(f"{LINES}datapackage/", params).json()
    (tmp_path / "lines.csv").write_bytes(
        b"".join(api.get(LINES, {**params, "format": "csv"}).streaming_content)
    )
    package["resources"][0]["path"] = "lines.csv"  # the URL's body, saved beside the descriptor
    (tmp_path / "datapackage.json").write_text(json.dumps(package), encoding="utf-8")
    report = frictionless.validate(str(tmp_path / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])
    assert report.tasks[0].stats["rows"] == len(listed_keys(api, params)) == 5


def test_frictionless_refuses_a_file_that_breaks_the_schema(ledger, tmp_path):
    """The descriptor constrains, not merely names: a negative quantity or an unknown qualifier
    is reported."""
    target = tmp_path / "lines.csv"
    call_command("export_lines", "-o", str(target), "--datapackage", stdout=io.StringIO())
    text = target.read_text(encoding="utf-8")
    text = text.replace(",14,approximate,", ",-14,roughly,")
    target.write_text(text, encoding="utf-8", newline="")
    report = frictionless.validate(str(tmp_path / "datapackage.json"))
    assert not report.valid
    errors = report.flatten(["fieldName", "type"])
    assert ["quantity", "constraint-error"] in errors
    assert ["quantity_qualifier", "constraint-error"] in errors
