"""The conversion rule is written once (aid/rates/rule.py): what the triggers store in
`Line.value_eur`, what `convert_lines` stores, and what totals compute with the ORM expression are
the same figure, for any line: a currency with or without ECB rates, a date within the rates or
before the first, a value with cents or none. Hypothesis generates the lines."""

import datetime
from decimal import Decimal

from django.db import connection, transaction
from django.db.models.functions import Cast
from hypothesis import given
from hypothesis import strategies as st

from aid.models import Category, Line, Party, Pledge
from aid.models.pledges import MAX_VALUE
from aid.rates import triggers
from aid.rates.convert import ANNOUNCEMENT, Basis, convert_lines, ecb_range
from tests.factories import db_property

# With ECB rates, one whose rates stop (RUB, March 2022), high rates (JPY, IDR); none (UAH).
CURRENCIES = ["EUR", "USD", "GBP", "JPY", "PLN", "IDR", "RUB", "UAH"]
DAYS = st.dates(datetime.date(1996, 1, 1), datetime.date(2025, 12, 31))  # ECB rates from 1999

PROPERTY = db_property(30)

values = st.one_of(
    st.none(),
    st.decimals(min_value=0, max_value=MAX_VALUE, places=2, allow_nan=False, allow_infinity=False),
    st.decimals(min_value=0, max_value=1000, places=2, allow_nan=False, allow_infinity=False),
)
lines = st.lists(st.tuples(values, st.sampled_from(CURRENCIES)), min_size=1, max_size=4)
ledgers = st.lists(st.tuples(DAYS, DAYS, lines), min_size=1, max_size=4)


def stored_and_fresh() -> list[tuple]:
    """Each line's stored value in EUR beside the ORM expression's, rounded as the column
    rounds it (PostgreSQL keeps 20 decimal places)."""
    column = Line._meta.get_field("value_eur")
    fresh = Cast(Basis("EUR", ANNOUNCEMENT).expression(), output_field=column)
    return list(
        Line.objects.annotate(fresh=fresh).values_list("value", "currency", "value_eur", "fresh")
    )


def write(ledger) -> list[Pledge]:
    gb, ua = Party.objects.get(code="GB"), Party.objects.get(code="UA")
    tanks = Category.objects.get(slug="tanks")
    pledges = Pledge.objects.bulk_create(
        Pledge(ref=f"rule-{number}", donor=gb, recipient=ua, announced_on=day)
        for number, (day, _, _) in enumerate(ledger)
    )
    Line.objects.bulk_create(
        Line(
            pledge=pledge,
            line_no=number,
            description="tanks",
            category=tanks,
            quantity_qualifier="unspecified",
            value=value,
            currency="" if value is None else currency,
            value_basis="" if value is None else "stated",
        )
        for pledge, (_, _, items) in zip(pledges, ledger, strict=True)
        for number, (value, currency) in enumerate(items, start=1)
    )
    return pledges


def assert_same(rows) -> None:
    for value, currency, stored, fresh in rows:
        assert stored == fresh, (value, currency, stored, fresh)
        if value is None:
            assert stored is None


@PROPERTY
@given(ledger=ledgers)
def test_triggers_and_the_orm_expression_give_the_same_value_in_eur(db, ledger):
    with transaction.atomic():
        pledges = write(ledger)  # the line and pledge insert triggers
        assert_same(stored_and_fresh())

        for pledge, (_, later, _) in zip(pledges, ledger, strict=True):
            Pledge.objects.filter(pk=pledge.pk).update(announced_on=later)  # the pledge's update
        Line.objects.filter(currency="GBP").update(currency="USD")  # the line's update
        assert_same(stored_and_fresh())

        Line.objects.update(value_eur=None)
        convert_lines()
        assert_same(stored_and_fresh())
        transaction.set_rollback(True)


def test_a_date_before_the_first_ecb_rate_has_no_value_in_eur_and_a_euro_is_a_euro(db):
    first, _ = ecb_range()
    before = first - datetime.timedelta(days=1)
    with transaction.atomic():
        write([(before, before, [(Decimal("10.50"), "USD"), (Decimal("10.50"), "EUR")])])
        by_currency = {row[1]: row[2:] for row in stored_and_fresh()}
        assert by_currency == {"USD": (None, None), "EUR": (Decimal("10.50"), Decimal("10.50"))}
        transaction.set_rollback(True)


def test_installed_triggers_are_the_sql_the_rule_generates_and_reinstalling_changes_nothing(db):
    generated = triggers.expected(connection)
    assert triggers.present(connection) == generated
    triggers.install(connection)
    assert triggers.present(connection) == generated
