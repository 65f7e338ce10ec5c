"""Sources in the admin: each source's page lists the pledges it supports."""

from django import forms
from django.contrib import admin
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from aid.selectors import visible_citations
from sources.models import PledgeSource, Source
from sources.normalise import normalise_url
from sources.services import source_save


class SourceForm(forms.ModelForm):
    class Meta:
        model = Source
        fields = ["url", "title", "publisher", "published_on", "kind", "language", "archive_url"]

    def clean_url(self):
        url = self.cleaned_data.get("url")
        if not url:
            return None
        try:
            normalised = normalise_url(url)
        except ValueError as error:
            # Some URLs pass URLValidator but cannot be split (a port above 65535).
            raise forms.ValidationError(f"Enter a valid URL ({error}).", code="invalid") from None
        existing = Source.objects.filter(url=normalised).exclude(pk=self.instance.pk).first()
        if existing:
            link = reverse("admin:sources_source_change", args=[existing.pk])
            raise forms.ValidationError(
                format_html(
                    'This article is already in the ledger as <a href="{}" target="_blank">'
                    "source #{}: “{}”</a>. Cite that source instead of adding it again.",
                    link,
                    existing.pk,
                    existing,
                ),
                code="duplicate_url",
            )
        return url


class SupportedPledgeInline(admin.TabularInline):
    """Read-only: links are made on the pledge's form, where the pledge is validated whole."""

    model = PledgeSource
    fk_name = "source"
    fields = ["pledge_link", "role", "quote"]
    readonly_fields = ["pledge_link", "role", "quote"]
    show_change_link = False
    can_delete = False
    extra = 0
    verbose_name = "pledge supported by this source"
    verbose_name_plural = "pledges supported by this source"

    def get_queryset(self, request):
        cited = super().get_queryset(request) & visible_citations(request)
        return cited.select_related("pledge__donor")

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="pledge")
    def pledge_link(self, link):
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:aid_pledge_change", args=[link.pledge_id]),
            link.pledge,
        )


@admin.register(Source)
class SourceAdmin(SimpleHistoryAdmin):
    form = SourceForm
    list_display = ["__str__", "publisher", "kind", "published_on", "pledge_count", "url"]
    list_filter = ["kind", "language", ("published_on", admin.DateFieldListFilter)]
    search_fields = ["title", "url", "publisher"]
    # Explicit, because the pledge-count annotation groups rows and a grouped query ignores
    # Meta.ordering: the source autocomplete would otherwise page through an unordered list.
    ordering = ["-published_on", "title", "pk"]
    show_full_result_count = False
    date_hierarchy = "published_on"
    inlines = [SupportedPledgeInline]

    def get_queryset(self, request):
        """Each source with the number of pledges it supports that this user may see."""
        supported = (
            visible_citations(request)
            .filter(source=OuterRef("pk"))
            .values("source")
            .annotate(count=Count("pk"))
            .values("count")
        )
        return super().get_queryset(request).annotate(pledge_count=Coalesce(Subquery(supported), 0))

    @admin.display(description="pledges", ordering="pledge_count")
    def pledge_count(self, source):
        return source.pledge_count

    def save_model(self, request, obj, form, change):
        source_save(actor=request.user, source=obj)

    def has_delete_permission(self, request, obj=None):
        return False
