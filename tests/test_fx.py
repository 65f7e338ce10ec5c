"""Currency conversion for totals (SPEC rule 4): the ECB rates stored in the ledger, the three
bases (announcement date, one fixed date, a named table), and `manage.py load_rates`.

Expected values are computed here independently: rates are read through CurrencyConverter's public
`convert` (no fallback), walking back to the last business day on or before the date, and the
arithmetic is done in Decimal.
"""

import datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from aid.models import ECB, Category, Line, Rate, RateTable
from aid.rates.convert import ANNOUNCEMENT, Basis, rates_on
from aid.selectors import TotalsQuery, totals
from tests.factories import CONVERTER, close, ecb_rate, expected_value

SAT_26_NOV_2022 = datetime.date(2022, 11, 26)
FRI_25_NOV_2022 = datetime.date(2022, 11, 25)


def money_line(value, currency, category="unallocated") -> Line:
    return Line(
        description="package",
        category=Category.objects.get(slug=category),
        value=Decimal(value),
        currency=currency,
        value_basis=Line.ValueBasis.STATED,
    )


def grand(lines, **query) -> dict:
    (row,) = totals(lines, TotalsQuery(**query))
    return row


# --- The ECB table ---------------------------------------------------------------------------


def test_the_ecb_table_holds_every_rate_the_library_ships(db):
    table = RateTable.objects.get(name=ECB)
    assert table.dated
    shipped = sum(
        1
        for currency, by_day in CONVERTER._rates.items()
        if currency != "EUR"
        for rate in by_day.values()
        if rate is not None
    )
    assert Rate.objects.filter(table=table).count() == shipped
    for currency, day in [("USD", FRI_25_NOV_2022), ("GBP", datetime.date(2024, 1, 2))]:
        stored = Rate.objects.get(table=table, currency=currency, date=day).per_eur
        assert stored == ecb_rate(currency, day)


def test_rates_on_a_day_are_each_currencys_last_rate_on_or_before_it(db):
    for day in (SAT_26_NOV_2022, datetime.date(2021, 2, 22), datetime.date(2000, 1, 1)):
        rates = rates_on(day)
        assert rates, day
        for currency, rate in rates.items():
            assert rate == ecb_rate(currency, day), (currency, day)
    assert rates_on(datetime.date(1998, 12, 31)) == {}
    # A currency the ECB stopped quoting keeps its last rate (RUB: 2022-03-01).
    assert rates_on(datetime.date(2023, 6, 1))["RUB"] == ecb_rate("RUB", datetime.date(2022, 3, 1))


# --- The three bases -------------------------------------------------------------------------


def test_announcement_basis_uses_the_rate_of_each_lines_date_or_the_last_before(make_pledge):
    friday = make_pledge(
        announced_on=FRI_25_NOV_2022, lines=[money_line("100000000.00", "USD")]
    ).lines.all()
    saturday = make_pledge(
        announced_on=SAT_26_NOV_2022, lines=[money_line("100000000.00", "USD")]
    ).lines.all()
    usd = ecb_rate("USD", FRI_25_NOV_2022)
    for lines in (friday, saturday):
        row = grand(lines)
        assert close(row["value"], Decimal(100_000_000) / usd)
        assert (row["currency"], row["fx"], row["unconverted"]) == ("EUR", ANNOUNCEMENT, 0)
    assert grand(friday)["value"] == grand(saturday)["value"]


def test_announcement_basis_converts_to_any_ecb_currency_at_the_same_date(make_pledge):
    day = datetime.date(2023, 3, 15)
    pledge = make_pledge(
        announced_on=day,
        lines=[money_line("1000000.00", "GBP"), money_line("2500000.00", "EUR")],
    )
    lines = pledge.lines.all()
    for target in ("USD", "JPY", "GBP", "EUR"):
        expected = expected_value(Decimal(1_000_000), "GBP", day, target) + expected_value(
            Decimal(2_500_000), "EUR", day, target
        )
        assert close(grand(lines, currency=target)["value"], expected), target


