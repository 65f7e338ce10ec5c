"""The values of a lines CSV's cells: dates in four precisions, quantities, amounts and URLs.

Each parser takes a cell's text and returns the value the ledger stores, or raises `Invalid` with
the message the import reports for the cell.
"""

import datetime
import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from aid.models import DatePrecision, Line, Pledge, Unit, first_day
from aid.models.pledges import MAX_VALUE
from aid.rules import PERIOD_HINT, Refused, parse_period
from sources.normalise import normalise_url

MAX_QUANTITY = 2**31 - 1
CENT = Decimal("0.01")
# Each row is checked against these; Django's enums would build the lists again on every access.
PRECISIONS = DatePrecision.values
QUALIFIERS = Line.Qualifier.values
UNITS = Unit.values
BASES = Line.ValueBasis.values
STATUSES = Pledge.Status.values
is_url = URLValidator(schemes=["http", "https"])


class Invalid(Exception):
    def __init__(self, message: str, column: str | None = None):
        super().__init__(message)
        self.message, self.column = message, column


def check_length(text: str, limit: int | None) -> None:
    if limit and len(text) > limit:
        raise Invalid(f"is {len(text)} characters long; at most {limit} fit")


@lru_cache(maxsize=65536)
def source_url(url: str) -> str | None:
    """The URL normalised as sources store it, or None when it is not an http(s) URL. Cached:
    a pledge's URL is repeated on each of its rows, and popular sources across pledges."""
    candidate = url if "://" in url else f"https://{url}"
    try:
        is_url(candidate)
        return normalise_url(candidate)
    except (ValidationError, ValueError):
        return None


def source_urls(text: str) -> tuple[str, ...]:
    """The URLs of a `source_urls` cell, normalised, each once, in the order the cell gives them."""
    urls = []
    for url in text.split():
        normalised = source_url(url)
        if normalised is None:
            raise Invalid(f"“{url}” is not a valid http(s) URL")
        if len(normalised) > 2000:
            raise Invalid("a URL is longer than 2,000 characters")
        if normalised not in urls:
            urls.append(normalised)
    return tuple(urls)


@lru_cache(maxsize=4096)
def date_in_precision(text: str, given: str) -> tuple[datetime.date, str]:
    """The date an `announced_on` cell names and its precision, which `given` (the lower-cased
    `date_precision` cell, maybe empty) must agree with. Cached: pledges share dates."""
    if given and given not in PRECISIONS:
        raise Invalid(f"must be one of {', '.join(PRECISIONS)}", "date_precision")
    if not text:
        raise Invalid(f"is required: {PERIOD_HINT}")
    date, implied = parse_date(text)
    precision = given or implied
    if implied != DatePrecision.DAY and precision != implied:
        raise Invalid(f"names a {implied} but date_precision says {precision}")
    if first_day(date, precision) != date:
        raise Invalid(
            f"with {precision} precision the date must be the first day of the {precision}: "
            f"{first_day(date, precision).isoformat()}"
        )
    return date, precision


def parse_date(text: str) -> tuple[datetime.date, str]:
    try:
        return parse_period(text)
    except Refused as refusal:
        raise Invalid(refusal.message) from None


def parse_quantity(text: str) -> int | None:
    if not text:
        return None
    whole = text if text.isdecimal() else re.fullmatch(r"\+?(\d+)(?:\.0+)?", text)
    if whole:
        quantity = whole_number(whole if whole is text else whole.group(1))
        if quantity < 1:
            raise Invalid(
                "must be a positive whole number; leave it empty when the source gives none"
            )
        if quantity > MAX_QUANTITY:
            raise Invalid(f"is too large (at most {MAX_QUANTITY:,})")
        return quantity
    if re.fullmatch(r"-\s*\d+(?:[.,]\d+)?", text):
        raise Invalid("cannot be negative: a quantity is a positive whole number")
    if re.fullmatch(r"\d*[.,]\d+", text):
        raise Invalid("must be a whole number, not a fraction")
    raise Invalid("is not a number: write digits only, without separators")


def whole_number(digits: str) -> int:
    """The number `digits` write; one too long for Python to read (4,300 digits) is larger than
    any the ledger takes."""
    try:
        return int(digits)
    except ValueError:
        return MAX_QUANTITY + 1


def parse_value(text: str) -> Decimal | None:
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise Invalid(
            "is not a number: use a dot for decimals and no thousands separators"
        ) from None
    if not value.is_finite():
        raise Invalid("is not a number")
    if value < 0:
        raise Invalid("cannot be negative")
    if value > MAX_VALUE:  # before rounding, which a huge value would overflow
        raise Invalid(f"is too large (at most {MAX_VALUE})")
    cents = value.quantize(CENT)
    if cents != value:
        raise Invalid("has more than 2 decimal places")
    return cents
