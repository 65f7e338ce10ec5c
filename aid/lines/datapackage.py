"""The Frictionless Data package (Data Package v1) that describes the canonical lines CSV.

Tools such as `frictionless validate`, R's `frictionless` and pandas readers use it to check the
file and to type its columns, so the schema says only what every export holds: a column is
`required` only where the exporter always fills the cell.
"""

from aid.lines.export import COLUMNS
from aid.models import DatePrecision, Line, Pledge, Unit

PROFILE = "tabular-data-package"
RESOURCE = "lines"
DIALECT = {
    "delimiter": ",",
    "lineTerminator": "\r\n",
    "quoteChar": '"',
    "doubleQuote": True,
    "header": True,
}

# name: (Table Schema type, description)
FIELDS = {
    "pledge_ref": ("string", "The pledge's stable reference; rows sharing it are one pledge."),
    "line_no": ("integer", "The line's number within its pledge, from 1."),
    "donor": ("string", "Donor party code: ISO 3166-1 alpha-2 for states, or EU, NATO, ..."),
    "donor_name": ("string", "The donor's name (ignored on import)."),
    "recipient": ("string", "Recipient party code (UA unless stated)."),
    "announced_on": (
        "date",
        "Announcement date; for month, quarter or year precision the first day of the period.",
    ),
    "date_precision": ("string", "How precisely the source dates the announcement."),
    "official": ("string", "Name of the announcing official, when the source names one."),
    "official_title": ("string", "The official's title at the time of the announcement."),
    "package": ("string", "Name of the aid package, if it has one."),
    "item": ("string", "The item as the source words it."),
    "item_type": ("string", "Canonical catalogue item type, when matched."),
    "category": ("string", "Category slug (level 1 or 2 of the taxonomy)."),
    "quantity": ("integer", "How many; empty when the source gives no number (not zero)."),
    "quantity_qualifier": ("string", "How the quantity is stated; unspecified without one."),
    "unit": ("string", "Unit of the quantity; quantities add up only within one unit."),
    "value": ("number", "Value as announced, in `currency`; empty when none is given."),
    "currency": ("string", "ISO 4217 code of `value`."),
    "value_basis": ("string", "How the value was obtained; empty without a value."),
    "value_eur": (
        "number",
        "`value` in euros at the ECB reference rate of the announcement date, rounded to cents "
        "(ignored on import).",
    ),
    "status": ("string", "The pledge's status."),
    "source_urls": ("string", "The pledge's source URLs, separated by single spaces."),
    "notes": ("string", "Notes on the pledge."),
}
ENUMS = {
    "date_precision": DatePrecision.values,
    "quantity_qualifier": Line.Qualifier.values,
    "unit": Unit.values,
    "value_basis": Line.ValueBasis.values,
    "status": Pledge.Status.values,
}
# Cells the exporter fills on every row (the database holds no empty value for them).
ALWAYS_FILLED = {
    "pledge_ref", "line_no", "donor", "donor_name", "recipient", "announced_on",
    "date_precision", "item", "category", "quantity_qualifier", "unit", "status",
}  # fmt: skip
EXTRA_CONSTRAINTS = {
    "quantity": {"minimum": 1},
    "value": {"minimum": 0},
    "value_eur": {"minimum": 0},
    "currency": {"pattern": "[A-Z]{3}"},
}


def field(name: str) -> dict:
    kind, description = FIELDS[name]
    constraints = dict(EXTRA_CONSTRAINTS.get(name, {}))
    if name in ALWAYS_FILLED:
        constraints["required"] = True
    if name in ENUMS:
        constraints["enum"] = list(ENUMS[name])
    described = {"name": name, "type": kind, "description": description}
    if kind == "date":
        described["format"] = "default"  # ISO 8601, YYYY-MM-DD
    if constraints:
        described["constraints"] = constraints
    return described


def table_schema() -> dict:
    """The Table Schema of the canonical lines CSV, one field per column in COLUMNS order."""
    return {
        "fields": [field(name) for name in COLUMNS],
        "missingValues": [""],
        "primaryKey": ["pledge_ref", "line_no"],
    }


def descriptor(path: str, *, title: str = "Military-aid ledger: lines") -> dict:
    """The package descriptor for a lines CSV at `path` (a URL, or a path relative to the
    descriptor's own directory, as the spec requires)."""
    return {
        "profile": PROFILE,
        "name": "aid-ledger-lines",
        "title": title,
        "description": (
            "One row per line of aid, with its pledge's fields, in the ledger's canonical lines "
            "CSV. See docs/data-dictionary.md."
        ),
        "resources": [
            {
                "profile": "tabular-data-resource",
                "name": RESOURCE,
                "path": path,
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "dialect": DIALECT,
                "schema": table_schema(),
            }
        ],
    }
