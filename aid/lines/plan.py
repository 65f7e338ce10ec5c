"""What an import of checked rows does to the ledger: its pledges matched by reference to the ones
the ledger holds, and every record to create, change or remove, worked out before any is written.

Stored records are read as tuples of the fields the file gives and compared as tuples: building a
model instance for each of a hundred thousand lines, to compare it or to write it, would cost
more than all the rest of an import.
"""

import datetime
from dataclasses import dataclass, field
from itertools import islice

from django.db.models import Max

from aid.lines.bulk import New, batch_size, in_batches
from aid.lines.fill import rows_giving
from aid.lines.parse import LINE_FIELDS, Catalogue, PledgeColumns, Row
from aid.lines.read import Problem
from aid.models import Line, Official, Pledge
from aid.rules import new_line_numbers, number_was_removed, official_title
from sources.models import PledgeSource, Source

ITEM_TYPE, CATEGORY, UNIT = map(LINE_FIELDS.index, ["item_type_id", "category_id", "unit"])
# The pledge's fields that the file gives, compared with the stored pledge's and written.
PLEDGE_FIELDS = [
    "donor_id", "recipient_id", "announced_on", "date_precision", "official_id",
    "official_title", "package", "status", "notes",
]  # fmt: skip
STATUS = PLEDGE_FIELDS.index("status")
DEFAULT_ROLE = PledgeSource._meta.get_field("role").get_default()


@dataclass(slots=True)
class PledgePlan:
    """What the import does to one pledge of the file: for previews and summaries."""

    ref: str
    # create, update, unchanged, or revise: a published pledge's change written to its pending
    # revision, which a reviewer publishes (aid.revisions); what the public reads does not move.
    action: str
    row: int
    donor: str
    announced_on: datetime.date
    date_precision: str
    lines: int
    lines_created: int = 0
    lines_updated: int = 0
    lines_removed: int = 0
    superseded: bool = False  # a reviewer's file replaced the pledge's pending revision

    @property
    def announced(self) -> str:
        """The date as precisely as the file gives it (2022-11), as the pledge shows it."""
        pledge = Pledge(announced_on=self.announced_on, date_precision=self.date_precision)
        return pledge.announced_label


@dataclass
class Writes:
    """Everything the import will write, gathered before any of it is. New records are `New`
    tuples of the values the fields below name; changes are new values by primary key."""

    officials: list[New] = field(default_factory=list)  # name, party_id, title
    item_types: list[New] = field(default_factory=list)  # name, category_id, default_unit
    item_type_rows: list[tuple[int, str]] = field(default_factory=list)  # row, name: each row
    sources: list[New] = field(default_factory=list)  # url
    file_sources: list[New] = field(default_factory=list)  # title, kind
    pledges_new: list[New] = field(default_factory=list)  # ref, PLEDGE_FIELDS
    # New pending revisions of published pledges, and their citations (role and quote kept).
    revisions_new: list[New] = field(default_factory=list)  # ref, PLEDGE_FIELDS, revision_of_id
    revision_links: list[New] = field(default_factory=list)  # pledge_id, source_id, role, quote
    revisions_removed: list[int] = field(default_factory=list)  # superseded by a reviewer's file
    pledges_changed: dict[int, tuple] = field(default_factory=dict)  # PLEDGE_FIELDS
    pledges_touched: list[int] = field(default_factory=list)  # only lines or links changed
    # The version each changed or touched pledge had when planned, and its reference: the
    # write is refused if an editor saved the pledge in between (no lost update).
    planned_versions: dict[int, tuple[str, int]] = field(default_factory=dict)
    lines_new: list[New] = field(default_factory=list)  # pledge_id, line_no, LINE_FIELDS
    lines_changed: dict[int, tuple] = field(default_factory=dict)  # LINE_FIELDS
    lines_removed: list[int] = field(default_factory=list)
    links_new: list[New] = field(default_factory=list)  # pledge_id, source_id
    links_removed: list[int] = field(default_factory=list)
    # Pledges the import withdraws (new ones created withdrawn too), by key or `New`, and the
    # first row of each: withdrawing needs a reviewer and a reason, as the withdraw action does.
    withdrawn: dict[int | New, int] = field(default_factory=dict)


