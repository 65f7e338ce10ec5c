"""The one import of the canonical lines CSV, behind `manage.py import_lines` and the admin page.

All or nothing: every row is checked and every problem reported before anything is written; then
the pledges, their lines and source links, and the sources and officials they need are written in
one transaction with bulk operations, each change recorded in the history under the importing
user. Re-importing a file updates the pledges its `pledge_ref`s name and creates no duplicates.
"""

import gc
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from aid.lines.bulk import New, batch_size, in_batches, insert
from aid.lines.fill import group_rows
from aid.lines.parse import LINE_FIELDS, Catalogue, RowChecker
from aid.lines.plan import (
    PLEDGE_FIELDS,
    Planner,
    PledgePlan,
    Writes,
)
from aid.lines.read import ImportRefused, Problem, check_header, read_table
from aid.models import ItemType, Line, Official, Pledge
from aid.services import attribute
from sources.models import PledgeSource, Source

__all__ = ["ImportRefused", "ImportReport", "PledgePlan", "Problem", "lines_import"]


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
    def pledges_revised(self) -> int:
        """Published pledges whose change waits for a reviewer: the public figures stay."""
        return self.count("revise")

    @property
    def revisions_superseded(self) -> int:
        return sum(plan.superseded for plan in self.plans)

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
        pending = ""
        if self.pledges_revised:
            pending = (
                f", {self.pledges_revised:,} pending changes to published pledges (published "
                "when a reviewer verifies them)"
            )
        if self.revisions_superseded:
            pending += f", {self.revisions_superseded:,} pending changes replaced"
        return (
            f"{head} {self.rows:,} rows: {self.pledges_created:,} pledges created, "
            f"{self.pledges_updated:,} updated{pending}, {self.pledges_unchanged:,} unchanged; "
            f"{self.lines_created:,} lines created, {self.lines_updated:,} updated, "
            f"{self.lines_removed:,} removed; {self.sources_created:,} sources, "
            f"{self.officials_created:,} officials and {self.item_types_created:,} item types "
            f"created ({self.seconds:.1f} s{rate})."
        )


def lines_import(
    *,
    actor: AbstractBaseUser | None,
    data: bytes,
    filename: str = "",
    dry_run: bool = False,
    verify: bool = False,
    withdraw_reason: str = "",
) -> ImportReport:
    """Check the whole file, then write all of it, or nothing when any row is wrong. The pledges
    it creates or changes are drafts, and its changes to published pledges their pending
    revisions; with `verify` all are published by `actor` (a reviewer), and the pending
    revisions of the pledges the file names are replaced. Those it withdraws need a reviewer
    and `withdraw_reason`."""
    started = time.monotonic()
    header, records = read_table(data)
    report = rows_import(
        actor=actor,
        header=header,
        records=records,
        reason=f"Imported from {filename or 'a lines CSV'}",
        file_source=f"Lines CSV file {filename or 'upload'}",
        dry_run=dry_run,
        verify=verify,
        withdraw_reason=withdraw_reason,
    )
    report.seconds = time.monotonic() - started
    return report


def rows_import(
    *,
    actor: AbstractBaseUser | None,
    header: list[str],
    records: Iterable[tuple[int, list[str]]],
    reason: str,
    file_source: str,
    dry_run: bool = False,
    verify: bool = False,
    withdraw_reason: str = "",
) -> ImportReport:
    """Import records of canonical cells, each with the row number problems are reported by.

    The lines CSV comes here after `read_table`; other importers (a workbook) map their rows
    onto the canonical columns and come here too, so every import checks and writes alike.
    `file_source` titles the dataset source cited by pledges whose rows give no URL.
    `actor` is checked here, not only by the pages that call: adding an item type needs
    `aid.add_itemtype`; withdrawing a pledge, `aid.withdraw_pledge` and `withdraw_reason`, which
    its history records as the withdraw action's does. No actor (a script) is not checked."""
    started = time.monotonic()
    reason, withdraw_reason = fitted(reason), fitted(withdraw_reason.strip())
    report = ImportReport(rows=0, dry_run=dry_run)
    report.errors, report.warnings = check_header(header)
    if report.errors:
        report.rows = sum(1 for _ in records)  # for the summary
    else:
        with collector_paused():
            writes = plan(report, header, records, file_source, verify)
            if writes:
                check_roles(report, writes, actor, withdraw_reason)
            if writes and report.ok and not dry_run:
                try:
                    apply(writes, actor, reason, verify, withdraw_reason)
                except StaleImport as error:
                    report.errors.append(Problem(None, "", str(error)))
                except IntegrityError as error:
                    message = (
                        f"the ledger changed during the import ({error}); nothing was written: "
                        "try again"
                    )
                    report.errors.append(Problem(None, "", message))
    report.seconds = time.monotonic() - started
    return report


