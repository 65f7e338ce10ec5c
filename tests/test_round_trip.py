"""Export, import into an empty ledger, export again: the same bytes (SPEC "Canonical lines")."""

import datetime
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aid.demo.loader import load_demo
from aid.lines.importer import lines_import
from aid.models import Category, ItemType, Line, Official, Party, Pledge
from aid.services import pledge_create, pledge_withdraw
from sources.models import PledgeSource, Source
from tests.factories import empty_the_ledger, export

AWKWARD = [
    'comma, "quotes" and; semicolon',
    "two\nlines",
    "windows\r\nlines",
    "Панцирь-С1 für die Ukraine — 防空 🚀",
    '=HYPERLINK("http://evil.example")',
    "+44 20 7946 0000",
    "-5 degrees",
    "@mention",
    "\tindented",
    "'already quoted",
    "'=both",
]


def round_trip(user, verify: bool = False) -> tuple[str, str]:
    first = export()
    empty_the_ledger()
    report = lines_import(
        actor=user,
        data=first.encode(),
        filename="export.csv",
        verify=verify,
        withdraw_reason="restored",
    )
    assert report.ok, [str(problem) for problem in report.errors[:10]]
    return first, export()


def test_demo_ledger_round_trips_byte_for_byte(admin_user):
    load_demo()
    # The demo's pledges are verified and a file cannot verify them: the importer does (an
    # administrator, who may also add the item types the empty catalogue lacks).
    first, second = round_trip(admin_user, verify=True)
    assert first.count("\r\n") > 300 and ",verified," in first
    assert second == first


def awkward_ledger(user) -> None:
    """Pledges with every qualifier, precision, status and value basis, and awkward text."""
    parties = {party.code: party for party in Party.objects.filter(code__in=["GB", "UA", "DE"])}
    categories = {c.slug: c for c in Category.objects.filter(slug__in=["tanks", "ammunition"])}
    tank = ItemType.objects.create(name="Leopard 2A6", category=categories["tanks"])
    sources = [Source.objects.create(url=f"https://example.org/{n}?q=ä,b") for n in range(3)]
    sources.append(Source.objects.create(title="A statement with no URL"))
    official = Official.objects.create(
        name="Анна Müller, Jr.", party=parties["DE"], title="=Minister"
    )
    qualifiers = [q for q in Line.Qualifier.values if q != "unspecified"]
    dates = {
        "day": datetime.date(2023, 2, 24),
        "month": datetime.date(2022, 11, 1),
        "quarter": datetime.date(2024, 4, 1),
        "year": datetime.date(2025, 1, 1),
    }
    for number, text in enumerate(AWKWARD):
        precision = list(dates)[number % 4]
        lines = [
            Line(
                description=text,
                category=categories["ammunition"],
                quantity=None if number % 3 == 0 else 10 ** (number % 6),
                quantity_qualifier="" if number % 3 == 0 else qualifiers[number % 4],
                unit="rounds",
                value=Decimal(f"{number}12345.6{number}") if number % 2 else None,
                currency=["EUR", "USD", "GBP", "NOK"][number % 4] if number % 2 else "",
                value_basis=Line.ValueBasis.values[number % 3] if number % 2 else "",
            ),
            Line(description=f"Leopard tanks {number}", item_type=tank, category=tank.category),
        ]
        links = [PledgeSource(source=sources[number % 4])]
        if number % 2:
            links.append(PledgeSource(source=sources[(number + 1) % 4]))
        status = Pledge.Status.values[number % 4]
        pledge = pledge_create(
            actor=user,
            lines=lines,
            links=links,
            ref=f"ref-{number}:a.b_c",  # every character a ref may hold (docs/data-dictionary.md)
            donor=parties["DE"],
            recipient=parties["UA"] if number % 5 else parties["GB"],
            announced_on=dates[precision],
            date_precision=precision,
            official=official if number % 2 else None,
            package=text if number % 3 == 1 else "",
            status=Pledge.Status.ANNOUNCED if status == Pledge.Status.WITHDRAWN else status,
            notes=text,
        )
        if status == Pledge.Status.WITHDRAWN:
            pledge_withdraw(actor=user, pledge=pledge, reason=text)


def test_awkward_values_round_trip_byte_for_byte(editor, admin_user):
    awkward_ledger(editor)
    # Into the empty ledger it withdraws pledges and adds item types: an administrator's import.
    first, second = round_trip(admin_user)
    assert second == first
    for text in ("=HYPERLINK", "+44", "-5 degrees", "@mention", "\tindented"):
        assert f"'{text}" in first  # neutralised in the file, restored in the ledger
    assert set(Line.objects.values_list("description", flat=True)) >= set(AWKWARD)


def test_reimporting_an_export_into_the_same_ledger_changes_nothing(editor):
    awkward_ledger(editor)
    text = export()
    history = Line.history.count()
    report = lines_import(actor=editor, data=text.encode(), filename="again.csv")
    assert report.ok and report.pledges_unchanged == Pledge.objects.count()
    assert (report.lines_created, report.lines_updated, report.lines_removed) == (0, 0, 0)
    assert Line.history.count() == history and export() == text


text_cells = (
    st.text(
        st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"),
        min_size=1,
        max_size=40,
    )
    .map(str.strip)
    .filter(bool)
)


@pytest.mark.django_db
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(item=text_cells, notes=text_cells)
def test_any_text_round_trips(editor, item, notes):
    empty_the_ledger()
    source = Source.objects.create(url="https://example.org/a")
    pledge_create(
        actor=editor,
        lines=[Line(description=item, category=Category.objects.get(slug="drones"))],
        links=[PledgeSource(source=source)],
        donor=Party.objects.get(code="PL"),
        recipient=Party.objects.get(code="UA"),
        announced_on=datetime.date(2024, 5, 6),
        notes=notes,
    )
    first, second = round_trip(editor)
    assert second == first
    line = Line.objects.get()
    assert (line.description, line.pledge.notes) == (item, notes)
