"""Reads of the ledger that more than one surface needs: the API, CSV output, the admin and the
importers. `totals` is the one aggregation: everything that reports a sum calls it.

Who may see what is decided here once: every read for a requester starts from `visible_pledges`,
`visible_lines` or `visible_citations`, so a draft's id or ref never reaches the public, and
asking for one answers as for a record that does not exist."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connections
from django.db.models import (
    BigIntegerField,
    Count,
    DecimalField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import Cast, Coalesce, TruncMonth, TruncQuarter, TruncYear

from aid.models import ItemType, Line, Pledge
from aid.rates.convert import ANNOUNCEMENT, Basis
from aid.rules import item_type_named, period_label
from sources.models import PledgeSource

GROUPS = ("donor", "recipient", "category", "item_type", "official", "status", "period")
PERIODS = {"month": TruncMonth, "quarter": TruncQuarter, "year": TruncYear}
MEASURES = ("value", "quantity")
CENT = Decimal("0.01")
CONVERTED = DecimalField(max_digits=32, decimal_places=8)


def sees_drafts(reader) -> bool:
    """Drafts are for the team: signed-in staff who may view pledges. `reader` is a user or a
    request; None means a command run by whoever runs the server, who sees everything."""
    if reader is None:
        return True
    user = getattr(reader, "user", reader)
    return user.is_authenticated and user.is_staff and user.has_perm("aid.view_pledge")


def visible_pledges(reader) -> QuerySet[Pledge]:
    """The pledges `reader` may know of: all of them for the team, verified ones for anyone else."""
    if sees_drafts(reader):
        return Pledge.objects.all()
    return Pledge.objects.filter(review=Pledge.Review.VERIFIED)


def visible_lines(reader) -> QuerySet[Line]:
    """The lines of the pledges `reader` may know of."""
    if sees_drafts(reader):
        return Line.objects.all()
    return Line.objects.filter(pledge__review=Pledge.Review.VERIFIED)


def visible_citations(reader) -> QuerySet[PledgeSource]:
    """The links between sources and the pledges `reader` may know of: what a source supports."""
    if sees_drafts(reader):
        return PledgeSource.objects.all()
    return PledgeSource.objects.filter(pledge__review=Pledge.Review.VERIFIED)


def item_type_for(text: str) -> ItemType | None:
    """The catalogue item type whose name or one of whose aliases is `text`, ignoring case."""
    text = text.strip()
    if not text:
        return None
    found = (
        ItemType.objects.filter(Q(name__iexact=text) | Q(aliases__alias__iexact=text))
        .select_related("category")
        .distinct()
    )
    names = {item_type.name.lower(): item_type for item_type in found}
    aliases = {
        text.lower(): item_type for item_type in found if item_type.name.lower() != text.lower()
    }
    return item_type_named(text, names, aliases)


@dataclass(frozen=True)
class TotalsQuery:
    """What to add up and how. Checked by aid.totals_query.TotalsQuerySerializer."""

    group_by: tuple[str, ...] = ()
    period: str = "year"
    category_level: int | None = None
    measure: str = "value"
    currency: str = "EUR"
    fx: str = ANNOUNCEMENT
    cumulative: bool = False

    @property
    def basis(self) -> Basis:
        return Basis(currency=self.currency, fx=self.fx)

    def row_keys(self) -> list[str]:
        """Columns that identify a row: the groups, and for quantities the unit."""
        return [*self.group_by, *(["unit"] if self.measure == "quantity" else [])]


def columns(query: TotalsQuery) -> list[str]:
    """The columns of a totals row, in order."""
    if query.measure == "quantity":
        return [*query.row_keys(), "pledges", "lines", "quantity", "unspecified"]
    return [
        *query.row_keys(),
        "pledges",
        "lines",
        "value",
        "currency",
        "fx",
        "unvalued",
        "unconverted",
    ]


def group_expressions(query: TotalsQuery) -> dict:
    category = (
        Coalesce("category__parent__slug", "category__slug")
        if query.category_level == 1
        else F("category__slug")
    )
    return {
        "donor": F("pledge__donor__code"),
        "recipient": F("pledge__recipient__code"),
        "category": category,
        "item_type": F("item_type__name"),
        "official": F("pledge__official__name"),
        "status": F("pledge__status"),
        "period": PERIODS[query.period]("pledge__announced_on"),
        "unit": F("unit"),
    }


def measures(query: TotalsQuery, vendor: str) -> dict:
    """Aggregates, named `m_*` so that no name shadows a line field the filters refer to.

    SQLite adds decimals as binary floats, which lose cents beyond about 10^13: there the whole
    euros are summed as integers (exact) and the fractions apart, and `labelled` joins them."""
    counts = {"m_pledges": Count("pledge", distinct=True), "m_lines": Count("id")}
    if query.measure == "quantity":
        return counts | {
            "m_quantity": Sum("quantity"),
            "m_unspecified": Count("id", filter=Q(quantity__isnull=True)),
        }
    value = {"m_value": Sum("converted")}
    if vendor == "sqlite":
        whole = Cast("converted", BigIntegerField())
        value = {"m_value_whole": Sum(whole), "m_value": Sum(F("converted") - whole)}
    return (
        counts
        | value
        | {
            "m_unvalued": Count("id", filter=Q(value__isnull=True)),
            "m_unconverted": Count("id", filter=Q(value__isnull=False, converted__isnull=True)),
        }
    )


def converted(query: TotalsQuery):
    """Each line's value in the query's currency: the stored EUR figure for the default basis
    (EUR at the announcement date), converted by the database for any other."""
    if query.basis == Basis(currency="EUR", fx=ANNOUNCEMENT):
        return F("value_eur")
    return ExpressionWrapper(query.basis.expression(), output_field=CONVERTED)


def totals(lines: QuerySet[Line], query: TotalsQuery) -> list[dict]:
    """Rows of sums over `lines` (already filtered), one per combination of the query's keys.

    The database does the grouping and the currency conversion; Python only labels the rows
    and, for `cumulative`, runs the sums along the periods of each group.
    """
    keys = query.row_keys()
    vendor = connections[lines.db].vendor
    expressions = group_expressions(query)
    if query.measure == "value":
        lines = lines.annotate(converted=converted(query))
    if keys:
        grouped = (
            lines.order_by()
            .annotate(**{f"key_{key}": expressions[key] for key in keys})
            .values(*[f"key_{key}" for key in keys])
            .annotate(**measures(query, vendor))
            .order_by(*[f"key_{key}" for key in keys])
        )
    else:  # one grand total: `.values()` with no keys would group by every field
        grouped = [lines.order_by().aggregate(**measures(query, vendor))]
    rows = [labelled(row, query) for row in grouped]
    return list(running(rows, query)) if query.cumulative else rows


def labelled(row: dict, query: TotalsQuery) -> dict:
    out = {}
    for key in query.row_keys():
        value = row[f"key_{key}"]
        if key == "period" and value is not None:
            value = period_label(value, query.period)
        out[key] = value
    out["pledges"], out["lines"] = row["m_pledges"], row["m_lines"]
    if query.measure == "quantity":
        # None, not 0, when no line of the group has a quantity: unknown is not zero (rule 2).
        out["quantity"], out["unspecified"] = row["m_quantity"], row["m_unspecified"]
    else:
        # None, not 0.00, when no line of the group has a known value: "the UK gave €0" is false.
        value = row["m_value"]
        if value is not None:
            value = Decimal(value) + row.get("m_value_whole", 0)
        out["value"] = value.quantize(CENT) if value is not None else None
        out["currency"], out["fx"] = query.currency, query.fx
        out["unvalued"], out["unconverted"] = row["m_unvalued"], row["m_unconverted"]
    return out


ADDITIVE = ("pledges", "lines", "value", "quantity", "unspecified", "unvalued", "unconverted")


@dataclass
class Running:
    sums: dict = field(default_factory=dict)

    def add(self, row: dict) -> dict:
        for name in ADDITIVE:
            if row.get(name) is not None:  # an unknown quantity adds nothing, not zero
                self.sums[name] = (self.sums.get(name) or 0) + row[name]
        return {**row, **self.sums}


def running(rows: list[dict], query: TotalsQuery) -> Iterator[dict]:
    """Running sums along `period` within each combination of the other keys.

    Every period from a group's first to the last period in the result gets a row, so a
    cumulative series has no holes where a group pledged nothing.
    """
    periods = sorted({row["period"] for row in rows}, key=period_sort_key)
    others = [key for key in query.row_keys() if key != "period"]
    series: dict[tuple, dict[str, dict]] = {}
    for row in rows:
        series.setdefault(tuple(row[key] for key in others), {})[row["period"]] = row
    for group, by_period in series.items():
        total = Running()
        first = min(by_period, key=period_sort_key)
        for period in periods[periods.index(first) :]:
            row = by_period.get(period) or empty_row(
                dict(zip(others, group, strict=True)), period, query
            )
            yield total.add(row)


def empty_row(keys: dict, period: str, query: TotalsQuery) -> dict:
    row = {**keys, "period": period, "pledges": 0, "lines": 0}
    if query.measure == "quantity":
        return row | {"quantity": None, "unspecified": 0}
    return row | {
        "value": None,
        "currency": query.currency,
        "fx": query.fx,
        "unvalued": 0,
        "unconverted": 0,
    }


def period_sort_key(label: str) -> tuple[int, int]:
    year, _, rest = label.partition("-")
    return int(year), int(rest.lstrip("Q") or 0)
