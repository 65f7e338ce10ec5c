"""Donors, officials, the category taxonomy, the item catalogue, pledges and their lines.

The database holds every rule it can (CHECK and UNIQUE constraints); `clean()` holds the rest, and
the services in `aid.services` call `full_clean()` before every save.
"""

from aid.models.as_of import CitationAsOf, LineAsOf, PledgeAsOf
from aid.models.catalogue import AidType, Category, ItemAlias, ItemType, Unit
from aid.models.fx import ECB, Rate, RateTable
from aid.models.parties import Official, Party
from aid.models.pledges import DatePrecision, Line, Pledge, first_day
from aid.models.releases import Release

__all__ = [
    "ECB",
    "AidType",
    "Category",
    "CitationAsOf",
    "DatePrecision",
    "ItemAlias",
    "ItemType",
    "Line",
    "LineAsOf",
    "Official",
    "Party",
    "Pledge",
    "PledgeAsOf",
    "Rate",
    "RateTable",
    "Release",
    "Unit",
    "first_day",
]  # fmt: skip
