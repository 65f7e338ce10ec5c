"""The pledge service (admin, API) and the CSV importer apply the same rules (aid/rules.py): the
divergences found between them, one test each."""

import datetime
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from aid.models import (
    Category,
    DatePrecision,
    ItemAlias,
    ItemType,
    Line,
    Official,
    Pledge,
    first_day,
)
from aid.rules import period_label
from sources.models import Source
from tests.factories import csv_text, messages, row, run

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


# The same random pledge through the pledge service (as the API sends it) and through the CSV
# importer: the same stored pledge, or a refusal by both with nothing written.

CATALOGUE = {"Westland Sea King": ("helicopters", "units", ["Sea King"]),
             "155mm shells": ("artillery", "rounds", ["artillery rounds"])}  # fmt: skip
NAMES = [*CATALOGUE, *(alias for _, _, aliases in CATALOGUE.values() for alias in aliases)]
QUALIFIERS = ["", *Line.Qualifier.values]
BASES = ["", *Line.ValueBasis.values]
ITEMS = [*NAMES, "sea king", "Storm Shadow missiles", "winter kit"]


@st.composite
def lines_(draw) -> dict:
    """A line that is mostly well formed: one time in five, its quantity, qualifier, currency
    and basis are drawn freely, which makes the refusals both paths must agree on."""
    quantity = draw(st.none() | st.integers(1, 10_000))
    value = draw(st.none() | st.decimals(0, 10**9, places=2, allow_nan=False))
    if draw(st.integers(0, 4)):
        exact = Line.Qualifier.EXACT if quantity is not None else ""
        qualifier = draw(st.sampled_from(["", exact]))
        currency = draw(st.sampled_from(["EUR", "GBP"])) if value is not None else ""
        basis = draw(st.sampled_from(BASES)) if value is not None else ""
    else:
        qualifier, currency = draw(st.sampled_from(QUALIFIERS)), draw(st.sampled_from(["", "EUR"]))
        basis = draw(st.sampled_from(BASES))
    return {
        "item": draw(st.sampled_from(ITEMS)),
        "item_type": draw(st.sampled_from(["", *NAMES])),
        "category": draw(st.sampled_from(["", "helicopters", "artillery"])),
        "quantity": quantity,
        "quantity_qualifier": qualifier,
        "unit": draw(st.sampled_from(["", "units", "rounds"])),
        "value": value,
        "currency": currency,
        "value_basis": basis,
    }


pledges = st.fixed_dictionaries(
    {
        "donor": st.sampled_from(["GB", "GB", "PL", "UA"]),
        "recipient": st.sampled_from(["", "UA", "GB"]),
        "day": st.dates(datetime.date(2022, 1, 1), datetime.date(2024, 12, 31)),
        "precision": st.sampled_from(DatePrecision.values),
        "first_day": st.integers(0, 4).map(bool),
        "official": st.booleans(),
        "official_title": st.sampled_from(["", "Prime Minister"]),
        "lines": st.lists(lines_(), min_size=1, max_size=3),
    }
)


def stored_pledge() -> tuple | None:
    """What the ledger holds of the one pledge, in the terms both paths share."""
    pledge = Pledge.objects.select_related("donor", "recipient", "official").first()
    if pledge is None:
        return None
    lines = pledge.lines.select_related("item_type", "category").order_by("line_no")
    return (
        pledge.donor.code, pledge.recipient.code, pledge.announced_on, pledge.date_precision,
        pledge.official.name if pledge.official else None, pledge.official_title, pledge.status,
        [
            (line.line_no, line.description, line.item_type.name if line.item_type else None,
             line.category.slug, line.quantity, line.quantity_qualifier, line.unit, line.value,
             line.currency, line.value_basis)
            for line in lines
        ],
    )  # fmt: skip


def announced(spec) -> datetime.date:
    day = first_day(spec["day"], spec["precision"]) if spec["first_day"] else spec["day"]
    return day if spec["precision"] != "day" else spec["day"]


def speaks(spec) -> bool:
    """Whether Ben Wallace announced it: only for his own country, since an importer adds an
    official it does not know (for another donor) where the service refuses a stranger."""
    return spec["official"] and spec["donor"] == "GB"


