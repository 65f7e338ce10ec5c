from django.db.models import Prefetch

from aid.filters import visible_pledges
from ledger.api.viewsets import LedgerViewSet
from sources.api.serializers import SourceSerializer
from sources.filters import SourceFilterSet
from sources.models import PledgeSource, Source


class SourceViewSet(LedgerViewSet):
    """Articles, statements and records; each lists the pledges it supports."""

    serializer_class = SourceSerializer
    filterset_class = SourceFilterSet
    csv_name = "sources"

    def get_queryset(self):
        """Each source lists the pledges it supports that the reader may see: drafts are left out
        for the public, in JSON and in CSV alike."""
        citations = PledgeSource.objects.filter(pledge__in=visible_pledges(self.request))
        return Source.objects.prefetch_related(Prefetch("pledge_links", citations)).order_by(
            "-published_on", "id"
        )
