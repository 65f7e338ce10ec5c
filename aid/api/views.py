"""API views: parse, call a selector or a service, render. Filtering is the FilterSets' job."""

from django.core.exceptions import ValidationError as ModelValidationError
from django.db.models import Prefetch
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from aid.api.serializers import (
    CategorySerializer,
    FlatLineSerializer,
    ItemTypeSerializer,
    OfficialSerializer,
    PartySerializer,
    PledgeSerializer,
    TotalsSerializer,
    WithdrawSerializer,
    model_errors,
)
from aid.as_of import install, parse_moment
from aid.filters import (
    CategoryFilterSet,
    ItemTypeFilterSet,
    LineFilterBackend,
    LineFilterSet,
    OfficialFilterSet,
    PartyFilterSet,
    PledgeFilterSet,
)
from aid.lines.datapackage import descriptor
from aid.lines.export import EXPORT_ORDER, export_response
from aid.models import Category, CitationAsOf, ItemType, Line, LineAsOf, Official, Party, Pledge
from aid.revisions import PendingExists
from aid.selectors import (
    TotalsQuery,
    columns,
    totals,
    visible_citations,
    visible_lines,
    visible_pledges,
)
from aid.services import StalePledge, pledge_withdraw, pledges_verify
from aid.totals_query import TotalsQuerySerializer
from ledger.api.csv import stream_csv
from ledger.api.permissions import ReadOnly, may
from ledger.api.schema import LedgerAutoSchema
from ledger.api.viewsets import CSVListMixin, LedgerViewSet


class PartyViewSet(CSVListMixin, viewsets.ReadOnlyModelViewSet):
    """Donors and recipients, seeded from ISO 3166-1 plus EU and NATO (read-only)."""

    queryset = Party.objects.order_by("code")
    serializer_class = PartySerializer
    filterset_class = PartyFilterSet
    lookup_field = "code"
    # Keys the database can compare: PostgreSQL refuses a NUL byte with a server error.
    lookup_value_regex = "[A-Za-z0-9]+"
    csv_name = "parties"


class OfficialViewSet(LedgerViewSet):
    queryset = Official.objects.select_related("party").order_by("name", "id")
    serializer_class = OfficialSerializer
    filterset_class = OfficialFilterSet
    csv_name = "officials"


class CategoryViewSet(LedgerViewSet):
    queryset = Category.objects.select_related("parent").order_by("slug")
    serializer_class = CategorySerializer
    filterset_class = CategoryFilterSet
    lookup_field = "slug"
    lookup_value_regex = "[-a-zA-Z0-9_]+"  # a SlugField's characters
    csv_name = "categories"


class ItemTypeViewSet(LedgerViewSet):
    queryset = ItemType.objects.select_related("category").prefetch_related("aliases")
    serializer_class = ItemTypeSerializer
    filterset_class = ItemTypeFilterSet
    csv_name = "item-types"

    def get_queryset(self):
        return super().get_queryset().order_by("name", "id")


PENDING = OpenApiResponse(
    PledgeSerializer,
    "The pledge is published: the change is its pending revision (this body; Location is its "
    "URL) until a reviewer publishes it.",
)


