"""Properties of totals (SPEC "Rules that keep the numbers honest"), proved by Hypothesis on small
generated ledgers: the sum over any grouping equals the grand total; value is never counted twice;
quantities never mix units; `cumulative` ends at the non-cumulative sum; filters narrow totals
exactly as they narrow lines.

Each example writes its ledger in bulk inside a transaction that is rolled back, and is checked
against the same sums added up line by line in Python, with rates read independently
(tests.test_fx.ecb_rate).
"""

import contextlib
import datetime
from collections import defaultdict
from dataclasses import dataclass, replace
from decimal import Decimal

from django.db import transaction
from hypothesis import event, given
from hypothesis import strategies as st

from aid.models import Category, ItemType, Line, Official, Party, Pledge
from aid.rates.convert import ANNOUNCEMENT, load_table
from aid.selectors import GROUPS, TotalsQuery, totals
from tests.factories import (
    CENT,
    TOTALS,
    by_key,
    close,
    db_property,
    expected_value,
    lines_of,
    no_known_quantity,
    quarter,
)

DONORS = ["GB", "US", "DE", "PL"]
RECIPIENTS = ["UA", "MD"]
CATEGORIES = [  # level 1 and level 2, military and not
    "tanks", "main-battle-tanks", "air-defence", "manpads", "artillery-ammunition",
    "unallocated", "loans", "food",
]  # fmt: skip
UNITS = ["units", "rounds", "systems"]
CURRENCIES = ["EUR", "USD", "GBP", "JPY", "PLN", "ISK", "UAH"]  # UAH: no ECB rate
STATUSES = [choice for choice, _ in Pledge.Status.choices]
ITEM_TYPES = ["Test tank", "Test launcher"]
DESCRIPTIONS = ["Leopard 2 tanks", "155mm shells", "package"]
TRICKY_DAYS = [
    datetime.date(2021, 2, 22),  # JPY at a whole 128
    datetime.date(2022, 8, 31),  # USD at exactly 1
    datetime.date(2022, 11, 26),  # a Saturday
    datetime.date(2022, 12, 31),  # a Saturday, last of a year and a quarter
    datetime.date(2023, 1, 1),
    datetime.date(2024, 2, 29),
]
TABLE = "generated-table"
TABLE_RATES = {"USD": Decimal("1.1"), "GBP": Decimal("0.85"), "JPY": Decimal("128")}
PLEDGE_KEYS = {"donor", "recipient", "official", "status", "period"}  # one value per pledge

PROPERTY = db_property(40)

values = st.one_of(
    st.none(),
    st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False),
    st.integers(min_value=0, max_value=10**9).map(Decimal),
)
line_data = st.fixed_dictionaries(
    {
        "description": st.sampled_from(DESCRIPTIONS),
        "category": st.sampled_from(CATEGORIES),
        "item_type": st.sampled_from([None, *ITEM_TYPES]),
        "quantity": st.one_of(st.none(), st.integers(min_value=1, max_value=10**6)),
        "unit": st.sampled_from(UNITS),
        "value": values,
        "currency": st.sampled_from(CURRENCIES),
    }
)
pledge_data = st.fixed_dictionaries(
    {
        "donor": st.sampled_from(DONORS),
        "recipient": st.sampled_from(RECIPIENTS),
        "day": st.one_of(
            st.dates(datetime.date(2021, 1, 1), datetime.date(2024, 12, 31)),
            st.sampled_from(TRICKY_DAYS),
        ),
        "official": st.sampled_from([None, 0, 1]),
        "status": st.sampled_from(STATUSES),
        "lines": st.lists(line_data, min_size=1, max_size=4),
    }
)
ledgers = st.lists(pledge_data, min_size=1, max_size=8)
group_bys = st.lists(st.sampled_from(GROUPS), unique=True, max_size=4).map(tuple)
bases = st.tuples(
    st.sampled_from(["EUR", "USD", "GBP", "JPY"]),
    st.sampled_from([ANNOUNCEMENT, ANNOUNCEMENT, "2022-12-31", "2021-02-22", TABLE]),
)
queries = st.builds(
    lambda group_by, period, level, measure, basis: TotalsQuery(
        group_by=group_by,
        period=period,
        category_level=level,
        measure=measure,
        currency=basis[0],
        fx=basis[1],
    ),
    group_bys,
    st.sampled_from(["month", "quarter", "year"]),
    st.sampled_from([None, 1]),
    st.sampled_from(["value", "quantity"]),
    bases,
)


@dataclass(frozen=True)
class Fact:
    """One generated line, as the hand computation sees it."""

    id: int
    pledge: int
    donor: str
    recipient: str
    official: str | None
    status: str
    day: datetime.date
    category: str
    category_1: str
    item_type: str | None
    quantity: int | None
    unit: str
    value: Decimal | None
    currency: str


