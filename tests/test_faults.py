"""Faults the ledger must survive: an import killed mid-write leaves the database exactly as it
was, and a database that cannot be reached answers 503 "try again", not an error page.

A real PostgreSQL restart under load is `make load` (benchmarks/load/); a backup restored to an
identical canonical export is tests/test_backup.py.
"""

import importlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.apps import apps
from django.db import OperationalError, connection
from django.db.backends.base.base import BaseDatabaseWrapper

from aid.lines.export import export_csv
from aid.lines.importer import lines_import
from aid.models import ItemType, Line, Official, Pledge
from benchmarks.lines import write
from ledger import backup
from ledger.unavailable import MESSAGE
from sources.models import Source
from tests.conftest import row_counts

SEED = importlib.import_module("aid.migrations.0002_seed_parties_and_categories")
ROOT = Path(__file__).resolve().parent.parent
# Big enough that writing takes a second or more, so the kill lands in the middle of it.
ROWS = 10_000
ROWS_BEFORE = 600  # the same generator's first pledges, which the big file then changes


def ledger_state() -> tuple[str, dict[str, int]]:
    """The canonical lines CSV of every status, and the rows of every table an import writes."""
    return "".join(export_csv(Line.objects.all())), {
        **row_counts(),
        "sources": Source.objects.count(),
        "officials": Official.objects.count(),
        "item types": ItemType.objects.count(),
    }


class Subprocess:
    """The suite's database as another process sees it: on PostgreSQL the test database itself
    (the transactional tests commit); on SQLite, in memory in the suite, a file copy of it that
    is put back into the suite's database when the process is done."""

    def __init__(self, tmp_path: Path):
        self.path = tmp_path / "ledger.sqlite3"

    def __enter__(self) -> "Subprocess":
        if connection.vendor == "sqlite":
            backup.backup(self.path)
            self.url = f"sqlite:///{self.path}"
        else:
            database = connection.settings_dict
            credentials = database["USER"] + (
                f":{database['PASSWORD']}" if database["PASSWORD"] else ""
            )
            self.url = (
                f"postgres://{credentials}@{database['HOST']}:{database['PORT']}/{database['NAME']}"
            )
        return self

    def __exit__(self, *exc) -> None:
        if connection.vendor == "sqlite":
            backup.restore(self.path)
        else:
            self.wait_for_backends_to_end()

    def writing(self) -> bool:
        """Whether another process is inside a transaction that has written to the database."""
        if connection.vendor == "sqlite":
            if not Path(f"{self.path}-wal").exists():
                return False
            probe = sqlite3.connect(self.path, timeout=0, isolation_level=None)
            try:
                probe.execute("BEGIN IMMEDIATE")  # refused while a writer holds the write lock
                probe.execute("ROLLBACK")
                return False
            except sqlite3.OperationalError:
                # Locked, and its uncommitted pages have begun to spill into the write-ahead log.
                return Path(f"{self.path}-wal").stat().st_size > 0
            finally:
                probe.close()
        with connection.cursor() as cursor:
            # A transaction gets an id at its first write.
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL"
            )
            return cursor.fetchone()[0] > 0

    def wait_for_backends_to_end(self) -> None:
        """PostgreSQL rolls back a killed client's transaction when its backend notices the
        closed socket; wait for that, so nothing holds locks into the next test."""
        for _ in range(100):
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND pid <> pg_backend_pid()"
                )
                if not cursor.fetchone()[0]:
                    return
            time.sleep(0.1)


@pytest.fixture
def seeded(transactional_db):
    """The transactional tests' flush removed the seeded parties and taxonomy: seed them again
    before any fixture looks a party up."""
    SEED.seed(apps, None)


def test_an_import_killed_mid_write_leaves_the_ledger_as_it_was(
    seeded, make_pledge, admin_user, tmp_path
):
    # The generated files add item types and withdraw pledges: an administrator's, with a reason.
    withdrawing = {"withdraw_reason": "withdrawn in the generated file"}
    make_pledge()
    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    write(small, ROWS_BEFORE)
    write(big, ROWS)
    report = lines_import(
        actor=admin_user, data=small.read_bytes(), filename=small.name, **withdrawing
    )
    assert report.ok, report.errors
    before = ledger_state()

    with Subprocess(tmp_path) as database:
        env = {**os.environ, "DATABASE_URL": database.url}
        env["DJANGO_SETTINGS_MODULE"] = "ledger.settings.base"
        importer = subprocess.Popen(
            [sys.executable, "manage.py", "import_lines", str(big), "--user", admin_user.username,
             "--reason", withdrawing["withdraw_reason"]],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while not database.writing():
                assert importer.poll() is None, importer.communicate()
                assert time.monotonic() < deadline, "the import never started writing"
                time.sleep(0.02)
            importer.send_signal(signal.SIGKILL)
            out, err = importer.communicate(timeout=30)
        finally:
            importer.kill()
        assert importer.returncode == -signal.SIGKILL, (out, err)
        assert b"created" not in out  # killed before its summary: it never committed

    assert ledger_state() == before
    assert Pledge.objects.count() == 1 + report.pledges_created

    # The ledger still takes the whole file.
    after = lines_import(actor=admin_user, data=big.read_bytes(), filename=big.name, **withdrawing)
    assert after.ok, after.errors
    assert Line.objects.count() == ROWS + 1


def database_down(self):
    raise OperationalError("connection to server at 127.0.0.1, port 5432 failed: refused")


@pytest.mark.parametrize("path", ["/api/v1/pledges/", "/api/v1/totals/?group_by=donor"])
def test_an_api_request_without_its_database_is_a_503_to_retry(db, client, monkeypatch, path):
    with monkeypatch.context() as patch:
        patch.setattr(BaseDatabaseWrapper, "ensure_connection", database_down)
        response = client.get(path)
    assert response.status_code == 503
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": MESSAGE}
    assert int(response["Retry-After"]) > 0
    # The database is back: the same request works, nothing restarted.
    assert client.get(path).status_code == 200


def test_an_admin_page_without_its_database_is_a_short_503_page(client, monkeypatch, editor):
    client.force_login(editor)
    with monkeypatch.context() as patch:
        patch.setattr(BaseDatabaseWrapper, "ensure_connection", database_down)
        response = client.get("/admin/aid/pledge/")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert "Database unavailable" in page
    assert "Traceback" not in page and "5432" not in page


def test_other_errors_are_still_500s(db, client, monkeypatch):
    def broken(self, request, *args, **kwargs):
        raise ValueError("a bug")

    monkeypatch.setattr("aid.api.views.PledgeViewSet.list", broken)
    client.raise_request_exception = False
    response = client.get("/api/v1/pledges/")
    assert response.status_code == 500
    assert response.json() == {"detail": "Server error."}
