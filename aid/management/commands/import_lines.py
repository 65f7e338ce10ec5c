"""`manage.py import_lines FILE [--dry-run] [--reason TEXT] --user NAME`: all or nothing."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from aid.lines.importer import ImportRefused, lines_import
from aid.management.users import add_import_options, importing_user


class Command(BaseCommand):
    help = (
        "Import a canonical lines CSV (docs/data-dictionary.md). Every row is checked first and "
        "every problem is listed by row and column; with any problem nothing is written."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV file (UTF-8; comma or semicolon separated).")
        add_import_options(parser)
        parser.add_argument(
            "--reason",
            default="",
            help="Why the pledges the file withdraws (status withdrawn) are withdrawn: recorded in "
            "their history, and required, with a reviewer's --user, when the file withdraws any.",
        )

    def handle(self, *args, file, dry_run=False, user, verify=False, reason="", **options):
        actor = importing_user(user, verify)
        path = Path(file)
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from None
        try:
            report = lines_import(
                actor=actor,
                data=data,
                filename=path.name,
                dry_run=dry_run,
                verify=verify,
                withdraw_reason=reason,
            )
        except ImportRefused as error:
            raise CommandError(str(error)) from None
        for warning in report.warnings:
            self.stderr.write(f"warning: {warning}")
        for problem in report.errors:
            self.stderr.write(str(problem))
        if report.errors:
            raise CommandError(report.summary())
        self.stdout.write(report.summary())
