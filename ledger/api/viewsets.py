"""What every resource's views share: `?format=csv` on lists, and the ledger's write policy."""

from rest_framework import viewsets

from ledger.api.csv import stream_csv
from ledger.api.schema import LedgerAutoSchema


class CSVListMixin:
    """`?format=csv` streams every filtered row (no pagination) in the JSON rows' shape.

    Filters apply to lists only: a record's own URL finds it whatever its status."""

    csv_name = "rows"
    schema = LedgerAutoSchema()

    def list(self, request, *args, **kwargs):
        if request.accepted_renderer.format != "csv":
            return super().list(request, *args, **kwargs)
        return self.list_csv()

    def list_csv(self):
        queryset = self.filter_queryset(self.get_queryset())
        serializer = self.get_serializer_class()(context=self.get_serializer_context())
        rows = (serializer.to_representation(row) for row in queryset.iterator(chunk_size=2000))
        return stream_csv(rows, self.csv_name, header=list(serializer.fields))

    def filter_queryset(self, queryset):
        # The filters choose a list's rows; a record's own URL finds it whatever they would say
        # (a withdrawn pledge is left out of lists, not out of the ledger).
        if self.detail:
            return queryset
        return super().filter_queryset(queryset)


class LedgerViewSet(CSVListMixin, viewsets.ModelViewSet):
    """Read for everyone (by default), write with model permissions, never delete."""

    http_method_names = ["get", "post", "put", "patch", "head", "options"]
