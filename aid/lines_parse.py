"""Reading a lines CSV as spreadsheets really write it, and checking each row's cells.

Every problem is collected with its row and column rather than raised, so that one pass over a
file reports all that is wrong with it. Rows are numbered as a spreadsheet shows them: the header
is row 1, and a record whose quoted cell holds a newline is still one row.
"""

import csv
import datetime
import difflib
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils import timezone

from aid.codes import currencies
from aid.lines_csv import COLUMNS, REQUIRED
from aid.models import Category, DatePrecision, ItemType, Line, Party, Pledge, Unit, first_day
from ledger.api.csv import plain_text
from sources.normalise import normalise_url

DELIMITERS = (",", ";", "\t")
DATE_FORMS = [
    (re.compile(r"(\d{4})-(\d{2})-(\d{2})"), DatePrecision.DAY),
    (re.compile(r"(\d{4})-(\d{2})"), DatePrecision.MONTH),
    (re.compile(r"(\d{4})-Q([1-4])"), DatePrecision.QUARTER),
    (re.compile(r"(\d{4})"), DatePrecision.YEAR),
]
MAX_QUANTITY = 2**31 - 1
# Each row is checked against these; Django's enums would build the lists again on every access.
PRECISIONS = DatePrecision.values
QUALIFIERS = Line.Qualifier.values
UNITS = Unit.values
BASES = Line.ValueBasis.values
STATUSES = Pledge.Status.values
VALUE_DIGITS = Line._meta.get_field("value").max_digits
is_url = URLValidator(schemes=["http", "https"])


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
    """The whole file is refused before its rows are checked: too big, too long, not UTF-8 CSV."""


class Invalid(Exception):
    def __init__(self, message: str, column: str | None = None):
        super().__init__(message)
        self.message, self.column = message, column


