"""Writes to pledges, their lines and their source links. The admin, the API and the importers all
call these, so every write is validated the same way and recorded in the history with its author,
in the same transaction as the write itself."""

import secrets
from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone
from simple_history.utils import get_history_model_for_model

from aid.models import Line, Official, Pledge
from aid.revisions import (
    check_four_eyes,
    check_no_pending,
    copies,
    may_publish,
    revision_from,
    revision_publish,
)
from aid.rules import line_unit, new_line_numbers
from aid.selectors import item_type_for
from sources.models import PledgeSource


def reason_max_length(model) -> int:
    """How long a change reason may be: the length of `model`'s history column."""
    return get_history_model_for_model(model)._meta.get_field("history_change_reason").max_length


def attribute(instance, actor: AbstractBaseUser | None, reason: str = "") -> None:
    """Mark the next history record of `instance` with who made the change and why.

    A reason longer than the history's column is refused here, for every caller, rather than
    truncated by SQLite or refused by PostgreSQL with a 500."""
    limit = reason_max_length(type(instance))
    if reason and len(reason) > limit:
        raise ValidationError(
            {"reason": f"At most {limit} characters (this one has {len(reason)})."}
        )
    instance._history_user = actor
    # Always set, so that a reason given for one save is not repeated on the next.
    instance._change_reason = reason or None


def new_ref(pledge: Pledge) -> str:
    """A short, readable, collision-resistant key: donor, year and six random hex digits."""
    return f"{pledge.donor.code}-{pledge.announced_on:%Y}-{secrets.token_hex(3)}"


def prefixed(prefix: str, error: ValidationError) -> dict[str, list[str]]:
    """Errors of a line or source link, keyed so the reader can tell which row they belong to."""
    return {
        f"{prefix}.{field}" if field != "__all__" else prefix: messages
        for field, messages in error.message_dict.items()
    }


# Bookkeeping, not content: a record whose other fields are as stored is unchanged.
BOOKKEEPING = {"version", "value_eur"}


def unchanged(instance, stored) -> bool:
    """True when saving `instance` would write what is already stored (and add empty history)."""
    return stored is not None and all(
        getattr(instance, field.attname) == getattr(stored, field.attname)
        for field in instance._meta.concrete_fields
        if field.attname not in BOOKKEEPING
    )


class StalePledge(ValidationError):
    """The pledge was saved by someone else after this editor loaded it (optimistic locking)."""


def check_version(pledge: Pledge, stored: Pledge) -> None:
    """Refuse to save over changes the editor has not seen: `pledge.version` is the version they
    loaded, `stored` the row as it is now (locked by the caller's transaction)."""
    if pledge.version == stored.version:
        return
    # The last change may be to a line or a source link only: the newest of the three histories.
    changes = [
        model.history.filter(**{key: stored.pk}).select_related("history_user").first()
        for model, key in ((Pledge, "id"), (Line, "pledge_id"), (PledgeSource, "pledge_id"))
    ]
    last = max(
        (change for change in changes if change),
        key=lambda change: change.history_date,
        default=None,
    )
    who = f" by {last.history_user}" if last and last.history_user else ""
    when = f" at {last.history_date:%Y-%m-%d %H:%M} UTC" if last else ""
    raise StalePledge(
        f"This pledge was changed{who}{when} after you opened it (it is now version "
        f"{stored.version}; you edited version {pledge.version}). Nothing was saved: reload the "
        "pledge to see those changes, then make yours again."
    )


WITHDRAW_BY_ACTION = (
    "A save cannot withdraw a pledge: withdraw it with the withdraw action, which records why "
    "(reviewers)."
)


def check_not_withdrawn_by_save(pledge: Pledge, stored: Pledge | None) -> None:
    """Withdrawing is a reviewer's act with a reason (`pledge_withdraw`), not an edit."""
    was = stored.status if stored is not None else None
    if pledge.status == Pledge.Status.WITHDRAWN and was != Pledge.Status.WITHDRAWN:
        raise ValidationError({"status": [WITHDRAW_BY_ACTION]})


