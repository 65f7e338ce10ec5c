"""The domain rules a line obeys however it is written: by the pledge service (admin, API) or
by an importer. Each rule lives here once, as a plain function, so that the two paths cannot
drift apart: the same input is stored the same way, or refused by both."""

import itertools
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import TypeVar

from aid.models import Line

T = TypeVar("T")


def value_basis(value: Decimal | None, basis: str) -> str:
    """The basis stored with `value`: none without a value, and `unknown` for a value whose
    basis is not given, since a value the source does not qualify claims nothing."""
    if value is None:
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
