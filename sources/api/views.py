from django.db.models import Prefetch

from aid.selectors import visible_citations
from ledger.api.viewsets import LedgerViewSet
from sources.api.serializers import SourceSerializer
from sources.filters import SourceFilterSet
from sources.models import Source


class SourceViewSet(LedgerViewSet):
    """Articles, statements and records; each lists the pledges it supports."""

    serializer_class = SourceSerializer
    filterset_class = SourceFilterSet
    csv_name = "sources"

    def get_queryset(self):
        """Each source lists the pledges it supports that the reader may see: drafts are left out
        for the public, in JSON and in CSV alike."""
        citations = Prefetch(
            "pledge_links", visible_citations(self.request), to_attr="visible_links"
        )
        return Source.objects.prefetch_related(citations).order_by("-published_on", "id")

    def perform_create(self, serializer):
        serializer.save()
        self.read_back(serializer)

    def perform_update(self, serializer):
        serializer.save()
        self.read_back(serializer)

    def read_back(self, serializer):
        """Answer a write with the source as this reader may read it: the saved instance would
        list every pledge it supports, drafts included."""
        serializer.instance = self.get_queryset().get(pk=serializer.instance.pk)
