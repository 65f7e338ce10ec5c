"""The domain rules a line obeys however it is written: by the pledge service (admin, API) or
by an importer. Each rule lives here once, as a plain function, so that the two paths cannot
drift apart: the same input is stored the same way, or refused by both."""

import datetime
import itertools
import re
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import TypeVar

from aid.models import Line, Unit

T = TypeVar("T")


class Refused(ValueError):
    """A rule refuses its input: `field` names what is wrong, `message` says why."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def value_currency(value: Decimal | None, currency: str) -> str:
    """The currency stored with `value`, upper-cased: required with a value, refused without
    one (a currency alone claims a value the ledger does not have)."""
    code = currency.strip().upper()
    if value is None and code:
        raise Refused("currency", "A currency is given but no value.")
    if value is not None and not code:
        raise Refused("currency", "Give the currency of the value (ISO 4217, e.g. EUR).")
    return code


def value_basis(value: Decimal | None, basis: str) -> str:
    """The basis stored with `value`: `unknown` for a value whose basis is not given, since a
    value the source does not qualify claims nothing; refused without a value."""
    if value is None:
        if basis:
            raise Refused("value_basis", "A basis is given but no value.")
        return ""
    return basis or Line.ValueBasis.UNKNOWN


def item_type_named(text: str, names: Mapping[str, T], aliases: Mapping[str, T]) -> T | None:
    """The item type `text` names, ignoring case and surrounding spaces: `names` and `aliases`
    are keyed by lower-cased name and alias. A canonical name wins over another type's alias,
    so adding an alias never changes what an existing name means."""
    key = text.strip().lower()
    if not key:
        return None
    return names.get(key) or aliases.get(key)


def new_line_numbers(
    highest_ever: int | None, kept: Iterable[int] = (), taken: Iterable[int] = ()
) -> Iterator[int]:
    """Numbers for a pledge's new lines: first the numbers of its current lines in `kept` that are
    not `taken` (an importer matches an unnumbered row to them again, in order), then numbers
    after the highest the pledge ever had, removed lines included, so that a number's history
    never mixes two items."""
    taken = set(taken)
    reused = (number for number in sorted(kept) if number not in taken)
    fresh = (number for number in itertools.count((highest_ever or 0) + 1) if number not in taken)
    return itertools.chain(reused, fresh)


# The tracker this ledger was built for follows aid to Ukraine: a pledge that names no recipient
# is to Ukraine, whether it comes from a form, the API or a file.
DEFAULT_RECIPIENT = "UA"


def recipient_code(text: str) -> str:
    """The party code of a pledge's recipient, the default when none is given."""
    return text.strip() or DEFAULT_RECIPIENT


def quantity_qualifier(quantity: int | None, qualifier: str) -> str:
    """The qualifier stored with `quantity`: `unspecified` exactly when there is no quantity, and
    `exact` for a quantity given without one. A qualifier that claims a missing quantity is
    refused rather than dropped, since the source said something the ledger would lose."""
    unspecified, exact = Line.Qualifier.UNSPECIFIED, Line.Qualifier.EXACT
    if quantity is None:
        if qualifier in ("", unspecified):
            return unspecified
        label = dict(Line.Qualifier.choices).get(qualifier, qualifier)
        raise Refused(
            "quantity",
            f"The qualifier says “{label}” but no quantity is given; give one, or set the "
            "qualifier to unspecified.",
        )
    if qualifier == unspecified:
        raise Refused(
            "quantity_qualifier", "A quantity is given, so the qualifier cannot be unspecified."
        )
    return qualifier or exact


def line_category_id(category_id: int | None, item_type) -> int | None:
    """A line's category: the one given, else its item type's, so a known item needs none."""
    return category_id or (item_type.category_id if item_type is not None else None)


def line_unit(given: str, item_type) -> str:
    """What a line counts in: the unit given, else its item type's (rounds for shells), else
    units."""
    return given or (item_type.default_unit if item_type is not None else Unit.UNITS)


def official_title(given: str, officials_title: str) -> str:
    """The title a pledge records for its official: the one the source gives, else the one the
    official holds in the catalogue, so that a later change of office keeps the old title."""
    return given or officials_title


PERIOD_FORMS = [
    (re.compile(r"(\d{4})-(\d{2})-(\d{2})"), "day"),
    (re.compile(r"(\d{4})-(\d{2})"), "month"),
    (re.compile(r"(\d{4})-Q([1-4])"), "quarter"),
    (re.compile(r"(\d{4})"), "year"),
]
PERIOD_HINT = "use YYYY-MM-DD, or YYYY-MM, YYYY-Qn or YYYY"


def period_label(day: datetime.date, precision: str) -> str:
    """A date as its period is written everywhere: 2022-11-23, 2022-11, 2022-Q4 or 2022."""
    if precision == "month":
        return f"{day:%Y-%m}"
    if precision == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    if precision == "year":
        return str(day.year)
    return day.isoformat()


def parse_period(text: str) -> tuple[datetime.date, str]:
    """The first day and the precision of a period written as `period_label` writes it."""
    for pattern, precision in PERIOD_FORMS:
        match = pattern.fullmatch(text)
        if not match:
            continue
        year, *rest = (int(part) for part in match.groups())
        try:
            if precision == "day":
                return datetime.date(year, rest[0], rest[1]), precision
            if precision == "month":
                return datetime.date(year, rest[0], 1), precision
            if precision == "quarter":
                return datetime.date(year, (rest[0] - 1) * 3 + 1, 1), precision
            return datetime.date(year, 1, 1), precision
        except ValueError:
            raise Refused("announced_on", "is not a real date") from None
    raise Refused("announced_on", f"is not a date: {PERIOD_HINT}")


def number_was_removed(line_no: int, current: Iterable[int], highest_ever: int | None) -> bool:
    """True when `line_no` names a line the pledge had and lost: giving it to a new item would
    mix two items in one number's history, so every path refuses it."""
    return line_no not in set(current) and highest_ever is not None and line_no <= highest_ever
