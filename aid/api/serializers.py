"""API representations of the aid records. Writes to pledges go through `aid.services`."""

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as ModelValidationError
from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.settings import api_settings

from aid.models import Category, ItemType, Line, Official, Party, Pledge
from aid.revisions import PendingExists
from aid.rules import DEFAULT_RECIPIENT
from aid.selectors import item_type_for, sees_drafts
from aid.services import StalePledge, attribute, official_save, pledge_save
from sources.models import PledgeSource, Source


def model_errors(error: ModelValidationError) -> serializers.ValidationError:
    """A model's or service's errors as a 400 that names each field."""
    if hasattr(error, "error_dict"):
        return serializers.ValidationError(
            {
                api_settings.NON_FIELD_ERRORS_KEY if name == NON_FIELD_ERRORS else name: messages
                for name, messages in error.message_dict.items()
            }
        )
    return serializers.ValidationError({"non_field_errors": error.messages})


class NaturalKeyField(serializers.SlugRelatedField):
    """A record by its natural key (code, slug, name). A NUL character is refused before the
    query: PostgreSQL cannot compare text holding one, and would answer with a server error."""

    def to_internal_value(self, data):
        if isinstance(data, str) and "\x00" in data:
            raise serializers.ValidationError("Null characters are not allowed.")
        return super().to_internal_value(data)


@extend_schema_field(OpenApiTypes.STR)
class ItemTypeField(serializers.RelatedField):
    """An item type by its name or one of its aliases, matched as the importer matches them."""

    queryset = ItemType.objects.all()

    def to_internal_value(self, data):
        if not isinstance(data, str) or "\x00" in data:
            raise serializers.ValidationError("Give an item type's name or alias (text).")
        item_type = item_type_for(data)
        if item_type is None:
            raise serializers.ValidationError(f"No item type is named or aliased “{data}”.")
        return item_type

    def to_representation(self, value):
        return value.name


class PartySerializer(serializers.ModelSerializer):
    class Meta:
        model = Party
        fields = ["id", "code", "name", "kind"]


class OfficialSerializer(serializers.ModelSerializer):
    party = NaturalKeyField(slug_field="code", queryset=Party.objects.all())

    class Meta:
        model = Official
        fields = ["id", "name", "party", "title"]
        validators = []  # the model's case-insensitive uniqueness is checked by full_clean

    def save(self, **kwargs):
        official = self.instance or Official()
        for name, value in {**self.validated_data, **kwargs}.items():
            setattr(official, name, value)
        try:
            self.instance = official_save(actor=self.context["request"].user, official=official)
        except ModelValidationError as error:
            raise model_errors(error) from error
        return self.instance


class RecordSerializer(serializers.ModelSerializer):
    """For records with no service of their own (categories, item types): validated whole by the
    model, as the admin does, and saved with their author in the history."""

    def save(self, **kwargs):
        record = self.instance or self.Meta.model()
        for name, value in {**self.validated_data, **kwargs}.items():
            setattr(record, name, value)
        try:
            with transaction.atomic():
                record.full_clean()
                attribute(record, self.context["request"].user)
                record.save()
        except ModelValidationError as error:
            raise model_errors(error) from error
        self.instance = record
        return record


class CategorySerializer(RecordSerializer):
    parent = NaturalKeyField(
        slug_field="slug", queryset=Category.objects.all(), allow_null=True, required=False
    )
    level = serializers.IntegerField(read_only=True)

    class Meta:
        model = Category
        fields = ["id", "slug", "name", "parent", "level", "aid_type", "un_register", "description"]


class ItemTypeSerializer(RecordSerializer):
    category = NaturalKeyField(slug_field="slug", queryset=Category.objects.all())
    aliases = serializers.SlugRelatedField(slug_field="alias", many=True, read_only=True)

    class Meta:
        model = ItemType
        fields = ["id", "name", "category", "default_unit", "aliases", "notes"]


class LineSerializer(serializers.ModelSerializer):
    """A line inside a pledge: `line_no` names an existing line on update; new lines omit it."""

    line_no = serializers.IntegerField(required=False, min_value=1)
    item = serializers.CharField(source="description", max_length=500)
    item_type = ItemTypeField(allow_null=True, required=False)
    category = NaturalKeyField(
        slug_field="slug", queryset=Category.objects.all(), allow_null=True, required=False
    )

    class Meta:
        model = Line
        fields = [
            "line_no", "item", "item_type", "category", "quantity", "quantity_qualifier", "unit",
            "value", "currency", "value_basis",
        ]  # fmt: skip
        extra_kwargs = {
            "quantity_qualifier": {"required": False},
            "currency": {"required": False, "validators": []},
        }


