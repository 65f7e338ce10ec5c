"""Money in answers: unknown is not zero, and every sum keeps its cents in JSON and CSV."""

import datetime
from decimal import Decimal

from aid.models import Category, Line, Pledge
from aid.models.pledges import MAX_VALUE
from tests.factories import TOTALS, csv_of

# The largest line a ledger stores (SQLite keeps 15 significant digits), with odd cents, so that
# eleven of them reach 10^14 € only if no cent is lost on the way.
BIG = [MAX_VALUE] * 10 + [Decimal("0.11")]
BIG_SUM = Decimal("100000000000000.01")


def valued(*values: Decimal, currency: str = "EUR") -> list[Line]:
    helicopters = Category.objects.get(slug="helicopters")
    return [
        Line(
            description=f"tranche {number}",
            category=helicopters,
            value=value,
            currency=currency,
            value_basis="stated",
        )
        for number, value in enumerate(values, start=1)
    ]


def test_a_group_with_no_known_value_is_unknown_not_zero(make_pledge, client, editor):
    """The UK's helicopters have no value: its total is null (an empty CSV cell, "?" in the
    admin), never 0, and a cumulative series stays null until a value is known."""
    make_pledge()  # GB, 2022-11-23, three Sea Kings, no value
    make_pledge(announced_on=datetime.date(2023, 2, 1), lines=valued(Decimal("1000000")))
    by_quarter = {"group_by": "period", "period": "quarter"}
    rows = client.get(TOTALS, by_quarter).json()["rows"]
    assert [(row["period"], row["value"], row["unvalued"]) for row in rows] == [
        ("2022-Q4", None, 1),
        ("2023-Q1", "1000000.00", 0),
    ]
    as_csv = csv_of(client.get(TOTALS, {**by_quarter, "format": "csv"}))
    assert [(row["period"], row["value"]) for row in as_csv] == [
        ("2022-Q4", ""),
        ("2023-Q1", "1000000.00"),
    ]
    running = client.get(TOTALS, {**by_quarter, "cumulative": "true"}).json()["rows"]
    assert [row["value"] for row in running] == [None, "1000000.00"]

    client.force_login(editor)
    page = client.get("/admin/totals/", {"columns": "period", "period": "quarter"})
    assert '<span class="unknown"' in page.content.decode()


def test_a_sum_of_ten_to_the_fourteen_euros_keeps_its_cents(make_pledge, client):
    pledge = make_pledge(lines=valued(*BIG))
    answer = client.get(TOTALS, {"group_by": "donor"}).json()
    assert answer["rows"][0]["value"] == str(BIG_SUM)
    assert answer["total"][0]["value"] == str(BIG_SUM)
    cumulative = {"group_by": "period", "cumulative": "true"}
    assert client.get(TOTALS, cumulative).json()["rows"][0]["value"] == str(BIG_SUM)
    assert csv_of(client.get(TOTALS, {"format": "csv"}))[0]["value"] == str(BIG_SUM)

    lines = client.get("/api/v1/lines/", {"pledge": pledge.ref}).json()["results"]
    assert sorted(Decimal(line["value"]) for line in lines) == sorted(BIG)
    assert all(isinstance(line["value"], str) for line in lines)
    detail = client.get(f"/api/v1/pledges/{pledge.pk}/").json()
    assert [line["value"] for line in detail["lines"]] == [f"{value:.2f}" for value in BIG]


def test_a_value_sent_as_a_json_number_keeps_its_cents(editor, client, article, helicopters):
    client.force_login(editor)
    body = (  # written out: json.dumps would send the number as a float
        '{"donor": "GB", "recipient": "UA", "announced_on": "2022-11-23", "lines": [{"item": '
        '"tranche", "category": "helicopters", "value": 9999999999999.99, "currency": "EUR", '
        '"value_basis": "stated"}], "sources": [{"source": SOURCE, "role": "announcement"}]}'
    ).replace("SOURCE", str(article.pk))
    response = client.post("/api/v1/pledges/", body, content_type="application/json")
    assert response.status_code == 201, response.json()
    assert response.json()["lines"][0]["value"] == "9999999999999.99"
    assert Pledge.objects.get().lines.get().value == MAX_VALUE


def test_a_line_value_beyond_the_cap_is_refused_naming_the_field(editor, client, article):
    client.force_login(editor)
    line = {"item": "tranche", "category": "helicopters", "value": "10000000000000.00",
            "currency": "EUR", "value_basis": "stated"}  # fmt: skip
    body = {"donor": "GB", "recipient": "UA", "announced_on": "2022-11-23", "lines": [line],
            "sources": [{"source": article.pk, "role": "announcement"}]}  # fmt: skip
    response = client.post("/api/v1/pledges/", body, content_type="application/json")
    assert response.status_code == 400
    assert "value" in str(response.json()["lines"]), response.json()
    assert "9999999999999.99" in str(response.json()), response.json()
    assert not Pledge.objects.exists()


def test_the_schema_says_money_is_a_decimal_string(client):
    schema = client.get("/api/v1/schema/", {"format": "json"}).json()["components"]["schemas"]
    for name in ("TotalsRow", "Line"):
        value = schema[name]["properties"]["value"]
        assert value["type"] == "string" and value["format"] == "decimal", (name, value)
    assert schema["Totals"]["properties"]["rows"]["items"]["$ref"].endswith("TotalsRow")
