"""`manage.py check` fails, naming the trigger and the fix, when a `value_eur` trigger is missing,
disabled or not the SQL the conversion rule generates; it is clean on a migrated database, says
nothing where there is nothing to maintain yet, and never stops `migrate`, which is the fix.

Each test changes the triggers inside a transaction that is rolled back (DDL is transactional on
both SQLite and PostgreSQL) and shows the check clean again after it."""

import pytest
from django.core.checks import Error
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection, transaction
from django.db.backends.sqlite3.base import DatabaseWrapper

from aid.rates import triggers
from aid.rates.checks import migrated, value_eur_triggers

NAMES = triggers.trigger_names(connection)
TABLES = {name: "aid_line" if name.startswith("aid_line") else "aid_pledge" for name in NAMES}


def check() -> list[Error]:
    return value_eur_triggers(databases=["default"])


def run(*statements: str) -> None:
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def drop(name: str) -> str:
    if connection.vendor == "sqlite":
        return f"DROP TRIGGER {name}"
    return f"DROP TRIGGER {name} ON {TABLES[name]}"


def test_the_check_is_clean_on_a_migrated_database(db):
    assert check() == []
    call_command("check")  # raises SystemCheckError on any error


@pytest.mark.parametrize("name", NAMES)
def test_a_missing_trigger_fails_manage_py_check_naming_it_and_the_fix(db, name):
    with transaction.atomic():
        run(drop(name))
        [error] = check()
        assert error.id == "aid.E001"
        assert name in error.msg and "missing" in error.msg
        assert "manage.py migrate" in error.hint
        with pytest.raises(SystemCheckError, match=name):
            call_command("check")
        transaction.set_rollback(True)
    assert check() == []


def test_a_trigger_that_is_not_the_rules_sql_is_reported(db):
    """As after a change to the rule, before `migrate` reinstalls the triggers."""
    stale = {"sqlite": "SET value_eur = value", "postgresql": "NEW.value_eur := NEW.value"}
    stale = stale[connection.vendor]
    with transaction.atomic():
        if connection.vendor == "sqlite":
            run(
                drop("aid_line_value_eur_insert"),
                "CREATE TRIGGER aid_line_value_eur_insert AFTER INSERT ON aid_line "
                f"BEGIN UPDATE aid_line {stale} WHERE id = NEW.id; END",
            )
        else:
            run(
                "CREATE OR REPLACE FUNCTION aid_line_value_eur() RETURNS trigger "
                f"LANGUAGE plpgsql AS $$ BEGIN {stale}; RETURN NEW; END $$"
            )
        errors = check()
        assert [error.id for error in errors] == ["aid.E002"]
        assert "aid_line_value_eur" in errors[0].msg and "aid/rates/rule.py" in errors[0].msg
        triggers.install(connection)  # what `migrate` does after migrating
        assert check() == []
        transaction.set_rollback(True)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite cannot disable a trigger")
def test_a_disabled_trigger_is_reported(db):
    with transaction.atomic():
        run("ALTER TABLE aid_line DISABLE TRIGGER aid_line_value_eur")
        assert [error.id for error in check()] == ["aid.E001"]
        transaction.set_rollback(True)
    assert check() == []


def test_migrate_is_not_stopped_by_missing_triggers(db, monkeypatch):
    monkeypatch.setattr("sys.argv", ["manage.py", "migrate"])
    with transaction.atomic():
        run(drop(NAMES[0]))
        assert check() == []
        transaction.set_rollback(True)


def sqlite_at(path) -> DatabaseWrapper:
    return DatabaseWrapper(
        {**connection.settings_dict, "ENGINE": "sqlite3", "NAME": str(path), "OPTIONS": {}}
    )


def test_a_database_not_created_or_not_migrated_has_nothing_to_check(tmp_path, django_db_blocker):
    absent = tmp_path / "absent.sqlite3"
    with django_db_blocker.unblock():
        assert not migrated(sqlite_at(absent))
        assert not absent.exists()  # looking did not create it
        empty = sqlite_at(tmp_path / "empty.sqlite3")
        empty.connect()
        assert not migrated(empty)
        empty.close()
