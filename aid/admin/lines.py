"""The pledge list's lines CSV: export what the list shows, and import a file in two steps.

The admin only parses and renders: `aid.lines.export` writes the file, `aid.lines.importer`
checks and applies it. Between the preview and the confirm step an upload waits on disk under a
random token that only the uploading session knows, so what is confirmed is exactly what was
previewed.
"""

import os
import re
import secrets
import time
from functools import partial
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ERROR_FLAG
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import path, reverse

from aid.lines.columns import COLUMNS, IGNORED_ON_INPUT, REQUIRED
from aid.lines.export import export_response
from aid.lines.importer import ImportRefused, lines_import
from aid.models import Line
from ledger.api.csv import csv_lines

SESSION_KEY = "aid_lines_imports"  # {token: [file name as uploaded, reason]}, oldest first
TOKEN = re.compile(r"[0-9a-f]{32}")
KEPT_UPLOADS = 10  # per session: previews left open in other tabs still confirm
STALE_SECONDS = 24 * 3600  # abandoned previews are deleted after this
SHOWN = 500  # plans or problems listed on a page; the rest are counted


# --- Export -------------------------------------------------------------------------------------


def csv_response(pledges) -> StreamingHttpResponse:
    """The canonical lines CSV of `pledges`."""
    return export_response(Line.objects.filter(pledge__in=pledges))


@admin.action(description="Export lines of the selected pledges (CSV)", permissions=["view"])
def export_lines(model_admin, request, pledges):
    return csv_response(pledges)


