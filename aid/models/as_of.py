"""The published ledger as it stood at a moment: pledges, lines and citations read from the
history the ledger keeps (no second audit trail), through temporary views that `aid.as_of`
installs on the connection for one moment. The models have the field names of the live ones, so
the same filters, totals and exports read them."""

from django.db import models

from aid.models.catalogue import Category, ItemType
from aid.models.parties import Official, Party


class PledgeAsOf(models.Model):
    ref = models.CharField(max_length=64)
    donor = models.ForeignKey(Party, on_delete=models.DO_NOTHING, related_name="+")
    recipient = models.ForeignKey(Party, on_delete=models.DO_NOTHING, related_name="+")
    announced_on = models.DateField()
    date_precision = models.CharField(max_length=8)
    official = models.ForeignKey(Official, null=True, on_delete=models.DO_NOTHING, related_name="+")
    official_title = models.CharField(max_length=200)
    package = models.CharField(max_length=200)
    status = models.CharField(max_length=20)
    notes = models.TextField()
    review = models.CharField(max_length=8)

    class Meta:
        managed = False
        db_table = "pledge_as_of"

    def __str__(self):
        return f"{self.ref} as published then"

    @property
    def announced_label(self) -> str:
        from aid.rules import period_label

        return period_label(self.announced_on, self.date_precision)


class LineAsOf(models.Model):
    pledge = models.ForeignKey(PledgeAsOf, on_delete=models.DO_NOTHING, related_name="lines")
    line_no = models.PositiveSmallIntegerField()
    description = models.CharField(max_length=500)
    item_type = models.ForeignKey(
        ItemType, null=True, on_delete=models.DO_NOTHING, related_name="+"
    )
    category = models.ForeignKey(Category, on_delete=models.DO_NOTHING, related_name="+")
    quantity = models.IntegerField(null=True)
    quantity_qualifier = models.CharField(max_length=12)
    unit = models.CharField(max_length=12)
    value = models.DecimalField(max_digits=15, decimal_places=2, null=True)
    currency = models.CharField(max_length=3)
    value_basis = models.CharField(max_length=10)
    value_eur = models.DecimalField(max_digits=38, decimal_places=20, null=True)

    class Meta:
        managed = False
        db_table = "line_as_of"

    def __str__(self):
        return f"{self.description} as published then"


class CitationAsOf(models.Model):
    pledge = models.ForeignKey(PledgeAsOf, on_delete=models.DO_NOTHING, related_name="source_links")
    source = models.ForeignKey("sources.Source", on_delete=models.DO_NOTHING, related_name="+")
    role = models.CharField(max_length=20)
    quote = models.TextField()

    class Meta:
        managed = False
        db_table = "citation_as_of"

    def __str__(self):
        return f"citation {self.pk} as published then"
