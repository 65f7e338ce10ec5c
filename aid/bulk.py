"""Bulk inserts for imports, with the history rows django-simple-history would write.

The ORM's `bulk_create` prepares every value of every row through its field classes; at a hundred
thousand lines, plus as many history rows, that is most of an import's time. Here primary keys
are reserved up front (so new pledges can be referred to by their lines before they are written),
values pass to the driver as they are except dates, times and decimals, and rows go in with
`COPY` (PostgreSQL) or `executemany` (SQLite). Used only inside the importer's transaction.
"""

import datetime
from collections.abc import Sequence
from decimal import Decimal

from django.db import connection
from django.db.models import Model
from django.utils import timezone

CHUNK = 5000
PREPARED = (datetime.date, Decimal)  # datetime is a date: these go through their field


def reserve_pks(model: type[Model], count: int) -> list[int]:
    """`count` unused primary keys of `model`'s table, taken so no other writer can take them.

    PostgreSQL hands them out from the table's sequence. SQLite's writer holds the database's
    write lock for the whole transaction (IMMEDIATE), so the keys after the highest ever used
    (AUTOINCREMENT's counter, which never reuses a deleted row's key) are free until it commits.
    """
    if count == 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, model._meta.pk.column, count],
            )
            return [pk for (pk,) in cursor.fetchall()]
        cursor.execute(f'SELECT MAX("{model._meta.pk.column}") FROM "{table}"')
        highest = cursor.fetchone()[0] or 0
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        counter = cursor.fetchone()
        start = max(highest, counter[0] if counter else 0) + 1
    return list(range(start, start + count))


def insert(model: type[Model], records: Sequence[Model], *, actor, reason: str) -> None:
    """Insert unsaved `records` with new primary keys, each with its `+` history row."""
    if not records:
        return
    for record, pk in zip(records, reserve_pks(model, len(records)), strict=True):
        # Foreign keys to records inserted just before (a new line's pledge) take their keys.
        record._prepare_related_fields_for_save(operation_name="insert")
        record.pk = record.pk or pk
        record._state.adding = False
        record._state.db = connection.alias
    fields = model._meta.concrete_fields
    now = timezone.now()
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            for record in records:
                setattr(record, field.attname, now)
    history = model.history.model
    extra = {
        "history_date": connection.ops.adapt_datetimefield_value(now),
        "history_change_reason": reason or None,
        "history_type": "+",
        "history_user_id": actor.pk if actor else None,
    }
    positions = {field.attname: index for index, field in enumerate(fields)}
    history_columns, picks = [], []
    for field in history._meta.concrete_fields:
        if not field.primary_key:
            history_columns.append(field.column)
            picks.append(positions.get(field.attname, field.attname))
    # A chunk at a time, so the rows in memory do not grow with the import.
    for start in range(0, len(records), CHUNK):
        rows = [
            [value(field, record) for field in fields] for record in records[start : start + CHUNK]
        ]
        write(model._meta.db_table, [field.column for field in fields], rows)
        write(
            history._meta.db_table,
            history_columns,
            [
                [row[pick] if isinstance(pick, int) else extra[pick] for pick in picks]
                for row in rows
            ],
        )


def value(field, record):
    raw = getattr(record, field.attname)
    return field.get_db_prep_save(raw, connection) if isinstance(raw, PREPARED) else raw


def write(table: str, columns: list[str], rows: list[list]) -> None:
    """PostgreSQL takes the rows through COPY, its fastest way in; SQLite through executemany."""
    names = ", ".join(f'"{column}"' for column in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join(["%s"] * len(columns))
        cursor.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows)
