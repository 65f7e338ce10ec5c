from django.apps import AppConfig
from django.core.checks import Tags, register
from django.db.models.signals import post_migrate


class AidConfig(AppConfig):
    name = "aid"
    verbose_name = "Aid: pledges and their lines"

    def ready(self):
        from aid.rates.checks import value_eur_triggers
        from aid.rates.triggers import after_migrate
        from ledger.tokens import connect

        connect()  # a password change or deactivation revokes the user's API tokens

        post_migrate.connect(after_migrate, sender=self, dispatch_uid="aid.rates.triggers")
        # Tagged `database`, run by plain `check` too (aid.rates.checks says when it is silent).
        register(value_eur_triggers, Tags.database)
