"""The canonical lines CSV's columns, defined once.

Each column's name, type, meaning and rules live here, and everything that names columns reads
them from here: the export's header and order, the import's header check, the Frictionless Data
package and the table in docs/data-dictionary.md (`manage.py lines_dictionary --write`), so the
file, its description and its documentation cannot drift apart.
"""

from dataclasses import dataclass
from enum import Enum

from aid.models import DatePrecision, Line, Pledge, Unit


class OnInput(Enum):
    """What the import does with a column."""

    REQUIRED = "required"  # the header must name it
    OPTIONAL = "optional"  # may be left out, or its cells left empty
    IGNORED = "ignored"  # the export writes what the ledger holds; the import does not read it


class OnExport(Enum):
    """Whether the export fills a column's cell on every row (the database holds no empty value
    for it), which is all the data package may promise."""

    ALWAYS = "always"
    WHEN_KNOWN = "when known"


@dataclass(frozen=True)
class Column:
    """One column of the file: what it holds, and what the export and the import do with it."""

    name: str
    type: str  # Table Schema type: string, integer, number or date
    meaning: str  # one sentence, the data package's description
    on_input: OnInput
    on_export: OnExport
    read_from: str  # the line's field the export writes; "" when it is computed
    example: str = ""
    kind: str = "text"  # the type in the data dictionary's words, when no `choices` list it
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    pattern: str = ""
    input_note: str = ""  # the import's default or condition, as the data dictionary says it
    pledge: bool = False  # describes the pledge, so is the same on every row of one pledge

    @property
    def description(self) -> str:
        """The meaning, with the input rule when the import does not read the column."""
        if self.on_input is OnInput.IGNORED:
            return self.meaning.removesuffix(".") + " (ignored on import)."
        return self.meaning


AMOUNT = "decimal ≥ 0, 2 places"

