"""What the import commands share: their options, and the user their changes are recorded under
(who must be a reviewer to publish what they import)."""

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError


def add_import_options(parser) -> None:
    """--dry-run, --user and --verify, alike for every import command."""
    parser.add_argument(
        "--dry-run", action="store_true", help="Check and report what would change; write nothing."
    )
    parser.add_argument(
        "--user", required=True, help="Username the changes are recorded under in the history."
    )
    parser.add_argument(
        "--verify",
        action="store_true",
        help="Mark the pledges this import creates or changes verified by --user, who must be a "
        "reviewer; without it they are drafts, which the public does not see.",
    )


def importing_user(username: str, verify: bool = False):
    """The named user, or a command error: an import's history must say who made it, and only a
    reviewer's import publishes pledges."""
    try:
        actor = get_user_model().objects.get(username=username)
    except get_user_model().DoesNotExist:
        raise CommandError(
            f"No user named {username!r}: the history must name who did this."
        ) from None
    if verify and not actor.has_perm("aid.verify_pledge"):
        raise CommandError(
            f"{actor.username} may not verify pledges (reviewers may): import without --verify, "
            "then have a reviewer verify them."
        )
    return actor
