"""The columns table of docs/data-dictionary.md, rendered from aid.lines.columns.

The table sits between two marker comments in the document; `manage.py lines_dictionary --write`
rewrites what is between them, and a test fails when the document and the columns differ.
"""

from pathlib import Path

from django.conf import settings

from aid.lines.columns import PLEDGE_COLUMNS, TABLE, Column, OnExport, OnInput

START = "<!-- columns:start -->"
END = "<!-- columns:end -->"


def document() -> Path:
    return Path(settings.BASE_DIR) / "docs" / "data-dictionary.md"


def on_input(column: Column) -> str:
    note = f" ({column.input_note})" if column.input_note else ""
    if column.on_input is OnInput.REQUIRED:
        return f"**yes**{note}"
    if column.on_input is OnInput.IGNORED:
        return "ignored"
    return f"no{note}"


def cell_type(column: Column) -> str:
    if column.choices:
        return " ".join(f"`{choice}`" for choice in column.choices)
    return column.kind


def listed(names: list[str], joiner: str = ", ") -> str:
    return joiner.join(f"`{name}`" for name in names)


def columns_markdown() -> str:
    """The table, one row per column in the file's order, then which columns are the pledge's."""
    rows = [
        "| column | type | required on import | filled on export | example |",
        "|---|---|---|---|---|",
    ]
    for column in TABLE:
        filled = "always" if column.on_export is OnExport.ALWAYS else "when known"
        example = f"`{column.example}`" if column.example else ""
        rows.append(
            f"| `{column.name}` | {cell_type(column)} | {on_input(column)} | {filled} | {example} |"
        )
    pledge = [column.name for column in TABLE if column.pledge]
    unread = [name for name in pledge if name not in PLEDGE_COLUMNS]  # ignored on input
    rows += [
        "",
        f"The pledge columns — {listed(pledge)} — describe the pledge, not the line. An export "
        "writes them on every row of the pledge; the import reads them from the pledge's rows "
        f"together, as below (it ignores {listed(unread, ' and ')}).",
    ]
    return "\n".join(rows) + "\n"


def with_columns(text: str) -> str:
    """`text` (the data dictionary) with the columns table between its markers rendered anew."""
    before, start, rest = text.partition(START)
    _, end, after = rest.partition(END)
    if not (start and end):
        raise ValueError(f"The data dictionary lacks the markers {START} and {END}.")
    return f"{before}{START}\n{columns_markdown()}{END}{after}"
