"""The one import of the canonical lines CSV, behind `manage.py import_lines` and the admin page.

All or nothing: every row is checked and every problem reported before anything is written; then
the pledges, their lines and source links, and the sources and officials they need are written in
one transaction with bulk operations, each change recorded in the history under the importing
user. Re-importing a file updates the pledges its `pledge_ref`s name and creates no duplicates.
"""

import hashlib
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from aid.bulk import insert
from aid.lines_csv import COLUMNS, PLEDGE_COLUMNS
from aid.lines_parse import (
    Catalogue,
    ImportRefused,
    Problem,
    Row,
    RowChecker,
    check_header,
    read_table,
)
from aid.models import ItemType, Line, Official, Pledge
from aid.services import attribute, unchanged
from sources.models import PledgeSource, Source

__all__ = ["ImportRefused", "ImportReport", "PledgePlan", "Problem", "lines_import"]

BATCH = 900  # values per `IN (...)`, within SQLite's limit on query parameters
PLEDGE_FIELDS = [
    "donor", "recipient", "announced_on", "date_precision", "official", "official_title",
    "package", "status", "notes", "updated_at", "version",
]  # fmt: skip
LINE_FIELDS = [
    "description", "item_type", "category", "quantity", "quantity_qualifier", "unit", "value",
    "currency", "value_basis",
]  # fmt: skip
# Model fields whose errors belong to a column of another name.
FIELD_COLUMNS = {"description": "item", "ref": "pledge_ref", "__all__": ""}


@dataclass
class PledgePlan:
    """What the import does to one pledge of the file: for previews and summaries."""

    ref: str
    action: str  # create, update or unchanged
    row: int
    donor: str
    announced: str
    lines: int
    lines_created: int = 0
    lines_updated: int = 0
    lines_removed: int = 0


@dataclass
class ImportReport:
    rows: int
    dry_run: bool
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    plans: list[PledgePlan] = field(default_factory=list)
    sources_created: int = 0
    officials_created: int = 0
    item_types_created: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors

    def count(self, action: str) -> int:
        return sum(plan.action == action for plan in self.plans)

    @property
    def pledges_created(self) -> int:
        return self.count("create")

    @property
    def pledges_updated(self) -> int:
        return self.count("update")

    @property
    def pledges_unchanged(self) -> int:
        return self.count("unchanged")

    @property
    def lines_created(self) -> int:
        return sum(plan.lines_created for plan in self.plans)

    @property
    def lines_updated(self) -> int:
        return sum(plan.lines_updated for plan in self.plans)

    @property
    def lines_removed(self) -> int:
        return sum(plan.lines_removed for plan in self.plans)

    def summary(self) -> str:
        if self.errors:
            return f"{len(self.errors):,} problems in {self.rows:,} rows: nothing was imported."
        head = "Dry run, nothing written: would import" if self.dry_run else "Imported"
        rate = f", {self.rows / self.seconds:,.0f} rows/s" if self.seconds else ""
        return (
            f"{head} {self.rows:,} rows: {self.pledges_created:,} pledges created, "
            f"{self.pledges_updated:,} updated, {self.pledges_unchanged:,} unchanged; "
            f"{self.lines_created:,} lines created, {self.lines_updated:,} updated, "
            f"{self.lines_removed:,} removed; {self.sources_created:,} sources, "
            f"{self.officials_created:,} officials and {self.item_types_created:,} item types "
            f"created ({self.seconds:.1f} s{rate})."
        )


def lines_import(
    *, actor: AbstractBaseUser | None, data: bytes, filename: str = "", dry_run: bool = False
) -> ImportReport:
    """Check the whole file, then write all of it, or nothing when any row is wrong."""
    started = time.monotonic()
    header, records = read_table(data)
    report = rows_import(
        actor=actor,
        header=header,
        records=records,
        reason=f"Imported from {filename or 'a lines CSV'}",
        file_source=f"Lines CSV file {filename or 'upload'}",
        dry_run=dry_run,
    )
    report.seconds = time.monotonic() - started
    return report


