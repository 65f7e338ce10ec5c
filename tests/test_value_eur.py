"""The stored `Line.value_eur` (what totals and exports read for EUR at the announcement date)
equals a fresh conversion after every kind of write: services, bulk inserts, raw SQL, a changed
announcement date, an import, a restore of rates."""

import datetime
from decimal import Decimal
from io import StringIO

from django.core.management import call_command
from django.db import connection

from aid.lines.importer import lines_import
from aid.models import ECB, Category, Line, Pledge, Rate
from aid.rates.convert import ANNOUNCEMENT, Basis, convert_lines
from aid.services import pledge_save


def stale_lines() -> list:
    """Lines whose stored value in EUR differs from the database converting them now."""
    return [
        (line.pk, line.value, line.currency, line.value_eur, line.fresh)
        for line in Line.objects.annotate(fresh=Basis("EUR", ANNOUNCEMENT).expression())
        if not same(line.value_eur, line.fresh)
    ]


def same(stored, fresh) -> bool:
    if stored is None or fresh is None:
        return stored is fresh
    # SQLite divides in floating point: the stored figure went through the same division.
    return abs(Decimal(stored) - Decimal(fresh)) <= Decimal("1e-9") * max(1, abs(Decimal(fresh)))


def valued(description, value, currency, category="helicopters") -> Line:
    return Line(
        description=description,
        category=Category.objects.get(slug=category),
        quantity=1,
        quantity_qualifier="exact",
        value=Decimal(value) if value is not None else None,
        currency=currency,
        value_basis="stated" if value is not None else "",
    )


def test_every_write_keeps_the_stored_value_in_eur_in_step(make_pledge, editor, ua, gb):
    pledge = make_pledge(
        lines=[
            valued("in pounds", "1000000.50", "GBP"),
            valued("in dollars", "2500000", "USD"),
            valued("in euros", "300", "EUR"),
            valued("no value", None, ""),
            valued("no rate", "5", "UAH"),  # the ECB publishes no hryvnia rate, so no value in EUR
        ]
    )
    assert stale_lines() == []
    by_item = dict(Line.objects.values_list("description", "value_eur"))
    assert by_item["in euros"] == Decimal("300")
    assert by_item["no value"] is None and by_item["no rate"] is None
    assert Decimal("1100000") < by_item["in pounds"] < Decimal("1200000")  # 0.86-0.88 GBP/EUR

    # A line's value and currency change; the pledge's date changes (a different rate applies).
    lines = list(pledge.lines.order_by("line_no"))
    lines[0].value, lines[1].currency = Decimal("7"), "JPY"
    pledge.announced_on = datetime.date(2024, 3, 15)
    pledge_save(actor=editor, pledge=pledge, lines=lines, links=list(pledge.source_links.all()))
    assert stale_lines() == []

    # Only the date changes, through a queryset update that bypasses the models.
    Pledge.objects.filter(pk=pledge.pk).update(announced_on=datetime.date(2022, 3, 1))
    assert stale_lines() == []

    # Bulk inserts and hand-written SQL bypass the models too.
    bulk = valued("bulk", "99.99", "NOK")
    bulk.pledge, bulk.line_no = pledge, 9
    Line.objects.bulk_create([bulk])
    with connection.cursor() as cursor:
        cursor.execute("UPDATE aid_line SET value = 12345.67, currency = 'CHF' WHERE line_no = 2")
    assert stale_lines() == []


def test_an_import_stores_values_in_eur(editor):
    header = "pledge_ref,line_no,donor,recipient,announced_on,date_precision,item,category,"
    header += "quantity,value,currency,value_basis,source_urls"
    rows = [
        "PL-1,1,GB,UA,2023-02-01,day,Storm Shadow,missiles,10,1000000,GBP,stated,https://a.example",
        "PL-1,2,GB,UA,2023-02-01,day,Challenger 2,tanks,14,,,,https://a.example",
        "PL-2,1,PL,UA,2023-05-05,day,Leopard 2A4,tanks,10,400000000,PLN,stated,https://b.example",
    ]
    report = lines_import(
        actor=editor, data="\r\n".join([header, *rows]).encode(), filename="x.csv", dry_run=False
    )
    assert report.ok, report.errors
    assert Line.objects.filter(value_eur__isnull=False).count() == 2
    assert stale_lines() == []


def test_new_rates_are_applied_by_converting_every_line(make_pledge):
    make_pledge(lines=[valued("in pounds", "1000", "GBP")])
    ecb_gbp = Rate.objects.filter(table__name=ECB, currency="GBP", date__lte="2022-11-23")
    Rate.objects.filter(pk=ecb_gbp.latest("date").pk).update(per_eur=Decimal("0.5"))
    assert len(stale_lines()) == 1  # rates change through `load_rates --ecb` only, which...
    convert_lines()  # ...converts every line again
    assert Line.objects.get().value_eur == Decimal("2000")
    call_command("load_rates", "--ecb", stdout=StringIO())
    assert stale_lines() == []
    assert Line.objects.get().value_eur != Decimal("2000")
