"""`manage.py export_lines [FILTER=VALUE ...] [-o FILE] [--datapackage]`: the canonical lines CSV,
filtered exactly as the API's `lines/?format=csv` is (the same FilterSet, the same exporter).

A command has no request: whoever runs it runs the server and may see everything, so drafts are
exported when `review=draft` asks for them (`aid.selectors.visible_lines(None)`)."""

import json
import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db.models import QuerySet
from django.http import QueryDict

from aid.filters import LineFilterSet
from aid.lines.datapackage import descriptor
from aid.lines.export import export_csv
from aid.models import Line
from aid.selectors import visible_lines


class Command(BaseCommand):
    help = (
        "Export lines as the canonical lines CSV (UTF-8, CRLF) to FILE or stdout. Filters are the "
        "API's line filters as NAME=VALUE, repeatable: donor=GB donor=US category=tanks "
        "announced_after=2022-02-01. Withdrawn pledges are left out unless status asks for them, "
        "drafts unless review does (review=draft review=verified for both)."
    )

    def add_arguments(self, parser):
        parser.add_argument("filters", nargs="*", metavar="FILTER=VALUE")
        parser.add_argument("-o", "--output", metavar="FILE", help="Write here, not to stdout.")
        parser.add_argument(
            "--datapackage",
            action="store_true",
            help="Also write datapackage.json (Frictionless Data) beside FILE; needs -o.",
        )

    def handle(self, *args, filters=(), output=None, datapackage=False, **options):
        if datapackage and not output:
            raise CommandError("--datapackage needs -o FILE: the descriptor names the file.")
        lines = filtered_lines(filters)
        if output is None:
            write_stdout(self.stdout, export_csv(lines))
            return
        path = Path(output)
        rows = write_file(path, export_csv(lines))
        self.stdout.write(f"Wrote {rows} lines to {path}.")
        if datapackage:
            described = path.parent / "datapackage.json"
            text = json.dumps(descriptor(path.name), indent=2, ensure_ascii=False) + "\n"
            described.write_text(text, encoding="utf-8")
            self.stdout.write(f"Wrote {described}.")


def filtered_lines(filters) -> QuerySet[Line]:
    """The lines that LineFilterSet selects for these NAME=VALUE arguments; every bad one is a
    CommandError naming the parameter, as the API's 400 does."""
    data = QueryDict(mutable=True)
    for argument in filters:
        name, equals, value = argument.partition("=")
        name = name.strip()
        if not equals or not name:
            raise CommandError(f"“{argument}”: give filters as NAME=VALUE, e.g. donor=GB.")
        if name not in LineFilterSet.base_filters:
            known = ", ".join(sorted(LineFilterSet.base_filters))
            raise CommandError(f"Unknown filter “{name}”; the filters are: {known}.")
        data.appendlist(name, value)
    filterset = LineFilterSet(data=data, queryset=visible_lines(None))
    if not filterset.is_valid():
        problems = [f"{name}: {' '.join(messages)}" for name, messages in filterset.errors.items()]
        raise CommandError("Bad filter: " + "; ".join(problems))
    return filterset.qs


def write_stdout(stdout, text_lines) -> None:
    # The terminal's encoding may not be UTF-8, and the text layer may translate line endings:
    # the bytes go to the binary buffer when there is one (not under call_command's StringIO).
    buffer = getattr(stdout, "buffer", None)
    if buffer is None:
        for text in text_lines:
            stdout.write(text, ending="")
        return
    try:
        for text in text_lines:
            buffer.write(text.encode("utf-8"))
        buffer.flush()
    except BrokenPipeError:
        # The reader stopped early (`| head`): nothing is wrong. Point stdout at /dev/null so
        # that Python's own flush at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), buffer.fileno())


def write_file(path: Path, text_lines) -> int:
    """Write as the rows come, into a temporary name replaced at the end, so a failed export
    leaves no half-written file under the real name. Returns the number of rows."""
    partial = path.with_name(f".{path.name}.part")
    rows = -1  # the header is not a row
    try:
        with open(partial, "w", encoding="utf-8", newline="") as handle:
            for text in text_lines:
                handle.write(text)
                rows += 1
        os.replace(partial, path)
    except BaseException as error:
        partial.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise CommandError(f"{path}: cannot be written ({error.strerror or error}).") from error
        raise
    return rows