class SourceLinkSerializer(serializers.ModelSerializer):
    source = serializers.PrimaryKeyRelatedField(queryset=Source.objects.all())
    url = serializers.CharField(source="source.url", read_only=True, allow_null=True)
    title = serializers.CharField(source="source.title", read_only=True)

    class Meta:
        model = PledgeSource
        fields = ["source", "url", "title", "role", "quote"]


class PledgeSerializer(serializers.ModelSerializer):
    """A pledge with its lines and sources, read and written whole through `pledge_save`."""

    donor = NaturalKeyField(slug_field="code", queryset=Party.objects.all())
    recipient = NaturalKeyField(
        slug_field="code",
        queryset=Party.objects.all(),
        default=lambda: Party.objects.filter(code=DEFAULT_RECIPIENT).first(),
        help_text=f"Party code; {DEFAULT_RECIPIENT} when not given, as in the admin and imports.",
    )
    official = serializers.PrimaryKeyRelatedField(
        queryset=Official.objects.all(), allow_null=True, required=False
    )
    official_name = serializers.CharField(source="official.name", read_only=True, allow_null=True)
    announced = serializers.CharField(source="announced_label", read_only=True)
    lines = LineSerializer(many=True)
    sources = SourceLinkSerializer(many=True, source="source_links")
    ref = serializers.CharField(max_length=64, required=False)
    reviewed_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    revision_of = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    pending = serializers.SerializerMethodField(
        help_text="The id of this published pledge's pending revision (staff only)."
    )

    class Meta:
        model = Pledge
        fields = [
            "id", "ref", "donor", "recipient", "announced_on", "date_precision", "announced",
            "official", "official_name", "official_title", "package", "status", "notes",
            "lines", "sources", "review", "reviewed_by", "reviewed_at", "review_note",
            "revision_of", "pending", "version",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = [
            "review", "reviewed_at", "review_note", "version", "created_at", "updated_at",
        ]  # fmt: skip
        validators = []  # the service validates the whole pledge

    def get_pending(self, pledge) -> int | None:
        """Only the team may know that a pending revision exists (aid.selectors.sees_drafts)."""
        pending = getattr(pledge, "pending", None) if pledge.pk else None
        if pending is None or not sees_drafts(self.context.get("request")):
            return None
        return pending.pk

    def save(self, **kwargs):
        data = {**self.validated_data, **kwargs}
        lines_data = data.pop("lines", None)
        links_data = data.pop("source_links", None)
        pledge = self.instance or Pledge()
        for name, value in data.items():
            setattr(pledge, name, value)
        lines = self.lines_from(pledge, lines_data)
        links = self.links_from(pledge, links_data)
        try:
            self.instance = pledge_save(
                actor=self.context["request"].user, pledge=pledge, lines=lines, links=links
            )
        except (StalePledge, PendingExists):
            raise  # the view answers 412 Precondition Failed, or 409 Conflict
        except ModelValidationError as error:
            raise model_errors(error) from error
        return self.instance

    @staticmethod
    def lines_from(pledge: Pledge, lines_data) -> list[Line]:
        stored = {line.line_no: line for line in pledge.lines.all()} if pledge.pk else {}
        if lines_data is None:  # a PATCH without lines keeps them
            return list(stored.values())
        lines, errors = [], {}
        for number, fields in enumerate(lines_data, start=1):
            line_no = fields.pop("line_no", None)
            if line_no is not None and line_no not in stored:
                errors[f"lines[{number}].line_no"] = [f"This pledge has no line {line_no}."]
                continue
            # A new line without a unit takes its item type's, as in an import (aid.rules).
            line = stored.get(line_no) or Line(unit="")
            for name, value in fields.items():
                setattr(line, name, value)
            lines.append(line)
        if errors:
            raise serializers.ValidationError(errors)
        return lines

    @staticmethod
    def links_from(pledge: Pledge, links_data) -> list[PledgeSource]:
        stored = {link.source_id: link for link in pledge.source_links.all()} if pledge.pk else {}
        if links_data is None:
            return list(stored.values())
        links, errors = [], {}
        for number, fields in enumerate(links_data, start=1):
            if "source" not in fields:  # a PATCH does not make nested fields required
                errors[f"sources[{number}].source"] = ["Name the source (its id)."]
                continue
            link = stored.get(fields["source"].pk) or PledgeSource()
            for name, value in fields.items():
                setattr(link, name, value)
            links.append(link)
        if errors:
            raise serializers.ValidationError(errors)
        return links


class WithdrawSerializer(serializers.Serializer):
    reason = serializers.CharField()


class FlatLineSerializer(serializers.ModelSerializer):
    """One row per line with its pledge's fields: the shape researchers load into a data frame."""

    pledge = serializers.CharField(source="pledge.ref")
    donor = serializers.CharField(source="pledge.donor.code")
    recipient = serializers.CharField(source="pledge.recipient.code")
    announced_on = serializers.DateField(source="pledge.announced_on")
    date_precision = serializers.CharField(source="pledge.date_precision")
    official = serializers.CharField(source="pledge.official.name", allow_null=True)
    official_title = serializers.CharField(source="pledge.official_title")
    package = serializers.CharField(source="pledge.package")
    status = serializers.CharField(source="pledge.status")
    item = serializers.CharField(source="description")
    item_type = serializers.CharField(source="item_type.name", allow_null=True)
    category = serializers.CharField(source="category.slug")
    source_urls = serializers.SerializerMethodField()

    class Meta:
        model = Line
        fields = [
            "id", "pledge", "line_no", "donor", "recipient", "announced_on", "date_precision",
            "official", "official_title", "package", "status", "item", "item_type", "category",
            "quantity", "quantity_qualifier", "unit", "value", "currency", "value_basis",
            "source_urls",
        ]  # fmt: skip

    def get_source_urls(self, line) -> list[str]:
        return [link.source.url for link in line.pledge.source_links.all() if link.source.url]


def money(**kwargs) -> serializers.DecimalField:
    """A sum of money as a decimal string with two decimals ("100000000000000.01"): a JSON
    number is a binary float in most readers, and loses cents beyond about 10^13."""
    return serializers.DecimalField(
        max_digits=None, decimal_places=2, coerce_to_string=True, allow_null=True, **kwargs
    )


class TotalsRowSerializer(serializers.Serializer):
    """One row of totals: the keys asked for in `group_by` (and `unit` for quantities), then the
    measures. A row carries only its own query's columns, in `aid.selectors.columns` order."""

    donor = serializers.CharField(required=False, help_text="Donor code.")
    recipient = serializers.CharField(required=False, help_text="Recipient code.")
    category = serializers.CharField(required=False, allow_null=True, help_text="Slug.")
    item_type = serializers.CharField(required=False, allow_null=True)
    official = serializers.CharField(required=False, allow_null=True)
    status = serializers.CharField(required=False)
    period = serializers.CharField(required=False, help_text="2022, 2022-Q4 or 2022-11.")
    unit = serializers.CharField(required=False, help_text="measure=quantity only.")
    pledges = serializers.IntegerField()
    lines = serializers.IntegerField()
    value = money(
        required=False,
        help_text="measure=value: the sum in `currency`, null when no line has a known value.",
    )
    currency = serializers.CharField(required=False)
    fx = serializers.CharField(required=False)
    unvalued = serializers.IntegerField(required=False, help_text="Lines with no value.")
    unconverted = serializers.IntegerField(
        required=False, help_text="Lines with a value but no rate for this basis: not in `value`."
    )
    quantity = serializers.IntegerField(
        required=False, allow_null=True, help_text="measure=quantity: null when none is known."
    )
    unspecified = serializers.IntegerField(required=False, help_text="Lines with no quantity.")

    def to_representation(self, row: dict) -> dict:
        return {
            name: None if value is None else self.fields[name].to_representation(value)
            for name, value in row.items()
        }


class TotalsSerializer(serializers.Serializer):
    """The totals answer: what was asked, the rows and the grand total over the same lines."""

    measure = serializers.CharField()
    group_by = serializers.ListField(child=serializers.CharField())
    period = serializers.CharField(allow_null=True)
    currency = serializers.CharField(allow_null=True)
    fx = serializers.CharField(allow_null=True)
    basis = serializers.CharField(allow_null=True)
    cumulative = serializers.BooleanField()
    count = serializers.IntegerField()
    rows = TotalsRowSerializer(many=True)
    total = TotalsRowSerializer(many=True)
