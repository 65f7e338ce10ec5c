"""One FilterSet per queried model. The API lists, the totals endpoint, CSV output and the admin
totals page all filter through these, so `?donor=GB` means the same thing everywhere.

Unknown codes and malformed values are errors that name the parameter (a 400 in the API), never a
silently empty result. Withdrawn pledges are left out unless `status` asks for them, drafts
unless `review` does, which only those `aid.selectors.sees_drafts` lets see them may
(docs/operations.md, "Roles"). The rows a FilterSet narrows are the viewer's to begin with: views
hand it `visible_pledges` or `visible_lines`.
"""

import django_filters as filters
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef, Q
from django_filters.fields import ModelMultipleChoiceField
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from aid.models import (
    AidType,
    Category,
    ItemAlias,
    ItemType,
    Line,
    LineAsOf,
    Official,
    Party,
    Pledge,
)
from aid.selectors import sees_drafts
from ledger.api.filters import StableOrderingFilter
from sources.models import PledgeSource, Source
from sources.normalise import normalise_url, validate_url


@extend_schema_field(OpenApiTypes.STR)
class NaturalKeyFilter(filters.ModelMultipleChoiceFilter):
    """Records by their natural key (code, slug, name), repeatable; an unknown key is an error.

    Every path these filter along is to-one (a line's pledge's donor), so no row can match
    twice: no DISTINCT, which would make the database sort every matching row."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("distinct", False)
        super().__init__(*args, **kwargs)


def codes(field_name: str, label: str) -> NaturalKeyFilter:
    return NaturalKeyFilter(
        field_name=f"{field_name}__code",
        to_field_name="code",
        queryset=Party.objects.all(),
        label=f"{label}: party code (GB, US, EU, ...); repeat for several",
    )


class IdsField(ModelMultipleChoiceField):
    def _check_values(self, value):
        # An id too big for the database is no record's: an error, not a crash (SQLite overflows).
        for item in value:
            text = str(item).strip().lstrip("+-")
            if text.isdigit() and int(text) >= 2**63:
                raise ValidationError("“%(id)s” is not a valid id.", params={"id": item})
        return super()._check_values(value)


class IdFilter(NaturalKeyFilter):
    field_class = IdsField


def ids(field_name: str, model, label: str) -> IdFilter:
    return IdFilter(
        field_name=field_name, queryset=model.objects.all(), label=f"{label} by id; repeatable"
    )


def validate_source(value):
    """A source filter names a URL the ledger holds, or it is an error, not an empty result."""
    if "\x00" in value:
        return  # the field's own validator refuses it; PostgreSQL cannot even compare it
    validate_url(value)
    if value and not Source.objects.filter(url=normalise_url(value)).exists():
        raise ValidationError("No source with this URL is in the ledger.")


class PledgeFields(filters.FilterSet):
    """Filters on a pledge's own fields, for lines (through `pledge__`) and for pledges."""

    prefix = ""

    status = filters.MultipleChoiceFilter(
        choices=Pledge.Status.choices,
        method="filter_status",
        label="pledge status; repeatable. Withdrawn pledges are left out unless asked for",
    )
    announced_after = filters.DateFilter(
        method="filter_after", label="announced on or after this date (YYYY-MM-DD)"
    )
    announced_before = filters.DateFilter(
        method="filter_before", label="announced on or before this date (YYYY-MM-DD)"
    )
    source = filters.CharFilter(
        method="filter_source",
        label="URL of a source the pledge cites (any spelling of it)",
        validators=[validate_source],
    )
    publisher = filters.CharFilter(
        method="filter_publisher", label="publisher of a source the pledge cites (exact, any case)"
    )
    review = filters.MultipleChoiceFilter(
        choices=Pledge.Review.choices,
        method="filter_review",
        label="review state; repeatable. Verified (published) pledges only unless signed-in "
        "staff ask for drafts: new pledges and pending revisions (review=draft&review=verified "
        "for the ledger as it will be, each pledge once)",
    )

    def path(self, name: str) -> str:
        return f"{self.prefix}{name}"

    @property
    def pledge_pk(self) -> str:
        return self.prefix.rstrip("_") or "pk"

    def filter_queryset(self, queryset):
        if not self.form.cleaned_data.get("status"):
            queryset = queryset.exclude(**{self.path("status"): Pledge.Status.WITHDRAWN})
        review = self.form.cleaned_data.get("review") or [Pledge.Review.VERIFIED]
        if Pledge.Review.DRAFT in review and not sees_drafts(self.request):
            raise PermissionDenied("review=draft: only signed-in staff can see drafts.")
        queryset = queryset.filter(**{self.path("review__in"): review})
        if len(set(review)) == 2:
            # The ledger as it will be: a pledge with a pending revision counts once, as the
            # revision, never as both (aid.revisions).
            queryset = queryset.exclude(**{self.path("pending__isnull"): False})
        return super().filter_queryset(queryset)

    def filter_review(self, queryset, name, value):
        return queryset  # applied in filter_queryset, with its default and its permission

    def filter_status(self, queryset, name, value):
        return queryset.filter(**{self.path("status__in"): value})

    def filter_after(self, queryset, name, value):
        return queryset.filter(**{self.path("announced_on__gte"): value})

    def filter_before(self, queryset, name, value):
        return queryset.filter(**{self.path("announced_on__lte"): value})

    def filter_source(self, queryset, name, value):
        links = PledgeSource.objects.filter(
            pledge=OuterRef(self.pledge_pk), source__url=normalise_url(value)
        )
        return queryset.filter(Exists(links))

    def filter_publisher(self, queryset, name, value):
        links = PledgeSource.objects.filter(
            pledge=OuterRef(self.pledge_pk), source__publisher__iexact=value.strip()
        )
        return queryset.filter(Exists(links))

    def in_categories(self, categories, line_path: str = "") -> Q:
        """Lines in these categories or in any of their subcategories."""
        return Q(**{f"{line_path}category__in": categories}) | Q(
            **{f"{line_path}category__parent__in": categories}
        )


