"""`manage.py import_kiel WORKBOOK.xlsx [--dry-run] [--types ...] --user NAME`: Kiel's tracker."""

from django.core.management.base import BaseCommand, CommandError

from aid.kiel.importer import RATE_TABLE, TYPES, kiel_import
from aid.kiel.workbook import WorkbookRefused
from aid.management.users import add_import_options, importing_user


class Command(BaseCommand):
    help = (
        "Import the Kiel Institute's Ukraine Support Tracker workbook (release 7): each package "
        f"a pledge, each row a line, and its exchange rates as the rate table {RATE_TABLE}. "
        "All or nothing; re-running updates (docs/kiel.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("workbook", help="The workbook (.xlsx) as the institute publishes it.")
        parser.add_argument(
            "--types",
            default=",".join(TYPES),
            help=f"Comma-separated kinds of aid to import, of {', '.join(TYPES)} (default: all).",
        )
        add_import_options(parser)

    def handle(self, *args, workbook, dry_run=False, types, user, verify=False, **options):
        actor = importing_user(user, verify)
        chosen = tuple(name.strip().lower() for name in types.split(",") if name.strip())
        unknown = [name for name in chosen if name not in TYPES]
        if unknown or not chosen:
            raise CommandError(f"--types takes any of {', '.join(TYPES)}; not {types!r}.")
        try:
            result = kiel_import(
                actor=actor, path=workbook, types=chosen, dry_run=dry_run, verify=verify
            )
        except WorkbookRefused as error:
            raise CommandError(str(error)) from None
        except OSError as error:
            raise CommandError(f"Cannot read {workbook}: {error.strerror}.") from None
        for problem in result.report.errors:
            self.stderr.write(str(problem))
        if not result.ok:
            raise CommandError(result.summary())
        for warning in result.report.warnings:
            self.stderr.write(f"warning: {warning}")
        for row, remark in result.remarks:
            self.stdout.write(f"row {row}: {remark}")
        for reason, rows in result.skipped_by_reason().items():
            shown = ", ".join(map(str, rows[:20])) + (", …" if len(rows) > 20 else "")
            self.stdout.write(f"skipped {len(rows)} rows: {reason} (rows {shown})")
        self.stdout.write(result.summary())
