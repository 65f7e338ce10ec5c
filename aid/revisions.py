"""Published pledges and their pending revisions.

What the public reads is what a reviewer published: a verified pledge's own rows. An editor's
change to one is written to a *pending revision*, a draft pledge with `revision_of` set, its own
lines (same line numbers) and citations, so every editing path (admin, API, import) edits it as it
edits any draft and no published figure moves. A reviewer publishes the revision (its content is
copied onto the published pledge, in one transaction, and the revision removed; history keeps
both) or sends it back with a comment. The published pledge's history is therefore the history
of what the public saw, which is what `as_of` reads.
"""

import copy
from collections.abc import Sequence

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from aid.models import Line, Pledge
from sources.models import PledgeSource

# What a revision changes: everything but identity, review and bookkeeping.
NOT_CONTENT = {
    "id", "ref", "revision_of", "review", "reviewed_by", "reviewed_at", "review_note", "version",
    "created_at", "updated_at",
}  # fmt: skip
LINE_CONTENT = [
    "description", "item_type_id", "category_id", "quantity", "quantity_qualifier", "unit",
    "value", "currency", "value_basis",
]  # fmt: skip
LINK_CONTENT = ["role", "quote"]


def content_fields() -> list[str]:
    return [
        field.attname for field in Pledge._meta.concrete_fields if field.name not in NOT_CONTENT
    ]


class PendingExists(ValidationError):
    """The published pledge already has a pending revision: edit that one instead."""


def pending_of(published: Pledge) -> Pledge | None:
    return Pledge.objects.filter(revision_of=published).first()


def check_no_pending(published: Pledge) -> None:
    pending = pending_of(published)
    if pending is not None:
        raise PendingExists(
            f"This pledge has a pending change (revision {pending.pk}) waiting for review: edit "
            "that revision, or ask a reviewer to publish it or send it back."
        )


def revision_from(published: Pledge, pledge: Pledge) -> Pledge:
    """A new pending revision of `published` holding the edited fields of `pledge`."""
    revision = Pledge(
        ref=published.ref, revision_of=published, review=Pledge.Review.DRAFT, version=1
    )
    for name in content_fields():
        setattr(revision, name, getattr(pledge, name))
    return revision


def copies(rows: Sequence) -> list:
    """Unsaved copies of lines or citations, to be saved as the revision's own rows."""
    out = []
    for row in rows:
        row = copy.copy(row)
        row.pk = row.id = None
        row.pledge_id = None
        row._state = copy.copy(row._state)
        row._state.adding = True
        out.append(row)
    return out


def authors(pledge: Pledge) -> set[int]:
    """Who wrote this draft or revision: the users in its history and its rows' histories."""
    ids = set(pledge.history.exclude(history_user=None).values_list("history_user", flat=True))
    for model in (Line, PledgeSource):
        ids |= set(
            model.history.filter(pledge_id=pledge.pk)
            .exclude(history_user=None)
            .values_list("history_user", flat=True)
        )
    return ids


def check_four_eyes(actor: AbstractBaseUser | None, pledge: Pledge) -> None:
    """With LEDGER_FOUR_EYES on (production), a reviewer never publishes their own change."""
    if not settings.LEDGER_FOUR_EYES or actor is None:
        return
    if actor.pk in authors(pledge):
        raise ValidationError(
            "You made this change, so another reviewer publishes it (four eyes: LEDGER_FOUR_EYES)."
        )


def may_publish(actor: AbstractBaseUser | None, pledge: Pledge) -> bool:
    """A command (no actor) may; a user who may verify pledges, unless four eyes forbid it."""
    if actor is None:
        return True
    if not actor.has_perm("aid.verify_pledge"):
        return False
    return not (settings.LEDGER_FOUR_EYES and actor.pk in authors(pledge))


@transaction.atomic
def revision_publish(
    *, actor: AbstractBaseUser | None, revision: Pledge, reason: str = ""
) -> Pledge:
    """Copy a pending revision onto its published pledge and remove it; the published pledge's
    lines keep their numbers, new ones take the revision's, and history records each change."""
    from aid.services import attribute, replace_rows  # the services call this module

    check_four_eyes(actor, revision)
    published = Pledge.objects.select_for_update().get(pk=revision.revision_of_id)
    # The published pledge's history says why it changed: the revision's own reason, if any.
    given = (
        revision.history.exclude(history_change_reason__in=["", "sent back"])
        .exclude(history_change_reason=None)
        .first()
    )
    reason = (
        reason or (given and given.history_change_reason) or f"published revision {revision.pk}"
    )
    for name in content_fields():
        setattr(published, name, getattr(revision, name))
    stored = {line.line_no: line for line in published.lines.all()}
    lines = []
    for line in revision.lines.order_by("line_no"):
        target = stored.get(line.line_no) or Line(line_no=line.line_no)
        for name in LINE_CONTENT:
            setattr(target, name, getattr(line, name))
        lines.append(target)
    cited = {link.source_id: link for link in published.source_links.all()}
    links = []
    for link in revision.source_links.all():
        target = cited.get(link.source_id) or PledgeSource(source_id=link.source_id)
        for name in LINK_CONTENT:
            setattr(target, name, getattr(link, name))
        links.append(target)
    published.version += 1
    published.reviewed_by, published.reviewed_at = actor, timezone.now()
    published.review_note = ""
    attribute(revision, actor, reason)
    revision.delete()  # its lines and citations with it; history keeps them
    attribute(published, actor, reason)
    published.save()
    replace_rows(Line, published, lines, actor, reason)
    replace_rows(PledgeSource, published, links, actor, reason)
    return published


@transaction.atomic
def pledge_send_back(*, actor: AbstractBaseUser | None, pledge: Pledge, note: str) -> Pledge:
    """Return a draft or a pending revision to its editors with the reviewer's comment."""
    from aid.services import attribute

    if pledge.review != Pledge.Review.DRAFT:
        raise ValidationError("Only a draft or a pending change can be sent back.")
    if not note.strip():
        raise ValidationError({"note": "Say what the editor should change."})
    pledge.review_note = note.strip()
    attribute(pledge, actor, "sent back")
    pledge.save(update_fields=["review_note", "updated_at"])
    return pledge
