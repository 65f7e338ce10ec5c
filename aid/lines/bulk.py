"""Bulk inserts for imports, with the history rows django-simple-history would write.

The ORM's `bulk_create` wants a model instance per row and prepares every value of every row
through its field classes; at a hundred thousand lines, plus as many history rows, that would be
most of an import's time. Here a record is a tuple of the values the import gives, and every
other field takes one value for all rows (its default, or the time of the import), prepared once.
Primary keys are reserved up front (so new pledges can be referred to by their lines before they
are written), values pass to the driver as they are (ints, text, dates and decimals, which
psycopg takes and Django adapts for SQLite), and rows go in as they are made, with `COPY`
(PostgreSQL) or `executemany` (SQLite). Used only inside the importer's transaction.
"""

import datetime
from collections.abc import Iterable, Iterator, Sequence
from operator import itemgetter

from django.db import connection
from django.db.models import Model
from django.utils import timezone


class New:
    """A record an import inserts: the values it gives, and its primary key once reserved. New
    records refer to each other (a line to its new pledge) before they have keys."""

    __slots__ = ("pk", "values")

    def __init__(self, values: tuple):
        self.pk: int | None = None
        self.values = values


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
            # The sequence named once: looked up on each call, it would cost ten times more.
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, model._meta.pk.column])
            sequence = cursor.fetchone()[0]
            cursor.execute(
                "SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, count]
            )
            return [pk for (pk,) in cursor.fetchall()]
        cursor.execute(f'SELECT MAX("{model._meta.pk.column}") FROM "{table}"')
        highest = cursor.fetchone()[0] or 0
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        counter = cursor.fetchone()
        start = max(highest, counter[0] if counter else 0) + 1
    return list(range(start, start + count))


def insert(
    model: type[Model],
    fields: Sequence[str],
    records: Sequence[New],
    *,
    actor,
    reason: str,
    shared: dict | None = None,
) -> None:
    """Insert `records`, whose values are those of `fields` (attnames) in order, with new primary
    keys and each with its `+` history row. A value that is a `New` record stands for its key.
    `shared` gives the values of other fields that every record has; the rest take defaults."""
    if not records:
        return
    for record, pk in zip(records, reserve_pks(model, len(records)), strict=True):
        record.pk = pk
    now = timezone.now()
    given = [model._meta.get_field(name) for name in fields]
    others = [
        field
        for field in model._meta.concrete_fields
        if not field.primary_key and field not in given
    ]
    defaults = tuple(default(field, now, shared or {}) for field in others)
    related = [index for index, field in enumerate(given) if field.is_relation]
    columns = [model._meta.pk, *given, *others]
    history = model.history.model
    extra = {
        "history_date": copied(connection.ops.adapt_datetimefield_value(now)),
        "history_change_reason": reason or None,
        "history_type": "+",
        "history_user_id": actor.pk if actor else None,
    }
    positions = {field.attname: index for index, field in enumerate(columns)}
    positions.update({name: len(columns) + index for index, name in enumerate(extra)})
    history_columns = [field for field in history._meta.concrete_fields if not field.primary_key]
    history_row = itemgetter(*[positions[field.attname] for field in history_columns])
    extra_values = tuple(extra.values())

    def rows() -> Iterator[tuple]:
        for record in records:
            values = record.values
            if related:
                values = list(values)
                for index in related:
                    if type(values[index]) is New:
                        values[index] = values[index].pk
            yield (record.pk, *values, *defaults)

    # Rows are made as they are sent, so the database takes each while the next is made, and
    # an import's rows are never all in memory at once.
    write(model._meta.db_table, [field.column for field in columns], rows())
    history_rows = (history_row(row + extra_values) for row in rows())
    write(history._meta.db_table, [field.column for field in history_columns], history_rows)


def default(field, now, shared: dict):
    """The value of a field an insert does not name for each record: the one all share, the time
    of the import for `auto_now` and `auto_now_add`, else the field's default."""
    if field.attname in shared:
        value = shared[field.attname]
    elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        value = now
    else:
        value = field.get_default()
    return copied(field.get_db_prep_save(value, connection))


def copied(value):
    """A value that every row shares, as the driver is best given it: psycopg converts a
    datetime anew for each row it copies, the same time as text only once."""
    return value.isoformat() if isinstance(value, datetime.datetime) else value


def write(table: str, columns: list[str], rows: Iterable[tuple]) -> None:
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


def batch_size() -> int:
    """How many values go in one `IN (...)`: within SQLite's 999 query parameters, and on
    PostgreSQL 10,000, so that a big file reads the ledger in a few queries, not a hundred."""
    return 900 if connection.vendor == "sqlite" else 10_000


def in_batches(queryset, lookup: str, values: Iterable) -> Iterator:
    values, size = list(values), batch_size()
    for start in range(0, len(values), size):
        yield from queryset.filter(**{lookup: values[start : start + size]})
