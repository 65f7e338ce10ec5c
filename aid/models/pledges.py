"""Pledges and their lines. Value lives on lines and only there (SPEC rule 1)."""

import datetime
from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from aid.codes import validate_currency
from aid.models.catalogue import Category, ItemType, Unit
from aid.models.parties import Official, Party

# SQLite keeps a decimal in 15 significant digits: a larger line value would come back rounded,
# silently. The cap holds on every database so that the two agree; no real line comes near it.
MAX_VALUE = Decimal("9999999999999.99")

# Refs travel in CSV files, URLs and spreadsheets: no formula prefixes (`=`), slashes or spaces.
validate_ref = RegexValidator(
    r"\A[A-Za-z0-9\-_.:]+\Z",
    "Use letters, digits and - _ . : only.",
)


class DatePrecision(models.TextChoices):
    DAY = "day", "day"
    MONTH = "month", "month"
    QUARTER = "quarter", "quarter"
    YEAR = "year", "year"


def first_day(date: datetime.date, precision: str) -> datetime.date:
    """The date a pledge of this precision stores: the first day of its month, quarter or year."""
    if precision == DatePrecision.MONTH:
        return date.replace(day=1)
    if precision == DatePrecision.QUARTER:
        return date.replace(month=(date.month - 1) // 3 * 3 + 1, day=1)
    if precision == DatePrecision.YEAR:
        return date.replace(month=1, day=1)
    return date


class Pledge(models.Model):
    """One announcement of aid by a donor to a recipient. Its value is the sum of its lines."""

    class Status(models.TextChoices):
        ANNOUNCED = "announced", "announced"
        PARTLY_DELIVERED = "partly-delivered", "partly delivered"
        DELIVERED = "delivered", "delivered"
        WITHDRAWN = "withdrawn", "withdrawn"

    class Review(models.TextChoices):
        DRAFT = "draft", "draft"
        VERIFIED = "verified", "verified"

    ref = models.CharField(
        "reference",
        max_length=64,
        db_index=True,
        validators=[validate_ref],
        help_text="Stable key used by CSV import and export; assigned automatically when empty. "
        "Letters, digits and - _ . : only.",
    )
    donor = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="pledges_made")
    recipient = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="pledges_received")
    announced_on = models.DateField(
        help_text="For month, quarter or year precision, the first day of that period."
    )
    date_precision = models.CharField(
        max_length=8, choices=DatePrecision.choices, default=DatePrecision.DAY
    )
    official = models.ForeignKey(
        Official,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="pledges",
        help_text="Who announced it, when the source says.",
    )
    official_title = models.CharField(
        max_length=200,
        blank=True,
        help_text="The official's title at the announcement; filled from the official when empty.",
    )
    package = models.CharField(max_length=200, blank=True, help_text="Package name, if it has one.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ANNOUNCED)
    notes = models.TextField(blank=True)
    review = models.CharField(
        max_length=8,
        choices=Review.choices,
        default=Review.DRAFT,
        editable=False,
        help_text="Public readers see verified pledges only; a change to one is a pending "
        "revision until a reviewer publishes it.",
    )
    revision_of = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        editable=False,
        on_delete=models.CASCADE,
        related_name="pending",
        help_text="For a pending revision: the published pledge it would change when published.",
    )
    review_note = models.TextField(
        blank=True,
        editable=False,
        help_text="The reviewer's comment when they sent the change back to its editor.",
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        editable=False,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The reviewer who verified it.",
    )
    reviewed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(
        default=1,
        editable=False,
        help_text="Counts the saves that changed the pledge, its lines or its sources; an editor's "
        "save is refused when the version changed after they opened the pledge.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-announced_on", "-id"]
        permissions = [
            ("verify_pledge", "Can verify pledges (reviewers)"),
            ("withdraw_pledge", "Can withdraw pledges (reviewers)"),
        ]
        constraints = [
            # A pending revision carries its pledge's ref: refs are unique among pledges.
            models.UniqueConstraint(
                fields=["ref"],
                condition=Q(revision_of__isnull=True),
                name="pledge_ref_unique",
                violation_error_message="A pledge with this reference already exists.",
            ),
            models.CheckConstraint(
                condition=~Q(donor=F("recipient")),
                name="pledge_donor_is_not_recipient",
                violation_error_message="The recipient must differ from the donor.",
            ),
        ]
        indexes = [
            models.Index(fields=["donor", "announced_on"], name="pledge_donor_date"),
            models.Index(fields=["recipient", "announced_on"], name="pledge_recipient_date"),
            models.Index(fields=["announced_on"], name="pledge_date"),
        ]

    def __str__(self):
        donor = self.donor.code if self.donor_id else "?"
        recipient = self.recipient.code if self.recipient_id else "?"
        package = f" · {self.package}" if self.package else ""
        return f"{donor} → {recipient}, {self.announced_label}{package}"

    @property
    def announced_label(self) -> str:
        """The date as precisely as the source gives it: 2022-11-23, 2022-11, 2022-Q4 or 2022."""
        from aid.rules import period_label  # the rules read these models

        return period_label(self.announced_on, self.date_precision) if self.announced_on else ""

    def validate_constraints(self, exclude=None):
        # The ref's uniqueness is checked by clean(), so that the error names the field.
        super().validate_constraints({*(exclude or ()), "ref"})

    def clean(self):
        errors = defaultdict(list)
        taken = Pledge.objects.filter(ref=self.ref, revision_of__isnull=True).exclude(pk=self.pk)
        if self.ref and not self.revision_of_id and taken.exists():
            errors["ref"].append("Pledge with this Reference already exists.")
        if self.donor_id and self.donor_id == self.recipient_id:
            errors["recipient"].append("The recipient must differ from the donor.")
        if self.announced_on:
            if self.announced_on > timezone.localdate():
                errors["announced_on"].append("The announcement date cannot be in the future.")
            expected = first_day(self.announced_on, self.date_precision)
            if expected != self.announced_on:
                errors["announced_on"].append(
                    f"With {self.date_precision} precision the date must be the first day of "
                    f"the {self.date_precision}: {expected.isoformat()}."
                )
        if self.official_id and self.donor_id and self.official.party_id != self.donor_id:
            errors["official"].append(
                f"{self.official.name} speaks for {self.official.party.name}, "
                f"not for the donor {self.donor.name}."
            )
        if errors:
            raise ValidationError(dict(errors))
        if self.official_id:
            from aid.rules import official_title

            self.official_title = official_title(self.official_title, self.official.title)


