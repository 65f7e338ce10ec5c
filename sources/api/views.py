from aid.api.views import LedgerViewSet
from sources.api.serializers import SourceSerializer
from sources.filters import SourceFilterSet
from sources.models import Source


class SourceViewSet(LedgerViewSet):
    """Articles, statements and records; each lists the pledges it supports."""

    queryset = Source.objects.prefetch_related("pledge_links").order_by("-published_on", "id")
    serializer_class = SourceSerializer
    filterset_class = SourceFilterSet
    csv_name = "sources"