def official_name(donor: str, number: int) -> str:
    return f"Official {number} of {donor}"


def build(ledger: list[dict]) -> list[Fact]:
    """Write a generated ledger (bulk: no services, no history) and return its lines as facts."""
    parties = {party.code: party for party in Party.objects.filter(code__in=DONORS + RECIPIENTS)}
    categories = {
        category.slug: category
        for category in Category.objects.filter(slug__in=CATEGORIES).select_related("parent")
    }
    officials = {
        (donor, number): Official(name=official_name(donor, number), party=parties[donor])
        for donor in DONORS
        for number in (0, 1)
    }
    Official.objects.bulk_create(officials.values())
    item_types = {
        name: ItemType(name=name, category=categories[slug])
        for name, slug in zip(ITEM_TYPES, ["main-battle-tanks", "manpads"], strict=True)
    }
    ItemType.objects.bulk_create(item_types.values())
    load_table(TABLE, TABLE_RATES)
    pledges = Pledge.objects.bulk_create(
        [
            Pledge(
                ref=f"generated-{number}",
                donor=parties[data["donor"]],
                recipient=parties[data["recipient"]],
                announced_on=data["day"],
                official=None
                if data["official"] is None
                else officials[data["donor"], data["official"]],
                status=data["status"],
            )
            for number, data in enumerate(ledger)
        ]
    )
    lines = Line.objects.bulk_create(
        [
            Line(
                pledge=pledge,
                line_no=number,
                description=line["description"],
                category=categories[line["category"]],
                item_type=item_types.get(line["item_type"]),
                quantity=line["quantity"],
                quantity_qualifier="unspecified" if line["quantity"] is None else "exact",
                unit=line["unit"],
                value=line["value"],
                currency="" if line["value"] is None else line["currency"],
                value_basis="" if line["value"] is None else "stated",
            )
            for pledge, data in zip(pledges, ledger, strict=True)
            for number, line in enumerate(data["lines"], start=1)
        ]
    )
    facts = []
    for line in lines:
        pledge, category = line.pledge, line.category
        facts.append(
            Fact(
                id=line.pk,
                pledge=pledge.pk,
                donor=pledge.donor.code,
                recipient=pledge.recipient.code,
                official=pledge.official.name if pledge.official else None,
                status=pledge.status,
                day=pledge.announced_on,
                category=category.slug,
                category_1=category.parent.slug if category.parent else category.slug,
                item_type=line.item_type.name if line.item_type else None,
                quantity=line.quantity,
                unit=line.unit,
                value=line.value,
                currency=line.currency,
            )
        )
    assert Line.objects.count() == len(facts)
    return facts


@contextlib.contextmanager
def rolled_back():
    """Each example writes its ledger in a transaction that is then undone."""
    with transaction.atomic():
        yield
        transaction.set_rollback(True)


def label(day: datetime.date, period: str) -> str:
    if period == "month":
        return f"{day.year}-{day.month:02d}"
    return quarter(day) if period == "quarter" else str(day.year)


def key_of(fact: Fact, name: str, query: TotalsQuery):
    if name == "period":
        return label(fact.day, query.period)
    if name == "category":
        return fact.category_1 if query.category_level == 1 else fact.category
    return getattr(fact, name)


def converted(fact: Fact, query: TotalsQuery) -> Decimal | None:
    return expected_value(
        fact.value,
        fact.currency,
        fact.day,
        query.currency,
        query.fx if query.fx != TABLE else ANNOUNCEMENT,
        TABLE_RATES if query.fx == TABLE else None,
    )


def new_group() -> dict:
    return {"pledges": set(), "lines": 0, "value": None, "unvalued": 0} | {
        "unconverted": 0,
        "quantity": None,
        "unspecified": 0,
    }


def by_hand(facts: list[Fact], query: TotalsQuery) -> dict[tuple, dict]:
    """The rows `totals` must give, added up line by line in Python."""
    out: dict[tuple, dict] = {}
    if not query.row_keys():  # the grand total is one row, of zeros for no lines
        out[()] = new_group()
    for fact in facts:
        key = tuple(key_of(fact, name, query) for name in query.row_keys())
        group = out.setdefault(key, new_group())
        group["pledges"].add(fact.pledge)
        group["lines"] += 1
        if query.measure == "quantity":
            if fact.quantity is None:
                group["unspecified"] += 1
            else:
                group["quantity"] = (group["quantity"] or 0) + fact.quantity
        elif fact.value is None:
            group["unvalued"] += 1
        elif (value := converted(fact, query)) is None:
            group["unconverted"] += 1
        else:
            group["value"] = (group["value"] or 0) + value
    for group in out.values():
        group["pledges"] = len(group["pledges"])
    return out


