"""`as_of`: the published ledger as it stood at a moment, from the history it already keeps.

A published pledge's own rows change only when a reviewer publishes (aid/revisions.py), so its
history is the history of what the public saw. At a moment T, a pledge is published when its
latest history row at or before T says verified (and is not a revision's, nor a deletion); its
lines and citations are their latest history rows at or before T. `install` writes three
temporary views of that state on this connection (`aid.models.as_of`), so that the API's filters,
totals and exports read them as they read the live tables. The value in euros is computed by the
one rule (`aid.rates.rule`), as the live table's triggers compute it.
"""

import datetime

from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from aid.models.as_of import CitationAsOf, LineAsOf, PledgeAsOf
from aid.rates import rule

PLEDGE_COLUMNS = [
    "id", "ref", "donor_id", "recipient_id", "announced_on", "date_precision", "official_id",
    "official_title", "package", "status", "notes", "review",
]  # fmt: skip
LINE_COLUMNS = [
    "id", "pledge_id", "line_no", "description", "item_type_id", "category_id", "quantity",
    "quantity_qualifier", "unit", "value", "currency", "value_basis",
]  # fmt: skip
CITATION_COLUMNS = ["id", "pledge_id", "source_id", "role", "quote"]


def parse_moment(text: str) -> datetime.datetime:
    """`YYYY-MM-DD` (the end of that day, UTC) or an ISO datetime (UTC when it names no zone);
    ValueError with the forms it takes otherwise."""
    text = text.strip()
    moment = None
    try:
        day = parse_date(text)
        if day is not None:
            moment = datetime.datetime.combine(day, datetime.time.max, datetime.UTC)
        else:
            moment = parse_datetime(text)
    except ValueError:
        moment = None
    if moment is None:
        raise ValueError("Give a date (YYYY-MM-DD, the end of that day UTC) or an ISO datetime.")
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment


def latest(table: str, alias: str, moment: str) -> str:
    """The condition that keeps, of each record's history rows, the last at or before the
    moment."""
    return (
        f"{alias}.history_id = (SELECT h2.history_id FROM {table} h2 WHERE h2.id = {alias}.id "
        f"AND h2.history_date <= {moment} ORDER BY h2.history_date DESC, h2.history_id DESC "
        "LIMIT 1)"
    )


def view(name: str, select: str) -> list[str]:
    if connection.vendor == "postgresql":
        return [f"CREATE OR REPLACE TEMP VIEW {name} AS {select}"]
    return [f"DROP VIEW IF EXISTS temp.{name}", f"CREATE TEMP VIEW {name} AS {select}"]


def statements(moment: datetime.datetime) -> list[str]:
    editor = connection.SchemaEditorClass(connection)
    at = editor.quote_value(connection.ops.adapt_datetimefield_value(moment))
    pledges = ", ".join(f"h.{column}" for column in PLEDGE_COLUMNS)
    lines = ", ".join(f"h.{column}" for column in LINE_COLUMNS)
    citations = ", ".join(f"h.{column}" for column in CITATION_COLUMNS)
    value_eur = rule.sql(connection, line="h", day="p.announced_on")
    return [
        *view(
            PledgeAsOf._meta.db_table,
            f"SELECT {pledges} FROM aid_historicalpledge h WHERE "
            f"{latest('aid_historicalpledge', 'h', at)} AND h.history_type <> '-' "
            "AND h.review = 'verified' AND h.revision_of_id IS NULL",
        ),
        *view(
            LineAsOf._meta.db_table,
            f"SELECT {lines}, {value_eur} AS value_eur FROM aid_historicalline h "
            f"JOIN {PledgeAsOf._meta.db_table} p ON p.id = h.pledge_id WHERE "
            f"{latest('aid_historicalline', 'h', at)} AND h.history_type <> '-'",
        ),
        *view(
            CitationAsOf._meta.db_table,
            f"SELECT {citations} FROM sources_historicalpledgesource h "
            f"JOIN {PledgeAsOf._meta.db_table} p ON p.id = h.pledge_id WHERE "
            f"{latest('sources_historicalpledgesource', 'h', at)} AND h.history_type <> '-'",
        ),
    ]


def install(moment: datetime.datetime) -> None:
    """Point this connection's as-of views at `moment`."""
    with connection.cursor() as cursor:
        for statement in statements(moment):
            cursor.execute(statement)