class Line(models.Model):
    """One item of a pledge, worded as the source words it. Value lives here and only here."""

    class Qualifier(models.TextChoices):
        EXACT = "exact", "exact"
        APPROXIMATE = "approximate", "approximately"
        AT_LEAST = "at_least", "at least"
        UP_TO = "up_to", "up to"
        UNSPECIFIED = "unspecified", "unspecified"

    class ValueBasis(models.TextChoices):
        STATED = "stated", "stated"
        ESTIMATED = "estimated", "estimated"
        UNKNOWN = "unknown", "unknown"

    pledge = models.ForeignKey(Pledge, on_delete=models.CASCADE, related_name="lines")
    line_no = models.PositiveSmallIntegerField("line", editable=False)
    description = models.CharField(
        "item", max_length=500, help_text="The item as the source words it."
    )
    item_type = models.ForeignKey(
        ItemType, null=True, blank=True, on_delete=models.PROTECT, related_name="lines"
    )
    category = models.ForeignKey(
        Category,
        blank=True,
        on_delete=models.PROTECT,
        related_name="lines",
        help_text="Taken from the item type when left empty.",
    )
    quantity = models.IntegerField(
        null=True,
        blank=True,
        validators=[
            MinValueValidator(
                1,
                "Quantity must be a positive whole number; leave it empty when the source "
                "gives none.",
            ),
            # PostgreSQL's integer; SQLite would store more, and the two must agree.
            MaxValueValidator(2**31 - 1, "Quantity must be at most 2147483647."),
        ],
        help_text="Empty when the source gives no number.",
    )
    quantity_qualifier = models.CharField(
        "qualifier",
        max_length=12,
        choices=Qualifier.choices,
        blank=True,
        help_text="Left empty: exact when a quantity is given, unspecified when not.",
    )
    unit = models.CharField(max_length=12, choices=Unit.choices, default=Unit.UNITS)
    value = models.DecimalField(
        max_digits=18,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[
            MinValueValidator(0, "A value cannot be negative."),
            MaxValueValidator(MAX_VALUE, f"A value must be at most {MAX_VALUE}."),
        ],
    )
    currency = models.CharField(
        max_length=3, blank=True, validators=[validate_currency], help_text="ISO 4217 code."
    )
    value_basis = models.CharField(
        "value basis",
        max_length=10,
        choices=ValueBasis.choices,
        blank=True,
        help_text="stated by the source, estimated from prices, or unknown.",
    )
    value_eur = models.DecimalField(
        max_digits=38,
        decimal_places=20,
        null=True,
        blank=True,
        editable=False,
        help_text="Derived, not entered: the value in EUR at the ECB rate of the announcement "
        "date, which totals and exports read instead of converting every line again. "
        "`aid.rates.convert.convert_lines` keeps it in step with every write of a line, "
        "its pledge's date or the ECB rates; NULL without a value or a rate.",
    )
    history = HistoricalRecords(excluded_fields=["value_eur"])

    class Meta:
        ordering = ["pledge", "line_no"]
        constraints = [
            models.UniqueConstraint(fields=["pledge", "line_no"], name="line_unique_number"),
            models.CheckConstraint(
                condition=Q(quantity__isnull=True) | Q(quantity__gte=1),
                name="line_quantity_positive",
                violation_error_message="Quantity must be a positive whole number.",
            ),
            models.CheckConstraint(
                condition=(Q(quantity__isnull=True) & Q(quantity_qualifier="unspecified"))
                | (
                    Q(quantity__isnull=False)
                    & Q(quantity_qualifier__in=["exact", "approximate", "at_least", "up_to"])
                ),
                name="line_qualifier_matches_quantity",
                violation_error_message="The qualifier is “unspecified” exactly when there is "
                "no quantity.",
            ),
            models.CheckConstraint(
                condition=(Q(value__isnull=True) & Q(currency="") & Q(value_basis=""))
                | (Q(value__isnull=False) & ~Q(currency="") & ~Q(value_basis="")),
                name="line_currency_with_value",
                violation_error_message="A value needs its currency and basis, and only a value "
                "has them.",
            ),
            models.CheckConstraint(
                condition=Q(value__isnull=True) | Q(value__gte=0),
                name="line_value_not_negative",
                violation_error_message="A value cannot be negative.",
            ),
        ]
        indexes = [
            models.Index(fields=["category", "pledge"], name="line_category_pledge"),
        ]

    def __str__(self):
        return f"{self.quantity_label} {self.description}".strip()

    @property
    def quantity_label(self) -> str:
        if self.quantity is None:
            return ""
        prefix = {"approximate": "~", "at_least": "≥", "up_to": "≤"}.get(
            self.quantity_qualifier, ""
        )
        return f"{prefix}{self.quantity:,}"

    def clean(self):
        from aid.rules import (  # the rules read this model
            Refused,
            line_category_id,
            quantity_qualifier,
            value_basis,
            value_currency,
        )

        errors = {}
        item_type = self.item_type if self.item_type_id else None
        self.category_id = line_category_id(self.category_id, item_type)
        if self.category_id is None:
            errors["category"] = "Choose a category, or an item type whose category is used."

        try:
            self.quantity_qualifier = quantity_qualifier(self.quantity, self.quantity_qualifier)
        except Refused as refusal:
            errors[refusal.field] = refusal.message
        for field, rule in (("currency", value_currency), ("value_basis", value_basis)):
            try:
                setattr(self, field, rule(self.value, getattr(self, field) or ""))
            except Refused as refusal:
                errors[refusal.field] = refusal.message
        if errors:
            raise ValidationError(errors)