def assert_rows_are(rows: list[dict], expected: dict[tuple, dict], query: TotalsQuery) -> None:
    got = by_key(rows, query.row_keys())
    assert got.keys() == expected.keys()
    for key, want in expected.items():
        row = got[key]
        assert (row["pledges"], row["lines"]) == (want["pledges"], want["lines"]), key
        if query.measure == "quantity":
            assert "unit" in row and row["unspecified"] == want["unspecified"], key
            if want["quantity"] is None:
                assert no_known_quantity(row["quantity"]), key
            else:
                assert row["quantity"] == want["quantity"], key
        else:
            assert (row["unvalued"], row["unconverted"]) == (
                want["unvalued"],
                want["unconverted"],
            ), key
            if want["value"] is None:  # no line of the group has a known value: unknown, not 0
                assert row["value"] is None, (key, row["value"])
            else:
                assert close(row["value"], want["value"]), (key, row["value"], want["value"])
            assert (row["currency"], row["fx"]) == (query.currency, query.fx)


def quantity_of(row: dict) -> int:
    return row["quantity"] or 0


@PROPERTY
@given(ledger=ledgers, query=queries)
def test_sum_over_any_grouping_equals_the_grand_total(db, ledger, query):
    with rolled_back():
        build(ledger)
        rows = totals(Line.objects.all(), query)
        grand = totals(Line.objects.all(), replace(query, group_by=()))
        event(f"rows: {min(len(rows), 10)}")
        if query.measure == "value":
            (total,) = grand
            for name in ("lines", "unvalued", "unconverted"):
                assert sum(row[name] for row in rows) == total[name], name
            known = [row["value"] for row in rows if row["value"] is not None]
            assert (total["value"] is None) == (not known)
            assert close(sum(known), total["value"] or 0, CENT * (len(rows) + 1))
        else:  # the grand total of quantities is one row per unit
            by_unit = {unit: total for (unit,), total in by_key(grand, ["unit"]).items()}
            assert {row["unit"] for row in rows} == by_unit.keys()
            for unit, total in by_unit.items():
                mine = [row for row in rows if row["unit"] == unit]
                for name in ("lines", "unspecified"):
                    assert sum(row[name] for row in mine) == total[name], (unit, name)
                assert sum(quantity_of(row) for row in mine) == quantity_of(total), unit
        pledges = Line.objects.values("pledge").distinct().count()
        if query.measure == "value":
            assert grand[0]["pledges"] == pledges
        assert all(row["pledges"] <= pledges for row in rows)
        if query.measure == "value" and set(query.group_by) <= PLEDGE_KEYS:
            # Each pledge is in exactly one group.
            assert sum(row["pledges"] for row in rows) == pledges
        elif query.measure == "value":  # a pledge with lines in several groups is in each
            assert sum(row["pledges"] for row in rows) >= pledges


@PROPERTY
@given(ledger=ledgers, query=queries.map(lambda query: replace(query, measure="value")))
def test_value_is_never_counted_twice(db, ledger, query):
    """Every valued line is in the sum once, at its own conversion, whatever the grouping."""
    with rolled_back():
        facts = build(ledger)
        (total,) = totals(Line.objects.all(), replace(query, group_by=()))
        one_by_one = [converted(fact, query) for fact in facts if fact.value is not None]
        known = [value for value in one_by_one if value is not None]
        assert (total["value"] is None) == (not known)
        assert close(total["value"] or 0, sum(known))
        assert total["unvalued"] == sum(fact.value is None for fact in facts)
        assert total["unconverted"] == one_by_one.count(None)
        assert_rows_are(totals(Line.objects.all(), query), by_hand(facts, query), query)


@PROPERTY
@given(ledger=ledgers, query=queries.map(lambda query: replace(query, measure="quantity")))
def test_quantities_never_mix_units(db, ledger, query):
    """Each row is one unit: its quantity is the sum of that unit's known quantities in the group,
    and the lines without one are counted in `unspecified`, never as zero of anything."""
    with rolled_back():
        facts = build(ledger)
        rows = totals(Line.objects.all(), query)
        assert all(row["unit"] in UNITS for row in rows)
        assert_rows_are(rows, by_hand(facts, query), query)
        assert sum(row["unspecified"] for row in rows) == sum(f.quantity is None for f in facts)
        for unit in UNITS:
            known = [f.quantity for f in facts if f.unit == unit and f.quantity is not None]
            assert sum(quantity_of(row) for row in rows if row["unit"] == unit) == sum(known)


