"""What changed between two releases, read from their lines.csv files alone
(docs/data-dictionary.md, "A release's changes file").

The previous file is read once into memory, compactly: one string per pledge, its own cells then
each line's number and cells, joined (about 250 bytes a line in all). The new file is then read
once as a stream, a pledge at a time (the export keeps a pledge's rows together), and compared
with it, string with string, split into cells only where they differ; what is left of the
previous release afterwards is gone."""

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from aid.lines.columns import TABLE
from aid.models import Pledge

KEY = ("pledge_ref", "line_no")
PLEDGE_CELLS = [column.name for column in TABLE if column.pledge]
LINE_CELLS = [column.name for column in TABLE if not column.pledge and column.name not in KEY]
# Joins a pledge's cells into one string: the ledger's text holds no NUL (PostgreSQL refuses it).
JOIN = "\x00"
LINE_WIDTH = 1 + len(LINE_CELLS)  # the line's number, then its cells
WITHDRAWN = Pledge.Status.WITHDRAWN.value
STATUS = PLEDGE_CELLS.index("status")
DONOR = PLEDGE_CELLS.index("donor")
CATEGORY = LINE_CELLS.index("category")
VALUE_EUR = LINE_CELLS.index("value_eur")


@dataclass
class Total:
    """One donor × level-1 category's sum in EUR (None while no line has a value) and lines."""

    value_eur: Decimal | None = None
    lines: int = 0

    def add(self, value_eur: str) -> None:
        self.lines += 1
        if value_eur:
            self.value_eur = (self.value_eur or 0) + Decimal(value_eur)

    def as_json(self) -> dict:
        value = None if self.value_eur is None else str(self.value_eur)
        return {"value_eur": value, "lines": self.lines}


@dataclass
class Reading:
    """One release's lines.csv as it is read: its pledges, and its totals by donor × level-1
    category (withdrawn pledges left out, as the public totals leave them out by default)."""

    path: Path
    level_1: dict[str, str]  # category slug -> its level-1 slug, as the release recorded it
    totals: dict[tuple[str, str], Total] = field(default_factory=dict)
    pledge_count: int = 0
    line_count: int = 0

    def pledges(self) -> Iterator[tuple[str, str]]:
        """(pledge_ref, the pledge joined into one string: its cells, then each line's number
        and cells), in the file's order."""
        with open(self.path, encoding="utf-8", newline="") as handle:
            rows = csv.reader(handle)
            header = next(rows)
            at = [header.index(name) for name in (*KEY, *PLEDGE_CELLS, *LINE_CELLS)]
            split = 2 + len(PLEDGE_CELLS)
            ref, cells_of_pledge = None, []
            for row in rows:
                cells = [row[index] for index in at]
                if cells[0] != ref:
                    if ref is not None:
                        yield ref, JOIN.join(cells_of_pledge)
                    ref, cells_of_pledge = cells[0], cells[2:split]
                    self.pledge_count += 1
                    counted = cells[2 + STATUS] != WITHDRAWN
                    donor = cells[2 + DONOR]
                cells_of_pledge += cells[1:2] + cells[split:]
                self.line_count += 1
                if counted:
                    category = cells[split + CATEGORY]
                    key = (donor, self.level_1.get(category, category))
                    self.totals.setdefault(key, Total()).add(cells[split + VALUE_EUR])
            if ref is not None:
                yield ref, JOIN.join(cells_of_pledge)


def split_pledge(joined: str) -> tuple[list[str], dict[str, list[str]]]:
    """A pledge's string back into its cells and its lines' cells by line number."""
    cells = joined.split(JOIN)
    own, rest = cells[: len(PLEDGE_CELLS)], cells[len(PLEDGE_CELLS) :]
    lines = [rest[start : start + LINE_WIDTH] for start in range(0, len(rest), LINE_WIDTH)]
    return own, {line[0]: line[1:] for line in lines}


def changed_cells(names: list[str], before: list[str] | None, after: list[str] | None) -> list:
    """The cells that differ, each as {field, before, after}; an empty cell (or a row that is
    not there) is null."""
    old = before or [""] * len(names)
    new = after or [""] * len(names)
    return [
        {"field": name, "before": was or None, "after": now or None}
        for name, was, now in zip(names, old, new, strict=True)
        if was != now
    ]


def pledge_changes(ref: str, before: str, after: str) -> dict | None:
    """How one pledge changed: its own fields, and its lines by number; None if it did not."""
    if before == after:
        return None
    (old_pledge, old_lines), (new_pledge, new_lines) = split_pledge(before), split_pledge(after)
    lines = []
    for line_no in sorted(old_lines.keys() | new_lines.keys(), key=int):
        was, now = old_lines.get(line_no), new_lines.get(line_no)
        if was == now:
            continue
        action = "added" if was is None else "removed" if now is None else "changed"
        cells = changed_cells(LINE_CELLS, was, now)
        lines.append({"line_no": int(line_no), "action": action, "fields": cells})
    return {"pledge_ref": ref, "fields": changed_cells(PLEDGE_CELLS, old_pledge, new_pledge),
            "lines": lines}  # fmt: skip


def compare(previous: Reading | None, current: Reading) -> dict:
    """The changes from `previous` (None for the first release) to `current`: each pledge that
    is added, changed or withdrawn (its status became withdrawn, or it is gone from the file),
    and the totals by donor × level-1 category before and after."""
    old = dict(previous.pledges()) if previous else {}
    added, changed, withdrawn = [], [], []
    for ref, pledge in current.pledges():
        before = old.pop(ref, None)
        if before is None:
            added.append(ref)
        elif change := pledge_changes(ref, before, pledge):
            was, now = before.split(JOIN)[STATUS], pledge.split(JOIN)[STATUS]
            if now == WITHDRAWN and was != WITHDRAWN:
                withdrawn.append({**change, "gone": False})
            else:
                changed.append(change)
    withdrawn += [{"pledge_ref": ref, "fields": [], "lines": [], "gone": True} for ref in old]
    return {
        "pledges": {"added": added, "changed": changed, "withdrawn": withdrawn},
        "totals": totals_before_after(previous.totals if previous else {}, current.totals),
    }


def totals_before_after(before: dict, after: dict) -> list[dict]:
    """One row per donor × level-1 category in either release, in that order."""
    return [
        {
            "donor": donor,
            "category": category,
            "before": before.get((donor, category), Total()).as_json(),
            "after": after.get((donor, category), Total()).as_json(),
        }
        for donor, category in sorted(before.keys() | after.keys())
    ]