def plan(report: ImportReport, header, records, file_source: str, verify: bool) -> Writes | None:
    """Check the records and plan their writes; None when any is wrong."""
    catalogue = Catalogue.load()
    checker = RowChecker(header, catalogue)
    rows, report.rows = checker.check_all(records, report.errors)
    groups = group_rows(rows, checker, report.errors)
    if report.errors:
        return None
    planner = Planner(catalogue, file_source, verify)
    report.plans = planner.plan(groups, report.warnings, report.errors)
    if report.errors:
        return None
    writes = planner.writes
    report.sources_created = len(writes.sources) + len(writes.file_sources)
    report.officials_created = len(writes.officials)
    report.item_types_created = len(writes.item_types)
    return writes


def fitted(reason: str) -> str:
    """The reason as the history's change reason holds it: 100 characters."""
    return reason if len(reason) <= 100 else reason[:99] + "…"


def check_roles(report: ImportReport, writes: Writes, actor, withdraw_reason: str) -> None:
    """Refuse, by row, what the file does that `actor` may not do; the import then writes nothing.
    An editor cannot add to the catalogue or withdraw by importing what the admin refuses them."""
    if actor is None:
        return
    if not (actor.has_perm("aid.add_pledge") and actor.has_perm("aid.change_pledge")):
        message = "you may not import: it adds and changes pledges (editors may)"
        report.errors.append(Problem(None, "", message))
        return
    if writes.item_types and not actor.has_perm("aid.add_itemtype"):
        report.errors += [
            Problem(
                row,
                "item_type",
                f"{name!r} is not in the catalogue and you may not add item types",
            )
            for row, name in writes.item_type_rows
        ]
    if writes.withdrawn:
        if not actor.has_perm("aid.withdraw_pledge"):
            message = "withdrawn: you may not withdraw pledges (reviewers may)"
        elif not withdraw_reason:
            message = "withdrawn: give the reason the pledges are withdrawn, recorded in history"
        else:
            return
        rows = sorted(writes.withdrawn.values())
        report.errors += [Problem(row, "status", message) for row in rows]
    report.errors.sort(key=lambda problem: problem.row or 0)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector walks every live object again and again as an import allocates a
    few per row and keeps them all to its end: a third of the import's time, and the import makes
    no cycles for it to find. It runs again afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@transaction.atomic