def test_fixed_date_basis_converts_every_line_at_that_days_rates(make_pledge):
    lines = [
        make_pledge(announced_on=day, lines=[money_line("5000000.00", "USD")]).lines.get()
        for day in (datetime.date(2022, 3, 1), datetime.date(2024, 6, 3))
    ]
    all_lines = Line.objects.filter(pk__in=[line.pk for line in lines])
    # 2023-01-01 is a Sunday: the rates are those of Friday 2022-12-30.
    usd = ecb_rate("USD", datetime.date(2022, 12, 30))
    assert usd == ecb_rate("USD", datetime.date(2023, 1, 1))
    row = grand(all_lines, fx="2023-01-01")
    assert close(row["value"], Decimal(10_000_000) / usd)
    assert row["fx"] == "2023-01-01"
    gbp = grand(all_lines, fx="2023-01-01", currency="GBP")["value"]
    assert close(gbp, Decimal(10_000_000) / usd * ecb_rate("GBP", datetime.date(2022, 12, 30)))


def test_whole_number_rates_and_values_are_not_divided_as_integers(make_pledge):
    """SQLite stores 128 and 1000 as integers and 1000 / 128 as 7; the conversion must not."""
    day = datetime.date(2021, 2, 22)
    assert ecb_rate("JPY", day) == 128  # a whole-number ECB rate
    lines = make_pledge(announced_on=day, lines=[money_line("1000", "JPY")]).lines.all()
    assert grand(lines)["value"] == Decimal("7.81")  # 1000 / 128 = 7.8125
    assert grand(lines, fx="2021-02-22")["value"] == Decimal("7.81")
    RateTable.objects.create(name="whole", description="")
    Rate.objects.create(table=RateTable.objects.get(name="whole"), currency="JPY", per_eur=128)
    assert grand(lines, fx="whole")["value"] == Decimal("7.81")
    # USD was at parity on 2022-08-31: a rate of exactly 1.
    parity = datetime.date(2022, 8, 31)
    assert ecb_rate("USD", parity) == 1
    usd = make_pledge(announced_on=parity, lines=[money_line("1001", "USD")]).lines.all()
    assert close(grand(usd, currency="GBP")["value"], Decimal(1001) * ecb_rate("GBP", parity))


def test_a_named_table_converts_with_its_own_rates(make_pledge, tmp_path):
    rates = tmp_path / "rates.csv"
    rates.write_text("currency,per_eur\nUSD,1.25\nGBP,0.8\n", encoding="utf-8")
    call_command("load_rates", "kiel-test", str(rates), description="test rates")
    lines = make_pledge(
        announced_on=datetime.date(2023, 5, 2),
        lines=[
            money_line("1000.00", "USD"),
            money_line("400.00", "GBP"),
            money_line("10.00", "EUR"),
            money_line("99.00", "PLN"),  # not in the table: unconverted, not in the sum
        ],
    ).lines.all()
    row = grand(lines, fx="kiel-test")
    assert row["value"] == Decimal("1310.00")  # 1000 / 1.25 + 400 / 0.8 + 10
    assert (row["unconverted"], row["unvalued"], row["lines"]) == (1, 0, 4)
    assert grand(lines, fx="kiel-test", currency="USD")["value"] == Decimal("1637.50")
    assert grand(lines, fx="kiel-test", currency="GBP")["value"] == Decimal("1048.00")


def test_a_currency_without_a_rate_is_counted_as_unconverted_not_as_zero(make_pledge):
    lines = make_pledge(
        announced_on=datetime.date(2023, 5, 2),
        lines=[money_line("1000.00", "UAH"), money_line("1000.00", "EUR")],
    ).lines.all()
    for fx in (ANNOUNCEMENT, "2023-05-02"):
        row = grand(lines, fx=fx)
        assert (row["value"], row["unconverted"], row["lines"]) == (Decimal("1000.00"), 1, 2)


def test_each_basis_describes_itself():
    assert "ECB reference rate of its announcement date" in Basis("EUR", ANNOUNCEMENT).describe()
    assert "last published rate on or before it" in Basis("EUR", ANNOUNCEMENT).describe()
    assert "USD at the ECB reference rates of 2023-01-01" in Basis("USD", "2023-01-01").describe()
    assert "“kiel-test”" in Basis("GBP", "kiel-test").describe()


# --- load_rates ------------------------------------------------------------------------------


def run_load_rates(*args) -> str:
    out = StringIO()
    call_command("load_rates", *args, stdout=out)
    return out.getvalue()


