"""The one place API tokens are revoked: whenever a user's password changes or they are
deactivated, by any path (admin user form, `set_password`, `manage.py changepassword`)."""

from django.contrib.auth import get_user_model
from django.db.models.signals import post_save, pre_save
from knox.models import AuthToken


def note_credentials_change(sender, instance, raw=False, **kwargs):
    """Before a save, compare with the stored user: a new password or deactivation revokes."""
    stored = (
        None
        if raw or instance.pk is None
        else (sender.objects.filter(pk=instance.pk).values("password", "is_active").first())
    )
    instance._revoke_tokens = bool(stored) and (
        stored["password"] != instance.password or (stored["is_active"] and not instance.is_active)
    )


def revoke_tokens(sender, instance, raw=False, **kwargs):
    if getattr(instance, "_revoke_tokens", False):
        AuthToken.objects.filter(user=instance).delete()
        instance._revoke_tokens = False


def connect():
    user = get_user_model()
    pre_save.connect(note_credentials_change, sender=user, dispatch_uid="ledger.tokens.note")
    post_save.connect(revoke_tokens, sender=user, dispatch_uid="ledger.tokens.revoke")
