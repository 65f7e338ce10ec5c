"""Checking a lines CSV's records, cell by cell, into rows an import can plan with.

Every problem is collected with its row and column rather than raised, so that one pass over a
file reports all that is wrong with it.

A record's cells fall in four parts, each checked on its own: the pledge's columns, the item, the
quantity and the value. Files repeat each part a lot (a pledge's columns on each of its rows, the
same items and amounts across pledges), so each part is checked once for each way it is spelt and
the result reused: checking a row is then mostly looking its parts up.
"""

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from operator import itemgetter
from typing import NamedTuple

from django.core.exceptions import ValidationError
from django.utils import timezone

from aid.codes import NOT_MONEY, currencies, not_money
from aid.lines.columns import COLUMNS, PLEDGE_COLUMNS
from aid.lines.read import Problem
from aid.lines.values import (
    BASES,
    QUALIFIERS,
    STATUSES,
    UNITS,
    Invalid,
    check_length,
    date_in_precision,
    parse_quantity,
    parse_value,
    source_urls,
    whole_number,
)
from aid.models import Category, ItemType, Line, Party, Pledge
from aid.models.pledges import validate_ref
from aid.rules import (
    Refused,
    item_type_named,
    line_category_id,
    line_unit,
    quantity_qualifier,
    recipient_code,
    value_basis,
    value_currency,
)
from ledger.api.csv import plain_text

# The line's parts: their columns in the order they are checked (later checks read what earlier
# ones set), and the model fields they give, which make the line's values in this order.
ITEM = (
    ["item", "item_type", "category", "unit"],
    ["description", "item_type_id", "category_id", "unit"],
)
QUANTITY = (["quantity", "quantity_qualifier"], ["quantity", "quantity_qualifier"])
VALUE = (["value", "currency", "value_basis"], ["value", "currency", "value_basis"])
LINE_FIELDS = [*ITEM[1], *QUANTITY[1], *VALUE[1]]
ORDER = {column: position for position, column in enumerate(COLUMNS)}  # of a row's problems
PLEDGE_POSITIONS = {column: position for position, column in enumerate(PLEDGE_COLUMNS)}


@dataclass
class Catalogue:
    """The records rows name by natural key, loaded once per import."""

    parties: dict[str, Party]
    categories: dict[str, Category]
    item_type_names: dict[str, ItemType]  # by lower-cased name
    item_type_aliases: dict[str, ItemType]  # by lower-cased alias

    @classmethod
    def load(cls) -> "Catalogue":
        names, aliases = {}, {}
        for item_type in ItemType.objects.select_related("category").prefetch_related("aliases"):
            names[item_type.name.lower()] = item_type
            for alias in item_type.aliases.all():
                aliases.setdefault(alias.alias.lower(), item_type)
        return cls(
            parties={party.code: party for party in Party.objects.all()},
            categories={category.slug: category for category in Category.objects.all()},
            item_type_names=names,
            item_type_aliases=aliases,
        )

    def item_type(self, text: str) -> ItemType | None:
        return item_type_named(text, self.item_type_names, self.item_type_aliases)

    def party(self, code: str) -> Party:
        party = self.parties.get(code.upper())
        if party:
            return party
        by_name = [p.code for p in self.parties.values() if p.name.lower() == code.lower()]
        close = by_name or difflib.get_close_matches(code.upper(), self.parties, n=3, cutoff=0.5)
        hint = f"; did you mean {' or '.join(close)}?" if close else "; use an ISO 3166 code"
        raise Invalid(f"unknown party code{hint}")

    def category(self, slug: str) -> Category:
        category = self.categories.get(slug.lower())
        if category:
            return category
        close = difflib.get_close_matches(slug.lower(), self.categories, n=3, cutoff=0.6)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise Invalid(f"unknown category slug{hint}")


