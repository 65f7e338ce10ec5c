"""The Frictionless Data package (Data Package v1) that describes the canonical lines CSV.

Tools such as `frictionless validate`, R's `frictionless` and pandas readers use it to check the
file and to type its columns, so the schema says only what every export holds: a column is
`required` only where the exporter always fills the cell.
"""

from aid.lines.columns import TABLE, Column, OnExport

PROFILE = "tabular-data-package"
RESOURCE = "lines"
DIALECT = {
    "delimiter": ",",
    "lineTerminator": "\r\n",
    "quoteChar": '"',
    "doubleQuote": True,
    "header": True,
}


def field(column: Column) -> dict:
    """A column as a Table Schema field: `required` only where the export always fills it."""
    constraints = {}
    if column.minimum is not None:
        constraints["minimum"] = column.minimum
    if column.pattern:
        constraints["pattern"] = column.pattern
    if column.on_export is OnExport.ALWAYS:
        constraints["required"] = True
    if column.choices:
        constraints["enum"] = list(column.choices)
    described = {"name": column.name, "type": column.type, "description": column.description}
    if column.type == "date":
        described["format"] = "default"  # ISO 8601, YYYY-MM-DD
    if constraints:
        described["constraints"] = constraints
    return described


def table_schema() -> dict:
    """The Table Schema of the canonical lines CSV, one field per column in the file's order."""
    return {
        "fields": [field(column) for column in TABLE],
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
