"""`manage.py restore_ledger FILE`: replace the ledger database's contents with a backup."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from aid.models import Line, Pledge
from ledger.backup import BackupError, restore, vendor


class Command(BaseCommand):
    help = (
        "Replace everything in the ledger database with the backup FILE written by backup_ledger "
        "(by the same version of the software). Stop the server first."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, metavar="FILE")
        parser.add_argument(
            "--noinput", "--no-input", action="store_false", dest="interactive",
            help="Do not ask for confirmation.",
        )  # fmt: skip

    def handle(self, *args, file: Path, interactive: bool = True, **options):
        if not file.is_file():
            raise CommandError(f"No backup file at {file}.")
        database = connections["default"].settings_dict["NAME"]
        if interactive:
            answer = input(
                f"This replaces every record in the {vendor()} database {database} with the "
                f"backup {file}. Type 'yes' to go on: "
            )
            if answer.strip() != "yes":
                raise CommandError("Restore cancelled.")
        try:
            restore(file)
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"Restored {file} into {database} ({Pledge.objects.count()} pledges, "
            f"{Line.objects.count()} lines)."
        )
