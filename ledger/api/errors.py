"""Errors as JSON, whatever format was asked for, including 404 and 500 outside DRF's views."""

from django.http import JsonResponse
from django.views import defaults
from rest_framework.renderers import JSONRenderer
from rest_framework.views import exception_handler


def json_exception_handler(exc, context):
    """DRF's handler, but an error is never rendered as CSV: a spreadsheet row hides it."""
    response = exception_handler(exc, context)
    request = context.get("request")
    if response is not None and request is not None:
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = JSONRenderer.media_type
    return response


def not_found(request, exception=None):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Server error."}, status=500)
    return defaults.server_error(request)
