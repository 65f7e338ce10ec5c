"""Writes to pledges, their lines and their source links. The admin, the API and the importers all
call these, so every write is validated the same way and recorded in the history with its author,
in the same transaction as the write itself."""

import itertools
import secrets
from collections.abc import Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from aid.models import Line, Official, Pledge
from sources.models import PledgeSource


def attribute(instance, actor: AbstractBaseUser | None, reason: str = "") -> None:
    """Mark the next history record of `instance` with who made the change and why."""
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


def unchanged(instance, stored) -> bool:
    """True when saving `instance` would write what is already stored (and add empty history)."""
    return stored is not None and all(
        getattr(instance, field.attname) == getattr(stored, field.attname)
        for field in instance._meta.concrete_fields
    )


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


def replace_rows(model, pledge: Pledge, rows: Sequence, actor, reason: str) -> None:
    """Make `rows` the pledge's rows of `model`: remove the others, save the new and the changed."""
    stored = {row.pk: row for row in model.objects.filter(pledge_id=pledge.pk)}
    for removed in stored.keys() - {row.pk for row in rows}:
        attribute(stored[removed], actor, reason)
        stored[removed].delete()
    for row in rows:
        row.pledge = pledge
        if not unchanged(row, stored.get(row.pk)):
            attribute(row, actor, reason)
            row.save()


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
    is never reused for a different item.
    """
    validate_pledge(pledge, lines, links)
    if not pledge.ref:
        pledge.ref = new_ref(pledge)
    stored = Pledge.objects.filter(pk=pledge.pk).first() if pledge.pk else None
    if not unchanged(pledge, stored):
        attribute(pledge, actor, reason)
        pledge.save()

    used = Line.history.filter(pledge_id=pledge.pk).aggregate(top=Max("line_no"))["top"]
    numbers = itertools.count((used or 0) + 1)
    for line in lines:
        if line.line_no is None:
            line.line_no = next(numbers)
    replace_rows(Line, pledge, lines, actor, reason)
    replace_rows(PledgeSource, pledge, links, actor, reason)
    return pledge


def pledge_create(
    *,
    actor: AbstractBaseUser | None,
    lines: Sequence[Line],
    links: Sequence[PledgeSource],
    reason: str = "",
    **fields,
) -> Pledge:
    """Create a pledge from its fields (donor, recipient, announced_on, ...), lines and links."""
    return pledge_save(
        actor=actor, pledge=Pledge(**fields), lines=lines, links=links, reason=reason
    )


@transaction.atomic
def pledge_withdraw(*, actor: AbstractBaseUser | None, pledge: Pledge, reason: str) -> Pledge:
    """Withdraw a pledge: editors never delete one, so its figures stay traceable in history."""
    if not reason.strip():
        raise ValidationError({"reason": "Say why the pledge is withdrawn."})
    pledge.status = Pledge.Status.WITHDRAWN
    pledge.full_clean()
    attribute(pledge, actor, reason)
    pledge.save(update_fields=["status", "updated_at"])
    return pledge


@transaction.atomic
def official_save(*, actor: AbstractBaseUser | None, official: Official) -> Official:
    official.full_clean()
    attribute(official, actor)
    official.save()
    return official
