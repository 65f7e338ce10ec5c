"""The system check that the `value_eur` triggers are installed as the conversion rule generates
them: without them every write would leave `Line.value_eur` stale or empty, and totals wrong,
with no error anywhere.

It runs on plain `manage.py check` (on the default database) as well as `check --database NAME`,
and quietly says nothing where there is nothing to maintain yet: a database that cannot be
reached, an SQLite file that does not exist, a database not migrated.
"""

import sys
from pathlib import Path

from django.core.checks import Error
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

from aid.rates import triggers

FIX = (
    "Run `manage.py migrate`: it reinstalls the triggers from aid/rates/rule.py after migrating, "
    "even when there is nothing to migrate."
)


def value_eur_triggers(app_configs=None, databases=None, **kwargs) -> list[Error]:
    """An error for each `value_eur` trigger missing, disabled or different from the rule."""
    if app_configs is not None and "aid" not in {config.label for config in app_configs}:
        return []
    # `migrate` runs the checks before it migrates, then installs the triggers: an error here
    # would stop the command that is the fix. Django reads the command from argv[1] too.
    if sys.argv[1:2] == ["migrate"]:
        return []
    errors = []
    for alias in databases if databases is not None else [DEFAULT_DB_ALIAS]:
        connection = connections[alias]
        if not migrated(connection):
            continue
        present = triggers.present(connection)
        for name, sql in triggers.expected(connection).items():
            if present.get(name) == sql:
                continue
            code, problem = (
                ("aid.E001", "is missing or disabled")
                if name not in present
                else ("aid.E002", "differs from the SQL that the rule in aid/rates/rule.py makes")
            )
            errors.append(
                Error(
                    f"The trigger {name}, which keeps Line.value_eur, {problem} in the "
                    f"database '{alias}'.",
                    hint=FIX,
                    id=code,
                )
            )
    return errors


def migrated(connection) -> bool:
    """Whether the database can be reached and holds the line table, without creating an
    SQLite file by connecting to it."""
    name = connection.settings_dict["NAME"]
    sqlite_file = connection.vendor == "sqlite" and not connection.creation.is_in_memory_db(name)
    if sqlite_file and not Path(name).exists():
        return False
    try:
        return "aid_line" in connection.introspection.table_names()
    except DatabaseError:
        return False
