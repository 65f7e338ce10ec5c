"""Reading a lines CSV as spreadsheets really write it: the header, then its records.

Rows are numbered as a spreadsheet shows them: the header is row 1, and a record whose quoted cell
holds a newline is still one row. The file is read a record at a time, so that an import holds
the rows it checked, never the file's text or all its cells.
"""

import codecs
import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings

from aid.lines.columns import COLUMNS, REQUIRED

DELIMITERS = (",", ";", "\t")
CHUNK = 1 << 20  # bytes decoded at a time to check the encoding


@dataclass
class Problem:
    """What is wrong, where: `row 14, column quantity: must be ... ('-3')`."""

    row: int | None
    column: str
    message: str
    value: str | None = None

    def __str__(self) -> str:
        place = f"row {self.row}" if self.row else "file"
        place += f", column {self.column}" if self.column else ""
        given = f" ({self.value!r})" if self.value else ""
        return f"{place}: {self.message}{given}"


class ImportRefused(Exception):
    """The whole file is refused, not row by row: too big, too long, not UTF-8 CSV."""


def read_table(data: bytes) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """The header, and the non-empty records, each with its spreadsheet row number, as they are
    read: a file too long or not CSV is refused when the reading gets there."""
    limit = settings.LEDGER_IMPORT_MAX_BYTES
    if len(data) > limit:
        raise ImportRefused(
            f"The file is {len(data):,} bytes; an import takes at most {limit:,} "
            "(LEDGER_IMPORT_MAX_BYTES). Split it into smaller files."
        )
    check_utf8(data)
    if b"\x00" in data:
        raise ImportRefused("The file holds NUL bytes: it is not a CSV text file.")
    header_line = data.partition(b"\n")[0].decode("utf-8-sig")
    delimiter = max(DELIMITERS, key=lambda d: known_columns(header_line, d))
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline="")
    reader = csv.reader(text, delimiter=delimiter)
    with refused_when_not_csv(reader):
        header = [name.strip() for name in next(reader, [])]
    if not any(header):
        raise ImportRefused("The file is empty: the first row must name the columns.")
    return header, records(reader)


def check_utf8(data: bytes) -> None:
    """Refuse a file that is not UTF-8, a slice at a time (the file's text is never whole)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    try:
        for start in range(0, len(data), CHUNK):
            decoder.decode(view[start : start + CHUNK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        try:  # once more as a whole, for the position of the first bad byte
            data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ImportRefused(
                f"The file is not UTF-8 text (byte {error.start:,} cannot be read). Save it as "
                "“CSV UTF-8” and upload it again."
            ) from None


@contextmanager
def refused_when_not_csv(reader) -> Iterator[None]:
    """Turns the csv module's error into a refusal that says where the file stops being CSV."""
    try:
        yield
    except csv.Error as error:
        raise ImportRefused(
            f"The file cannot be read as CSV near line {reader.line_num}: {error}."
        ) from None


def records(reader) -> Iterator[tuple[int, list[str]]]:
    max_rows = settings.LEDGER_IMPORT_MAX_ROWS
    count = 0
    with refused_when_not_csv(reader):
        for number, cells in enumerate(reader, start=2):
            if not "".join(cells).strip():
                continue  # blank rows, such as the ones spreadsheets leave at the end
            if count == max_rows:
                raise ImportRefused(
                    f"The file has more than {max_rows:,} rows, the most one import takes "
                    "(LEDGER_IMPORT_MAX_ROWS). Split it into smaller files."
                )
            count += 1
            yield number, cells


def known_columns(line: str, delimiter: str) -> int:
    return len({cell.strip().strip('"') for cell in line.split(delimiter)} & set(COLUMNS))


def check_header(header: list[str]) -> tuple[list[Problem], list[Problem]]:
    """Errors (a required column missing, a column named twice) and warnings (unknown columns)."""
    errors, warnings = [], []
    for name in REQUIRED:
        if name not in header:
            errors.append(Problem(1, name, "this required column is missing from the header"))
    seen = set()
    for name in header:
        if name in seen:
            errors.append(Problem(1, name, "this column is named twice"))
        seen.add(name)
        if name not in COLUMNS:
            warnings.append(Problem(1, name, "unknown column; its cells are ignored"))
    return errors, warnings
