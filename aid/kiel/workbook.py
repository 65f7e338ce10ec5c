"""Reading the Kiel Institute's Ukraine Support Tracker workbook, cell by cell, as it really is.

The workbook is typed by hand: dates are Excel serial days, dates or text ("until 7/27/2022",
"not specified, 03/22"); quantities are numbers or text ("undisclosed", ".", "15.000.00"); a
dot means "nothing here". Each reader below turns one kind of cell into what the ledger stores,
or into nothing with a remark that says why, and never guesses. `aid.kiel.importer` maps the rows.
"""

import datetime
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

import pycountry

from aid.lines.values import source_url
from aid.models import DatePrecision
from aid.rules import period_label

MAIN_SHEET = "Bilateral assistance, MAIN DATA"
RATES_SHEET = "Exchange rates"
SUMMARY_SHEET = "Country Summary"
# The main sheet's columns the import reads, by their header (trimmed); ITEM has no header.
ID, DONOR, DATE, AID_TYPE, SPECIFIC, EXPLANATION = (
    "ID", "countries", "Announcement Date", "Type of Aid General", "Type of Aid Specific",
    "Explanation",
)  # fmt: skip
CURRENCY, GIVEN_VALUE, ITEM, ITEM_TYPE, SUB_TYPE, UNITS = (
    "Original Currency", "Monetary Value as Given by Source", "item", "Type of item",
    "Sub-type of item", "No. of Units",
)  # fmt: skip
OWN_ESTIMATE, TOTAL, TOTAL_EUR, FIRST_ROW, VALUE_ORIGIN = (
    "Value committed (own estimate, in USD)", "Total", "Converted Value in EUR",
    "Total_value_dummy (1 is first row in the package)", "value_source_commitments",
)  # fmt: skip
SOURCES = [f"Source of Aid {number}" for number in range(1, 5)]
NAMED = [ID, DONOR, DATE, AID_TYPE, SPECIFIC, EXPLANATION, CURRENCY, GIVEN_VALUE, ITEM_TYPE]
NAMED += [SUB_TYPE, UNITS, OWN_ESTIMATE, TOTAL, TOTAL_EUR, FIRST_ROW, VALUE_ORIGIN, *SOURCES]

# Release 7 covers 24 January to 3 October 2022: a date is known to lie in that window at least.
RELEASE_START, RELEASE_END = datetime.date(2022, 1, 24), datetime.date(2022, 10, 3)
EXCEL_EPOCH = datetime.date(1899, 12, 30)
NOTHING = {"", ".", "-", "n/a", "na", "none", "not given", "undisclosed", "unknown", "unclear"}
CENT = Decimal("0.01")

# Donor names pycountry does not resolve, and the EU's institutions, which the ledger holds as EU.
DONORS = {
    "EU (Commission and Council)": "EU",
    "European Peace Facility": "EU",
    "European Investment Bank": "EU",
    "Turkey": "TR",
    "South Korea": "KR",
}


# EU institutions whose commitments the Country Summary shares out among members, and their kind.
SHARED_OUT = [
    ("European Peace Facility", "EPF", "military"),
    ("European Investment Bank", "EIB", "financial"),
]


class WorkbookRefused(Exception):
    """The file is not a Kiel workbook the importer can read: nothing is imported."""


@dataclass
class KielRow:
    """One row of the main sheet: its worksheet row number and its cells by column name."""

    number: int
    cells: dict

    def __getitem__(self, column: str):
        return self.cells.get(column)

    def shown(self, column: str) -> str:
        """The cell as a reader of the workbook sees it, for messages."""
        value = self.cells.get(column)
        if isinstance(value, datetime.datetime):
            return value.date().isoformat()
        return self.text(column)

    def text(self, column: str) -> str:
        """The cell as text, stripped of the spaces (and no-break spaces) typists leave."""
        value = self.cells.get(column)
        return "" if value is None else str(value).replace("\xa0", " ").strip()


@dataclass
class Workbook:
    rows: list[KielRow]
    rates: dict[str, Decimal]
    rates_note: str
    summary: dict[str, dict[str, Decimal]] = field(default_factory=dict)  # donor → type → €


@dataclass(frozen=True)
class KielDate:
    day: datetime.date
    precision: str
    remark: str = ""  # why the date is less precise than the cell looks

    @property
    def text(self) -> str:
        """The date in the canonical CSV's form for its precision."""
        return period_label(self.day, self.precision)


