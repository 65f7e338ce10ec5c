"""A database that is down or restarting answers 503 "database unavailable, try again".

Without this, a PostgreSQL restart turns every request in flight into a 500 with the generic
error page, which says "our fault" and tells no client to retry. A 503 with `Retry-After` is what
proxies, scripts and people know to retry; the traceback goes to the log, never to the client.
"""

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

MESSAGE = "Database unavailable, try again."
RETRY_AFTER_SECONDS = 5
PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>Database unavailable</title>"
    "<h1>Database unavailable</h1><p>The ledger cannot reach its database just now: "
    "try again in a few seconds.</p></html>"
)


class DatabaseUnavailableMiddleware:
    """Map the database's connection errors, raised from any view, to a short 503."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        # ERROR with the traceback: an OperationalError can also be a bug (SQLite's "no such
        # column"), and the log must show it.
        logger.error(
            "Database unavailable: %s %s", request.method, request.path, exc_info=exception
        )
        if request.path.startswith("/api/"):
            response = JsonResponse({"detail": MESSAGE}, status=503)
        else:
            response = HttpResponse(PAGE, status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
