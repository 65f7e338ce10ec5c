"""Backup and restore of the whole ledger database with the database's own tools.

SQLite is copied with its online backup API (consistent while editors write); PostgreSQL with
`pg_dump --format=custom` and `pg_restore`. A backup holds every table: pledges, lines, sources,
their history, users, API tokens and the stored exchange rates. It is restored into the same
version of the software (the same migrations) that wrote it.
"""

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.db import connections

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


class BackupError(Exception):
    """A backup or restore that cannot be done, with a message for the operator."""


def vendor(alias: str = "default") -> str:
    return connections[alias].vendor


def backup(path: Path, alias: str = "default") -> None:
    """Write a consistent copy of the database to `path` (replaced if it exists)."""
    connection = connections[alias]
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        target = sqlite3.connect(path)
        try:
            connection.connection.backup(target)
            # One self-contained file, not a WAL database that needs its -wal and -shm beside it.
            target.execute("PRAGMA journal_mode=DELETE")
        finally:
            target.close()
    elif connection.vendor == "postgresql":
        run_pg("pg_dump", connection.settings_dict, ["--format=custom", f"--file={path}"])
    else:
        raise BackupError(f"No backup for a {connection.vendor} database.")


def restore(path: Path, alias: str = "default") -> None:
    """Replace the database's contents with the backup at `path`."""
    connection = connections[alias]
    magic = Path(path).read_bytes()[:16]
    if connection.vendor == "sqlite":
        if not magic.startswith(SQLITE_MAGIC):
            raise BackupError(f"{path} is not a SQLite backup; this ledger runs on SQLite.")
        source = sqlite3.connect(path)
        try:
            tables = {row[0] for row in source.execute("SELECT name FROM sqlite_master")}
            if "django_migrations" not in tables:
                raise BackupError(f"{path} is a SQLite file but not a ledger backup.")
            connection.ensure_connection()
            source.backup(connection.connection)
        finally:
            source.close()
    elif connection.vendor == "postgresql":
        if not magic.startswith(PG_DUMP_MAGIC):
            raise BackupError(
                f"{path} is not a pg_dump custom-format backup; this ledger runs on PostgreSQL."
            )
        connections.close_all()  # the restore drops tables: hold no connection into them
        run_pg(
            "pg_restore",
            connection.settings_dict,
            [
                "--clean", "--if-exists", "--no-owner", "--no-privileges",
                "--single-transaction", "--exit-on-error", str(path),
            ],
        )  # fmt: skip
    else:
        raise BackupError(f"No restore for a {connection.vendor} database.")


def run_pg(program: str, database: dict, arguments: list[str]) -> None:
    """Run a PostgreSQL client program against the database of these Django settings."""
    if shutil.which(program) is None:
        raise ImproperlyConfigured(
            f"{program} is not installed (Debian package postgresql-client, the server's version)."
        )
    env = {**os.environ}
    if database.get("PASSWORD"):
        env["PGPASSWORD"] = str(database["PASSWORD"])
    command = [program, "--dbname", database["NAME"]]
    for option, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if database.get(key):
            command.append(f"{option}={database[key]}")
    result = subprocess.run(command + arguments, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{program} failed: {result.stderr.strip()}")