def test_load_rates_stores_a_named_undated_table(db, tmp_path):
    file = tmp_path / "kiel.csv"
    # A spreadsheet's export: byte-order mark, CRLF, lower-case codes, spaces.
    file.write_bytes("\ufeffcurrency,per_eur\r\nusd, 1.0530 \r\nGBP,0.85\r\n".encode())
    output = run_load_rates("kiel-ust-r7", str(file), "--description", "Kiel, release 7")
    assert "Loaded 2 rates" in output and "kiel-ust-r7" in output
    table = RateTable.objects.get(name="kiel-ust-r7")
    assert (table.dated, table.description) == (False, "Kiel, release 7")
    assert dict(table.rates.values_list("currency", "per_eur")) == {
        "USD": Decimal("1.053"),
        "GBP": Decimal("0.85"),
    }
    assert not table.rates.filter(date__isnull=False).exists()

    # Loading the name again replaces the table: a currency left out is gone.
    file.write_text("currency,per_eur\nUSD,1.10\n", encoding="utf-8")
    run_load_rates("kiel-ust-r7", str(file))
    assert dict(table.rates.values_list("currency", "per_eur")) == {"USD": Decimal("1.1")}
    assert RateTable.objects.filter(name="kiel-ust-r7").count() == 1


def test_load_rates_rejects_a_bad_file_by_row_and_column_and_changes_nothing(db, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("currency,per_eur\nUSD,1.25\n", encoding="utf-8")
    run_load_rates("kiel", str(good))
    before = list(Rate.objects.order_by("pk").values_list("table__name", "currency", "per_eur"))

    bad = tmp_path / "bad.csv"
    bad.write_text(
        "currency,per_eur\n"
        "USD,1.30\n"  # row 2: fine, but not loaded either
        "GBP,abc\n"  # row 3
        "XYZ,2\n"  # row 4
        ",3\n"  # row 5
        "JPY,-1\n"  # row 6
        "usd,1.31\n"  # row 7
        "CHF,1.123456789\n"  # row 8
        "NOK,\n",  # row 9
        encoding="utf-8",
    )
    with pytest.raises(CommandError) as raised:
        run_load_rates("kiel", str(bad))
    message = str(raised.value)
    assert message.startswith("Nothing loaded")
    for expected in (
        "row 3, column per_eur",
        "row 4, column currency: “XYZ” is not an ISO 4217 currency code",
        "row 5, column currency",
        "row 6, column per_eur: must be positive",
        "row 7, column currency: USD given twice",
        "row 8, column per_eur: Ensure that there are no more than 8 decimal places",
        "row 9, column per_eur",
    ):
        assert expected in message
    assert "row 2" not in message
    after = list(Rate.objects.order_by("pk").values_list("table__name", "currency", "per_eur"))
    assert after == before


@pytest.mark.parametrize(
    ("args", "content", "expected"),
    [
        (("kiel",), "currency,rate\nUSD,1.2\n", "missing column(s) per_eur"),
        (("kiel",), "currency,per_eur\n", "no rows"),
        (("ecb",), "currency,per_eur\nUSD,1.2\n", "reserved for the ECB"),
        (("not a slug",), "currency,per_eur\nUSD,1.2\n", "is not a table name"),
        (("kiel",), b"currency,per_eur\nUSD,\xff\n", "cannot be read as a UTF-8 CSV"),
    ],
)
def test_load_rates_refuses_what_it_cannot_load(db, tmp_path, args, content, expected):
    file = tmp_path / "rates.csv"
    file.write_bytes(content if isinstance(content, bytes) else content.encode())
    tables = RateTable.objects.count()
    with pytest.raises(CommandError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        run_load_rates(*args, str(file))
    assert RateTable.objects.count() == tables


def test_load_rates_needs_a_file_that_exists_or_ecb(db, tmp_path):
    with pytest.raises(CommandError, match="cannot be read"):
        run_load_rates("kiel", str(tmp_path / "missing.csv"))
    with pytest.raises(CommandError, match="Give NAME and FILE"):
        run_load_rates("kiel")


def test_load_rates_ecb_replaces_the_ecb_table_with_the_library_rates(db, monkeypatch):
    """--ecb after a library upgrade: the table becomes what the library ships, nothing else.
    (The library's own ~220,000 rates are checked against the table above; a stand-in keeps this
    test fast.)"""
    shipped = {"USD": {FRI_25_NOV_2022: 1.0375, SAT_26_NOV_2022 + datetime.timedelta(2): 1.04}}
    monkeypatch.setattr("aid.rates.convert.ecb_rates", lambda: shipped)
    assert "Loaded 2 ECB reference rates" in run_load_rates("--ecb")
    table = RateTable.objects.get(name=ECB)
    assert table.dated
    assert sorted(table.rates.values_list("currency", "date", "per_eur")) == [
        ("USD", FRI_25_NOV_2022, Decimal("1.0375")),
        ("USD", datetime.date(2022, 11, 28), Decimal("1.04")),
    ]