def read_table(data: bytes) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the non-empty records, each with its spreadsheet row number."""
    limit = settings.LEDGER_IMPORT_MAX_BYTES
    if len(data) > limit:
        raise ImportRefused(
            f"The file is {len(data):,} bytes; an import takes at most {limit:,} "
            "(LEDGER_IMPORT_MAX_BYTES). Split it into smaller files."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportRefused(
            f"The file is not UTF-8 text (byte {error.start:,} cannot be read). Save it as "
            "“CSV UTF-8” and upload it again."
        ) from None
    if "\x00" in text:
        raise ImportRefused("The file holds NUL bytes: it is not a CSV text file.")
    header_line = text.partition("\n")[0]
    delimiter = max(DELIMITERS, key=lambda d: known_columns(header_line, d))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    max_rows = settings.LEDGER_IMPORT_MAX_ROWS
    try:
        header = [name.strip() for name in next(reader, [])]
        records = []
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue  # blank rows, such as the ones spreadsheets leave at the end
            if len(records) == max_rows:
                raise ImportRefused(
                    f"The file has more than {max_rows:,} rows, the most one import takes "
                    "(LEDGER_IMPORT_MAX_ROWS). Split it into smaller files."
                )
            records.append((number, cells))
    except csv.Error as error:
        raise ImportRefused(
            f"The file cannot be read as CSV near line {reader.line_num}: {error}."
        ) from None
    if not any(header):
        raise ImportRefused("The file is empty: the first row must name the columns.")
    return header, records


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


@dataclass
class Catalogue:
    """The records rows name by natural key, loaded once per import."""

    parties: dict[str, Party]
    categories: dict[str, Category]
    item_types: dict[str, ItemType]  # lower-cased name or alias

    @classmethod
    def load(cls) -> "Catalogue":
        item_types = {}
        for item_type in ItemType.objects.select_related("category").prefetch_related("aliases"):
            for alias in item_type.aliases.all():
                item_types.setdefault(alias.alias.lower(), item_type)
            item_types[item_type.name.lower()] = item_type
        return cls(
            parties={party.code: party for party in Party.objects.all()},
            categories={category.slug: category for category in Category.objects.all()},
            item_types=item_types,
        )

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


@dataclass
class Row:
    """One checked record: the pledge it belongs to and the line it describes."""

    number: int
    ref: str
    line_no: int | None
    pledge: dict = field(default_factory=dict)  # model field → value, equal on a pledge's rows
    official: tuple[str, str] | None = None  # (name, title as the row gives it)
    urls: list[str] = field(default_factory=list)
    line: dict = field(default_factory=dict)
    new_item_type: str = ""  # named by the row, not yet in the catalogue
    raw: dict = field(default_factory=dict)


class RowChecker:
    """Turns a record into a Row, noting each problem instead of stopping at the first."""

    def __init__(self, header: list[str], catalogue: Catalogue):
        self.header = header
        self.catalogue = catalogue
        self.today = timezone.localdate()
        self.currencies = currencies()
        self.column_checks = self.checks()  # in order: later checks read what earlier ones set

    def check(self, number: int, cells: list[str], problems: list[Problem]) -> Row | None:
        if len(cells) > len(self.header) and any(
            cell.strip() for cell in cells[len(self.header) :]
        ):
            problems.append(
                Problem(
                    number, "", f"has {len(cells)} cells but the header names {len(self.header)}"
                )
            )
            return None
        raw = {
            name: plain_text(cell) if cell[:1] == "'" else cell
            for name, cell in zip(self.header, map(str.strip, cells), strict=False)
        }
        row = Row(number=number, ref=raw.get("pledge_ref", ""), line_no=None, raw=raw)
        before = len(problems)
        for column, check in self.column_checks:
            try:
                check(row, raw.get(column, ""))
            except Invalid as error:
                column = error.column or column
                problems.append(Problem(number, column, error.message, raw.get(column, "")))
        return row if len(problems) == before else None

    def checks(self):
        return [
            ("pledge_ref", self.check_ref),
            ("line_no", self.check_line_no),
            ("donor", self.check_donor),
            ("recipient", self.check_recipient),
            ("announced_on", self.check_date),
            ("official", self.check_official),
            ("package", self.text("package", Pledge, "package")),
            ("status", self.choice("status", STATUSES, Pledge.Status.ANNOUNCED, "pledge")),
            ("notes", self.text("notes", Pledge, "notes")),
            ("source_urls", self.check_urls),
            ("item", self.check_item),
            ("item_type", self.check_item_type),
            ("category", self.check_category),
            ("quantity", self.check_quantity),
            ("quantity_qualifier", self.check_qualifier),
            ("unit", self.check_unit),
            ("value", self.check_value),
            ("currency", self.check_currency),
            ("value_basis", self.check_basis),
        ]

    def text(self, column: str, model, name: str):
        limit = model._meta.get_field(name).max_length
        target = "pledge" if model is Pledge else "line"

        def check(row: Row, text: str) -> None:
            if limit and len(text) > limit:
                raise Invalid(f"is {len(text)} characters long; at most {limit} fit")
            getattr(row, target)[name] = text

        return check

    def choice(self, name: str, choices, default: str, target: str):
        def check(row: Row, text: str) -> None:
            value = text.lower() or default
            if value not in choices:
                raise Invalid(f"must be one of {', '.join(choices)}")
            getattr(row, target)[name] = value

        return check

    def check_ref(self, row: Row, text: str) -> None:
        if len(text) > Pledge._meta.get_field("ref").max_length:
            raise Invalid("is longer than 64 characters")

    def check_line_no(self, row: Row, text: str) -> None:
        if not text:
            return
        if not text.isdigit() or not 1 <= int(text) <= 32767:
            raise Invalid("must be a whole number from 1, or empty")
        row.line_no = int(text)

    def check_donor(self, row: Row, text: str) -> None:
        if not text:
            raise Invalid("is required: the donor's party code")
        row.pledge["donor"] = self.catalogue.party(text)

    def check_recipient(self, row: Row, text: str) -> None:
        recipient = self.catalogue.party(text or "UA")
        if row.pledge.get("donor") == recipient:
            raise Invalid("must differ from the donor")
        row.pledge["recipient"] = recipient

    def check_date(self, row: Row, text: str) -> None:
        given = row.raw.get("date_precision", "").lower()
        if given and given not in PRECISIONS:
            raise Invalid(f"must be one of {', '.join(PRECISIONS)}", "date_precision")
        if not text:
            raise Invalid("is required: YYYY-MM-DD, or YYYY-MM, YYYY-Qn or YYYY")
        date, implied = parse_date(text)
        precision = given or implied
        if implied != DatePrecision.DAY and precision != implied:
            raise Invalid(f"names a {implied} but date_precision says {precision}")
        if first_day(date, precision) != date:
            raise Invalid(
                f"with {precision} precision the date must be the first day of the {precision}: "
                f"{first_day(date, precision).isoformat()}"
            )
        if date > self.today:
            raise Invalid("is in the future")
        row.pledge["announced_on"], row.pledge["date_precision"] = date, precision

    def check_official(self, row: Row, text: str) -> None:
        title = row.raw.get("official_title", "")
        limit = Pledge._meta.get_field("official_title").max_length
        if len(text) > limit or len(title) > limit:
            raise Invalid(f"names and titles of officials fit {limit} characters")
        row.pledge["official_title"] = title
        row.official = (text, title) if text else None

    def check_urls(self, row: Row, text: str) -> None:
        urls = []
        for url in text.split():
            normalised = source_url(url)
            if normalised is None:
                raise Invalid(f"“{url}” is not a valid http(s) URL")
            if len(normalised) > 2000:
                raise Invalid("a URL is longer than 2,000 characters")
            if normalised not in urls:
                urls.append(normalised)
        row.urls = urls

    def check_item(self, row: Row, text: str) -> None:
        if not text:
            raise Invalid("is required: the item as the source words it")
        self.text("item", Line, "description")(row, text)

    def check_item_type(self, row: Row, text: str) -> None:
        if text:
            if len(text) > ItemType._meta.get_field("name").max_length:
                raise Invalid("is longer than an item type's name may be")
            item_type = self.catalogue.item_types.get(text.lower())
        else:  # the item's own words, matched through the catalogue's aliases
            item_type = self.catalogue.item_types.get(row.line.get("description", "").lower())
        row.line["item_type"] = item_type
        row.new_item_type = text if text and item_type is None else ""

    def check_category(self, row: Row, text: str) -> None:
        if not text:
            raise Invalid("is required: a category slug (e.g. artillery)")
        row.line["category"] = self.catalogue.category(text)

    def check_quantity(self, row: Row, text: str) -> None:
        row.line["quantity"] = parse_quantity(text)

    def check_qualifier(self, row: Row, text: str) -> None:
        quantity = row.line.get("quantity")
        qualifier = text.lower() or (
            Line.Qualifier.EXACT if quantity is not None else Line.Qualifier.UNSPECIFIED
        )
        if qualifier not in QUALIFIERS:
            raise Invalid(f"must be one of {', '.join(QUALIFIERS)}")
        if quantity is None and qualifier != Line.Qualifier.UNSPECIFIED and "quantity" in row.line:
            raise Invalid(f"says {qualifier} but no quantity is given; give one or leave it empty")
        if quantity is not None and qualifier == Line.Qualifier.UNSPECIFIED:
            raise Invalid("cannot be unspecified when a quantity is given")
        row.line["quantity_qualifier"] = qualifier

    def check_unit(self, row: Row, text: str) -> None:
        item_type = row.line.get("item_type")
        unit = text.lower() or (item_type.default_unit if item_type else Unit.UNITS)
        if unit not in UNITS:
            raise Invalid(f"must be one of {', '.join(UNITS)}")
        row.line["unit"] = unit

    def check_value(self, row: Row, text: str) -> None:
        row.line["value"] = parse_value(text)

    def check_currency(self, row: Row, text: str) -> None:
        code = text.upper()
        value = row.line.get("value")
        if value is not None and not code:
            raise Invalid("is required with a value: an ISO 4217 code such as EUR")
        if code and code not in self.currencies:
            raise Invalid("is not an ISO 4217 currency code (e.g. EUR, USD, GBP)")
        if code and value is None and "value" in row.line:
            raise Invalid("is given but there is no value")
        row.line["currency"] = code

    def check_basis(self, row: Row, text: str) -> None:
        basis = text.lower()
        if basis and basis not in BASES:
            raise Invalid(f"must be one of {', '.join(BASES)}")
        if row.line.get("value") is not None:
            row.line["value_basis"] = basis or Line.ValueBasis.UNKNOWN  # it claims nothing
        elif basis and "value" in row.line:
            raise Invalid("is given but there is no value")
        else:
            row.line["value_basis"] = ""


@lru_cache(maxsize=65536)
def source_url(url: str) -> str | None:
    """The URL normalised as sources store it, or None when it is not an http(s) URL. Cached:
    a pledge's URL is repeated on each of its rows, and popular sources across pledges."""
    candidate = url if "://" in url else f"https://{url}"
    try:
        is_url(candidate)
        return normalise_url(candidate)
    except (ValidationError, ValueError):
        return None


