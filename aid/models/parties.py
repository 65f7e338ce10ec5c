"""Donors, recipients and the officials who speak for them."""

from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from simple_history.models import HistoricalRecords


class Party(models.Model):
    """A donor or recipient: a state by its ISO 3166-1 alpha-2 code, or an organisation."""

    class Kind(models.TextChoices):
        STATE = "state", "State"
        ORGANISATION = "organisation", "Organisation"

    code = models.CharField(
        max_length=12,
        unique=True,
        validators=[
            RegexValidator(
                r"^[A-Z][A-Z0-9]{1,11}$",
                "Use upper-case letters and digits: an ISO 3166-1 alpha-2 code (GB) or a short "
                "organisation code (EU, NATO).",
            )
        ],
    )
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.STATE)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "parties"

    def __str__(self):
        return f"{self.name} ({self.code})"


class Official(models.Model):
    """A person who announces aid for a party. Pledges keep the title held at the time."""

    name = models.CharField(max_length=200)
    party = models.ForeignKey(Party, on_delete=models.PROTECT, related_name="officials")
    title = models.CharField(
        max_length=200,
        blank=True,
        help_text="Latest known title. Each pledge stores the title held when it was announced.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                "party",
                name="official_unique_name_per_party",
                violation_error_message="This official is already in the ledger for this party.",
            )
        ]

    def __str__(self):
        return f"{self.name} ({self.party.code})"
