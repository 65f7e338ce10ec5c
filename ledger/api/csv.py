"""CSV output for every list and for totals: the same rows as the JSON, streamed row by row
(the lines export, which can be long, writes a chunk of rows a column at a time: `text_cells`).

Text cells that a spreadsheet would run as a formula (starting with = + - @, a tab or a carriage
return) get a leading apostrophe, and so does text that starts with one, so that `plain_text` can
take exactly one away again on import. Numbers, dates and empty cells are written as they are;
lists are space-separated, and nested records (a pledge's lines) are JSON text.
"""

import csv
import datetime
import itertools
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal

from django.http import StreamingHttpResponse
from rest_framework.renderers import BaseRenderer
from rest_framework.utils.encoders import JSONEncoder

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ESCAPED_STARTS = (*FORMULA_STARTS, "'")
ESCAPED_FIRST = frozenset(ESCAPED_STARTS)
# What makes csv.writer (QUOTE_MINIMAL, "\r\n" line ends) quote a cell: its delimiter, its
# quote character or a character of its line terminator.
QUOTED = re.compile('[,"\r\n]')


class CSVRenderer(BaseRenderer):
    """Selected by `?format=csv` or `Accept: text/csv`; views stream their rows themselves."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        rows = data if isinstance(data, list) else [data]
        return "".join(csv_lines(rows)).encode("utf-8")


class Echo:
    """A file-like object whose write returns the line, for csv.writer inside a generator."""

    def write(self, value):
        return value


def cell(value) -> str | int | float | Decimal:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, datetime.date | datetime.datetime):
        return value.isoformat()
    if isinstance(value, dict) or (
        isinstance(value, list | tuple) and any(isinstance(item, dict) for item in value)
    ):
        # Nested records (a pledge's lines and sources) as JSON text, which R and pandas parse.
        return json.dumps(value, cls=JSONEncoder, ensure_ascii=False)
    if isinstance(value, list | tuple):
        value = " ".join(str(item) for item in value)
    text = str(value)
    return "'" + text if text.startswith(ESCAPED_STARTS) else text


def text_cells(texts: Sequence[str | None]) -> list[str]:
    """A column of text cells written as `csv_lines` writes each: neutralised as `cell` does,
    None empty, quoted (quotes doubled) as csv.writer quotes; values that repeat (codes, names,
    a pledge's text on each of its lines) are written once. For the lines export, which formats a
    chunk of rows a column at a time: csv.writer's loop over every character of every cell costs
    more than all the rest of it."""
    distinct = list(set(texts))
    if len(distinct) * 2 > len(texts):
        return written_texts(texts)
    return list(map(dict(zip(distinct, written_texts(distinct), strict=True)).__getitem__, texts))


def written_texts(texts: Sequence[str | None]) -> list[str]:
    """`text_cells`, cell by cell."""
    cells = ["'" + text if text and text[0] in ESCAPED_FIRST else text or "" for text in texts]
    if QUOTED.search("".join(cells)) is None:  # most columns of most chunks
        return cells
    return [
        '"' + text.replace('"', '""') + '"'
        if "," in text or '"' in text or "\n" in text or "\r" in text
        else text
        for text in cells
    ]


def value_cells(values: Iterable) -> list[str]:
    """A column of numbers or dates written as csv.writer writes them (None empty)."""
    return ["" if value is None else str(value) for value in values]


def csv_text(columns: Sequence[Sequence[str]]) -> list[str]:
    """The CSV lines of rows given as columns of written cells (`text_cells`, `value_cells`)."""
    return [",".join(row) + "\r\n" for row in zip(*columns, strict=True)]


def plain_text(text: str) -> str:
    """A text cell as it was before `cell` neutralised it."""
    return text[1:] if text[:1] == "'" and text[1:2].startswith(ESCAPED_STARTS) else text


def csv_lines(rows: Iterable[dict], header: list[str] | None = None) -> Iterator[str]:
    """The CSV text of `rows`, one line at a time, after a header (by default the first row's
    keys)."""
    # RFC 4180's CRLF: with "\n" alone, csv leaves a cell holding a lone "\r" unquoted, and
    # spreadsheets and R split the row there.
    writer = csv.writer(Echo(), lineterminator="\r\n")
    rows = iter(rows)
    if header is None:
        first = next(rows, None)
        if first is None:
            return
        header, rows = list(first), itertools.chain([first], rows)
    yield writer.writerow(header)
    for row in rows:
        yield writer.writerow([cell(row.get(name)) for name in header])


def stream_csv(rows: Iterable[dict], filename: str, header: list[str] | None = None):
    response = StreamingHttpResponse(
        csv_lines(rows, header), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}.csv"'
    return response
