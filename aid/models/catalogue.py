"""What aid consists of: the category taxonomy, units of count and the item catalogue."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from simple_history.models import HistoricalRecords


class AidType(models.TextChoices):
    MILITARY = "military", "Military"
    FINANCIAL = "financial", "Financial"
    HUMANITARIAN = "humanitarian", "Humanitarian"


class Category(models.Model):
    """Two-level taxonomy. Level 1 carries the UN Register category; level 2 refines it."""

    class UNRegister(models.TextChoices):
        I = "I", "I Battle tanks"  # noqa: E741 (the Register's own numbering)
        II = "II", "II Armoured combat vehicles"
        III = "III", "III Large-calibre artillery systems"
        IV = "IV", "IV Combat aircraft and unmanned combat aerial vehicles"
        V = "V", "V Attack helicopters"
        VI = "VI", "VI Warships"
        VII = "VII", "VII Missiles and missile launchers"
        SALW = "SALW", "Small arms and light weapons"

    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        help_text="Empty for a level-1 category.",
    )
    aid_type = models.CharField(
        max_length=12,
        choices=AidType.choices,
        default=AidType.MILITARY,
        help_text="Financial and humanitarian aid are kept apart from military aid by this field.",
    )
    un_register = models.CharField(
        "UN Register category",
        max_length=4,
        choices=UNRegister.choices,
        blank=True,
        help_text="UN Register of Conventional Arms category, where one applies.",
    )
    description = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["slug"]
        verbose_name_plural = "categories"
        constraints = [
            models.CheckConstraint(
                condition=~Q(parent=F("pk")),
                name="category_not_own_parent",
                violation_error_message="A category cannot be its own parent.",
            )
        ]

    def __str__(self):
        # The specific name first, so that a narrow select still shows what was chosen.
        return f"{self.name} ({self.parent.name})" if self.parent_id else self.name

    @property
    def level(self) -> int:
        return 2 if self.parent_id else 1

    def clean(self):
        if self.parent_id is None:
            return
        if self.parent.parent_id is not None:
            raise ValidationError(
                {"parent": f"Categories have two levels; “{self.parent}” is already level 2."}
            )
        if self.pk and self.children.exists():
            raise ValidationError(
                {"parent": "This category has subcategories, so it must stay at level 1."}
            )
        # A subcategory is a refinement, so it shares its parent's kind of aid.
        self.aid_type = self.parent.aid_type


class Unit(models.TextChoices):
    """Units of count. Quantities are only ever added within one unit."""

    UNITS = "units", "units"
    SYSTEMS = "systems", "systems"
    ROUNDS = "rounds", "rounds"
    MISSILES = "missiles", "missiles"
    VEHICLES = "vehicles", "vehicles"
    LAUNCHERS = "launchers", "launchers"
    BATTERIES = "batteries", "batteries"
    SETS = "sets", "sets"
    TONNES = "tonnes", "tonnes"
    PERSONNEL = "personnel", "personnel trained"


class ItemType(models.Model):
    """A catalogue entry that free-text line descriptions are matched to through its aliases."""

    name = models.CharField(max_length=200)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="item_types")
    default_unit = models.CharField(max_length=12, choices=Unit.choices, default=Unit.UNITS)
    notes = models.TextField(blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                name="item_type_unique_name",
                violation_error_message="An item type with this name already exists.",
            )
        ]

    def __str__(self):
        return self.name


class ItemAlias(models.Model):
    """Another name an item type goes by in sources (`Sea King` for `Westland Sea King`)."""

    item_type = models.ForeignKey(ItemType, on_delete=models.CASCADE, related_name="aliases")
    alias = models.CharField(max_length=200)
    history = HistoricalRecords()

    class Meta:
        ordering = ["alias"]
        verbose_name_plural = "item aliases"
        constraints = [
            models.UniqueConstraint(
                Lower("alias"),
                name="item_alias_unique",
                violation_error_message="This alias already names an item type.",
            )
        ]

    def __str__(self):
        return self.alias
