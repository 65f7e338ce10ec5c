"""`manage.py load_demo`: load the demo ledger; running it again adds nothing twice."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from aid.demo.loader import load_demo


class Command(BaseCommand):
    help = "Load the demo ledger (the seed case and Protect Ukraine Now's compilation)."

    def add_arguments(self, parser):
        parser.add_argument("--user", help="Username recorded as the author in the history.")

    def handle(self, *args, user=None, **options):
        actor = None
        if user:
            try:
                actor = get_user_model().objects.get_by_natural_key(user)
            except get_user_model().DoesNotExist as missing:
                raise CommandError(f"--user: no user named “{user}”.") from missing
        counts = load_demo(actor=actor)
        self.stdout.write(
            f"Demo ledger: {counts['created']} pledges created, "
            f"{counts['skipped']} already present."
        )