class PledgeColumns:
    """A pledge's columns as its rows give them together, checked once for every pledge whose
    rows give them alike (a pledge's rows repeat them, and so its checks would be repeated)."""

    __slots__ = (
        "announced_on", "cells", "compared", "date_precision", "donor", "notes", "official",
        "official_title", "package", "problems", "recipient", "status", "urls",
    )  # fmt: skip

    def __init__(self, cells: tuple[str, ...]):
        self.cells = cells  # of PLEDGE_COLUMNS, as `cell_text` reads them
        self.problems: list[tuple[str, str, str]] = []  # (column, message, cell)
        self.donor: Party | None = None
        self.official: tuple[str, str] | None = None  # (name, title as the row gives it)
        self.urls: tuple[str, ...] = ()
        self.compared: tuple | None = None

    def cell(self, column: str) -> str:
        return self.cells[PLEDGE_POSITIONS[column]]

    def column_values(self) -> tuple:
        """The value of each of PLEDGE_COLUMNS: what a pledge given without a reference is
        known by."""
        if self.compared is None:
            self.compared = tuple(self.value(column) for column in PLEDGE_COLUMNS)
        return self.compared

    def value(self, column: str):
        if column == "official":
            return self.official[0] if self.official else ""
        if column == "source_urls":
            return self.urls
        value = getattr(self, column, "")
        return value.code if hasattr(value, "code") else value


class Row:
    """One checked record: its pledge's cells, the pledge once its rows are grouped, and the
    line it describes (None when the line's cells are wrong)."""

    __slots__ = ("cells", "line", "line_no", "new_item_type", "number", "pledge", "ref")

    def __init__(self, number, ref, line_no, cells, line, new_item_type):
        self.number, self.ref, self.line_no = number, ref, line_no
        self.cells: tuple[str, ...] = cells  # of PLEDGE_COLUMNS, as this row gives them
        self.pledge: PledgeColumns | None = None
        self.line: tuple | None = line  # values of LINE_FIELDS
        self.new_item_type: str = new_item_type  # named by the row, not yet in the catalogue


def cell_text(cell: str) -> str:
    """A cell as the checks read it: trimmed, without the `'` an export puts before a formula."""
    cell = cell.strip()
    return plain_text(cell) if cell[:1] == "'" else cell


class Checked(NamedTuple):
    """A part of a record, checked: its values, or what is wrong with it."""

    values: tuple
    problems: list[tuple[str, str, str]]  # (column, message, cell)
    new_item_type: str = ""  # named by the row, not yet in the catalogue


class Part:
    """Some of a record's cells, checked together, once for each way a file spells them."""

    def __init__(self, positions: dict[str, int], absent: int, part: tuple, checks: list):
        columns, self.fields = part
        self.columns = columns
        self.cells = itemgetter(*[positions.get(column, absent) for column in columns])
        self.checks = checks
        self.seen: dict[tuple[str, ...], Checked] = {}

    def check(self, cells: list[str]) -> Checked:
        spelt = self.cells(cells)
        checked = self.seen.get(spelt)
        if checked is None:
            values, problems = {}, []
            for column, check, text in zip(
                self.columns, self.checks, map(cell_text, spelt), strict=True
            ):
                try:
                    check(values, text)
                except Invalid as error:
                    problems.append((column, error.message, text))
            line = tuple(values.get(name) for name in self.fields)
            checked = Checked(line, problems, values.get("new_item_type", ""))
            self.seen[spelt] = checked
        return checked