@dataclass(slots=True)
class Stored:
    """A stored pledge as the planner compares it: the fields the file gives, its lines by
    number, its links (pk, source_id, url, role, quote), the highest line number it ever had,
    and for a published pledge its pending revision, if any."""

    pk: int
    review: str
    version: int
    values: tuple
    lines: dict = field(default_factory=dict)
    links: list = field(default_factory=list)
    highest: int | None = None
    pending: "Stored | None" = None


class Planner:
    """Matches the file's pledges to the ledger's and works out what changes."""

    def __init__(self, catalogue: Catalogue, file_source: str, verify: bool):
        self.categories = {category.pk: category for category in catalogue.categories.values()}
        self.file_source_title = file_source
        self.verify = verify
        self.writes = Writes()
        self.file_source: int | New | None = None
        self.new_item_types: dict[str, New] = {}

    def plan(
        self, groups: dict[str, list[Row]], warnings: list[Problem], errors: list[Problem]
    ) -> list[PledgePlan]:
        self.warnings, self.errors = warnings, errors
        urls = {url for rows in groups.values() for url in rows[0].pledge.urls}
        # Unordered: a model's default ordering would sort, or join the table it sorts by.
        sources = Source.objects.order_by().values_list("url", "pk")
        self.sources = dict(in_batches(sources, "url__in", urls))
        donors = {rows[0].pledge.donor.pk for rows in groups.values()}
        officials = Official.objects.order_by().values_list("name", "party_id", "pk", "title")
        self.officials = {
            (name.lower(), party): (pk, title)
            for name, party, pk, title in in_batches(officials, "party_id__in", donors)
        }
        plans = []
        pending = iter(groups.items())
        while batch := list(islice(pending, batch_size())):  # the ledger's side, by batches
            stored = self.load([ref for ref, _ in batch])
            plans += [self.plan_pledge(ref, rows, stored.get(ref)) for ref, rows in batch]
        return plans

    def load(self, refs: list[str]) -> dict[str, Stored]:
        """The stored pledges of these references, with their pending revisions. A file names
        published pledges and drafts, never a revision: it shares its pledge's reference."""
        pledges = Pledge.objects.filter(ref__in=refs, revision_of__isnull=True).order_by()
        pledges = pledges.values_list("ref", "pk", "review", "version", *PLEDGE_FIELDS)
        stored = {
            ref: Stored(pk, review, version, tuple(values))
            for ref, pk, review, version, *values in pledges
        }
        published = {
            pledge.pk: pledge
            for pledge in stored.values()
            if pledge.review == Pledge.Review.VERIFIED
        }
        revisions = Pledge.objects.order_by().values_list(
            "revision_of_id", "pk", "review", "version", *PLEDGE_FIELDS
        )
        by_pk = {pledge.pk: pledge for pledge in stored.values()}
        for of, pk, *values in in_batches(revisions, "revision_of_id__in", published):
            published[of].pending = by_pk[pk] = Stored(pk, *values[:2], tuple(values[2:]))
        numbered = Line.objects.order_by().values_list("pledge_id", "line_no", "pk", *LINE_FIELDS)
        for pledge, line_no, pk, *values in in_batches(numbered, "pledge_id__in", by_pk):
            by_pk[pledge].lines[line_no] = (pk, tuple(values))
        # Removed lines too: their numbers are never given to another item.
        used = Line.history.order_by().values("pledge_id").annotate(top=Max("line_no"))
        for pledge, top in in_batches(used.values_list("pledge_id", "top"), "pledge_id__in", by_pk):
            by_pk[pledge].highest = top
        cited = PledgeSource.objects.order_by("id").values_list(
            "pledge_id", "pk", "source_id", "source__url", "role", "quote"
        )
        for pledge, *link in in_batches(cited, "pledge_id__in", by_pk):
            by_pk[pledge].links.append(link)
        return stored

    def official(self, pledge: PledgeColumns) -> tuple[int | New, str] | tuple[None, str]:
        """The official who announced the pledge (found by name or added), and their title."""
        if not pledge.official:
            return None, ""
        name, title = pledge.official
        donor = pledge.donor.pk
        key = (name.lower(), donor)
        if key not in self.officials:
            official = New((name, donor, title))
            self.officials[key] = (official, title)
            self.writes.officials.append(official)
        return self.officials[key]

    def item_type(self, row: Row) -> New:
        """An item type the catalogue lacks, added to it with a warning."""
        name = row.new_item_type
        self.writes.item_type_rows.append((row.number, name))
        if name.lower() not in self.new_item_types:
            category = self.categories[row.line[CATEGORY]]
            self.new_item_types[name.lower()] = New((name, category.pk, row.line[UNIT]))
            self.writes.item_types.append(self.new_item_types[name.lower()])
            self.warnings.append(
                Problem(
                    row.number,
                    "item_type",
                    f"not in the catalogue: it is added as a new item type in category "
                    f"{category.slug}",
                    name,
                )
            )
        return self.new_item_types[name.lower()]

    def source(self, url: str) -> int | New:
        if url not in self.sources:
            self.sources[url] = New((url,))
            self.writes.sources.append(self.sources[url])
        return self.sources[url]

    def source_of_file(self) -> int | New:
        """The file itself, cited by a pledge whose rows give no source URL: the ledger then
        knows where the pledge came from, and an export writes it back with no URL."""
        if self.file_source is None:
            title, kind = self.file_source_title, Source.Kind.DATASET
            found = Source.objects.filter(url=None, title=title, kind=kind)
            self.file_source = found.values_list("pk", flat=True).first()
            if self.file_source is None:
                self.file_source = New((title, kind))
                self.writes.file_sources.append(self.file_source)
        return self.file_source

    def plan_pledge(self, ref: str, rows: list[Row], stored: Stored | None) -> PledgePlan:
        first = rows[0]
        pledge = first.pledge
        official, stored_title = self.official(pledge)
        values = (
            pledge.donor.pk,
            pledge.recipient.pk,
            pledge.announced_on,
            pledge.date_precision,
            official,
            official_title(pledge.official_title, stored_title),
            pledge.package,
            pledge.status,
            pledge.notes,
        )
        plan = PledgePlan(
            ref=ref,
            action="create" if stored is None else "unchanged",
            row=first.number,
            donor=pledge.donor.code,
            announced_on=pledge.announced_on,
            date_precision=pledge.date_precision,
            lines=len(rows),
        )
        withdrawn = pledge.status == Pledge.Status.WITHDRAWN
        # The row that says so, where a user who may not withdraw is told.
        withdrawing = rows_giving(rows, "status")[0].number if withdrawn else None
        if stored is None:
            new = New((ref, *values))
            self.writes.pledges_new.append(new)
            if withdrawn:
                self.writes.withdrawn[new] = withdrawing
            self.plan_lines(new, rows, {}, None, plan, self.writes)
            self.plan_links(ref, new, first, [], self.writes)
            return plan
        if stored.review == Pledge.Review.VERIFIED and not self.verify:
            return self.plan_revision(ref, rows, values, stored, plan, withdrawing)
        if stored.pending is not None:  # a reviewer's file supersedes the pending change
            self.writes.revisions_removed.append(stored.pending.pk)
            self.writes.planned_versions[stored.pending.pk] = (ref, stored.pending.version)
            plan.superseded = True
        if self.plan_change(ref, rows, values, stored, stored.highest, plan, withdrawing):
            plan.action = "update"
        return plan

    def plan_change(
        self, ref, rows, values: tuple, stored: Stored, highest, plan, withdrawing
    ) -> bool:
        """Change a draft or a pending revision, or with `verify` a published pledge, in place.
        Returns whether anything changes."""
        self.plan_lines(stored.pk, rows, stored.lines, highest, plan, self.writes)
        links_changed = self.plan_links(ref, stored.pk, rows[0], stored.links, self.writes)
        rows_changed = links_changed or plan.lines_created or plan.lines_updated
        rows_changed = rows_changed or plan.lines_removed
        # Verified by the importer: a new history row, naming the reviewer.
        if values != stored.values or (rows_changed and self.verify):
            self.writes.pledges_changed[stored.pk] = values
            if withdrawing is not None and stored.values[STATUS] != Pledge.Status.WITHDRAWN:
                self.writes.withdrawn[stored.pk] = withdrawing
        elif rows_changed:
            self.writes.pledges_touched.append(stored.pk)  # a new version, as the admin gives
        else:
            return False
        self.writes.planned_versions[stored.pk] = (ref, stored.version)
        return True

    def plan_revision(
        self, ref, rows, values: tuple, published: Stored, plan, withdrawing
    ) -> PledgePlan:
        """An editor's change to a published pledge goes to its pending revision, so no
        published figure moves until a reviewer publishes it: the revision it has, updated as a
        draft is, or a new one with the file's lines (numbered as the published pledge's, new
        ones after every number it ever used) and links, keeping its links to sources without
        a URL, which a file cannot name. An unchanged pledge gets no revision."""
        pending = published.pending
        if pending is not None:
            used = [top for top in (published.highest, pending.highest) if top is not None]
            highest = max(used, default=None)
            if self.plan_change(ref, rows, values, pending, highest, plan, withdrawing):
                plan.action = "revise"
            return plan
        diff = Writes()  # what changing the published pledge in place would write: never written
        self.plan_lines(published.pk, rows, published.lines, published.highest, plan, diff)
        links_changed = self.plan_links(ref, published.pk, rows[0], published.links, diff)
        lines_changed = diff.lines_new or diff.lines_changed or diff.lines_removed
        if values == published.values and not (links_changed or lines_changed):
            return plan
        revision = New((ref, *values, published.pk))
        self.writes.revisions_new.append(revision)
        self.writes.lines_new += [
            New((revision, row.line_no, *self.line_values(row))) for row in rows
        ]
        removed = set(diff.links_removed)
        kept = [(source, role, quote) for pk, source, _, role, quote in published.links
                if pk not in removed]  # fmt: skip
        added = [(new.values[1], DEFAULT_ROLE, "") for new in diff.links_new]
        self.writes.revision_links += [New((revision, *link)) for link in kept + added]
        if withdrawing is not None and published.values[STATUS] != Pledge.Status.WITHDRAWN:
            self.writes.withdrawn[revision] = withdrawing
        # The import is refused if a reviewer publishes a change to the pledge in the meantime.
        self.writes.planned_versions[published.pk] = (ref, published.version)
        plan.action = "revise"
        return plan

    def plan_lines(
        self, pledge: int | New, rows: list[Row], stored: dict, highest: int | None, plan, writes
    ):
        # Rows without a number take, in file order, the pledge's current lines the file does
        # not number (so a file without line numbers matches them again on re-import), then
        # numbers no line of the pledge ever had.
        numbers = new_line_numbers(highest, stored, {row.line_no for row in rows})
        for row in rows:
            if row.line_no is None:
                row.line_no = next(numbers)
            elif number_was_removed(row.line_no, stored, highest):
                self.errors.append(
                    Problem(
                        row.number,
                        "line_no",
                        f"line {row.line_no} of pledge {plan.ref} was removed, and a line number "
                        "is never given to another item: leave line_no empty for a new line",
                        str(row.line_no),
                    )
                )
        for row in rows:
            if row.new_item_type:
                self.item_type(row)
            values = self.line_values(row)
            old = stored.get(row.line_no)
            if old is None:
                writes.lines_new.append(New((pledge, row.line_no, *values)))
                plan.lines_created += 1
            elif old[1] != values:
                writes.lines_changed[old[0]] = values
                plan.lines_updated += 1
        numbers = {row.line_no for row in rows}
        for number, (pk, _) in stored.items():
            if number not in numbers:
                writes.lines_removed.append(pk)
                plan.lines_removed += 1

    def line_values(self, row: Row) -> tuple:
        """The row's line as written: an item type the catalogue lacks is the one added."""
        if not row.new_item_type:
            return row.line
        added = self.new_item_types[row.new_item_type.lower()]
        return (*row.line[:ITEM_TYPE], added, *row.line[ITEM_TYPE + 1 :])

    def plan_links(self, ref: str, pledge: int | New, first: Row, stored: list, writes) -> bool:
        """Link the pledge to the file's URLs. Links to sources without a URL, which a file
        cannot name, are kept. Returns whether the links change."""
        urls = first.pledge.urls
        linked = {source for _, source, *_ in stored}
        changed = False
        for url in urls:
            source = self.source(url)
            if source not in linked:
                writes.links_new.append(New((pledge, source)))
                changed = True
        for pk, _, url, *_ in stored:
            if url and url not in urls:
                writes.links_removed.append(pk)
                changed = True
        if not urls and not any(not url for _, _, url, *_ in stored):
            source = self.source_of_file()
            self.warnings.append(
                Problem(
                    first.number,
                    "source_urls",
                    f"no source URL: pledge {ref} will cite the file itself "
                    f"(“{self.file_source_title}”); add the URL of the document that announced it",
                )
            )
            if source not in linked:
                writes.links_new.append(New((pledge, source)))
                changed = True
        return changed
