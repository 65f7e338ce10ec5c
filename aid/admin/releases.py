"""Releases in the admin: read-only records, and "Make a release" (the add page) for those with
`aid.add_release` (reviewers and administrators), through the same service as the command."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html_join

from aid.models import Release
from aid.releases.make import release_create


class ReleaseForm(forms.Form):
    name = forms.CharField(max_length=64, help_text=Release._meta.get_field("name").help_text)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    list_display = ["name", "created_at", "pledges", "lines", "created_by", "note"]
    list_select_related = ["created_by"]
    fields = [
        "name", "created_at", "created_by", "note", "previous", "pledges", "lines", "checksums",
    ]  # fmt: skip
    readonly_fields = fields

    def has_change_permission(self, request, obj=None):
        return False  # a release is never changed

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="files")
    def checksums(self, release):
        return format_html_join(
            "\n", "<p>{}: {} bytes, sha256 {}</p>", ((f["name"], f["bytes"], f["sha256"])
                                                      for f in release.files)
        )  # fmt: skip

    def add_view(self, request, form_url="", extra_context=None):
        """Make a release: a name and a note; the files are written by the service."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ReleaseForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            try:
                release = release_create(actor=request.user, **form.cleaned_data)
            except ValidationError as error:
                for field, problems in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, problems)
            else:
                self.log_addition(request, release, [{"added": {}}])
                self.message_user(
                    request,
                    f"Release {release.name}: {release.pledges} pledges, {release.lines} lines.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:aid_release_change", args=[release.pk]))
        return TemplateResponse(
            request,
            "admin/aid/release/make.html",
            {
                **self.admin_site.each_context(request),
                "title": "Make a release",
                "opts": self.opts,
                "form": form,
            },
        )
