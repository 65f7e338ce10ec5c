"""What a draft or pending revision would change, field by field: the reviewer's diff.

A pending revision is compared with the published pledge it revises; a new draft with nothing
(every field and row is added). Lines are matched by number, citations by source, so the diff
reads as the editor made it: "line 2: quantity 3 → 10", "source added", "line 3 removed".
"""

from dataclasses import dataclass, field

from aid.models import Line, Pledge
from sources.models import PledgeSource

PLEDGE_FIELDS = [
    "donor", "recipient", "announced_on", "date_precision", "official", "official_title",
    "package", "status", "notes",
]  # fmt: skip
LINE_FIELDS = [
    "description", "item_type", "category", "quantity", "quantity_qualifier", "unit", "value",
    "currency", "value_basis",
]  # fmt: skip
LINK_FIELDS = ["role", "quote"]


@dataclass
class Change:
    """One field's change: `before` is None for a field that a new record adds."""

    field: str
    before: str | None
    after: str | None


@dataclass
class RowChange:
    key: str  # "line 2", "source https://..."
    action: str  # added, removed, changed
    changes: list[Change] = field(default_factory=list)


@dataclass
class Diff:
    pledge: list[Change]
    lines: list[RowChange]
    sources: list[RowChange]

    @property
    def empty(self) -> bool:
        return not (self.pledge or self.lines or self.sources)


def shown(value) -> str | None:
    return None if value is None or value == "" else str(value)


def changes(before, after, names: list[str]) -> list[Change]:
    out = []
    for name in names:
        old = shown(getattr(before, name)) if before is not None else None
        new = shown(getattr(after, name)) if after is not None else None
        if old != new:
            out.append(Change(name, old, new))
    return out


def row_changes(before: dict, after: dict, names: list[str], label) -> list[RowChange]:
    out = []
    for key in sorted(before.keys() | after.keys(), key=str):
        old, new = before.get(key), after.get(key)
        action = "added" if old is None else "removed" if new is None else "changed"
        found = changes(old, new, names)
        if action != "changed" or found:
            out.append(RowChange(label(key), action, found if action != "removed" else []))
    return out


def rows_of(pledge: Pledge | None) -> tuple[dict, dict]:
    if pledge is None:
        return {}, {}
    lines = Line.objects.filter(pledge=pledge).select_related("item_type", "category")
    links = PledgeSource.objects.filter(pledge=pledge).select_related("source")
    return (
        {line.line_no: line for line in lines},
        {link.source.url or link.source.title: link for link in links},
    )


def pledge_diff(pledge: Pledge) -> Diff:
    """What publishing `pledge` (a draft or a pending revision) would change."""
    published = pledge.revision_of if pledge.revision_of_id else None
    lines_before, links_before = rows_of(published)
    lines_after, links_after = rows_of(pledge)
    return Diff(
        pledge=changes(published, pledge, PLEDGE_FIELDS),
        lines=row_changes(lines_before, lines_after, LINE_FIELDS, lambda key: f"line {key}"),
        sources=row_changes(links_before, links_after, LINK_FIELDS, lambda key: f"source {key}"),
    )