class LineFilterSet(PledgeFields):
    prefix = "pledge__"

    donor = codes("pledge__donor", "donor")
    donor_id = ids("pledge__donor", Party, "donor")
    recipient = codes("pledge__recipient", "recipient")
    recipient_id = ids("pledge__recipient", Party, "recipient")
    category = NaturalKeyFilter(
        queryset=Category.objects.all(),
        to_field_name="slug",
        method="filter_category",
        label="category slug, including its subcategories; repeatable",
    )
    aid_type = filters.ChoiceFilter(
        field_name="category__aid_type",
        choices=AidType.choices,
        label="military, financial or humanitarian",
    )
    item_type = NaturalKeyFilter(
        field_name="item_type__name",
        queryset=ItemType.objects.all(),
        to_field_name="name",
        label="catalogue item type by name; repeatable",
    )
    official = NaturalKeyFilter(
        field_name="pledge__official__name",
        queryset=Official.objects.all(),
        to_field_name="name",
        label="announcing official by name; repeatable",
    )
    pledge = filters.CharFilter(field_name="pledge__ref", label="pledge reference")
    # Not `currency`: on the totals endpoint that names the currency to convert to.
    value_currency = filters.CharFilter(
        field_name="currency", lookup_expr="iexact", label="currency of the value as announced"
    )
    unit = filters.ChoiceFilter(choices=Line._meta.get_field("unit").choices)
    quantity_min = filters.NumberFilter(field_name="quantity", lookup_expr="gte")
    quantity_max = filters.NumberFilter(field_name="quantity", lookup_expr="lte")
    value_min = filters.NumberFilter(
        field_name="value", lookup_expr="gte", label="value at least, in the line's own currency"
    )
    value_max = filters.NumberFilter(
        field_name="value", lookup_expr="lte", label="value at most, in the line's own currency"
    )
    q = filters.CharFilter(method="filter_text", label="text in the item, official or source title")
    ordering = StableOrderingFilter(
        fields=[
            ("pledge__announced_on", "announced_on"),
            ("pledge__donor__code", "donor"),
            ("category__slug", "category"),
            ("quantity", "quantity"),
            ("value", "value"),
            ("id", "id"),
        ]
    )

    class Meta:
        model = Line
        fields = []

    def filter_category(self, queryset, name, value):
        return queryset.filter(self.in_categories(value)) if value else queryset

    def filter_text(self, queryset, name, value):
        titles = PledgeSource.objects.filter(
            pledge=OuterRef("pledge"), source__title__icontains=value
        )
        return queryset.filter(
            Q(description__icontains=value)
            | Q(pledge__official__name__icontains=value)
            | Exists(titles)
        )


