"""API representations of the aid records. Writes to pledges go through `aid.services`."""

import datetime

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as ModelValidationError
from django.db import transaction
from rest_framework import serializers
from rest_framework.settings import api_settings

from aid.codes import NOT_MONEY, not_money
from aid.models import ECB, Category, ItemType, Line, Official, Party, Pledge, RateTable
from aid.rates.convert import ANNOUNCEMENT, ecb_range, is_date
from aid.selectors import GROUPS, MEASURES, PERIODS, TotalsQuery
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
    item_type = NaturalKeyField(
        slug_field="name", queryset=ItemType.objects.all(), allow_null=True, required=False
    )
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
    recipient = NaturalKeyField(slug_field="code", queryset=Party.objects.all())
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

    class Meta:
        model = Pledge
        fields = [
            "id", "ref", "donor", "recipient", "announced_on", "date_precision", "announced",
            "official", "official_name", "official_title", "package", "status", "notes",
            "lines", "sources", "review", "reviewed_by", "reviewed_at", "version",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = ["review", "reviewed_at", "version", "created_at", "updated_at"]
        validators = []  # the service validates the whole pledge

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
        except StalePledge:
            raise  # the view answers 412 Precondition Failed
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
            line = stored.get(line_no) or Line()
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


class TotalsQuerySerializer(serializers.Serializer):
    """The totals endpoint's own parameters (line filters come from LineFilterSet)."""

    group_by = serializers.CharField(
        required=False,
        default="",
        help_text=f"Comma-separated, any of: {', '.join(GROUPS)}. Empty gives one grand total.",
    )
    period = serializers.ChoiceField(choices=list(PERIODS), default="year")
    category_level = serializers.ChoiceField(
        choices=[1], required=False, help_text="1 rolls categories up to level 1."
    )
    measure = serializers.ChoiceField(choices=list(MEASURES), default="value")
    currency = serializers.CharField(default="EUR", help_text="EUR or any ECB currency.")
    fx = serializers.CharField(
        default=ANNOUNCEMENT,
        help_text="`announcement` (ECB rate of each line's date), a date YYYY-MM-DD (every "
        "line at that day's ECB rates), or the name of a rate table in the ledger.",
    )
    cumulative = serializers.BooleanField(default=False, help_text="Running totals along period.")

    def validate_group_by(self, value: str) -> tuple[str, ...]:
        groups = tuple(name.strip() for name in value.split(",") if name.strip())
        unknown = [name for name in groups if name not in GROUPS]
        if unknown:
            raise serializers.ValidationError(
                f"Unknown group {', '.join(unknown)}; choose from {', '.join(GROUPS)}."
            )
        if len(set(groups)) != len(groups):
            raise serializers.ValidationError("A group is named twice.")
        return groups

    def validate_fx(self, value: str) -> str:
        if value == ANNOUNCEMENT:
            return value
        if is_date(value):
            # A day outside the rates held would silently take the last rate before it (or none).
            held = ecb_range()
            day = datetime.date.fromisoformat(value)
            if held is None or not held[0] <= day <= held[1]:
                span = f"{held[0]} to {held[1]}" if held else "none are loaded"
                raise serializers.ValidationError(
                    f"{value} is outside the stored ECB rates ({span}); choose a day within them "
                    "or reload the rates (manage.py load_rates)."
                )
            return value
        if value == ECB:  # dated: which of its days would a table name mean?
            raise serializers.ValidationError(
                "The ECB rates are used by `announcement` (each line's date) or by a date "
                "YYYY-MM-DD (every line at that day's rates)."
            )
        tables = RateTable.objects.filter(dated=False)
        if not tables.filter(name=value).exists():
            names = ", ".join(tables.values_list("name", flat=True)) or "none loaded"
            raise serializers.ValidationError(
                f"Not `announcement`, a date YYYY-MM-DD or a rate table ({names})."
            )
        return value

    def validate(self, attrs):
        currency = attrs["currency"] = attrs["currency"].strip().upper()
        if currency in NOT_MONEY:
            raise serializers.ValidationError({"currency": f"{currency} {not_money(currency)}."})
        fx = attrs["fx"]
        table = fx if fx not in (ANNOUNCEMENT,) and not is_date(fx) else ECB
        if (
            currency != "EUR"
            and not RateTable.objects.filter(name=table, rates__currency=currency).exists()
        ):
            raise serializers.ValidationError(
                {"currency": f"No {currency} rate in the table “{table}”."}
            )
        if attrs["cumulative"] and "period" not in attrs["group_by"]:
            raise serializers.ValidationError(
                {"cumulative": "Cumulative totals run along period: add period to group_by."}
            )
        return attrs

    def query(self) -> TotalsQuery:
        data = self.validated_data
        return TotalsQuery(
            group_by=data["group_by"],
            period=data["period"],
            category_level=data.get("category_level"),
            measure=data["measure"],
            currency=data["currency"],
            fx=data["fx"],
            cumulative=data["cumulative"],
        )