TABLE = (
    Column(
        "pledge_ref", "string", "The pledge's stable reference; rows sharing it are one pledge.",
        OnInput.OPTIONAL, OnExport.ALWAYS, "pledge__ref", "pun-gb-2022-11-23",
    ),
    Column(
        "line_no", "integer", "The line's number within its pledge, from 1.",
        OnInput.OPTIONAL, OnExport.ALWAYS, "line_no", "1", kind="whole number ≥ 1",
    ),
    Column(
        "donor", "string", "Donor party code: ISO 3166-1 alpha-2 for states, or EU, NATO, ...",
        OnInput.REQUIRED, OnExport.ALWAYS, "pledge__donor__code", "GB", kind="party code",
        pledge=True,
    ),
    Column(
        "donor_name", "string", "The donor's name.",
        OnInput.IGNORED, OnExport.ALWAYS, "pledge__donor__name", "United Kingdom", pledge=True,
    ),
    Column(
        "recipient", "string", "Recipient party code (UA unless stated).",
        OnInput.OPTIONAL, OnExport.ALWAYS, "pledge__recipient__code", "UA", kind="party code",
        input_note="UA", pledge=True,
    ),
    Column(
        "announced_on", "date",
        "Announcement date; for month, quarter or year precision the first day of the period.",
        OnInput.REQUIRED, OnExport.ALWAYS, "pledge__announced_on", "2022-11-23", kind="date",
        pledge=True,
    ),
    Column(
        "date_precision", "string", "How precisely the source dates the announcement.",
        OnInput.OPTIONAL, OnExport.ALWAYS, "pledge__date_precision", "day",
        choices=tuple(DatePrecision.values), input_note="from the date", pledge=True,
    ),
    Column(
        "official", "string", "Name of the announcing official, when the source names one.",
        OnInput.OPTIONAL, OnExport.WHEN_KNOWN, "pledge__official__name", "Ben Wallace", pledge=True,
    ),
    Column(
        "official_title", "string", "The official's title at the time of the announcement.",
        OnInput.OPTIONAL, OnExport.WHEN_KNOWN, "pledge__official_title", "Defence Secretary",
        pledge=True,
    ),
    Column(
        "package", "string", "Name of the aid package, if it has one.",
        OnInput.OPTIONAL, OnExport.WHEN_KNOWN, "pledge__package", "Sea King package", pledge=True,
    ),
    Column(
        "item", "string", "The item as the source words it.",
        OnInput.REQUIRED, OnExport.ALWAYS, "description", "Sea King helicopters",
    ),
    Column(
        "item_type", "string", "Canonical catalogue item type, when matched.",
        OnInput.OPTIONAL, OnExport.WHEN_KNOWN, "item_type__name", "Westland Sea King",
    ),
    Column(
        "category", "string", "Category slug (level 1 or 2 of the taxonomy).",
        OnInput.REQUIRED, OnExport.ALWAYS, "category__slug", "helicopters", kind="category slug",
    ),
    Column(
        "quantity", "integer", "How many; empty when the source gives no number (not zero).",
        OnInput.OPTIONAL, OnExport.WHEN_KNOWN, "quantity", "3", kind="whole number ≥ 1", minimum=1,
    ),
    Column(
        "quantity_qualifier", "string", "How the quantity is stated; unspecified without one.",
        OnInput.OPTIONAL, OnExport.ALWAYS, "quantity_qualifier", "exact",
        choices=tuple(Line.Qualifier.values),
    ),
    Column(
        "unit", "string", "Unit of the quantity; quantities add up only within one unit.",
        OnInput.OPTIONAL, OnExport.ALWAYS, "unit", "units", choices=tuple(Unit.values),
    ),
    Column(
        "value", "number", "Value as announced, in `currency`; empty when none is given.",
        OnInput.OPTIONAL, OnExport.WHEN_KNOWN, "value", "500000000.00", kind=AMOUNT, minimum=0,
    ),
    Column(
        "currency", "string", "ISO 4217 code of `value`.",
        OnInput.OPTIONAL, OnExport.WHEN_KNOWN, "currency", "USD", kind="ISO 4217 code",
        pattern="[A-Z]{3}",
        input_note="needed with a value",
    ),
    Column(
        "value_basis", "string", "How the value was obtained; empty without a value.",
        OnInput.OPTIONAL, OnExport.WHEN_KNOWN, "value_basis", "stated",
        choices=tuple(Line.ValueBasis.values),
    ),
    Column(
        "value_eur", "number",
        "`value` in euros at the ECB reference rate of the announcement date, rounded to cents.",
        OnInput.IGNORED, OnExport.WHEN_KNOWN, "value_eur", "485201358.56", kind=AMOUNT, minimum=0,
    ),
    Column(
        "status", "string", "The pledge's status.",
        OnInput.OPTIONAL, OnExport.ALWAYS, "pledge__status", "announced",
        choices=tuple(Pledge.Status.values),
        input_note="`announced`", pledge=True,
    ),
    Column(
        "review", "string",
        "Whether a reviewer has verified the pledge; public exports hold verified pledges only.",
        OnInput.IGNORED, OnExport.ALWAYS, "pledge__review", "verified",
        choices=tuple(Pledge.Review.values),
        pledge=True,
    ),
    Column(
        "source_urls", "string", "The pledge's source URLs, separated by single spaces.",
        OnInput.REQUIRED, OnExport.WHEN_KNOWN, "", "https://www.bbc.com/news/uk-63725431",
        kind="URLs separated by spaces", input_note="the column", pledge=True,
    ),
    Column(
        "notes", "string", "Notes on the pledge.",
        OnInput.OPTIONAL, OnExport.WHEN_KNOWN, "pledge__notes", pledge=True,
    ),
)  # fmt: skip

COLUMNS = [column.name for column in TABLE]
REQUIRED = [column.name for column in TABLE if column.on_input is OnInput.REQUIRED]
IGNORED_ON_INPUT = [column.name for column in TABLE if column.on_input is OnInput.IGNORED]
# The columns the import compares across the rows of one pledge: it reads them, and they
# describe the pledge rather than the line.
PLEDGE_COLUMNS = [
    column.name for column in TABLE if column.pledge and column.on_input is not OnInput.IGNORED
]
