"""Anonymous users read (unless LEDGER_API_READ_REQUIRES_LOGIN), writes need model permissions."""

from django.conf import settings
from rest_framework.permissions import SAFE_METHODS, BasePermission, DjangoModelPermissions


def offers(view, method: str) -> bool:
    """Whether the view answers `method` at all (DELETE nowhere, writes not on read-only ones)."""
    method = method.lower()
    return method in view.http_method_names and hasattr(view, method)


class LedgerPermissions(DjangoModelPermissions):
    def has_permission(self, request, view):
        if not offers(view, request.method):
            return True  # the view answers 405 to everyone: no permission makes the method exist
        if request.method in SAFE_METHODS:
            return request.user.is_authenticated or not settings.LEDGER_API_READ_REQUIRES_LOGIN
        return super().has_permission(request, view)


class ReadOnly(LedgerPermissions):
    """For read-only endpoints that have no queryset of their own (totals)."""

    def has_permission(self, request, view):
        if request.method not in SAFE_METHODS and offers(view, request.method):
            return False
        return super().has_permission(request, view)


def may(permission: str) -> type:
    """A permission class for an action that needs one model permission (verify, withdraw)."""

    class May(BasePermission):
        def has_permission(self, request, view):
            return bool(request.user and request.user.has_perm(permission))

    May.__name__ = f"May({permission})"
    return May
