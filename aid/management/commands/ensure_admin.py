"""`manage.py ensure_admin`: make sure a superuser exists for `make run`, and say how to log in.

The password comes from LEDGER_ADMIN_PASSWORD when set; otherwise one is generated on first run
and kept in `.local/admin-password` (git-ignored) so that later runs can print it again.
"""

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

PASSWORD_FILE = Path(settings.BASE_DIR) / ".local" / "admin-password"


class Command(BaseCommand):
    help = "Create the local admin account if missing and print its credentials."

    def handle(self, *args, **options):
        User = get_user_model()
        username = os.environ.get("LEDGER_ADMIN_USER", "admin")
        password = os.environ.get("LEDGER_ADMIN_PASSWORD", "")
        user = User.objects.filter(username=username).first()
        if password:
            user = user or User(username=username)
            self.make_superuser(user, password)
            shown = "the password in LEDGER_ADMIN_PASSWORD"
        elif user is None:
            password = secrets.token_urlsafe(12)
            self.make_superuser(User(username=username), password)
            PASSWORD_FILE.parent.mkdir(exist_ok=True)
            PASSWORD_FILE.write_text(password + "\n")
            PASSWORD_FILE.chmod(0o600)
            shown = password
        elif PASSWORD_FILE.exists():
            shown = PASSWORD_FILE.read_text().strip()
        else:
            shown = "(unchanged; set LEDGER_ADMIN_PASSWORD to reset it)"
        self.stdout.write(f"Log in as “{username}” with password: {shown}")

    def make_superuser(self, user, password):
        user.is_staff = user.is_superuser = user.is_active = True
        user.set_password(password)
        user.save()