class LineAsOfFilterSet(LineFilterSet):
    """The same filters over the lines as published at a moment (aid/as_of.py)."""

    class Meta(LineFilterSet.Meta):
        model = LineAsOf


class LineFilterBackend(DjangoFilterBackend):
    """The line filters, over the live lines or over the lines as published then."""

    def get_filterset_class(self, view, queryset=None):
        if queryset is not None and queryset.model is LineAsOf:
            return LineAsOfFilterSet
        return super().get_filterset_class(view, queryset)


class PledgeFilterSet(PledgeFields):
    donor = codes("donor", "donor")
    donor_id = ids("donor", Party, "donor")
    recipient = codes("recipient", "recipient")
    recipient_id = ids("recipient", Party, "recipient")
    official = NaturalKeyFilter(
        field_name="official__name",
        queryset=Official.objects.all(),
        to_field_name="name",
        label="official by name",
    )
    category = NaturalKeyFilter(
        queryset=Category.objects.all(),
        to_field_name="slug",
        method="filter_category",
        label="pledges with a line in this category or its subcategories; repeatable",
    )
    ref = filters.CharFilter(label="pledge reference")
    q = filters.CharFilter(
        method="filter_text", label="text in the items, package, official or source titles"
    )
    ordering = StableOrderingFilter(
        fields=[("announced_on", "announced_on"), ("donor__code", "donor"), ("id", "id")]
    )

    class Meta:
        model = Pledge
        fields = []

    def filter_category(self, queryset, name, value):
        if not value:
            return queryset
        lines = Line.objects.filter(self.in_categories(value), pledge=OuterRef("pk"))
        return queryset.filter(Exists(lines))

    def filter_text(self, queryset, name, value):
        lines = Line.objects.filter(pledge=OuterRef("pk"), description__icontains=value)
        titles = PledgeSource.objects.filter(pledge=OuterRef("pk"), source__title__icontains=value)
        return queryset.filter(
            Q(package__icontains=value)
            | Q(official__name__icontains=value)
            | Exists(lines)
            | Exists(titles)
        )


class PartyFilterSet(filters.FilterSet):
    code = filters.CharFilter(lookup_expr="iexact")
    q = filters.CharFilter(method="filter_text", label="text in the code or name")

    class Meta:
        model = Party
        fields = ["kind"]

    def filter_text(self, queryset, name, value):
        return queryset.filter(Q(code__iexact=value) | Q(name__icontains=value))


class OfficialFilterSet(filters.FilterSet):
    party = codes("party", "party")
    q = filters.CharFilter(method="filter_text", label="text in the name or title")

    class Meta:
        model = Official
        fields = []

    def filter_text(self, queryset, name, value):
        return queryset.filter(Q(name__icontains=value) | Q(title__icontains=value))


class CategoryFilterSet(filters.FilterSet):
    parent = filters.ModelChoiceFilter(
        queryset=Category.objects.all(), to_field_name="slug", label="parent category slug"
    )
    level = filters.ChoiceFilter(
        choices=[(1, "1"), (2, "2")], method="filter_level", label="1 or 2"
    )

    class Meta:
        model = Category
        fields = ["aid_type", "un_register"]

    def filter_level(self, queryset, name, value):
        return queryset.filter(parent__isnull=value == "1")


class ItemTypeFilterSet(filters.FilterSet):
    category = filters.ModelChoiceFilter(
        queryset=Category.objects.all(),
        to_field_name="slug",
        method="filter_category",
        label="category slug, including its subcategories",
    )
    q = filters.CharFilter(method="filter_text", label="text in the name or an alias")

    class Meta:
        model = ItemType
        fields = []

    def filter_category(self, queryset, name, value):
        return queryset.filter(Q(category=value) | Q(category__parent=value))

    def filter_text(self, queryset, name, value):
        aliases = ItemAlias.objects.filter(item_type=OuterRef("pk"), alias__icontains=value)
        return queryset.filter(Q(name__icontains=value) | Exists(aliases))