@extend_schema_view(
    update=extend_schema(responses={200: PledgeSerializer, 202: PENDING}),
    partial_update=extend_schema(responses={200: PledgeSerializer, 202: PENDING}),
)
class PledgeViewSet(LedgerViewSet):
    """Pledges with their lines and sources; created and changed whole, withdrawn, never deleted."""

    serializer_class = PledgeSerializer
    filterset_class = PledgeFilterSet
    csv_name = "pledges"

    def get_queryset(self):
        """The reader's pledges: a draft's own URL finds it for the team only, and answers anyone
        else as a pledge that does not exist (lists also filter by `review`)."""
        citations = visible_citations(self.request).select_related("source")
        return (
            visible_pledges(self.request)
            .select_related("donor", "recipient", "official", "reviewed_by", "pending")
            .prefetch_related(
                Prefetch("lines", Line.objects.select_related("item_type", "category")),
                Prefetch("source_links", citations),
            )
            .order_by("-announced_on", "-id")
        )

    def retrieve(self, request, *args, **kwargs):
        pledge = self.get_object()
        return Response(self.get_serializer(pledge).data, headers={"ETag": etag(pledge)})

    def update(self, request, *args, **kwargs):
        """PUT or PATCH; with `If-Match: <the ETag of the pledge as read>` the write is refused
        (412) when someone else changed the pledge since. A write that loses a race with another
        is refused the same way, with or without If-Match."""
        try:
            response = super().update(request, *args, **kwargs)
        except StalePledge as error:
            raise PreconditionFailed(" ".join(error.messages)) from error
        except PendingExists as error:
            raise Conflict(" ".join(error.messages)) from error
        if self.saved.revision_of_id and str(self.saved.revision_of_id) == str(kwargs["pk"]):
            return self.pending_answer(self.saved)
        response["ETag"] = etag(self.saved)
        return response

    def pending_answer(self, revision: Pledge) -> Response:
        """202: the change to a published pledge is a pending revision, at its own URL, until a
        reviewer publishes it; the published pledge is unchanged."""
        revision = self.get_queryset().get(pk=revision.pk)
        url = self.request.build_absolute_uri(reverse("pledge-detail", args=[revision.pk]))
        return Response(
            self.get_serializer(revision).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"ETag": etag(revision), "Location": url},
        )

    def perform_update(self, serializer):
        self.check_if_match(serializer.instance)
        self.saved = serializer.save()

    def check_if_match(self, pledge: Pledge) -> None:
        if_match = self.request.headers.get("If-Match")
        if if_match is not None:
            tags = [tag.strip() for tag in if_match.split(",")]
            if "*" not in tags and etag(pledge) not in tags:
                raise PreconditionFailed(
                    f"This pledge was changed after you read it: it is now {etag(pledge)}, "
                    f"you sent If-Match: {if_match}. Nothing was saved: read it again, then "
                    "send your change with its new ETag."
                )

    @extend_schema(request=None, responses=PledgeSerializer)
    @action(detail=True, methods=["post"], permission_classes=[may("aid.verify_pledge")])
    def verify(self, request, pk=None):
        """Mark a draft verified (reviewers): it then shows in public lists, totals and CSV.
        With `If-Match`, refused (412) when the pledge changed since it was read."""
        pledge = self.get_object()
        self.check_if_match(pledge)
        try:
            pledges_verify(actor=request.user, pledges=[pledge])
        except ModelValidationError as error:
            raise serializers.ValidationError({"review": error.messages}) from error
        # A published revision is gone into its pledge: answer with the pledge.
        pledge = self.get_queryset().get(pk=pledge.revision_of_id or pledge.pk)
        return Response(self.get_serializer(pledge).data, headers={"ETag": etag(pledge)})

    @extend_schema(request=WithdrawSerializer, responses={200: PledgeSerializer, 202: PENDING})
    @action(detail=True, methods=["post"], permission_classes=[may("aid.withdraw_pledge")])
    def withdraw(self, request, pk=None):
        """Withdraw a pledge, with a reason; it stays in the ledger and its history."""
        pledge = self.get_object()
        reason = WithdrawSerializer(data=request.data)
        reason.is_valid(raise_exception=True)
        try:
            pledge = pledge_withdraw(
                actor=request.user, pledge=pledge, reason=reason.data["reason"]
            )
        except PendingExists as error:
            raise Conflict(" ".join(error.messages)) from error
        except ModelValidationError as error:
            raise model_errors(error) from error
        if pledge.revision_of_id:  # four eyes: another reviewer publishes the withdrawal
            return self.pending_answer(pledge)
        return Response(self.get_serializer(self.get_queryset().get(pk=pledge.pk)).data)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = "The pledge was changed since you read it."
    default_code = "precondition_failed"


def etag(pledge: Pledge) -> str:
    """A pledge's entity tag: its id and version, which every change to it increments."""
    return f'"pledge-{pledge.pk}-v{pledge.version}"'


def published_then(request):
    """With `as_of`, the lines as published at that moment (aid/as_of.py), for everyone alike:
    the published ledger has no drafts. None without `as_of`."""
    text = request.query_params.get("as_of")
    if text is None:
        return None
    try:
        moment = parse_moment(text)
    except ValueError as error:
        raise serializers.ValidationError({"as_of": [str(error)]}) from error
    if "draft" in request.query_params.getlist("review"):
        raise serializers.ValidationError(
            {"as_of": ["as_of reads the published ledger, which has no drafts: drop review."]}
        )
    install(moment)
    citations = CitationAsOf.objects.select_related("source")
    return LineAsOf.objects.select_related(
        "pledge__donor", "pledge__recipient", "pledge__official", "item_type", "category"
    ).prefetch_related(Prefetch("pledge__source_links", citations))