@PROPERTY
@given(
    ledger=ledgers,
    query=queries.map(
        lambda query: replace(
            query,
            group_by=(*[key for key in query.group_by if key != "period"], "period")[-3:],
            cumulative=True,
        )
    ),
)
def test_cumulative_ends_at_the_non_cumulative_sum(db, ledger, query):
    with rolled_back():
        build(ledger)
        running = totals(Line.objects.all(), query)
        plain = totals(Line.objects.all(), replace(query, cumulative=False))
        others = [key for key in query.row_keys() if key != "period"]
        periods = sorted({row["period"] for row in plain})
        additive = ["pledges", "lines"] + (
            ["value", "unvalued", "unconverted"]
            if query.measure == "value"
            else ["quantity", "unspecified"]
        )
        plain_groups, running_groups = defaultdict(list), defaultdict(list)
        for row in plain:
            plain_groups[tuple(row[key] for key in others)].append(row)
        for row in running:
            running_groups[tuple(row[key] for key in others)].append(row)
        assert running_groups.keys() == plain_groups.keys()
        for group, rows in running_groups.items():
            mine = plain_groups[group]
            first = min(row["period"] for row in mine)
            # A row for every period from the group's first to the last of the result.
            assert [row["period"] for row in rows] == periods[periods.index(first) :], group
            for row in rows:
                upto = [earlier for earlier in mine if earlier["period"] <= row["period"]]
                for name in additive:
                    expected = sum((earlier[name] or 0) for earlier in upto)
                    assert (row[name] or 0) == expected, (group, row["period"], name)
            for name in additive:  # the last row is the plain sum
                assert (rows[-1][name] or 0) == sum((row[name] or 0) for row in mine), name


FILTERS = {  # a strategy for each line filter's value
    "donor": st.lists(st.sampled_from(DONORS), min_size=1, max_size=2, unique=True),
    "recipient": st.lists(st.sampled_from(RECIPIENTS), min_size=1, max_size=1),
    "category": st.lists(
        st.sampled_from([*CATEGORIES, "ammunition", "air-defence"]), min_size=1, max_size=2
    ),
    "aid_type": st.sampled_from(["military", "financial", "humanitarian"]),
    "status": st.lists(st.sampled_from(STATUSES), min_size=1, max_size=2, unique=True),
    "announced_after": st.dates(datetime.date(2021, 1, 1), datetime.date(2024, 12, 31)),
    "announced_before": st.dates(datetime.date(2021, 1, 1), datetime.date(2024, 12, 31)),
    "unit": st.sampled_from(UNITS),
    "quantity_min": st.integers(min_value=1, max_value=10**6),
    "value_max": st.integers(min_value=0, max_value=10**9),
    "value_currency": st.sampled_from(CURRENCIES),
    "item_type": st.lists(st.sampled_from(ITEM_TYPES), min_size=1, max_size=1),
    "official": st.lists(
        st.sampled_from([official_name(donor, 0) for donor in DONORS]), min_size=1, max_size=2
    ),
    "q": st.sampled_from(["Leopard", "shells", "Official 1"]),
}
# One to three filters at a time: with more, almost every example would select nothing.
filter_params = st.lists(
    st.sampled_from(sorted(FILTERS)), min_size=1, max_size=3, unique=True
).flatmap(lambda names: st.fixed_dictionaries({name: FILTERS[name] for name in names}))


@PROPERTY
@given(ledger=ledgers, params=filter_params, query=queries)
def test_filters_narrow_totals_exactly_as_they_narrow_lines(db, client, ledger, params, query):
    with rolled_back():
        facts = build(ledger)
        filtered = lines_of(params)
        ids = set(filtered.values_list("id", flat=True))
        event(
            "lines selected: "
            + ("none" if not ids else "all" if len(ids) == len(facts) else "some")
        )
        selected = [fact for fact in facts if fact.id in ids]
        from_ids = totals(Line.objects.filter(id__in=ids), query)
        assert_rows_are(totals(filtered, query), by_key(from_ids, query.row_keys()), query)
        assert_rows_are(from_ids, by_hand(selected, query), query)

        # The endpoint, with the same parameters, gives the same rows as those very lines.
        api = {
            **params,
            "group_by": ",".join(query.group_by),
            "period": query.period,
            "measure": query.measure,
            "currency": query.currency,
            "fx": query.fx,
            **({"category_level": "1"} if query.category_level else {}),
        }
        response = client.get(TOTALS, api)
        assert response.status_code == 200, response.content
        rows = [
            row | ({"value": Decimal(str(row["value"]))} if row.get("value") is not None else {})
            for row in response.json()["rows"]
        ]
        assert_rows_are(rows, by_key(from_ids, query.row_keys()), query)
        listed = client.get("/api/v1/lines/", {**params, "page_size": 1}).json()["count"]
        assert listed == len(ids)
