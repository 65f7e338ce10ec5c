"""A backup restores to a ledger whose canonical lines CSV is identical to the original's: over a
ledger changed since (in place) and into a new, empty database (from another process).

On SQLite the suite's database is copied with SQLite's backup API; under DATABASE_URL=postgres...
the same tests run pg_dump and pg_restore, and the new database is `ledger_backup_<random>`.
"""

import datetime
import importlib
import os
import secrets
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection
from knox.models import AuthToken

from aid.lines.export import export_csv
from aid.models import Category, Line, Pledge
from aid.models.pledges import DatePrecision
from aid.services import pledge_save, pledge_withdraw, pledges_verify
from tests.conftest import row_counts

pytestmark = pytest.mark.django_db(transaction=True)
SEED = importlib.import_module("aid.migrations.0002_seed_parties_and_categories")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def seeded(transactional_db):
    SEED.seed(apps, None)


def canonical_csv() -> str:
    return "".join(export_csv(Line.objects.all()))


def ledger_state() -> tuple[str, dict[str, int]]:
    return canonical_csv(), {**row_counts(), "tokens": AuthToken.objects.count()}


@pytest.fixture
def ledger(make_pledge, editor, admin_user, artillery):
    """A few pledges with values, a published edit and a withdrawal, so history has rows of each
    kind. The admin publishes: a flushed database has no reviewers group."""
    first = make_pledge()
    second = make_pledge(
        announced_on=datetime.date(2023, 1, 1),
        date_precision=DatePrecision.MONTH,
        package="Challenger package",
        lines=[
            Line(description="Challenger 2 tanks", category=Category.objects.get(slug="tanks"),
                 quantity=14, value=Decimal("28000000"), currency="GBP", value_basis="stated"),
            Line(description="AS-90 guns", category=artillery, quantity=30),
        ],
    )  # fmt: skip
    third = make_pledge(announced_on=datetime.date(2024, 2, 1), notes="“quoted” — ünïcode")
    line = second.lines.get(line_no=2)
    line.quantity = 32
    revision = pledge_save(
        actor=editor, pledge=second, lines=[*second.lines.exclude(pk=line.pk), line],
        links=list(second.source_links.all()), reason="the MoD corrected the count",
    )  # fmt: skip
    pledges_verify(actor=admin_user, pledges=[revision])  # the edit is published
    pledge_withdraw(actor=admin_user, pledge=third, reason="duplicate of an earlier pledge")
    AuthToken.objects.create(editor)
    return first, second, third


def test_a_backup_restores_over_a_changed_ledger(ledger, make_pledge, editor, tmp_path, capsys):
    first, second, _ = ledger
    before = ledger_state()
    assert before[0].count("\n") == 5  # the header and four lines

    call_command("backup_ledger", str(tmp_path / "ledger.backup"))
    assert "3 pledges, 4 lines" in capsys.readouterr().out

    # Work after the backup, which the restore is to undo.
    make_pledge(announced_on=datetime.date(2025, 5, 5))
    pledge_withdraw(actor=editor, pledge=first, reason="test")  # a pending revision
    second.lines.get(line_no=1).delete()
    AuthToken.objects.all().delete()
    assert ledger_state() != before

    call_command("restore_ledger", str(tmp_path / "ledger.backup"), interactive=False)
    assert ledger_state() == before

    # The restored ledger takes new work (PostgreSQL's sequences came back too).
    make_pledge(announced_on=datetime.date(2025, 6, 6))
    assert Pledge.objects.count() == 4


def test_a_backup_restores_into_a_new_database(ledger, tmp_path):
    csv_text, _ = ledger_state()
    backup_file = tmp_path / "ledger.backup"
    call_command("backup_ledger", str(backup_file))

    every_status = [f"status={status}" for status in Pledge.Status.values]
    every_status += [f"review={review}" for review in Pledge.Review.values]
    with new_database(tmp_path) as url:
        env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "ledger.settings.base"}
        for command in (
            ["restore_ledger", str(backup_file), "--noinput"],
            ["export_lines", *every_status, "-o", str(tmp_path / "restored.csv")],
        ):
            subprocess.run(
                [sys.executable, "manage.py", *command],
                cwd=ROOT, env=env, check=True, capture_output=True, timeout=300,
            )  # fmt: skip
    restored = (tmp_path / "restored.csv").read_bytes().decode("utf-8")
    assert restored == csv_text


def test_a_restore_refuses_a_file_that_is_not_a_backup_of_this_kind(db, tmp_path):
    wrong = tmp_path / "wrong.backup"
    wrong.write_bytes(b"PGDMP" if connection.vendor == "sqlite" else b"SQLite format 3\x00")
    with pytest.raises(CommandError, match="is not a"):
        call_command("restore_ledger", str(wrong), interactive=False)
    with pytest.raises(CommandError, match="No backup file"):
        call_command("restore_ledger", str(tmp_path / "missing"), interactive=False)


class new_database:
    """An empty database of the suite's kind, as a DATABASE_URL, dropped afterwards."""

    def __init__(self, tmp_path: Path):
        self.tmp_path = tmp_path
        self.name = f"ledger_backup_{secrets.token_hex(4)}"

    def __enter__(self) -> str:
        if connection.vendor == "sqlite":
            return f"sqlite:///{self.tmp_path / (self.name + '.sqlite3')}"
        database = connection.settings_dict
        self.admin(f'CREATE DATABASE "{self.name}"')
        credentials = database["USER"] + (
            f":{database['PASSWORD']}" if database["PASSWORD"] else ""
        )
        return f"postgres://{credentials}@{database['HOST']}:{database['PORT']}/{self.name}"

    def __exit__(self, *exc):
        if connection.vendor == "postgresql":
            self.admin(f'DROP DATABASE IF EXISTS "{self.name}"')

    def admin(self, statement: str) -> None:
        import psycopg

        database = connection.settings_dict
        with psycopg.connect(
            dbname="postgres", host=database["HOST"], port=database["PORT"],
            user=database["USER"], password=database["PASSWORD"] or None, autocommit=True,
        ) as admin:  # fmt: skip
            admin.execute(statement)