AS_OF = OpenApiParameter(
    "as_of",
    OpenApiTypes.STR,
    description="The published ledger as it stood then: YYYY-MM-DD (the end of that day, UTC) "
    "or an ISO datetime.",
)


@extend_schema_view(list=extend_schema(parameters=[AS_OF]))
class LineViewSet(CSVListMixin, viewsets.ReadOnlyModelViewSet):
    """Lines, one row each with its pledge's donor, date, official and source URLs (read-only:
    lines are written as part of their pledge).

    `?format=csv` gives the canonical lines CSV (docs/data-dictionary.md), in the same rows and
    default order as the JSON; `datapackage/` describes it for Frictionless Data tools."""

    serializer_class = FlatLineSerializer
    filterset_class = LineFilterSet
    filter_backends = [LineFilterBackend]
    csv_name = "lines"

    def get_queryset(self):
        if (published := published_then(self.request)) is not None:
            return published.order_by(*EXPORT_ORDER)
        citations = visible_citations(self.request).select_related("source")
        return (
            visible_lines(self.request)
            .select_related(
                "pledge__donor", "pledge__recipient", "pledge__official", "item_type", "category"
            )
            .prefetch_related(Prefetch("pledge__source_links", citations))
            .order_by(*EXPORT_ORDER)  # the CSV's order: both list the same rows alike
        )

    def list_csv(self):
        """The canonical lines CSV (SPEC), which `import_lines` reads back, not the JSON's shape."""
        lines = published_then(self.request)
        lines = visible_lines(self.request) if lines is None else lines
        return export_response(self.filter_queryset(lines))

    @extend_schema(
        filters=True,
        responses=OpenApiResponse(
            OpenApiTypes.OBJECT,
            description="A Frictionless Data Package (v1) descriptor: one tabular-data-resource "
            "whose `path` is this list's CSV URL with the same filters, and its Table Schema.",
        ),
    )
    @action(detail=False, methods=["get"], renderer_classes=[JSONRenderer], pagination_class=None)
    def datapackage(self, request, format=None):  # `format`: the route's .json suffix
        """Describe the lines CSV of these filters as a Frictionless Data package, so that tools
        can validate and type the file."""
        self.filter_queryset(self.get_queryset())  # a bad filter is a 400 here too
        params = request.query_params.copy()
        for name in list(params):
            if name not in self.filterset_class.base_filters:
                del params[name]  # `format`, pagination: the CSV's own URL sets what it needs
        params["format"] = "csv"
        url = request.build_absolute_uri(f"{reverse('line-list')}?{params.urlencode()}")
        return Response(descriptor(url))


class TotalsView(GenericAPIView):
    """Sums over the lines that the line filters select, grouped as asked (SPEC "Interfaces")."""

    filterset_class = LineFilterSet
    filter_backends = [LineFilterBackend]
    permission_classes = [ReadOnly]
    schema = LedgerAutoSchema()
    pagination_class = None

    def get_queryset(self):
        published = published_then(self.request)
        return visible_lines(self.request) if published is None else published

    @extend_schema(
        parameters=[TotalsQuerySerializer, AS_OF], filters=True, responses=TotalsSerializer
    )
    def get(self, request):
        params = TotalsQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        query = params.query()
        rows = totals(self.filter_queryset(self.get_queryset()), query)
        if request.accepted_renderer.format == "csv":
            return stream_csv(rows, "totals", header=columns(query))
        grand = totals(
            self.filter_queryset(self.get_queryset()),
            TotalsQuery(**{**query.__dict__, "group_by": (), "cumulative": False}),
        )
        answer = {
            "measure": query.measure,
            "group_by": list(query.group_by),
            "period": query.period if "period" in query.group_by else None,
            "currency": query.currency if query.measure == "value" else None,
            "fx": query.fx if query.measure == "value" else None,
            "basis": query.basis.describe() if query.measure == "value" else None,
            "cumulative": query.cumulative,
            "count": len(rows),
            "rows": rows,
            "total": grand,
        }
        return Response(TotalsSerializer(answer).data, status=status.HTTP_200_OK)