def rows_import(
    *,
    actor: AbstractBaseUser | None,
    header: list[str],
    records: list[tuple[int, list[str]]],
    reason: str,
    file_source: str,
    dry_run: bool = False,
) -> ImportReport:
    """Import records of canonical cells, each with the row number problems are reported by.

    The lines CSV comes here after `read_table`; other importers (a workbook) map their rows
    onto the canonical columns and come here too, so every import checks and writes alike.
    `file_source` titles the dataset source cited by pledges whose rows give no URL."""
    started = time.monotonic()
    if len(reason) > 100:  # the history's change reason holds 100 characters
        reason = reason[:99] + "…"
    report = ImportReport(rows=len(records), dry_run=dry_run)
    report.errors, report.warnings = check_header(header)
    if not report.errors:
        checker = RowChecker(header, Catalogue.load())
        rows = [
            row for number, cells in records if (row := checker.check(number, cells, report.errors))
        ]
        groups = group_rows(rows, report.errors)
        for row in rows:
            row.raw = {}  # only the checks read the cells: let a large file's go
        if not report.errors:
            writes = Planner(file_source).plan(groups, report)
            if not report.errors and not dry_run:
                try:
                    writes.apply(actor, reason)
                except IntegrityError as error:
                    report.errors.append(
                        Problem(
                            None,
                            "",
                            f"the ledger changed during the import ({error}); "
                            "nothing was written: try again",
                        )
                    )
    report.seconds = time.monotonic() - started
    return report


def pledge_key(row: Row, column: str):
    """The value a pledge column has on a row, for comparing the rows of one pledge."""
    if column == "official":
        return row.official[0] if row.official else ""
    if column == "source_urls":
        return tuple(row.urls)
    value = row.pledge.get(column, "")
    return value.code if hasattr(value, "code") else value


def derived_ref(row: Row) -> str:
    """A row without `pledge_ref` belongs to the pledge its pledge columns describe; the key is
    derived from them, so that importing the same file again finds the same pledge."""
    key = "\x1f".join(str(pledge_key(row, column)) for column in PLEDGE_COLUMNS)
    digest = hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:10]
    return f"{row.pledge['donor'].code}-{row.pledge['announced_on']:%Y}-{digest}"


def group_rows(rows: list[Row], errors: list[Problem]) -> dict[str, list[Row]]:
    """Rows by pledge; a pledge's rows must agree on its columns, and its line numbers differ."""
    groups: dict[str, list[Row]] = {}
    for row in rows:
        groups.setdefault(row.ref or derived_ref(row), []).append(row)
    for ref, members in groups.items():
        first = members[0]
        for row in members[1:]:
            for column in PLEDGE_COLUMNS:
                if pledge_key(row, column) != pledge_key(first, column):
                    earlier = first.raw.get(column, "")
                    errors.append(
                        Problem(
                            row.number,
                            column,
                            f"contradicts row {first.number} of pledge {ref}, which has "
                            f"{earlier!r}: a pledge's rows must agree on its columns",
                            row.raw.get(column, ""),
                        )
                    )
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
        # Rows without a number take the lowest free ones in file order, so that a file without
        # line numbers numbers its lines 1, 2, 3 and matches them again on re-import.
        following = (number for number in range(1, 10**6) if number not in numbered)
        for row in members:
            if row.line_no is None:
                row.line_no = next(following)
    return groups


@dataclass
class Writes:
    """Everything the import will write, gathered before any of it is."""

    officials: list[Official] = field(default_factory=list)
    item_types: list[ItemType] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    pledges_new: list[Pledge] = field(default_factory=list)
    pledges_changed: list[Pledge] = field(default_factory=list)
    lines_new: list[Line] = field(default_factory=list)
    lines_changed: list[Line] = field(default_factory=list)
    links_new: list[PledgeSource] = field(default_factory=list)
    removed: list = field(default_factory=list)  # lines and links, deleted one by one
    pledges_touched: list[int] = field(default_factory=list)  # only lines or links changed

    @transaction.atomic
    def apply(self, actor, reason: str) -> None:
        history = {"actor": actor, "reason": reason}
        for model, records in (
            (Official, self.officials),
            (Source, self.sources),
            (ItemType, self.item_types),
            (Pledge, self.pledges_new),
        ):
            insert(model, records, **history)
        now = timezone.now()
        for pledge in self.pledges_changed:
            pledge.updated_at = now
        changes = {"default_user": actor, "default_change_reason": reason, "batch_size": 500}
        bulk_update_with_history(self.pledges_changed, Pledge, PLEDGE_FIELDS, **changes)
        for start in range(0, len(self.pledges_touched), BATCH):
            touched = self.pledges_touched[start : start + BATCH]
            Pledge.objects.filter(pk__in=touched).update(version=F("version") + 1)
        for record in self.removed:  # rare: rows dropped from a pledge the ledger holds
            attribute(record, actor, reason)
            record.delete()
        insert(Line, self.lines_new, **history)
        bulk_update_with_history(self.lines_changed, Line, LINE_FIELDS, **changes)
        insert(PledgeSource, self.links_new, **history)


