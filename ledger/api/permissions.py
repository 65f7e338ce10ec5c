"""Anonymous users read (unless LEDGER_API_READ_REQUIRES_LOGIN), writes need model permissions."""

from django.conf import settings
from rest_framework.permissions import SAFE_METHODS, DjangoModelPermissions


class LedgerPermissions(DjangoModelPermissions):
    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return request.user.is_authenticated or not settings.LEDGER_API_READ_REQUIRES_LOGIN
        return super().has_permission(request, view)


class ReadOnly(LedgerPermissions):
    """For read-only endpoints that have no queryset of their own (totals)."""

    def has_permission(self, request, view):
        return request.method in SAFE_METHODS and super().has_permission(request, view)