def read_workbook(path: Path | str) -> Workbook:
    """The main sheet's rows, the exchange rates and the country summary, read once."""
    from openpyxl import load_workbook  # imported here: only the Kiel import needs it

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises zipfile, KeyError, InvalidFileException...
        raise WorkbookRefused(f"{path} cannot be read as an .xlsx workbook ({error}).") from None
    try:
        missing = [name for name in (MAIN_SHEET, RATES_SHEET) if name not in book.sheetnames]
        if missing:
            raise WorkbookRefused(f"The workbook has no sheet {' or '.join(map(repr, missing))}.")
        rates, note = read_rates(book[RATES_SHEET].iter_rows(values_only=True))
        summary = (
            read_summary(book[SUMMARY_SHEET].iter_rows(values_only=True))
            if SUMMARY_SHEET in book.sheetnames
            else {}
        )
        return Workbook(
            read_main(book[MAIN_SHEET].iter_rows(values_only=True)), rates, note, summary
        )
    finally:
        book.close()


def read_main(sheet_rows) -> list[KielRow]:
    """Rows by column name; the header is row 1 and rows keep their worksheet numbers."""
    header = [str(cell).strip() if cell is not None else "" for cell in next(sheet_rows, ())]
    columns = {}
    for index, name in enumerate(header):
        columns.setdefault(name, index)  # the first of two same-named columns
    missing = [name for name in NAMED if name not in columns]
    if missing:
        raise WorkbookRefused(f"The sheet {MAIN_SHEET!r} lacks the columns {', '.join(missing)}.")
    # The item name is the column without a header right after the value as given by the source.
    item = columns[GIVEN_VALUE] + 1
    if item >= len(header) or header[item]:
        raise WorkbookRefused(f"No unnamed item column after {GIVEN_VALUE!r}.")
    columns[ITEM] = item
    rows = []
    for number, values in enumerate(sheet_rows, start=2):
        if not any(value not in (None, "") for value in values):
            continue
        cells = {
            name: values[index] if index < len(values) else None for name, index in columns.items()
        }
        rows.append(KielRow(number, cells))
    return rows


def read_rates(sheet_rows) -> tuple[dict[str, Decimal], str]:
    """Units per euro by currency (column B the code, C the rate), and the sheet's source note."""
    rates, note = {}, ""
    for values in sheet_rows:
        code, rate = [*values, None, None, None][1:3]
        code = str(code or "").strip()
        if re.fullmatch(r"[A-Z]{3}", code) and isinstance(rate, int | float) and rate > 0:
            if code != "EUR":
                rates[code] = Decimal(str(rate))
        elif code.startswith("Source"):
            note = code
    if not rates:
        raise WorkbookRefused(f"The sheet {RATES_SHEET!r} holds no rates.")
    return rates, note


def read_summary(sheet_rows) -> dict[str, dict[str, Decimal]]:
    """Kiel's published commitments (€) per donor name: financial, humanitarian, military.

    The donor rows name the EU's Commission and Council only; the European Peace Facility's and
    the European Investment Bank's commitments are shared out among members in two columns whose
    Total row gives them whole, and they are returned under those institutions' names."""
    summary, columns, shares = {}, None, {}
    for values in sheet_rows:
        cells = [" ".join(value.split()) if isinstance(value, str) else value for value in values]
        if columns is None:
            if "Country" in cells and "Military commitments" in cells:
                columns = {
                    kind: cells.index(f"{kind.capitalize()} commitments")
                    for kind in ("financial", "humanitarian", "military")
                }
                name_at = cells.index("Country")
                shares = {
                    institution: (cells.index(f"Share in {short} commitments"), kind)
                    for institution, short, kind in SHARED_OUT
                    if f"Share in {short} commitments" in cells
                }
            continue
        name = cells[name_at] if name_at < len(cells) else None
        if name == "Total":
            for institution, (index, kind) in shares.items():
                if is_number(cells[index]):
                    figures = dict.fromkeys(("financial", "humanitarian", "military"), Decimal(0))
                    summary[institution] = figures | {kind: billions(cells[index])}
            break
        figures = {kind: cells[index] for kind, index in columns.items()}
        if name and all(is_number(value) for value in figures.values()):
            summary[name] = {kind: billions(value) for kind, value in figures.items()}
    return summary


def billions(value) -> Decimal:
    return Decimal(str(value)) * 10**9


def is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def date_of(value) -> KielDate | None:
    """The date a cell gives, or None when it gives none or one after the release's last day
    (a typing slip such as 2922-02-09, or a dragged cell such as "until 4/6/2027")."""
    date = parsed_date(value)
    days = [date.day] if date else []
    if isinstance(value, str):
        days += filter(None, map(us_date, re.findall(r"\d{1,2}/\d{1,2}/\d{2,4}", value)))
    return date if date and max(days) <= RELEASE_END else None


