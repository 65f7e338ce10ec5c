"""`manage.py import_lines FILE [--dry-run] --user NAME`: a canonical lines CSV, all or nothing."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from aid.lines_import import ImportRefused, lines_import
from aid.management.users import USER_HELP, VERIFY_HELP, check_may_verify, importing_user


class Command(BaseCommand):
    help = (
        "Import a canonical lines CSV (docs/data-dictionary.md). Every row is checked first and "
        "every problem is listed by row and column; with any problem nothing is written."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV file (UTF-8; comma or semicolon separated).")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check and report what would change; write nothing.",
        )
        parser.add_argument("--user", required=True, help=USER_HELP)
        parser.add_argument("--verify", action="store_true", help=VERIFY_HELP)

    def handle(self, *args, file, dry_run=False, user, verify=False, **options):
        actor = importing_user(user)
        if verify:
            check_may_verify(actor)
        path = Path(file)
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from None
        try:
            report = lines_import(
                actor=actor, data=data, filename=path.name, dry_run=dry_run, verify=verify
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
