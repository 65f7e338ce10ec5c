from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AidConfig(AppConfig):
    name = "aid"
    verbose_name = "Aid: pledges and their lines"

    def ready(self):
        from aid.rates.triggers import after_migrate
        from ledger.tokens import connect

        connect()  # a password change or deactivation revokes the user's API tokens

        post_migrate.connect(after_migrate, sender=self, dispatch_uid="aid.rates.triggers")