def parsed_date(value) -> KielDate | None:
    """The announcement date a cell gives, with its precision; None when it gives none.

    A period ("between 3/4/22 & 3/11/22", "until 7/27/2022", "since 2/24/2022", "03/22") becomes
    the narrowest month, quarter or year that holds all of it: "until" reaches back to the
    release's first day and "since" forward to its last, so those are known to the year only.
    """
    if isinstance(value, datetime.datetime):
        return KielDate(value.date(), DatePrecision.DAY)
    if isinstance(value, datetime.date):
        return KielDate(value, DatePrecision.DAY)
    if is_number(value):
        return KielDate(EXCEL_EPOCH + datetime.timedelta(days=int(value)), DatePrecision.DAY)
    text = " ".join(str(value or "").split())
    days = [day for day in map(us_date, re.findall(r"\d{1,2}/\d{1,2}/\d{2,4}", text)) if day]
    lowered = text.lower()
    if lowered.startswith("until") and days:
        return period(RELEASE_START, days[0], f"“{text}”: on or before that day")
    if lowered.startswith("since") and days:
        return period(days[0], RELEASE_END, f"“{text}”: on or after that day")
    if lowered.startswith("between") and len(days) == 2:
        return period(min(days), max(days), f"“{text}”")
    if len(days) == 1:
        return KielDate(days[0], DatePrecision.DAY)
    month = re.search(r"(?<![\d/])(\d{1,2})/(\d{2}|\d{4})$", text)  # "not specified, 03/22"
    if month and 1 <= int(month.group(1)) <= 12:
        year = int(month.group(2)) + (2000 if len(month.group(2)) == 2 else 0)
        day = datetime.date(year, int(month.group(1)), 1)
        return KielDate(day, DatePrecision.MONTH, f"“{text}”: known to the month")
    return None


def us_date(text: str) -> datetime.date | None:
    month, day, year = (int(part) for part in text.split("/"))
    try:
        return datetime.date(year + (2000 if year < 100 else 0), month, day)
    except ValueError:
        return None


def period(start: datetime.date, end: datetime.date, remark: str) -> KielDate:
    """The narrowest ledger period (day, month, quarter, year) holding start to end."""
    start = min(start, end)
    if start == end:
        return KielDate(start, DatePrecision.DAY, remark)
    if (start.year, start.month) == (end.year, end.month):
        return KielDate(start.replace(day=1), DatePrecision.MONTH, remark)
    quarter = (start.month - 1) // 3
    if start.year == end.year and quarter == (end.month - 1) // 3:
        return KielDate(
            datetime.date(start.year, quarter * 3 + 1, 1), DatePrecision.QUARTER, remark
        )
    return KielDate(datetime.date(start.year, 1, 1), DatePrecision.YEAR, remark)


def quantity_of(value) -> tuple[int | None, str]:
    """A whole number of units, or None with a remark when the cell gives none or a fraction."""
    if is_number(value):
        if value != int(value):
            return None, f"{value:g} is not a whole number"
        return (int(value), "") if 1 <= value < 2**31 else (None, f"{value:g} is not a count")
    text = str(value or "").replace("\xa0", " ").strip()
    if text.lower() in NOTHING:
        return None, ""
    if re.fullmatch(r"\d+", text):
        return quantity_of(int(text))
    # "15.000.00": dots between thousands, then two decimals that are zero.
    if re.fullmatch(r"\d{1,3}(\.\d{3})+\.0{2}", text):
        return int(text[:-3].replace(".", "")), ""
    if re.fullmatch(r"\d{1,3}(,\d{3})+", text):
        return int(text.replace(",", "")), ""
    return None, f"“{text}” is not a number of units"


def amount_of(value) -> Decimal | None:
    """A sum of money to the cent; None for the dots and words that stand for none."""
    if is_number(value):
        return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)
    text = str(value or "").strip()
    try:
        return Decimal(text).quantize(CENT, ROUND_HALF_UP) if text else None
    except InvalidOperation:
        return None


def donor_code(name: str) -> str | None:
    """The donor's party code: the explicit table first, then ISO 3166 by name."""
    name = " ".join(name.split())
    if name in DONORS:
        return DONORS[name]
    try:
        return pycountry.countries.lookup(name).alpha_2
    except LookupError:
        return None


def urls_of(cells: list) -> tuple[list[str], list[str]]:
    """Normalised, distinct URLs from source cells, and the cells that hold no URL at all."""
    urls, rejected = [], []
    for cell in cells:
        text = str(cell or "").replace("\xa0", " ").strip()
        if text.lower() in NOTHING:
            continue
        found = [
            url
            for candidate in re.findall(r"(?i)(?:https?://|www\.)\S+", text)
            if (url := source_url(candidate.rstrip(",;"))) and len(url) <= 2000
        ]
        if not found:
            rejected.append(text)
        urls += [url for url in dict.fromkeys(found) if url not in urls]
    return urls, rejected
