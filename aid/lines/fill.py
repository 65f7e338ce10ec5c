"""A pledge's rows, taken together: each pledge column given once is given for all its rows.

People write a pledge's columns on its first row and leave them empty below, or cite one source on
each row. So within one pledge (its rows share a `pledge_ref`) a pledge column left empty on a row
takes the value its other rows give; two rows that give different values conflict, and the error
names both. `source_urls` combine: the pledge cites every URL any of its rows gives, in the order
first given. A column empty on every row means what an empty cell means on a one-row pledge.
"""

import hashlib

from aid.lines.columns import PLEDGE_COLUMNS
from aid.lines.parse import ORDER, PledgeColumns, Row, RowChecker
from aid.lines.read import Problem
from aid.lines.values import Invalid, date_in_precision, source_urls

POSITION = {column: position for position, column in enumerate(PLEDGE_COLUMNS)}
URLS, PRECISION = POSITION["source_urls"], POSITION["date_precision"]
# How two cells of a column are compared: codes and choices in any case, as the checks read them.
SAME = {
    "donor": str.upper,
    "recipient": str.upper,
    "date_precision": str.lower,
    "status": str.lower,
}


def derived_ref(pledge: PledgeColumns) -> str:
    """A row without `pledge_ref` belongs to the pledge its pledge columns describe; the key is
    derived from them, so that importing the same file again finds the same pledge."""
    key = "\x1f".join(str(value) for value in pledge.column_values())
    digest = hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:10]
    return f"{pledge.donor.code}-{pledge.announced_on:%Y}-{digest}"


def group_rows(rows: list[Row], checker: RowChecker, errors: list[Problem]) -> dict[str, list[Row]]:
    """Rows by pledge, each given the pledge its rows give together; a pledge's line numbers
    differ. Errors are sorted by row and column, as a reader goes through the file."""
    groups: dict[str | tuple[str, ...], list[Row]] = {}  # by ref, or by cells that are wrong
    for row in rows:
        key = row.ref
        if not key:  # the pledge its own cells describe: nothing to fill from other rows
            pledge = checker.pledge(row.cells)
            key = row.cells if pledge.problems else derived_ref(pledge)
        groups.setdefault(key, []).append(row)
    pledges = {}
    for key, members in groups.items():
        ref = key if isinstance(key, str) else ""
        first = members[0].cells
        if all(row.cells is first for row in members):  # spelt alike: the usual file
            cells = first
        else:
            cells = filled(ref, members, errors)
        pledge = checker.pledge(cells)
        for row in members:
            row.pledge = pledge
        for column, message, text in pledge.problems:
            for row in rows_giving(members, column):
                cell = row.cells[POSITION[column]] or text
                errors.append(Problem(row.number, column, message, cell))
        check_line_numbers(ref, members, errors)
        if ref:
            pledges[ref] = members
    errors.sort(key=lambda problem: (problem.row or 0, ORDER.get(problem.column, -1)))
    return pledges


def filled(ref: str, members: list[Row], errors: list[Problem]) -> tuple[str, ...]:
    """The pledge's cells: in each column the one its rows give, conflicts reported, URLs united."""
    cells = [""] * len(PLEDGE_COLUMNS)
    given: dict[int, Row] = {}  # the first row giving each column
    for row in members:
        for position, cell in enumerate(row.cells):
            if cell and position not in given:
                given[position] = row
                cells[position] = cell
    cells[URLS] = united_urls(members, errors)
    for position, first in given.items():
        if position == URLS:
            continue
        column = PLEDGE_COLUMNS[position]
        same = comparison(column, cells[PRECISION])
        for row in members:
            cell = row.cells[position]
            if cell and row is not first and same(cell) != same(first.cells[position]):
                message = (
                    f"conflicts with row {first.number} of pledge {ref}, which has "
                    f"{first.cells[position]!r}: leave the cell empty or give the same value"
                )
                errors.append(Problem(row.number, column, message, cell))
    return tuple(cells)


def comparison(column: str, precision: str):
    """What two cells of `column` are compared by: the dates they name, in the pledge's
    precision (2022-11 and 2022-11-01 with month are one date), else the text, in any case for
    codes and choices."""
    if column != "announced_on":
        return SAME.get(column, str)

    def date(cell: str):
        try:
            return date_in_precision(cell, precision.lower())
        except Invalid:
            return cell

    return date


def united_urls(members: list[Row], errors: list[Problem]) -> str:
    """Every URL the pledge's rows give, once, in the order first given; a row's bad URL is
    reported on that row and left out, so the others still check."""
    urls: dict[str, None] = {}
    checked: dict[str, tuple[str, ...] | str] = {}  # a cell's URLs, or what is wrong with it
    for row in members:
        cell = row.cells[URLS]
        if cell not in checked:
            try:
                checked[cell] = source_urls(cell)
            except Invalid as error:
                checked[cell] = error.message
        if isinstance(checked[cell], str):
            errors.append(Problem(row.number, "source_urls", checked[cell], cell))
        else:
            urls.update(dict.fromkeys(checked[cell]))
    return " ".join(urls)


def rows_giving(members: list[Row], column: str) -> list[Row]:
    """The rows a problem with the pledge's `column` is reported on: those that give a cell in
    it, or all the pledge's rows when none does (a required cell, a default that cannot be)."""
    position = POSITION[column]
    giving = [row for row in members if row.cells[position]]
    return giving or members


def check_line_numbers(ref: str, members: list[Row], errors: list[Problem]) -> None:
    numbered: dict[int, Row] = {}
    for row in members:
        if row.line_no in numbered:
            errors.append(
                Problem(
                    row.number,
                    "line_no",
                    f"line {row.line_no} of pledge {ref} is already on row "
                    f"{numbered[row.line_no].number}",
                )
            )
        elif row.line_no:
            numbered[row.line_no] = row
