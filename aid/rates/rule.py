"""The rule for a line's value in euros (SPEC rule 4), written once.

Totals build it as an ORM expression (`aid.rates.convert.Basis`); the database triggers that
keep `Line.value_eur` (`aid.rates.triggers`) and `convert_lines` run the SQL that the database's
own compiler makes of the same expression, so the stored figure and a fresh one cannot drift.
"""

from django.db.models import (
    Case,
    CharField,
    DateField,
    DecimalField,
    F,
    Func,
    OuterRef,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import Expression, RawSQL
from django.db.models.lookups import Exact
from django.db.models.sql import Query

from aid.models import ECB, Line, Rate, RateTable

RATE_FIELD = DecimalField(max_digits=20, decimal_places=8)
EUR_FIELD = DecimalField(max_digits=38, decimal_places=20)  # as `Line.value_eur`

# The `ecb` table, found by name when the SQL runs: a trigger outlives any id read beforehand.
ECB_TABLE = Subquery(RateTable.objects.filter(name=ECB).order_by().values("pk"))


class Real(Func):
    """Its argument, as a floating-point number on SQLite and unchanged elsewhere.

    SQLite stores a whole-number decimal (a rate of 128 JPY, a value of 1000) as an integer and
    divides two integers as integers (1000 / 128 = 7), which would drop the fraction of a
    conversion. PostgreSQL's numeric division is exact and needs nothing."""

    arity = 1
    template = "(%(expressions)s)"

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(
            compiler, connection, template="CAST(%(expressions)s AS REAL)", **extra_context
        )


def ecb_rate(currency, day, table) -> Subquery:
    """Units per euro of `currency` on `day`: the last ECB rate on or before it, NULL when the
    ECB published none by then. `table` is the `ecb` table's id or an expression for it."""
    rates = Rate.objects.filter(table_id=table, currency=currency, date__lte=day)
    return Subquery(rates.order_by("-date").values("per_eur")[:1], output_field=RATE_FIELD)


def value_eur(*, value, currency, day, table) -> Expression:
    """A line's value in euros at the ECB rate of `day`; a euro is a euro; NULL without a value
    or a rate.

    The line's columns are Line field names (the ORM: read from the row, or from the outer row
    inside the rate look-up) or `column(...)` SQL (a trigger's NEW row)."""
    return Case(
        When(Exact(here(currency), Value("EUR")), then=here(value)),
        default=here(value) / Real(ecb_rate(outer(currency), outer(day), table)),
        output_field=EUR_FIELD,
    )


def here(ref):
    return F(ref) if isinstance(ref, str) else ref


def outer(ref):
    return OuterRef(ref) if isinstance(ref, str) else ref


def column(sql: str, output_field=None) -> RawSQL:
    """A column the SQL around the rule provides (`NEW.value`, `aid_line.currency`)."""
    return RawSQL(sql, (), output_field=output_field or CharField())


def sql(connection, *, line: str, day: str) -> str:
    """The rule as this database's SQL over the row `line` announced on `day`, parameters
    written in as literals (triggers take none), the way Django writes a check constraint."""
    query = Query(Line)
    expression = value_eur(
        value=column(f"{line}.value", DecimalField()),
        currency=column(f"{line}.currency"),
        day=column(day, DateField()),
        table=ECB_TABLE,
    ).resolve_expression(query)
    text, params = expression.as_sql(query.get_compiler(connection=connection), connection)
    editor = connection.SchemaEditorClass(connection)
    return text % tuple(editor.quote_value(param) for param in params)
