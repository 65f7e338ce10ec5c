"""`manage.py backup_ledger FILE`: a consistent copy of the whole ledger database
(docs/operations.md)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from aid.models import Line, Pledge
from ledger.backup import BackupError, backup, vendor


class Command(BaseCommand):
    help = (
        "Back up the whole ledger database to FILE: a SQLite database file on SQLite, a pg_dump "
        "custom-format archive on PostgreSQL. Safe while the ledger is in use."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, metavar="FILE")

    def handle(self, *args, file: Path, **options):
        if file.exists() and file.is_dir():
            raise CommandError(f"{file} is a directory; name the backup file.")
        try:
            backup(file)
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"Backed up the {vendor()} ledger ({Pledge.objects.count()} pledges, "
            f"{Line.objects.count()} lines) to {file} ({file.stat().st_size:,} bytes)."
        )
