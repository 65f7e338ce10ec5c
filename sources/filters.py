"""The FilterSet for sources, shared by the API list and its CSV output."""

import django_filters as filters
from django.db.models import Q

from aid.selectors import visible_pledges
from ledger.api.filters import StableOrderingFilter
from sources.models import Source
from sources.normalise import normalise_url, validate_url


class SourceFilterSet(filters.FilterSet):
    url = filters.CharFilter(
        method="filter_url", label="URL, in any spelling of it", validators=[validate_url]
    )
    publisher = filters.CharFilter(lookup_expr="iexact")
    published_after = filters.DateFilter(field_name="published_on", lookup_expr="gte")
    published_before = filters.DateFilter(field_name="published_on", lookup_expr="lte")
    pledge = filters.CharFilter(method="filter_pledge", label="pledge reference")
    q = filters.CharFilter(method="filter_text", label="text in the title, publisher or URL")
    ordering = StableOrderingFilter(
        fields=[("published_on", "published_on"), ("title", "title"), ("id", "id")]
    )

    class Meta:
        model = Source
        fields = ["kind", "language"]

    def filter_url(self, queryset, name, value):
        return queryset.filter(url=normalise_url(value))

    def filter_pledge(self, queryset, name, value):
        pledges = visible_pledges(self.request).filter(ref=value)
        return queryset.filter(pledge_links__pledge__in=pledges).distinct()

    def filter_text(self, queryset, name, value):
        return queryset.filter(
            Q(title__icontains=value) | Q(publisher__icontains=value) | Q(url__icontains=value)
        )
