"""`manage.py release NAME [--note TEXT] [--user NAME]`: freeze the published ledger into a
release (aid.releases.make), as the admin's "Make a release" does."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from aid.management.users import importing_user
from aid.releases.make import release_create


class Command(BaseCommand):
    help = (
        "Make release NAME of the published ledger: lines.csv, datapackage.json and changes.json "
        "(against the previous release) in LEDGER_RELEASE_DIR/NAME, written once."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="Letters, digits and - _ . : only, e.g. 2026-12.")
        parser.add_argument("--note", default="", help="What the release is for.")
        parser.add_argument("--user", help="Username the release is recorded as made by.")

    def handle(self, *args, name, note="", user=None, **options):
        actor = importing_user(user) if user else None
        try:
            release = release_create(actor=actor, name=name, note=note)
        except ValidationError as error:
            problems = [
                f"{field}: {' '.join(messages)}" for field, messages in error_dict(error).items()
            ]
            raise CommandError("; ".join(problems)) from None
        self.stdout.write(
            f"Release {release.name}: {release.pledges} pledges, {release.lines} lines."
        )


def error_dict(error: ValidationError) -> dict[str, list[str]]:
    return error.message_dict if hasattr(error, "error_dict") else {"release": error.messages}