def through_the_service(spec, editor, source) -> tuple | None:
    payload = {
        "ref": "P-1",
        "donor": spec["donor"],
        "announced_on": announced(spec).isoformat(),
        "date_precision": spec["precision"],
        "lines": [
            {
                key: (str(value) if isinstance(value, Decimal) else value)
                for key, value in line.items()
                if value not in ("", None)
            }
            for line in spec["lines"]
        ],
        "sources": [{"source": source.pk, "role": "announcement"}],
    }
    for line in payload["lines"]:
        line["item"] = line.get("item", "")
    if spec["recipient"]:
        payload["recipient"] = spec["recipient"]
    if speaks(spec):
        payload["official"] = Official.objects.get(name="Ben Wallace").pk
        if spec["official_title"]:
            payload["official_title"] = spec["official_title"]
    client = APIClient()
    client.force_authenticate(editor)
    response = client.post("/api/v1/pledges/", payload, format="json")
    assert response.status_code in (201, 400), response.content
    return stored_pledge() if response.status_code == 201 else response.json()


def through_the_importer(spec, editor, source) -> tuple | None:
    day = announced(spec)
    rows = [
        {
            "pledge_ref": "P-1",
            "donor": spec["donor"],
            "recipient": spec["recipient"],
            "announced_on": period_label(day, spec["precision"])
            if spec["first_day"]
            else day.isoformat(),
            "date_precision": spec["precision"],
            "official": "Ben Wallace" if speaks(spec) else "",
            "official_title": spec["official_title"] if speaks(spec) else "",
            "source_urls": source.url,
            **{key: "" if value is None else str(value) for key, value in line.items()},
        }
        for line in spec["lines"]
    ]
    report = run(csv_text(*rows), editor)
    return stored_pledge() if report.ok else [(p.column, p.message) for p in report.errors]


@pytest.mark.django_db
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(spec=pledges)
def test_the_service_and_the_importer_store_the_same_pledge_or_both_refuse(spec, editor, wallace):
    for name, (category, unit, aliases) in CATALOGUE.items():
        item_type, _ = ItemType.objects.get_or_create(
            name=name,
            defaults={"category": Category.objects.get(slug=category), "default_unit": unit},
        )
        for alias in aliases:
            ItemAlias.objects.get_or_create(item_type=item_type, alias=alias)
    source, _ = Source.objects.get_or_create(url=URL, defaults={"title": "BBC"})
    results = []
    for path in (through_the_service, through_the_importer):
        with transaction.atomic():
            results.append(path(spec, editor, source))
            transaction.set_rollback(True)
    service, importer = results
    event("stored" if isinstance(service, tuple) else "refused")
    refused = [not isinstance(result, tuple) for result in results]
    if refused == [True, True]:  # for the same reason: at least one field named by both
        assert fields_of(service) & {field(column) for column, _ in importer}, (spec, results)
    else:
        assert service == importer, (spec, service, importer)


def field(name: str) -> str:
    """A refused field as both paths name it: `lines[2].quantity` and the column `quantity` are
    `quantity`; the model's `description` is the file's `item`."""
    name = name.rsplit(".", 1)[-1].split("[", 1)[0]
    return {"description": "item", "quantity_qualifier": "quantity"}.get(name, name)


def fields_of(errors: dict) -> set[str]:
    """The fields an API 400 names, nested line errors included."""
    names = set()
    for key, value in errors.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            names |= {field(name) for item in value for name in item}
        names.add(field(key))
    return names


def test_an_import_refuses_a_removed_lines_number_as_the_api_does(editor):
    assert run(csv_text(row(), row(item="Sea King spares", quantity="10")), editor).ok
    assert run(csv_text(row(line_no="1")), editor).ok  # line 2 removed
    report = run(csv_text(row(line_no="1"), row(line_no="2", item="L119 light guns")), editor)
    assert messages(report) == [
        "row 3, column line_no: line 2 of pledge GB-1 was removed, and a line number is never "
        "given to another item: leave line_no empty for a new line ('2')"
    ]
    assert list(Line.objects.values_list("line_no", flat=True)) == [1]