def parse_date(text: str) -> tuple[datetime.date, str]:
    for pattern, precision in DATE_FORMS:
        match = pattern.fullmatch(text)
        if not match:
            continue
        year, *rest = (int(part) for part in match.groups())
        try:
            if precision == DatePrecision.DAY:
                return datetime.date(year, rest[0], rest[1]), precision
            if precision == DatePrecision.MONTH:
                return datetime.date(year, rest[0], 1), precision
            if precision == DatePrecision.QUARTER:
                return datetime.date(year, (rest[0] - 1) * 3 + 1, 1), precision
            return datetime.date(year, 1, 1), precision
        except ValueError:
            raise Invalid("is not a real date") from None
    raise Invalid("is not a date: use YYYY-MM-DD, or YYYY-MM, YYYY-Qn or YYYY")


def parse_quantity(text: str) -> int | None:
    if not text:
        return None
    whole = re.fullmatch(r"\+?(\d+)(?:\.0+)?", text)
    if whole:
        quantity = int(whole.group(1))
        if quantity < 1:
            raise Invalid(
                "must be a positive whole number; leave it empty when the source gives none"
            )
        if quantity > MAX_QUANTITY:
            raise Invalid(f"is too large (at most {MAX_QUANTITY:,})")
        return quantity
    if re.fullmatch(r"-\s*\d+(?:[.,]\d+)?", text):
        raise Invalid("cannot be negative: a quantity is a positive whole number")
    if re.fullmatch(r"\d*[.,]\d+", text):
        raise Invalid("must be a whole number, not a fraction")
    raise Invalid("is not a number: write digits only, without separators")


def parse_value(text: str) -> Decimal | None:
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise Invalid(
            "is not a number: use a dot for decimals and no thousands separators"
        ) from None
    if not value.is_finite():
        raise Invalid("is not a number")
    if value < 0:
        raise Invalid("cannot be negative")
    if value.as_tuple().exponent < -2 and value != value.quantize(Decimal("0.01")):
        raise Invalid("has more than 2 decimal places")
    value = value.quantize(Decimal("0.01"))
    if len(value.as_tuple().digits) > VALUE_DIGITS:
        raise Invalid(f"is too large (at most {VALUE_DIGITS - 2} digits before the point)")
    return value
