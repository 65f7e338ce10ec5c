"""What the import commands share: the user their changes are recorded under."""

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

USER_HELP = "Username the changes are recorded under in the history."


def importing_user(username: str):
    """The named user, or a command error: an import's history must say who made it."""
    try:
        return get_user_model().objects.get(username=username)
    except get_user_model().DoesNotExist:
        raise CommandError(
            f"No user named {username!r}: the history must name who imported."
        ) from None


VERIFY_HELP = (
    "Mark the pledges this import creates or changes verified by --user, who must be a "
    "reviewer; without it they are drafts, which the public does not see."
)


def check_may_verify(actor) -> None:
    """Only a reviewer's import publishes pledges."""
    if not actor.has_perm("aid.verify_pledge"):
        raise CommandError(
            f"{actor.username} may not verify pledges (reviewers may): import without --verify, "
            "then have a reviewer verify them."
        )