def validate_pledge(pledge: Pledge, lines: Sequence[Line], links: Sequence[PledgeSource]) -> None:
    """Validate a pledge with all its lines and source links; raise every error at once."""
    errors: dict[str, list[str]] = {}
    try:
        pledge.full_clean(exclude=["ref"] if not pledge.ref else None)
    except ValidationError as error:
        errors.update(error.message_dict)
    if not lines:
        errors["lines"] = ["A pledge needs at least one line: what was pledged."]
    if not links:
        errors["sources"] = ["A pledge needs at least one source."]
    for number, line in enumerate(lines, start=1):
        try:
            line.full_clean(exclude=["pledge", "line_no"], validate_unique=False)
        except ValidationError as error:
            errors.update(prefixed(f"lines[{number}]", error))
    seen_sources = set()
    for number, link in enumerate(links, start=1):
        try:
            link.full_clean(exclude=["pledge"], validate_unique=False)
        except ValidationError as error:
            errors.update(prefixed(f"sources[{number}]", error))
        if link.source_id in seen_sources:
            errors[f"sources[{number}].source"] = ["This source is already cited for this pledge."]
        seen_sources.add(link.source_id)
    if errors:
        raise ValidationError(errors)


def replace_rows(model, pledge: Pledge, rows: Sequence, actor, reason: str) -> bool:
    """Make `rows` the pledge's rows of `model`: remove the others, save the new and the changed.
    True when anything was written."""
    stored = {row.pk: row for row in model.objects.filter(pledge_id=pledge.pk)}
    removed = stored.keys() - {row.pk for row in rows}
    for pk in removed:
        attribute(stored[pk], actor, reason)
        stored[pk].delete()
    changed = bool(removed)
    for row in rows:
        row.pledge = pledge
        if not unchanged(row, stored.get(row.pk)):
            attribute(row, actor, reason)
            row.save()
            changed = True
    return changed


@transaction.atomic
def pledge_save(
    *,
    actor: AbstractBaseUser | None,
    pledge: Pledge,
    lines: Sequence[Line],
    links: Sequence[PledgeSource],
    reason: str = "",
) -> Pledge:
    """Create or update a pledge so that it has exactly `lines` and `links`.

    Lines and links of the pledge that are not in the lists are removed (history keeps them);
    new lines are numbered after the highest number the pledge ever used, so a line number
    is never reused for a different item. `pledge.version` is the version the editor loaded:
    when the stored pledge has another, `StalePledge` is raised and nothing is written; a save
    that changes anything increments it.
    """
    for line in lines:  # a new line's item type and unit are found as an importer finds them
        if line.pk is None:
            if line.item_type_id is None:
                line.item_type = item_type_for(line.description or "")
            line.unit = line_unit(line.unit, line.item_type)
    validate_pledge(pledge, lines, links)
    if not pledge.ref:
        pledge.ref = new_ref(pledge)
    # The row lock keeps the version check and the write together (SQLite's immediate
    # transactions already serialise writers).
    stored = Pledge.objects.select_for_update().filter(pk=pledge.pk).first() if pledge.pk else None
    check_not_withdrawn_by_save(pledge, stored)
    if stored is not None:
        check_version(pledge, stored)
        if stored.review == Pledge.Review.VERIFIED:  # published: the change waits for review
            return revision_open(actor, stored, pledge, lines, links, reason)
        # The review state is the reviewers' (`pledges_verify`), never the editor's form's.
        for name in ("review", "reviewed_by_id", "reviewed_at", "revision_of_id", "review_note"):
            setattr(pledge, name, getattr(stored, name))
    pledge_changed = not unchanged(pledge, stored)
    if pledge_changed:
        if stored is not None:
            pledge.version = stored.version + 1
        attribute(pledge, actor, reason)
        pledge.save()

    # A revision's new lines are numbered after every number its published pledge ever used.
    owners = [pledge.pk, pledge.revision_of_id] if pledge.revision_of_id else [pledge.pk]
    used = Line.history.filter(pledge_id__in=owners).aggregate(top=Max("line_no"))["top"]
    numbers = new_line_numbers(used)
    for line in lines:
        if line.line_no is None:
            line.line_no = next(numbers)
    rows_changed = replace_rows(Line, pledge, lines, actor, reason)
    rows_changed |= replace_rows(PledgeSource, pledge, links, actor, reason)
    if rows_changed and not pledge_changed and stored is not None:
        # Only lines or sources changed: a new version, with no pledge history row.
        pledge.version = stored.version + 1
        Pledge.objects.filter(pk=pledge.pk).update(version=F("version") + 1)
    return pledge