def export_results(model_admin, request):
    """The lines of every pledge the list shows with this query string, on all of its pages."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    try:
        pledges = model_admin.get_changelist_instance(request).get_queryset(request)
    except IncorrectLookupParameters:
        # What the list itself does with parameters it cannot apply.
        return HttpResponseRedirect(f"{reverse('admin:aid_pledge_changelist')}?{ERROR_FLAG}=1")
    return csv_response(pledges)


# --- Import -------------------------------------------------------------------------------------


class UploadForm(forms.Form):
    file = forms.FileField(label="CSV file")
    reason = forms.CharField(
        label="Reason for withdrawals",
        required=False,
        max_length=100,
        help_text="Needed when the file withdraws pledges (status withdrawn), which only reviewers "
        "may do; recorded in their history.",
    )

    def clean_file(self):
        """Refuse an oversized file by its size alone, before any of it is read."""
        upload = self.cleaned_data["file"]
        limit = settings.LEDGER_IMPORT_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                f"The file is {filesizeformat(upload.size)}; the limit is {filesizeformat(limit)}."
            )
        return upload


def check_import_permission(model_admin, request) -> None:
    """An import creates and changes pledges, so it needs both permissions."""
    if not (model_admin.has_add_permission(request) and model_admin.has_change_permission(request)):
        raise PermissionDenied


def import_page(model_admin, request):
    """Upload → preview (a dry run) → confirm (the same file, imported for real) or cancel."""
    check_import_permission(model_admin, request)
    if request.method == "POST" and "token" in request.POST:
        return confirm(model_admin, request)
    form = UploadForm(request.POST or None, request.FILES or None)
    if not form.is_valid():
        return upload_page(model_admin, request, form)
    upload = form.cleaned_data["file"]
    filename = Path(upload.name).name[:200]
    data = b"".join(upload.chunks())
    reason = form.cleaned_data["reason"]
    try:
        report = lines_import(
            actor=request.user,
            data=data,
            filename=filename,
            dry_run=True,
            withdraw_reason=reason,
        )
    except ImportRefused as refusal:
        form.add_error("file", str(refusal))
        return upload_page(model_admin, request, form)
    if not report.ok:
        again = UploadForm(initial={"reason": reason})
        return upload_page(model_admin, request, again, report=report, filename=filename)
    token = keep_upload(request, data, filename, reason)
    return render(
        model_admin,
        request,
        "admin/aid/pledge/import_preview.html",
        "Import lines: preview",
        report=report,
        filename=filename,
        reason=reason,
        token=token,
        plans=report.plans[:SHOWN],
        more_plans=max(len(report.plans) - SHOWN, 0),
        warnings=[str(problem) for problem in report.warnings[:SHOWN]],
        more_warnings=max(len(report.warnings) - SHOWN, 0),
    )


def confirm(model_admin, request):
    """Import the previewed file, or drop it on cancel; only the uploading session may do either."""
    token = request.POST["token"]
    kept = kept_uploads(request).get(token) if TOKEN.fullmatch(token) else None
    if kept is None or not upload_path(token).is_file():
        refusal = "This upload has expired or was not made in this session: upload the file again."
        return upload_page(model_admin, request, UploadForm(), refusal=refusal)
    filename, reason = kept
    changelist = reverse("admin:aid_pledge_changelist")
    if "cancel" in request.POST:
        forget_upload(request, token)
        messages.info(request, f"Import of {filename} cancelled: nothing was imported.")
        return HttpResponseRedirect(changelist)
    data = upload_path(token).read_bytes()
    try:
        report = lines_import(
            actor=request.user,
            data=data,
            filename=filename,
            dry_run=False,
            withdraw_reason=reason,
        )
    except ImportRefused as refusal:
        forget_upload(request, token)
        return upload_page(model_admin, request, UploadForm(), refusal=str(refusal))
    forget_upload(request, token)
    if not report.ok:  # the ledger changed since the preview
        return upload_page(model_admin, request, UploadForm(), report=report, filename=filename)
    messages.success(request, f"From {filename}: {' '.join(report.summary().splitlines())}")
    return HttpResponseRedirect(changelist)


def import_template(model_admin, request):
    """An empty file with the header, to fill in a spreadsheet."""
    check_import_permission(model_admin, request)
    response = HttpResponse(
        "".join(csv_lines([], header=COLUMNS)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="lines-template.csv"'
    return response


def upload_page(model_admin, request, form, *, report=None, filename="", refusal=""):
    """The upload form, after the problems that stopped the last file when there were any."""
    errors = report.errors if report else []
    return render(
        model_admin,
        request,
        "admin/aid/pledge/import_lines.html",
        "Import lines (CSV)",
        form=form,
        refusal=refusal,
        filename=filename,
        errors=[str(problem) for problem in errors[:SHOWN]],
        error_count=len(errors),
        more_errors=max(len(errors) - SHOWN, 0),
        max_bytes=settings.LEDGER_IMPORT_MAX_BYTES,
        max_rows=f"{settings.LEDGER_IMPORT_MAX_ROWS:,}",
        columns=[(name, name in REQUIRED, name in IGNORED_ON_INPUT) for name in COLUMNS],
    )


def render(model_admin, request, template, title, **context):
    return TemplateResponse(
        request,
        template,
        {
            **model_admin.admin_site.each_context(request),
            "title": title,
            "opts": model_admin.model._meta,
            **context,
        },
    )


# --- Uploads waiting for their confirm step ------------------------------------------------------


def upload_path(token: str) -> Path:
    """The file of a token that `TOKEN` matched, so it cannot name anything outside the folder."""
    return Path(settings.LEDGER_IMPORT_DIR) / f"{token}.csv"


def kept_uploads(request) -> dict[str, list[str]]:
    return dict(request.session.get(SESSION_KEY, {}))


def keep_upload(request, data: bytes, filename: str, reason: str) -> str:
    """Save `data` under a new token that this session alone holds, with the withdrawal reason
    given with it (kept in the session, so the confirm imports what was previewed); drop
    abandoned uploads."""
    folder = Path(settings.LEDGER_IMPORT_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    delete_stale(folder)
    token = secrets.token_hex(16)
    descriptor = os.open(upload_path(token), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    uploads = kept_uploads(request)
    uploads[token] = [filename, reason]
    for old in list(uploads)[:-KEPT_UPLOADS]:
        upload_path(old).unlink(missing_ok=True)
        del uploads[old]
    request.session[SESSION_KEY] = uploads
    return token


def forget_upload(request, token: str) -> None:
    upload_path(token).unlink(missing_ok=True)
    uploads = kept_uploads(request)
    uploads.pop(token, None)
    request.session[SESSION_KEY] = uploads


def delete_stale(folder: Path) -> None:
    cutoff = time.time() - STALE_SECONDS
    for upload in folder.glob("*.csv"):
        try:
            if upload.stat().st_mtime < cutoff:
                upload.unlink()
        except FileNotFoundError:  # another request deleted it first
            pass


def urls(model_admin) -> list:
    """The pledge admin's extra pages, placed before its `<object_id>/` patterns."""

    def view(function):
        return model_admin.admin_site.admin_view(partial(function, model_admin))

    return [
        path("export-lines/", view(export_results), name="aid_pledge_export_lines"),
        path("import-lines/", view(import_page), name="aid_pledge_import_lines"),
        path(
            "import-lines/template.csv",
            view(import_template),
            name="aid_pledge_import_template",
        ),
    ]
