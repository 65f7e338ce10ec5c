"""Database triggers that keep `Line.value_eur` in step with every write, whoever writes: the
services, the importer's bulk inserts (COPY on PostgreSQL), a restore or a hand-written
statement. Rates change only through `load_rates --ecb`, which converts every line again
(`aid.rates.convert.convert_lines`).

They are (re)installed after every `migrate` (post_migrate), so that a migration which rebuilds
the table on SQLite, dropping its triggers, cannot leave the column unmaintained.
"""

# Units per euro of `{currency}` on `{day}`: the last ECB rate on or before it (SPEC rule 4).
RATE = (
    "(SELECT r.per_eur FROM aid_rate r WHERE r.table_id = "
    "(SELECT t.id FROM aid_ratetable t WHERE t.name = 'ecb') "
    "AND r.currency = {currency} AND r.date <= {day} ORDER BY r.date DESC LIMIT 1)"
)


def value_eur(line: str, day: str, real: bool) -> str:
    """SQL for the value in EUR of `line` (a row alias) announced on `day`, as
    `aid.rates.convert` does it."""
    cast = "CAST({} AS REAL)" if real else "{}"
    rate = cast.format(RATE.format(currency=f"{line}.currency", day=day))
    return (
        f"CASE WHEN {line}.value IS NULL THEN NULL WHEN {line}.currency = 'EUR' THEN {line}.value "
        f"ELSE {cast.format(f'{line}.value')} / {rate} END"
    )


PLEDGE_DAY = "(SELECT p.announced_on FROM aid_pledge p WHERE p.id = {line}.pledge_id)"

POSTGRESQL = [
    f"""
    CREATE OR REPLACE FUNCTION aid_line_value_eur() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        NEW.value_eur := {value_eur("NEW", PLEDGE_DAY.format(line="NEW"), real=False)};
        RETURN NEW;
    END $$
    """,
    f"""
    CREATE OR REPLACE FUNCTION aid_pledge_value_eur() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE aid_line l SET value_eur = {value_eur("l", "NEW.announced_on", real=False)}
        WHERE l.pledge_id = NEW.id;
        RETURN NULL;
    END $$
    """,
    "DROP TRIGGER IF EXISTS aid_line_value_eur ON aid_line",
    """
    CREATE TRIGGER aid_line_value_eur BEFORE INSERT OR UPDATE OF value, currency, pledge_id
    ON aid_line FOR EACH ROW EXECUTE FUNCTION aid_line_value_eur()
    """,
    # Lines may be inserted before their pledge (foreign keys are checked at commit).
    "DROP TRIGGER IF EXISTS aid_pledge_value_eur_insert ON aid_pledge",
    """
    CREATE TRIGGER aid_pledge_value_eur_insert AFTER INSERT ON aid_pledge
    FOR EACH ROW EXECUTE FUNCTION aid_pledge_value_eur()
    """,
    "DROP TRIGGER IF EXISTS aid_pledge_value_eur_update ON aid_pledge",
    """
    CREATE TRIGGER aid_pledge_value_eur_update AFTER UPDATE OF announced_on ON aid_pledge
    FOR EACH ROW WHEN (OLD.announced_on IS DISTINCT FROM NEW.announced_on)
    EXECUTE FUNCTION aid_pledge_value_eur()
    """,
]

# SQLite's triggers cannot change the row being written: they update it after.
SQLITE_DAY = PLEDGE_DAY.format(line="aid_line")
SQLITE_LINE = f"""
    UPDATE aid_line SET value_eur = {value_eur("aid_line", SQLITE_DAY, True)} WHERE id = NEW.id;
"""
SQLITE_PLEDGE = f"""
    UPDATE aid_line SET value_eur = {value_eur("aid_line", "NEW.announced_on", True)}
    WHERE pledge_id = NEW.id;
"""
SQLITE = [
    f"""
    CREATE TRIGGER IF NOT EXISTS aid_line_value_eur_insert AFTER INSERT ON aid_line
    BEGIN {SQLITE_LINE} END
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS aid_line_value_eur_update
    AFTER UPDATE OF value, currency, pledge_id ON aid_line
    BEGIN {SQLITE_LINE} END
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS aid_pledge_value_eur_insert AFTER INSERT ON aid_pledge
    BEGIN {SQLITE_PLEDGE} END
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS aid_pledge_value_eur_update AFTER UPDATE OF announced_on
    ON aid_pledge WHEN OLD.announced_on IS NOT NEW.announced_on
    BEGIN {SQLITE_PLEDGE} END
    """,
]


def install(using) -> None:
    """Create or replace the triggers on this connection's database."""
    statements = {"postgresql": POSTGRESQL, "sqlite": SQLITE}[using.vendor]
    with using.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def installed(sender, using="default", **kwargs) -> None:
    """post_migrate receiver: the triggers exist once the line table does."""
    from django.db import connections

    connection = connections[using]
    if "aid_line" in connection.introspection.table_names():
        install(connection)
