"""`manage.py lines_dictionary [--write]`: the columns table of docs/data-dictionary.md, rendered
from aid.lines.columns, printed or written into the document between its markers."""

from django.core.management.base import BaseCommand, CommandError

from aid.lines.dictionary import columns_markdown, document, with_columns


class Command(BaseCommand):
    help = (
        "Print the lines CSV's columns table as docs/data-dictionary.md shows it, rendered from "
        "aid/lines/columns.py; with --write, rewrite the table in the document."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--write", action="store_true", help="Rewrite the table in docs/data-dictionary.md."
        )

    def handle(self, *args, write=False, **options):
        if not write:
            self.stdout.write(columns_markdown(), ending="")
            return
        path = document()
        try:
            text = with_columns(path.read_text(encoding="utf-8"))
        except ValueError as error:
            raise CommandError(f"{path}: {error}") from error
        path.write_text(text, encoding="utf-8")
        self.stdout.write(f"Wrote the columns table to {path}.")