def apply(writes: Writes, actor, reason: str, verify: bool, withdraw_reason: str = "") -> None:
    """Write what the planner gathered: new records in bulk, the few changed or removed ones
    through the ORM (which records their history), all in one transaction. The history of a
    pledge the import withdraws gives the reason it is withdrawn, as the withdraw action's does."""
    check_versions(writes.planned_versions)
    history = {"actor": actor, "reason": reason}
    now = timezone.now()
    draft = {"review": Pledge.Review.DRAFT, "reviewed_by_id": None, "reviewed_at": None}
    if verify:
        reviewer = actor.pk if actor else None
        review = {"review": Pledge.Review.VERIFIED, "reviewed_by_id": reviewer, "reviewed_at": now}
    else:  # what the public sees is what a reviewer saw: changes wait for review
        review = draft
    # Pending changes a reviewer's file supersedes: their lines and citations go with them.
    for revision in in_batches(Pledge.objects.all(), "pk__in", writes.revisions_removed):
        attribute(revision, actor, reason)
        revision.delete()
    insert(Official, ["name", "party_id", "title"], writes.officials, **history)
    insert(Source, ["url"], writes.sources, **history)
    insert(Source, ["title", "kind"], writes.file_sources, **history)
    insert(ItemType, ["name", "category_id", "default_unit"], writes.item_types, **history)
    withdrawn = {"actor": actor, "reason": withdraw_reason}
    pledge_fields = ["ref", *PLEDGE_FIELDS]
    for records, by in partition(writes.pledges_new, writes.withdrawn, history, withdrawn):
        insert(Pledge, pledge_fields, records, **by, shared=review)
    revision_fields = [*pledge_fields, "revision_of_id"]
    for records, by in partition(writes.revisions_new, writes.withdrawn, history, withdrawn):
        insert(Pledge, revision_fields, records, **by, shared=draft)
    pledges = changed(Pledge, writes.pledges_changed, PLEDGE_FIELDS)
    for pledge in pledges:
        pledge.version += 1  # an editor's form opened before is now stale
        pledge.updated_at = now
        for name, value in review.items():
            setattr(pledge, name, value)
    changes = {"default_user": actor, "default_change_reason": reason, "batch_size": 500}
    fields = [*PLEDGE_FIELDS, "version", "updated_at", *review]
    by_pk = {record.pk: record for record in pledges}
    for records, by in partition(list(by_pk), writes.withdrawn, history, withdrawn):
        changes_by = changes | {"default_change_reason": by["reason"]}
        bulk_update_with_history([by_pk[pk] for pk in records], Pledge, fields, **changes_by)
    for start in range(0, len(writes.pledges_touched), size := batch_size()):
        touched = writes.pledges_touched[start : start + size]
        Pledge.objects.filter(pk__in=touched).update(version=F("version") + 1)
    # Rare: rows dropped from a pledge the ledger holds, removed one by one with their history.
    for model, pks in ((Line, writes.lines_removed), (PledgeSource, writes.links_removed)):
        for record in in_batches(model.objects.all(), "pk__in", pks):
            attribute(record, actor, reason)
            record.delete()
    insert(Line, ["pledge_id", "line_no", *LINE_FIELDS], writes.lines_new, **history)
    lines = changed(Line, writes.lines_changed, LINE_FIELDS)
    bulk_update_with_history(lines, Line, LINE_FIELDS, **changes)
    insert(PledgeSource, ["pledge_id", "source_id"], writes.links_new, **history)
    link_fields = ["pledge_id", "source_id", "role", "quote"]
    insert(PledgeSource, link_fields, writes.revision_links, **history)


def partition(records: list, withdrawn: dict, history: dict, withdrawing: dict) -> list:
    """The records the import withdraws, with the history of a withdrawal, and the rest."""
    taken = [record for record in records if record in withdrawn]
    kept = [record for record in records if record not in withdrawn]
    return [(kept, history), (taken, withdrawing)]


class StaleImport(Exception):
    """Pledges the import would change were saved by someone else after it read them."""


def check_versions(planned: dict[int, tuple[str, int]]) -> None:
    """Lock the pledges the import changes, then refuse the whole import if any of them has a
    version other than the one it was planned against: the import must not overwrite an
    editor's save (optimistic locking, as the admin and the API do)."""
    pledges = Pledge.objects.select_for_update().order_by().values_list("pk", "version")
    now = dict(in_batches(pledges, "pk__in", planned))
    stale = [ref for pk, (ref, version) in planned.items() if now.get(pk) != version]
    if stale:
        shown = ", ".join(sorted(stale)[:10]) + (", …" if len(stale) > 10 else "")
        raise StaleImport(
            f"{len(stale)} pledge(s) were changed by someone else while the file was being "
            f"checked ({shown}); nothing was written: import the file again to see and apply "
            "the differences"
        )


def changed(model, changes: dict[int, tuple], fields: list[str]) -> list:
    """The stored records of these keys, with the new values of `fields` set."""
    records = list(in_batches(model.objects.all(), "pk__in", changes))
    for record in records:
        for name, value in zip(fields, changes[record.pk], strict=True):
            setattr(record, name, value.pk if type(value) is New else value)
    return records
