"""Database triggers that keep `Line.value_eur` in step with every write, whoever writes: the
services, the importer's bulk inserts (COPY on PostgreSQL), a restore or a hand-written
statement. Rates change only through `load_rates --ecb`, which converts every line again
(`aid.rates.convert.convert_lines`).

Their SQL is generated from the conversion rule (`aid.rates.rule`) by the database's own
compiler. They are (re)installed after every `migrate` (post_migrate), so that a migration which
rebuilds the table on SQLite, dropping its triggers, cannot leave the column unmaintained, and
a changed rule reaches the database with the next `migrate`. `manage.py check` compares what is
installed with what the rule generates (`aid.rates.checks`).
"""

from aid.rates import rule

# The line's announcement date, from the row a line trigger writes.
PLEDGE_DAY = "(SELECT p.announced_on FROM aid_pledge p WHERE p.id = NEW.pledge_id)"

# PostgreSQL: trigger → (table, function, when it fires). Lines may be inserted before their
# pledge (foreign keys are checked at commit), hence the pledge's insert trigger.
POSTGRESQL_TRIGGERS = {
    "aid_line_value_eur": (
        "aid_line",
        "aid_line_value_eur",
        "BEFORE INSERT OR UPDATE OF value, currency, pledge_id ON aid_line FOR EACH ROW",
    ),
    "aid_pledge_value_eur_insert": (
        "aid_pledge",
        "aid_pledge_value_eur",
        "AFTER INSERT ON aid_pledge FOR EACH ROW",
    ),
    "aid_pledge_value_eur_update": (
        "aid_pledge",
        "aid_pledge_value_eur",
        "AFTER UPDATE OF announced_on ON aid_pledge FOR EACH ROW "
        "WHEN (OLD.announced_on IS DISTINCT FROM NEW.announced_on)",
    ),
}


def postgresql_functions(connection) -> dict[str, str]:
    """Each trigger function's body, the rule's SQL inside."""
    line = rule.sql(connection, line="NEW", day=PLEDGE_DAY)
    lines = rule.sql(connection, line="aid_line", day="NEW.announced_on")
    return {
        "aid_line_value_eur": f"\nBEGIN\n    NEW.value_eur := {line};\n    RETURN NEW;\nEND\n",
        "aid_pledge_value_eur": (
            f"\nBEGIN\n    UPDATE aid_line SET value_eur = {lines}\n"
            "    WHERE aid_line.pledge_id = NEW.id;\n    RETURN NULL;\nEND\n"
        ),
    }


# SQLite: trigger → (when it fires, which statement it runs). SQLite's triggers cannot change the
# row being written: they update it after.
SQLITE_TRIGGERS = {
    "aid_line_value_eur_insert": ("AFTER INSERT ON aid_line", "line"),
    "aid_line_value_eur_update": ("AFTER UPDATE OF value, currency, pledge_id ON aid_line", "line"),
    "aid_pledge_value_eur_insert": ("AFTER INSERT ON aid_pledge", "lines"),
    "aid_pledge_value_eur_update": (
        "AFTER UPDATE OF announced_on ON aid_pledge WHEN OLD.announced_on IS NOT NEW.announced_on",
        "lines",
    ),
}


def sqlite_triggers(connection) -> dict[str, str]:
    """Each trigger's CREATE statement, as SQLite keeps it in `sqlite_master`."""
    line = rule.sql(connection, line="NEW", day=PLEDGE_DAY)
    lines = rule.sql(connection, line="aid_line", day="NEW.announced_on")
    bodies = {
        "line": f"UPDATE aid_line SET value_eur = {line} WHERE id = NEW.id;",
        "lines": f"UPDATE aid_line SET value_eur = {lines} WHERE pledge_id = NEW.id;",
    }
    return {
        name: f"CREATE TRIGGER {name} {event} BEGIN {bodies[body]} END"
        for name, (event, body) in SQLITE_TRIGGERS.items()
    }


def expected(connection) -> dict[str, str]:
    """Each trigger as the database would show it once installed from the rule: SQLite's CREATE
    statement; PostgreSQL's table, function and the function's body."""
    if connection.vendor == "sqlite":
        return sqlite_triggers(connection)
    bodies = postgresql_functions(connection)
    return {
        name: f"ON {table} EXECUTE {function}: {bodies[function]}"
        for name, (table, function, _) in POSTGRESQL_TRIGGERS.items()
    }


def present(connection) -> dict[str, str]:
    """The enabled triggers the database holds, shown as `expected` shows them."""
    names = tuple(trigger_names(connection))
    marks = ", ".join(["%s"] * len(names))
    query = {
        "sqlite": (
            f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name IN ({marks})"
        ),
        "postgresql": (
            "SELECT t.tgname, 'ON ' || c.relname || ' EXECUTE ' || f.proname || ': ' || f.prosrc "
            "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_proc f ON f.oid = t.tgfoid "
            f"WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' AND t.tgname IN ({marks}) "
            "AND pg_table_is_visible(c.oid)"
        ),
    }[connection.vendor]
    with connection.cursor() as cursor:
        cursor.execute(query, names)
        return dict(cursor.fetchall())


def trigger_names(connection) -> list[str]:
    return list(SQLITE_TRIGGERS if connection.vendor == "sqlite" else POSTGRESQL_TRIGGERS)


def statements(connection) -> list[str]:
    """What installs the triggers, replacing any earlier version."""
    if connection.vendor == "sqlite":
        return [
            statement
            for name, create in sqlite_triggers(connection).items()
            for statement in (f"DROP TRIGGER IF EXISTS {name}", create)
        ]
    functions = [
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $${body}$$"
        for name, body in postgresql_functions(connection).items()
    ]
    return functions + [
        statement
        for name, (table, function, event) in POSTGRESQL_TRIGGERS.items()
        for statement in (
            f"DROP TRIGGER IF EXISTS {name} ON {table}",
            f"CREATE TRIGGER {name} {event} EXECUTE FUNCTION {function}()",
        )
    ]


def install(using) -> None:
    """Create or replace the triggers on this connection's database."""
    with using.cursor() as cursor:
        for statement in statements(using):
            cursor.execute(statement)


def after_migrate(sender, using="default", **kwargs) -> None:
    """post_migrate receiver: the triggers exist once the line table does."""
    from django.db import connections

    connection = connections[using]
    if "aid_line" in connection.introspection.table_names():
        install(connection)