def rows_unchanged(model, pledge: Pledge, rows: Sequence) -> bool:
    stored = {row.pk: row for row in model.objects.filter(pledge_id=pledge.pk)}
    return stored.keys() == {row.pk for row in rows} and all(
        unchanged(row, stored[row.pk]) for row in rows
    )


def revision_open(actor, published: Pledge, pledge: Pledge, lines, links, reason) -> Pledge:
    """An editor's change to a published pledge, saved as its pending revision (aid.revisions).
    A save that changes nothing changes nothing."""
    if (
        unchanged(pledge, published)
        and rows_unchanged(Line, published, lines)
        and rows_unchanged(PledgeSource, published, links)
    ):
        return published
    check_no_pending(published)
    revision = revision_from(published, pledge)
    return pledge_save(
        actor=actor, pledge=revision, lines=copies(lines), links=copies(links), reason=reason
    )


@transaction.atomic
def pledges_verify(*, actor: AbstractBaseUser | None, pledges: Sequence[Pledge]) -> int:
    """Publish: mark new drafts verified by `actor`, now, and copy pending revisions onto their
    published pledges (aid.revisions); returns how many were published. The caller checks that
    `actor` is a reviewer. A new draft's version stays: verifying changes no content."""
    verified = 0
    now = timezone.now()
    for pledge in Pledge.objects.select_for_update().filter(
        pk__in=[pledge.pk for pledge in pledges], review=Pledge.Review.DRAFT
    ):
        if pledge.revision_of_id:
            revision_publish(actor=actor, revision=pledge)
            verified += 1
            continue
        check_four_eyes(actor, pledge)
        pledge.review, pledge.reviewed_by, pledge.reviewed_at = Pledge.Review.VERIFIED, actor, now
        pledge.review_note = ""
        attribute(pledge, actor, "verified")
        pledge.save(
            update_fields=["review", "reviewed_by", "reviewed_at", "review_note", "updated_at"]
        )
        verified += 1
    return verified


def pledge_create(
    *,
    actor: AbstractBaseUser | None,
    lines: Sequence[Line],
    links: Sequence[PledgeSource],
    reason: str = "",
    **fields,
) -> Pledge:
    """Create a pledge from its fields (donor, recipient, announced_on, ...), lines and links.
    It is a draft unless the fields say who verified it (loaders of published data)."""
    return pledge_save(
        actor=actor, pledge=Pledge(**fields), lines=lines, links=links, reason=reason
    )


@transaction.atomic
def pledge_withdraw(*, actor: AbstractBaseUser | None, pledge: Pledge, reason: str) -> Pledge:
    """Withdraw a pledge: editors never delete one, so its figures stay traceable in history.
    A published pledge is withdrawn by a revision, which takes effect when published: at once
    when `actor` may publish it, else (four eyes) when another reviewer does. Returns the
    published pledge, or the pending revision. While an editor's change is pending, the pledge
    is not withdrawn: publishing the withdrawal would publish that change unreviewed."""
    if not reason.strip():
        raise ValidationError({"reason": "Say why the pledge is withdrawn."})
    stored = Pledge.objects.select_for_update().get(pk=pledge.pk)
    published = stored.review == Pledge.Review.VERIFIED
    if published:
        check_no_pending(stored)
        pledge = pledge_save(
            actor=actor,
            pledge=revision_from(stored, stored),
            lines=copies(stored.lines.all()),
            links=copies(stored.source_links.all()),
            reason=reason,
        )
    attribute(pledge, actor, reason)
    pledge.status = Pledge.Status.WITHDRAWN
    pledge.full_clean()
    stored = Pledge.objects.select_for_update().only("version").get(pk=pledge.pk)
    pledge.version = stored.version + 1  # an editor's form opened before this is now stale
    pledge.save(update_fields=["status", "updated_at", "version"])
    if published and may_publish(actor, pledge):
        return revision_publish(actor=actor, revision=pledge, reason=reason)
    return pledge


@transaction.atomic
def official_save(*, actor: AbstractBaseUser | None, official: Official) -> Official:
    official.full_clean()
    attribute(official, actor)
    official.save()
    return official