class RowChecker:
    """Turns a record into a Row, noting each problem instead of stopping at the first."""

    def __init__(self, header: list[str], catalogue: Catalogue):
        self.width = len(header)
        positions: dict[str, int] = {}
        for position, name in enumerate(header):
            positions.setdefault(name, position)
        # A record is padded to one cell past the header, where absent columns read "".
        self.fill = [""] * (self.width + 1)
        self.absent = bool(set(COLUMNS) - positions.keys())
        self.ref_at = positions.get("pledge_ref", self.width)
        self.ref_length = Pledge._meta.get_field("ref").max_length
        self.line_no_at = positions.get("line_no", self.width)
        self.pledge_cells = itemgetter(*[positions.get(c, self.width) for c in PLEDGE_COLUMNS])
        self.spellings: dict[tuple[str, ...], tuple[str, ...]] = {}  # one tuple per spelling
        self.pledges: dict[tuple[str, ...], PledgeColumns] = {}
        self.catalogue = catalogue
        self.today = timezone.localdate()
        self.currencies = currencies()
        self.pledge_checks = [
            ("donor", self.check_donor),
            ("recipient", self.check_recipient),
            ("announced_on", self.check_date),
            ("official", self.check_official),
            ("package", self.text("package", Pledge._meta.get_field("package").max_length)),
            ("status", self.check_status),
            ("notes", self.text("notes", None)),
            ("source_urls", self.check_urls),
        ]
        checks = [self.check_item, self.check_item_type, self.check_category, self.check_unit]
        self.item = Part(positions, self.width, ITEM, checks)
        checks = [self.check_quantity, self.check_qualifier]
        self.quantity = Part(positions, self.width, QUANTITY, checks)
        checks = [self.check_value, self.check_currency, self.check_basis]
        self.value = Part(positions, self.width, VALUE, checks)

    def check_all(self, records: Iterable[tuple[int, list[str]]], problems: list[Problem]):
        """The checked rows of `records`, and how many records there were."""
        rows, count = [], 0
        for number, cells in records:
            count += 1
            row = self.check(number, cells, problems)
            if row is not None:
                rows.append(row)
        return rows, count

    def check(self, number: int, cells: list[str], problems: list[Problem]) -> Row | None:
        """The row, its pledge's cells left to check with the pledge's other rows; None for a
        record too wide to read."""
        width = self.width
        if len(cells) != width or self.absent:
            if len(cells) > width and any(cell.strip() for cell in cells[width:]):
                problems.append(
                    Problem(number, "", f"has {len(cells)} cells but the header names {width}")
                )
                return None
            cells = [*cells[:width], *self.fill[min(len(cells), width) :]]
        before = len(problems)
        ref = cell_text(cells[self.ref_at])
        if len(ref) > self.ref_length:
            problems.append(Problem(number, "pledge_ref", "is longer than 64 characters", ref))
            ref = ""  # the row's pledge columns are still checked, on their own
        elif ref:
            try:
                validate_ref(ref)
            except ValidationError as error:
                problems.append(Problem(number, "pledge_ref", error.messages[0], ref))
                ref = ""
        line_no = cell_text(cells[self.line_no_at])
        if line_no:
            given = whole_number(line_no) if line_no.isdecimal() else 0
            if 1 <= given <= 32767:
                line_no = given
            else:
                message = "must be a whole number from 1, or empty"
                problems.append(Problem(number, "line_no", message, line_no))
                line_no = None
        spelt = self.pledge_cells(cells)
        pledge_cells = self.spellings.get(spelt)
        if pledge_cells is None:
            pledge_cells = self.spellings[spelt] = tuple(map(cell_text, spelt))
        item, quantity, value = (
            self.item.check(cells),
            self.quantity.check(cells),
            self.value.check(cells),
        )
        line = item.values + quantity.values + value.values
        if item.problems or quantity.problems or value.problems or len(problems) > before:
            line = None
            wrong = item.problems + quantity.problems + value.problems
            for column, message, text in sorted(wrong, key=lambda p: ORDER[p[0]]):
                problems.append(Problem(number, column, message, text))
        return Row(number, ref, line_no or None, pledge_cells, line, item.new_item_type)

    def pledge(self, cells: tuple[str, ...]) -> PledgeColumns:
        """The pledge these cells give, checked once however many pledges give them alike."""
        pledge = self.pledges.get(cells)
        if pledge is None:
            pledge = self.pledges[cells] = self.check_pledge(cells)
        return pledge

    def check_pledge(self, cells: tuple[str, ...]) -> PledgeColumns:
        pledge = PledgeColumns(cells)
        for column, check in self.pledge_checks:
            try:
                check(pledge, pledge.cell(column))
            except Invalid as error:
                column = error.column or column
                pledge.problems.append((column, error.message, pledge.cell(column)))
        return pledge

    def text(self, name: str, limit: int | None):
        def check(pledge: PledgeColumns, text: str) -> None:
            check_length(text, limit)
            setattr(pledge, name, text)

        return check

    def check_donor(self, pledge: PledgeColumns, text: str) -> None:
        if not text:
            raise Invalid("is required: the donor's party code")
        pledge.donor = self.catalogue.party(text)

    def check_recipient(self, pledge: PledgeColumns, text: str) -> None:
        recipient = self.catalogue.party(recipient_code(text))
        if pledge.donor == recipient:
            raise Invalid("must differ from the donor")
        pledge.recipient = recipient

    def check_date(self, pledge: PledgeColumns, text: str) -> None:
        date, precision = date_in_precision(text, pledge.cell("date_precision").lower())
        if date > self.today:
            raise Invalid("is in the future")
        pledge.announced_on, pledge.date_precision = date, precision

    def check_official(self, pledge: PledgeColumns, text: str) -> None:
        title = pledge.cell("official_title")
        limit = Pledge._meta.get_field("official_title").max_length
        if len(text) > limit or len(title) > limit:
            raise Invalid(f"names and titles of officials fit {limit} characters")
        pledge.official_title = title
        pledge.official = (text, title) if text else None

    def check_status(self, pledge: PledgeColumns, text: str) -> None:
        status = text.lower() or Pledge.Status.ANNOUNCED
        if status not in STATUSES:
            raise Invalid(f"must be one of {', '.join(STATUSES)}")
        pledge.status = status

    def check_urls(self, pledge: PledgeColumns, text: str) -> None:
        pledge.urls = source_urls(text)

    def check_item(self, line: dict, text: str) -> None:
        if not text:
            raise Invalid("is required: the item as the source words it")
        check_length(text, Line._meta.get_field("description").max_length)
        line["description"] = text

    def check_item_type(self, line: dict, text: str) -> None:
        if text:
            if len(text) > ItemType._meta.get_field("name").max_length:
                raise Invalid("is longer than an item type's name may be")
            item_type = self.catalogue.item_type(text)
        else:  # the item's own words, matched through the catalogue's aliases
            item_type = self.catalogue.item_type(line.get("description", ""))
        line["item_type"] = item_type
        line["item_type_id"] = item_type.pk if item_type else None
        line["new_item_type"] = text if text and item_type is None else ""

    def check_category(self, line: dict, text: str) -> None:
        given = self.catalogue.category(text).pk if text else None
        line["category_id"] = line_category_id(given, line.get("item_type"))
        if line["category_id"] is None:
            raise Invalid("is required unless the item type is known: a slug (e.g. artillery)")

    def check_quantity(self, line: dict, text: str) -> None:
        line["quantity"] = parse_quantity(text)

    def check_qualifier(self, line: dict, text: str) -> None:
        qualifier = text.lower()
        if qualifier and qualifier not in QUALIFIERS:
            raise Invalid(f"must be one of {', '.join(QUALIFIERS)}")
        try:
            line["quantity_qualifier"] = quantity_qualifier(line.get("quantity"), qualifier)
        except Refused as refusal:
            raise Invalid(refusal.message) from None

    def check_unit(self, line: dict, text: str) -> None:
        unit = line_unit(text.lower(), line.get("item_type"))
        if unit not in UNITS:
            raise Invalid(f"must be one of {', '.join(UNITS)}")
        line["unit"] = unit

    def check_value(self, line: dict, text: str) -> None:
        line["value"] = parse_value(text)

    def check_currency(self, line: dict, text: str) -> None:
        code = text.upper()
        if code in NOT_MONEY:
            raise Invalid(not_money(code))
        if code and code not in self.currencies:
            raise Invalid("is not an ISO 4217 currency code (e.g. EUR, USD, GBP)")
        try:
            line["currency"] = value_currency(line.get("value"), code)
        except Refused as refusal:
            raise Invalid(refusal.message) from None

    def check_basis(self, line: dict, text: str) -> None:
        basis = text.lower()
        if basis and basis not in BASES:
            raise Invalid(f"must be one of {', '.join(BASES)}")
        try:
            line["value_basis"] = value_basis(line.get("value"), basis)
        except Refused as refusal:
            raise Invalid(refusal.message) from None