class Planner:
    """Matches the file's pledges to the ledger's and works out what changes."""

    def __init__(self, file_source: str):
        self.file_source_title = file_source
        self.writes = Writes()

    def plan(self, groups: dict[str, list[Row]], report: ImportReport) -> Writes:
        self.load(groups)
        for ref, rows in groups.items():
            plan = self.plan_pledge(ref, rows, report)
            if plan:
                report.plans.append(plan)
        report.sources_created = len(self.writes.sources)
        report.officials_created = len(self.writes.officials)
        report.item_types_created = len(self.writes.item_types)
        return self.writes

    def load(self, groups: dict[str, list[Row]]) -> None:
        """Everything the file names, a few queries per thousand rows."""
        self.pledges = {p.ref: p for p in in_batches(Pledge.objects.all(), "ref__in", groups)}
        ids = [pledge.pk for pledge in self.pledges.values()]
        self.lines = defaultdict(dict)
        for line in in_batches(Line.objects.all(), "pledge_id__in", ids):
            self.lines[line.pledge_id][line.line_no] = line
        self.links = defaultdict(list)
        links = PledgeSource.objects.select_related("source").order_by("id")
        for link in in_batches(links, "pledge_id__in", ids):
            self.links[link.pledge_id].append(link)
        urls = {url for rows in groups.values() for url in rows[0].urls}
        self.sources = {s.url: s for s in in_batches(Source.objects.all(), "url__in", urls)}
        donors = {rows[0].pledge["donor"].pk for rows in groups.values()}
        self.officials = {
            (official.name.lower(), official.party_id): official
            for official in in_batches(Official.objects.all(), "party_id__in", donors)
        }
        self.file_source = None
        self.new_item_types: dict[str, ItemType] = {}

    def official(self, row: Row) -> Official | None:
        if not row.official:
            return None
        name, title = row.official
        donor = row.pledge["donor"]
        key = (name.lower(), donor.pk)
        if key not in self.officials:
            self.officials[key] = Official(name=name, party=donor, title=title)
            self.writes.officials.append(self.officials[key])
        return self.officials[key]

    def item_type(self, row: Row, warnings: list[Problem]) -> ItemType | None:
        """The row's item type; one the catalogue lacks is added to it, with a warning."""
        name = row.new_item_type
        if not name:
            return row.line["item_type"]
        if name.lower() not in self.new_item_types:
            item_type = ItemType(
                name=name, category=row.line["category"], default_unit=row.line["unit"]
            )
            self.new_item_types[name.lower()] = item_type
            self.writes.item_types.append(item_type)
            warnings.append(
                Problem(
                    row.number,
                    "item_type",
                    f"not in the catalogue: it is added as a new item type in category "
                    f"{item_type.category.slug}",
                    name,
                )
            )
        return self.new_item_types[name.lower()]

    def source(self, url: str) -> Source:
        if url not in self.sources:
            self.sources[url] = Source(url=url)
            self.writes.sources.append(self.sources[url])
        return self.sources[url]

    def source_of_file(self) -> Source:
        """The file itself, cited by a pledge whose rows give no source URL: the ledger then
        knows where the pledge came from, and an export writes it back with no URL."""
        if self.file_source is None:
            title = self.file_source_title
            self.file_source = Source.objects.filter(
                url=None, title=title, kind=Source.Kind.DATASET
            ).first() or Source(title=title, kind=Source.Kind.DATASET)
            if self.file_source.pk is None:
                self.writes.sources.append(self.file_source)
        return self.file_source

    def plan_pledge(self, ref: str, rows: list[Row], report: ImportReport) -> PledgePlan | None:
        first = rows[0]
        stored = self.pledges.get(ref)
        pledge = Pledge(ref=ref, official=self.official(first), **first.pledge)
        if pledge.official and not pledge.official_title:
            pledge.official_title = pledge.official.title
        if stored:
            pledge.pk, pledge.created_at, pledge.updated_at = (
                stored.pk,
                stored.created_at,
                stored.updated_at,
            )
        before = len(report.errors)
        validate(pledge, first.number, report.errors)
        plan = PledgePlan(
            ref=ref,
            action="create" if stored is None else "unchanged",
            row=first.number,
            donor=first.pledge["donor"].code,
            announced=pledge.announced_label,
            lines=len(rows),
        )
        lines = self.plan_lines(pledge, rows, plan, report)
        links_changed = self.plan_links(pledge, first, report.warnings)
        if len(report.errors) > before:
            return None
        if stored is None:
            self.writes.pledges_new.append(pledge)
        elif not unchanged(pledge, stored):
            pledge.version = stored.version + 1  # an editor's form opened before is now stale
            self.writes.pledges_changed.append(pledge)
            plan.action = "update"
        elif links_changed or plan.lines_created or plan.lines_updated or plan.lines_removed:
            self.writes.pledges_touched.append(stored.pk)  # a new version, as the admin gives
            plan.action = "update"
        self.writes.lines_new += [line for line in lines if line.pk is None]
        return plan

    def plan_lines(self, pledge, rows, plan, report) -> list[Line]:
        stored = self.lines.get(pledge.pk, {}) if pledge.pk else {}
        lines = []
        for row in rows:
            line = Line(pledge=pledge, line_no=row.line_no, description=row.line["description"])
            for name in LINE_FIELDS[1:]:
                setattr(line, name, row.line[name])
            line.item_type = self.item_type(row, report.warnings)
            old = stored.get(row.line_no)
            if old:
                line.pk = old.pk
            validate(line, row.number, report.errors)
            if old is None:
                plan.lines_created += 1
            elif not unchanged(line, old):
                plan.lines_updated += 1
                self.writes.lines_changed.append(line)
            lines.append(line)
        numbers = {row.line_no for row in rows}
        for number, old in stored.items():
            if number not in numbers:
                plan.lines_removed += 1
                self.writes.removed.append(old)
        return lines

    def plan_links(self, pledge: Pledge, first: Row, warnings: list[Problem]) -> bool:
        """Link the pledge to the file's URLs. Links to sources without a URL, which a file
        cannot name, are kept. Returns whether the links change."""
        stored = self.links.get(pledge.pk, []) if pledge.pk else []
        by_source = {link.source_id: link for link in stored}
        changed = False
        for url in first.urls:
            source = self.source(url)
            if source.pk is None or source.pk not in by_source:
                self.writes.links_new.append(PledgeSource(pledge=pledge, source=source))
                changed = True
        for link in stored:
            if link.source.url and link.source.url not in first.urls:
                self.writes.removed.append(link)
                changed = True
        if not first.urls and not any(not link.source.url for link in stored):
            source = self.source_of_file()
            warnings.append(
                Problem(
                    first.number,
                    "source_urls",
                    f"no source URL: pledge {pledge.ref} will cite the file itself "
                    f"(“{source.title}”); add the URL of the document that announced it",
                )
            )
            if source.pk is None or source.pk not in by_source:
                self.writes.links_new.append(PledgeSource(pledge=pledge, source=source))
                changed = True
        return changed


def validate(record, row: int, errors: list[Problem]) -> None:
    """The model's rules across fields, as a safety net behind the row checks. Each field was
    checked on its own by the row checks already (its length, choices and range: `clean_fields`
    again would double the time of planning), and the database holds its constraints at write."""
    try:
        record.clean()
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            column = FIELD_COLUMNS.get(name, name if name in COLUMNS else "")
            errors.extend(Problem(row, column, message) for message in messages)


def in_batches(queryset, lookup: str, values: Iterable) -> Iterator:
    values = list(values)
    for start in range(0, len(values), BATCH):
        yield from queryset.filter(**{lookup: values[start : start + BATCH]})
