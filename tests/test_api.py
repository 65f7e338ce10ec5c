"""The REST API v1: each resource through the shared cases in `tests.api_cases` (data only here),
then what the shared cases cannot say: filters, CSV, pledge writes through the service,
authentication, throttling, errors, pagination, totals' parameters, the schema and its docs."""

import base64
import csv
import datetime
import io
import json
import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.cache import cache
from django.core.management import call_command
from django.http import StreamingHttpResponse
from knox.models import AuthToken
from rest_framework.test import APIClient
from rest_framework.throttling import AnonRateThrottle

from aid.lines.columns import COLUMNS
from aid.models import Category, ItemAlias, ItemType, Line, Official, Party, Pledge
from aid.services import pledge_save, pledge_withdraw, pledges_verify
from sources.models import PledgeSource, Source
from tests.api_cases import (
    ANONYMOUS_DENIED,
    ReadOnlyResourceCases,
    ResourceCases,
    World,
    ask_for_csv,
    assert_matches,
    client_as,
    csv_rows,
)
from tests.conftest import row_counts

NOV_1 = datetime.date(2022, 11, 1)


# --- Resource data ------------------------------------------------------------------------------


def pledges_of(world: World, count: int) -> list[Pledge]:
    """Pledges with two lines and two sources each; every fifth day repeats, so order has ties."""
    return [
        world.make_pledge(
            announced_on=NOV_1 + datetime.timedelta(days=number % 5),
            official=world.wallace,
            package=f"Package {number}",
            lines=[
                Line(description="Sea King helicopters", item_type=world.sea_king, quantity=3),
                Line(
                    description="Pilot training",
                    category=Category.objects.get(slug="training"),
                    value=Decimal("1000000"),
                    currency="GBP",
                    value_basis=Line.ValueBasis.STATED,
                ),
            ],
            links=[
                PledgeSource(source=world.article, role=PledgeSource.Role.ANNOUNCEMENT),
                PledgeSource(source=world.statement, role=PledgeSource.Role.CORROBORATION),
            ],
        )
        for number in range(count)
    ]


class TestParties(ReadOnlyResourceCases):
    url = "/api/v1/parties/"
    model = Party
    lookup = "code"
    order_by = ("code",)
    list_queries = 2
    bad_filters = {"kind": "tribe"}

    def records(self, world, count):
        return [world.gb, world.ua, world.us]  # seeded: some 250 of them


class TestLines(ReadOnlyResourceCases):
    url = "/api/v1/lines/"
    model = Line
    order_by = ("-pledge__announced_on", "pledge__ref", "line_no")  # the lines CSV's order
    list_queries = 3
    bad_filters = {
        "donor": "XX",
        "recipient_id": "999999",
        "category": "no-such-category",
        "item_type": "Unknown aircraft",
        "official": "Nobody",
        "status": "lost",
        "announced_after": "2022-13-01",
        "announced_before": "23/11/2022",
        "source": "https://example.org/never-cited",
        "unit": "gallons",
        "quantity_min": "many",
        "ordering": "price",
    }

    def records(self, world, count):
        pledges = pledges_of(world, (count + 1) // 2)
        return [line for pledge in pledges for line in pledge.lines.all()]

    @pytest.mark.parametrize("ask", ["format", "accept"])
    def test_csv_holds_every_row_of_the_list_in_its_order(self, world, ask):
        # Lines answer with the canonical lines CSV (tests/test_export.py), not the JSON's shape.
        self.records(world, 3)
        client = client_as("anonymous", world)
        listed = self.listed(client)
        response = ask_for_csv(client, self.url, ask)
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response["Content-Disposition"] == 'attachment; filename="lines.csv"'
        rows = csv_rows(response)
        assert list(rows[0]) == COLUMNS
        assert [(row["pledge_ref"], row["line_no"]) for row in rows] == [
            (row["pledge"], str(row["line_no"])) for row in listed["results"]
        ]


class TestOfficials(ResourceCases):
    url = "/api/v1/officials/"
    model = Official
    order_by = ("name", "id")
    list_queries = 2
    required = "name"
    bad_filters = {"party": "XX"}

    def records(self, world, count):
        start = Official.objects.filter(name__startswith="Minister ").count()
        return [
            Official.objects.create(name=f"Minister {number:02d}", party=world.gb, title="Minister")
            for number in range(start, start + count)
        ]

    def create_payload(self, world):
        return {"name": "Grant Shapps", "party": "GB", "title": "Defence Secretary"}

    def update_payload(self, world, record):
        return {"name": record.name, "party": "GB", "title": "Former Defence Secretary"}


class TestCategories(ResourceCases):
    url = "/api/v1/categories/"
    model = Category
    lookup = "slug"
    order_by = ("slug",)
    list_queries = 2
    required = "slug"
    bad_filters = {"parent": "no-such-category", "level": "3", "aid_type": "cultural"}

    def records(self, world, count):
        equipment = Category.objects.get(slug="equipment")
        start = Category.objects.filter(slug__startswith="equipment-part-").count()
        return [
            Category.objects.create(
                slug=f"equipment-part-{number:02d}", name=f"Part {number}", parent=equipment
            )
            for number in range(start, start + count)
        ]

    def create_payload(self, world):
        return {
            "slug": "counter-drone-systems",
            "name": "Counter-drone systems",
            "parent": "air-defence",
            "description": "Jammers and interceptors against drones.",
        }

    def update_payload(self, world, record):
        return {"slug": record.slug, "name": "Spare parts", "parent": "vehicles"}


class TestItemTypes(ResourceCases):
    url = "/api/v1/item-types/"
    model = ItemType
    order_by = ("name", "id")
    list_queries = 3
    required = "name"
    bad_filters = {"category": "no-such-category"}

    def records(self, world, count):
        start = ItemType.objects.filter(name__startswith="Item ").count()
        item_types = []
        for number in range(start, start + count):
            item_type = ItemType.objects.create(
                name=f"Item {number:02d}", category=world.helicopters
            )
            ItemAlias.objects.bulk_create(
                [ItemAlias(item_type=item_type, alias=f"Item {number:02d} {a}") for a in "AB"]
            )
            item_types.append(item_type)
        return item_types

    def create_payload(self, world):
        return {
            "name": "M777 howitzer",
            "category": "towed-artillery",
            "default_unit": "systems",
            "notes": "155 mm towed howitzer.",
        }

    def update_payload(self, world, record):
        return {
            "name": record.name,
            "category": "attack-helicopters",
            "default_unit": "units",
            "notes": "Renamed in the catalogue.",
        }


class TestSources(ResourceCases):
    url = "/api/v1/sources/"
    model = Source
    order_by = ("-published_on", "id")
    list_queries = 3
    required = "title"
    bad_filters = {"published_after": "2022-02-30", "kind": "blog", "published_before": "soon"}

    def records(self, world, count):
        start = Source.objects.filter(url__startswith="https://news.example.org/").count()
        sources = [
            Source.objects.create(
                url=f"https://news.example.org/aid/{number}",
                title=f"Aid report {number}",
                publisher="Example News",
                published_on=NOV_1 + datetime.timedelta(days=number % 4) if number % 5 else None,
            )
            for number in range(start, start + count)
        ]
        world.make_pledge(links=[PledgeSource(source=source) for source in sources])
        return sources

    def create_payload(self, world):
        return {
            "url": "https://www.bbc.co.uk/news/uk-63725431",
            "title": "UK to send helicopters to Ukraine for first time",
            "publisher": "BBC News",
            "published_on": "2022-11-23",
            "kind": "news-report",
            "language": "en",
            "archive_url": "https://web.archive.org/web/2022/https://www.bbc.co.uk/news/uk-63725431",
        }

    def update_payload(self, world, record):
        return {
            "url": record.url,
            "title": "Corrected title",
            "publisher": "Example News",
            "published_on": "2022-11-24",
            "kind": "official-statement",
            "language": "uk",
        }


class TestPledges(ResourceCases):
    url = "/api/v1/pledges/"
    model = Pledge
    order_by = ("-announced_on", "-id")
    list_queries = 4
    required = "donor"
    updated_status = 202  # the records are published pledges: a change waits for review
    bad_filters = {
        "donor": "XX",
        "donor_id": "x",
        "recipient": "Ukraine",
        "official": "Nobody",
        "category": "no-such-category",
        "status": "lost",
        "announced_after": "2022-11-31",
        "source": "https://example.org/never-cited",
        "ordering": "value",
    }

    def records(self, world, count):
        return pledges_of(world, count)

    def test_update(self, world):
        """A change to a published pledge is accepted as its pending revision, at its own URL;
        the public goes on reading the published pledge unchanged."""
        record = self.records(world, 1)[0]
        published = APIClient().get(self.detail_url(record)).json()
        payload = self.update_payload(world, record)
        response = client_as("editor", world).put(self.detail_url(record), payload, format="json")
        assert response.status_code == 202, response.json()
        assert_matches(response.json(), payload)
        revision = self.stored(response.json())
        assert (revision.revision_of, revision.ref) == (record, record.ref)
        assert response["Location"].endswith(self.detail_url(revision))
        self.assert_recorded(revision, "+", world)
        editor_view = client_as("editor", world).get(response["Location"])
        assert_matches(editor_view.json(), payload)
        assert APIClient().get(self.detail_url(record)).json() == published

    def create_payload(self, world):
        return {
            "donor": "GB",
            "recipient": "UA",
            "announced_on": "2022-11-23",
            "date_precision": "day",
            "official": world.wallace.pk,
            "package": "Sea King package",
            "lines": [
                {
                    "item": "Sea King helicopters",
                    "item_type": "Westland Sea King",
                    "category": "helicopters",
                    "quantity": 3,
                    "quantity_qualifier": "exact",
                    "unit": "units",
                },
                {
                    "item": "Package value",
                    "category": "unallocated",
                    "value": "1000000.00",
                    "currency": "GBP",
                    "value_basis": "stated",
                },
            ],
            "sources": [
                {
                    "source": world.statement.pk,
                    "role": "announcement",
                    "quote": "The UK will send Sea King helicopters to Ukraine.",
                }
            ],
        }

    def update_payload(self, world, record):
        return {
            "donor": "GB",
            "recipient": "UA",
            "announced_on": "2022-11-01",
            "date_precision": "month",
            "official": world.wallace.pk,
            "package": "Sea King package (restated)",
            "status": "partly-delivered",
            "lines": [
                {"line_no": 1, "item": "Sea King helicopters", "quantity": 4},
                {"item": "Spare parts", "category": "equipment"},
            ],
            "sources": [{"source": world.article.pk, "role": "corroboration"}],
        }


# --- A small ledger for the filters, CSV and writes ---------------------------------------------


@pytest.fixture
def ledger(make_pledge, wallace, gb, ua, helicopters, reviewer):
    """Three pledges and a withdrawn one, with the sources that report them.

    gb_nov  GB→UA 2022-11-23, Ben Wallace: 3 Sea Kings (a multirole-helicopters line) and a
            £1,000,000 package value; reported by the BBC.
    us_dec  US→UA 2022-12-21: a Patriot battery, $1,000,000,000 estimated; reported by the DoD.
    gb_jan  GB→UA 2023-01-14: 14 Challenger 2 tanks and 30 AS-90 guns; reported by the BBC.
    gb_jun  GB→UA 2022-06-01: IRIS-T, withdrawn.
    """
    us = Party.objects.get(code="US")
    bbc = Source.objects.create(
        url="https://www.bbc.co.uk/news/uk-63725431",
        title="UK to send helicopters to Ukraine for first time",
        publisher="BBC News",
        published_on=datetime.date(2022, 11, 23),
    )
    dod = Source.objects.create(
        url="https://www.defense.gov/News/Releases/Release/Article/3252968/",
        title="$1.85 billion in security assistance for Ukraine",
        publisher="U.S. Department of Defense",
        published_on=datetime.date(2022, 12, 21),
        kind=Source.Kind.OFFICIAL_STATEMENT,
    )
    sea_king = ItemType.objects.create(name="Westland Sea King", category=helicopters)
    ItemAlias.objects.create(item_type=sea_king, alias="Sea King")

    def line(item, slug, **fields):
        return Line(description=item, category=Category.objects.get(slug=slug), **fields)

    def cites(*sources):
        return [PledgeSource(source=source) for source in sources]

    gb_nov = make_pledge(
        announced_on=datetime.date(2022, 11, 23),
        official=wallace,
        package="Sea King package",
        lines=[
            line("Sea King helicopters", "multirole-helicopters", quantity=3, item_type=sea_king),
            line("Package value", "unallocated", value=Decimal("1000000"), currency="GBP",
                 value_basis="stated"),
        ],
        links=cites(bbc),
    )  # fmt: skip
    us_dec = make_pledge(
        donor=us,
        announced_on=datetime.date(2022, 12, 21),
        lines=[
            line("Patriot battery", "long-range-air-defence", quantity=1, unit="batteries",
                 value=Decimal("1000000000"), currency="USD", value_basis="estimated"),
        ],
        links=cites(dod),
    )  # fmt: skip
    gb_jan = make_pledge(
        announced_on=datetime.date(2023, 1, 14),
        lines=[
            line("Challenger 2 tanks", "main-battle-tanks", quantity=14),
            line("AS-90 guns", "self-propelled-artillery", quantity=30, unit="systems"),
        ],
        links=cites(bbc),
    )
    gb_jun = make_pledge(
        announced_on=datetime.date(2022, 6, 1), lines=[line("IRIS-T", "air-defence")]
    )
    pledge_withdraw(actor=reviewer, pledge=gb_jun, reason="Never confirmed.")  # a reviewer's act
    return SimpleNamespace(
        gb_nov=gb_nov, us_dec=us_dec, gb_jan=gb_jan, gb_jun=gb_jun, bbc=bbc, dod=dod,
        sea_king=sea_king, us=us,
    )  # fmt: skip


@pytest.fixture
def anonymous():
    return APIClient()


@pytest.fixture
def editor_api(editor):
    """The editor, authenticated by an API token (as scripts and notebooks are)."""
    return token_client(editor)


@pytest.fixture
def reviewer_api(reviewer):
    return token_client(reviewer)


def token_client(user) -> APIClient:
    client = APIClient()
    _, token = AuthToken.objects.create(user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.fixture
def reader_api(reader):
    client = APIClient()
    client.force_login(reader)
    return client


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content[:500]
    return response.json()["results"]


def items(response) -> set[str]:
    return {row["item"] for row in results(response)}


def streamed(response) -> str:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content).decode("utf-8")


# --- Filters ------------------------------------------------------------------------------------

SEA_KING, PACKAGE, PATRIOT = "Sea King helicopters", "Package value", "Patriot battery"
CHALLENGER, AS90, IRIS_T = "Challenger 2 tanks", "AS-90 guns", "IRIS-T"
LISTED = {SEA_KING, PACKAGE, PATRIOT, CHALLENGER, AS90}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, LISTED),
        ({"donor": "GB"}, {SEA_KING, PACKAGE, CHALLENGER, AS90}),
        ({"donor": ["GB", "US"]}, LISTED),
        ({"recipient": "UA"}, LISTED),
        ({"category": "helicopters"}, {SEA_KING}),  # with its subcategories
        ({"category": ["helicopters", "tanks"]}, {SEA_KING, CHALLENGER}),
        ({"category": "multirole-helicopters"}, {SEA_KING}),
        ({"aid_type": "humanitarian"}, set()),
        ({"item_type": "Westland Sea King"}, {SEA_KING}),
        ({"official": "Ben Wallace"}, {SEA_KING, PACKAGE}),
        ({"status": "withdrawn"}, {IRIS_T}),
        ({"status": ["announced", "withdrawn"]}, LISTED | {IRIS_T}),
        ({"announced_after": "2022-12-21"}, {PATRIOT, CHALLENGER, AS90}),  # inclusive
        ({"announced_before": "2022-11-23"}, {SEA_KING, PACKAGE}),  # not the withdrawn one
        (
            {"source": "HTTPS://WWW.BBC.co.uk/news/uk-63725431?utm_source=twitter#comments"},
            {SEA_KING, PACKAGE, CHALLENGER, AS90},
        ),
        ({"publisher": "bbc news"}, {SEA_KING, PACKAGE, CHALLENGER, AS90}),
        ({"value_currency": "usd"}, {PATRIOT}),
        ({"unit": "systems"}, {AS90}),
        ({"quantity_min": 10}, {CHALLENGER, AS90}),
        ({"quantity_max": 3}, {SEA_KING, PATRIOT}),
        ({"value_min": 1000000}, {PACKAGE, PATRIOT}),  # in the line's own currency
        ({"value_max": 1000000}, {PACKAGE}),
        ({"q": "sea king"}, {SEA_KING}),
        ({"q": "security assistance"}, {PATRIOT}),  # a source title
        ({"q": "wallace"}, {SEA_KING, PACKAGE}),
    ],
)
def test_line_filters(ledger, anonymous, params, expected):
    assert items(anonymous.get("/api/v1/lines/", params)) == expected


def test_line_filters_by_id_and_pledge_reference(ledger, anonymous):
    by_id = anonymous.get("/api/v1/lines/", {"donor_id": ledger.us.pk})
    by_ref = anonymous.get("/api/v1/lines/", {"pledge": ledger.gb_jan.ref})
    assert items(by_id) == {PATRIOT}
    assert items(by_ref) == {CHALLENGER, AS90}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"gb_jan", "us_dec", "gb_nov"}),
        ({"donor": "US"}, {"us_dec"}),
        ({"category": "air-defence"}, {"us_dec"}),  # a pledge with a line in it
        ({"category": "helicopters"}, {"gb_nov"}),
        ({"official": "Ben Wallace"}, {"gb_nov"}),
        ({"status": "withdrawn"}, {"gb_jun"}),
        ({"announced_after": "2022-12-01", "announced_before": "2022-12-31"}, {"us_dec"}),
        ({"source": "https://www.defense.gov/News/Releases/Release/Article/3252968/"}, {"us_dec"}),
        ({"publisher": "BBC NEWS"}, {"gb_nov", "gb_jan"}),
        ({"q": "Sea King package"}, {"gb_nov"}),  # the package name
        ({"q": "challenger"}, {"gb_jan"}),  # an item
    ],
)
def test_pledge_filters(ledger, anonymous, params, expected):
    refs = {getattr(ledger, name).ref for name in expected}
    assert {row["ref"] for row in results(anonymous.get("/api/v1/pledges/", params))} == refs


def test_pledge_filter_by_reference(ledger, anonymous):
    rows = results(anonymous.get("/api/v1/pledges/", {"ref": ledger.gb_nov.ref}))
    assert [row["id"] for row in rows] == [ledger.gb_nov.pk]


BBC = "UK to send helicopters to Ukraine for first time"
DOD = "$1.85 billion in security assistance for Ukraine"
HELICOPTERS = "multirole-helicopters"
FINANCIAL = ["budget-support", "guarantees", "loans"]


@pytest.mark.parametrize(
    ("url", "params", "expected"),
    [
        ("/api/v1/parties/", {"kind": "organisation"}, ["EU", "NATO"]),
        ("/api/v1/parties/", {"q": "united kingdom"}, ["GB"]),
        ("/api/v1/parties/", {"code": "gb"}, ["GB"]),
        ("/api/v1/officials/", {"party": "GB"}, ["Ben Wallace"]),
        ("/api/v1/officials/", {"party": "US"}, []),
        ("/api/v1/officials/", {"q": "defence"}, ["Ben Wallace"]),
        ("/api/v1/categories/", {"parent": "helicopters"}, ["attack-helicopters", HELICOPTERS]),
        ("/api/v1/categories/", {"aid_type": "financial", "level": "2"}, FINANCIAL),
        ("/api/v1/categories/", {"un_register": "V"}, ["helicopters"]),
        ("/api/v1/item-types/", {"q": "sea king"}, ["Westland Sea King"]),  # an alias
        ("/api/v1/item-types/", {"category": "helicopters"}, ["Westland Sea King"]),
        ("/api/v1/item-types/", {"category": "tanks"}, []),
        ("/api/v1/sources/", {"url": "http://www.BBC.co.uk/news/uk-63725431?fbclid=x"}, []),
        ("/api/v1/sources/", {"url": "https://www.BBC.co.uk/news/uk-63725431?fbclid=x"}, [BBC]),
        ("/api/v1/sources/", {"kind": "official-statement"}, [DOD]),
        ("/api/v1/sources/", {"published_after": "2022-12-01"}, [DOD]),
        ("/api/v1/sources/", {"q": "helicopters"}, [BBC]),
    ],
)  # fmt: skip
def test_filters_of_the_other_lists(ledger, wallace, anonymous, url, params, expected):
    names = [
        row.get("code") or row.get("slug") or row.get("name") or row["title"]
        for row in results(anonymous.get(url, params))
    ]
    assert names == expected


def test_sources_filter_by_the_pledges_they_support(ledger, anonymous):
    rows = results(anonymous.get("/api/v1/sources/", {"pledge": ledger.us_dec.ref}))
    assert [row["id"] for row in rows] == [ledger.dod.pk]
    assert rows[0]["pledges"] == [ledger.us_dec.pk]


@pytest.mark.parametrize(
    ("url", "params", "name", "says"),
    [
        ("/api/v1/lines/", {"donor": "XX"}, "donor", "XX"),
        ("/api/v1/lines/", {"donor": ["GB", "XX"]}, "donor", "XX"),
        ("/api/v1/lines/", {"announced_after": "2022-13-01"}, "announced_after", "valid date"),
        ("/api/v1/lines/", {"source": "https://example.org/news"}, "source", "No source"),
        ("/api/v1/lines/", {"source": "http://example.org:99999/"}, "source", "valid URL"),
        ("/api/v1/lines/", {"donor_id": "99999999999999999999"}, "donor_id", "not a valid id"),
        ("/api/v1/pledges/", {"category": "tank"}, "category", "tank"),
        ("/api/v1/sources/", {"url": "http://[::1"}, "url", "valid URL"),
        ("/api/v1/sources/", {"published_before": "2022-02-30"}, "published_before", "date"),
        ("/api/v1/totals/", {"recipient": "Ukraine"}, "recipient", "Ukraine"),
        ("/api/v1/totals/", {"announced_before": "yesterday"}, "announced_before", "date"),
    ],
)
def test_an_unknown_code_or_a_malformed_value_is_a_400_naming_it(
    ledger, anonymous, url, params, name, says
):
    response = anonymous.get(url, params)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert says in " ".join(response.json()[name])


def test_withdrawn_pledges_leave_the_lists_but_not_the_ledger(ledger, anonymous):
    withdrawn = ledger.gb_jun
    assert withdrawn.pk not in [row["id"] for row in results(anonymous.get("/api/v1/pledges/"))]
    asked = results(anonymous.get("/api/v1/pledges/", {"status": "withdrawn"}))
    assert [row["id"] for row in asked] == [withdrawn.pk]
    # Its own URL, and its lines' URLs, still answer: it stays in the ledger and its history.
    detail = anonymous.get(f"/api/v1/pledges/{withdrawn.pk}/")
    assert (detail.status_code, detail.json()["status"]) == (200, "withdrawn")
    line = withdrawn.lines.get()
    assert anonymous.get(f"/api/v1/lines/{line.pk}/").json()["status"] == "withdrawn"
    total = anonymous.get("/api/v1/totals/").json()["total"][0]
    assert total["pledges"] == 3


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"donor": "GB"},
        {"category": "helicopters", "announced_after": "2022-01-01"},
        {"status": ["announced", "withdrawn"]},
        {"q": "sea king"},
        {"source": "https://www.bbc.co.uk/news/uk-63725431"},
    ],
)
def test_one_filter_set_gives_the_same_rows_to_lines_csv_and_totals(ledger, anonymous, params):
    listed = anonymous.get("/api/v1/lines/", params).json()
    exported = csv_rows(anonymous.get("/api/v1/lines/", {**params, "format": "csv"}))
    total = anonymous.get("/api/v1/totals/", params).json()["total"][0]
    pledges = anonymous.get("/api/v1/pledges/", params).json()
    assert [(row["pledge_ref"], row["line_no"]) for row in exported] == [
        (row["pledge"], str(row["line_no"])) for row in listed["results"]
    ]
    assert total["lines"] == listed["count"]
    if "q" not in params:  # `q` searches a pledge's text, not one line's
        assert total["pledges"] == pledges["count"] == len({row["pledge_ref"] for row in exported})


def test_ordering_is_asked_for_and_ties_keep_the_default_order(ledger, anonymous):
    params = {"ordering": "-quantity", "quantity_min": 1}  # where NULLs go depends on the database
    by_quantity = results(anonymous.get("/api/v1/lines/", params))
    assert [row["item"] for row in by_quantity] == [AS90, CHALLENGER, SEA_KING, PATRIOT]
    default = [row["id"] for row in results(anonymous.get("/api/v1/lines/"))]
    by_donor = results(anonymous.get("/api/v1/lines/", {"ordering": "donor"}))
    # GB before US; within GB the default order (newest first, then line number).
    assert [row["id"] for row in by_donor] == sorted(
        default, key=lambda id: next(r["donor"] for r in by_donor if r["id"] == id)
    )
    empty = results(anonymous.get("/api/v1/lines/", {"ordering": ","}))
    assert [row["id"] for row in empty] == default


# --- CSV ----------------------------------------------------------------------------------------

FORMULAS = ["=HYPERLINK(\"http://evil.example\")", "+44 20 7946 0000", "-1+2", "@SUM(A1:A2)",
            "\tcmd", "\rcmd"]  # fmt: skip


def test_csv_neutralises_spreadsheet_formulas_and_keeps_numbers_numbers(
    make_pledge, wallace, helicopters, anonymous
):
    make_pledge(
        official=wallace,
        package="=cmd|' /C calc'!A0",
        lines=[Line(description=text, category=helicopters, quantity=1) for text in FORMULAS]
        + [
            Line(description="a=b and -c", category=helicopters),
            Line(description="Package value", category=helicopters, value=Decimal("1000000"),
                 currency="EUR", value_basis="stated"),
        ],
    )  # fmt: skip
    text = streamed(anonymous.get("/api/v1/lines/", {"format": "csv"}))
    rows = {row["line_no"]: row for row in csv.DictReader(io.StringIO(text, newline=""))}
    assert [rows[str(number)]["item"] for number in range(1, 7)] == ["'" + f for f in FORMULAS]
    assert rows["7"]["item"] == "a=b and -c"  # only the start of a cell counts
    assert rows["1"]["package"] == "'=cmd|' /C calc'!A0"
    assert (rows["1"]["quantity"], rows["7"]["quantity"], rows["7"]["value"]) == ("1", "", "")
    assert rows["8"]["value"] == "1000000.00"
    assert ",1000000.00,EUR," in text  # a number: not quoted, no apostrophe
    assert text.count("\r\n") == len(rows) + 1  # one line per row (RFC 4180), header first
    assert rows["8"]["announced_on"] == "2022-11-23"


def test_csv_lists_are_space_separated_and_nested_records_are_json(ledger, anonymous):
    extra = Source.objects.create(url="https://www.gov.uk/sea-kings", title="MoD")
    link = PledgeSource(source=extra, role=PledgeSource.Role.CORROBORATION)
    revision = pledge_save(
        actor=None,
        pledge=ledger.gb_nov,
        lines=list(ledger.gb_nov.lines.all()),
        links=[*ledger.gb_nov.source_links.all(), link],
    )
    pledges_verify(actor=None, pledges=[revision])  # the change waited for review: publish it
    params = {"format": "csv", "pledge": ledger.gb_nov.ref}
    row = csv_rows(anonymous.get("/api/v1/lines/", params))[0]
    assert row["source_urls"] == f"{ledger.bbc.url} https://www.gov.uk/sea-kings"

    params = {"ref": ledger.gb_nov.ref}
    pledge = anonymous.get("/api/v1/pledges/", params).json()["results"][0]
    text = streamed(anonymous.get("/api/v1/pledges/", {**params, "format": "csv"}))
    row = next(csv.DictReader(io.StringIO(text, newline="")))
    assert json.loads(row["lines"]) == pledge["lines"]
    assert json.loads(row["sources"]) == pledge["sources"]


def test_csv_of_totals_answers_with_the_same_filters(ledger, anonymous):
    params = {"group_by": "donor,category", "category_level": "1", "donor": "GB"}
    listed = anonymous.get("/api/v1/totals/", params).json()
    for response in (
        anonymous.get("/api/v1/totals/", {**params, "format": "csv"}),
        anonymous.get("/api/v1/totals/", params, HTTP_ACCEPT="text/csv"),
    ):
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        rows = csv_rows(response)
        assert [(row["donor"], row["category"]) for row in rows] == [
            (row["donor"], row["category"]) for row in listed["rows"]
        ]
        assert list(rows[0]) == [*listed["group_by"], *list(listed["rows"][0])[2:]]
        assert all(not row["value"].startswith(("'", '"')) for row in rows)
        assert all(row["value"] == "" for row in rows if row["unvalued"] == row["lines"])
        assert float(next(row["value"] for row in rows if row["value"])) >= 0


# --- Pledges written through the service --------------------------------------------------------


def pledge_payload(ledger, **fields) -> dict:
    return {
        "donor": "GB",
        "recipient": "UA",
        "announced_on": "2022-11-23",
        "lines": [{"item": SEA_KING, "item_type": "Westland Sea King", "quantity": 3}],
        "sources": [{"source": ledger.bbc.pk, "role": "announcement", "quote": "three Sea Kings"}],
        **fields,
    }


def test_a_pledge_is_created_whole_with_its_history_under_the_token_user(
    ledger, editor, editor_api
):
    response = editor_api.post("/api/v1/pledges/", pledge_payload(ledger), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert re.fullmatch(r"GB-2022-[0-9a-f]{6}", body["ref"])
    assert body["lines"][0] | {"line_no": 1} == {
        "line_no": 1, "item": "Sea King helicopters", "item_type": "Westland Sea King",
        "category": "helicopters", "quantity": 3, "quantity_qualifier": "exact", "unit": "units",
        "value": None, "currency": "", "value_basis": "",
    }  # fmt: skip
    pledge = Pledge.objects.get(pk=body["id"])
    for history in (pledge.history, pledge.lines.get().history, pledge.source_links.get().history):
        assert [(r.history_type, r.history_user) for r in history.all()] == [("+", editor)]


def test_a_pledge_with_errors_gets_every_error_at_once_and_nothing_is_written(ledger, editor_api):
    before = row_counts()
    payload = pledge_payload(
        ledger,
        recipient="GB",
        announced_on="2099-01-01",
        lines=[
            {"item": "Sea King helicopters", "category": "helicopters", "quantity": 3},
            {"item": "Ammunition", "category": "ammunition", "currency": "GBP"},
            {"item": "Rounds", "category": "ammunition", "quantity_qualifier": "at_least"},
        ],
        sources=[],
    )
    response = editor_api.post("/api/v1/pledges/", payload, format="json")
    assert response.status_code == 400
    assert set(response.json()) == {
        "recipient", "announced_on", "lines[2].currency", "lines[3].quantity", "sources",
    }  # fmt: skip
    assert row_counts() == before


@pytest.mark.parametrize(
    ("change", "name"),
    [
        ({"donor": "XX"}, "donor"),
        ({"donor": "G\x00"}, "donor"),  # PostgreSQL cannot compare a NUL byte
        ({"official": 999999}, "official"),
        ({"lines": [{"item": "Tanks", "category": "tank"}]}, "lines"),
        ({"lines": [{"item": "Tanks", "item_type": "Leopard 9"}]}, "lines"),
        ({"lines": [{"item": "Tanks", "category": "tanks\x00"}]}, "lines"),
        ({"lines": [{"item": "Tanks", "category": "tanks", "quantity": 0}]}, "lines"),
        ({"sources": [{"source": 999999}]}, "sources"),
        ({"date_precision": "week"}, "date_precision"),
    ],
)
def test_a_pledge_refers_to_what_the_ledger_holds(ledger, editor_api, change, name):
    before = row_counts()
    response = editor_api.post("/api/v1/pledges/", pledge_payload(ledger, **change), format="json")
    assert response.status_code == 400
    assert name in response.json()
    assert row_counts() == before


def test_a_given_ref_is_kept_and_not_reused(ledger, editor_api):
    payload = pledge_payload(ledger, ref="UK-MOD-2022-11-23")
    created = editor_api.post("/api/v1/pledges/", payload, format="json")
    assert created.json()["ref"] == payload["ref"]
    again = editor_api.post("/api/v1/pledges/", payload, format="json")
    assert (again.status_code, list(again.json())) == (400, ["ref"])


def test_put_updates_adds_and_removes_lines_with_history(
    ledger, editor, editor_api, reviewer, reviewer_api, anonymous
):
    pledge = ledger.gb_nov  # published, lines 1 (Sea Kings) and 2 (package value)
    payload = pledge_payload(
        ledger,
        lines=[
            {"line_no": 1, "item": "Westland Sea King helicopters", "category": "helicopters",
             "quantity": 4},
            {"item": "Spare parts", "category": "equipment"},
        ],
    )  # fmt: skip
    response = editor_api.put(f"/api/v1/pledges/{pledge.pk}/", payload, format="json")
    assert response.status_code == 202, response.json()
    revision = response.json()
    # A new line is numbered after the highest number ever used: 2 is not reused.
    numbered = [(1, "Westland Sea King helicopters", 4), (3, "Spare parts", None)]
    assert [(line["line_no"], line["item"], line["quantity"]) for line in revision["lines"]] == (
        numbered
    )
    written = Line.history.filter(pledge_id=revision["id"], line_no=1).first()
    assert (written.history_user, written.quantity) == (editor, 4)
    public = anonymous.get(f"/api/v1/pledges/{pledge.pk}/").json()
    assert [(line["line_no"], line["quantity"]) for line in public["lines"]] == [(1, 3), (2, None)]

    published = reviewer_api.post(f"/api/v1/pledges/{revision['id']}/verify/")
    assert (published.status_code, published.json()["id"]) == (200, pledge.pk)
    public = anonymous.get(f"/api/v1/pledges/{pledge.pk}/").json()
    assert [(line["line_no"], line["item"], line["quantity"]) for line in public["lines"]] == (
        numbered
    )
    # The published pledge's own history records each change, made by publishing it.
    removed = Line.history.filter(pledge_id=pledge.pk, line_no=2).first()
    changed = Line.history.filter(pledge_id=pledge.pk, line_no=1).first()
    assert (removed.history_type, removed.history_user) == ("-", reviewer)
    assert (changed.history_type, changed.history_user, changed.quantity) == ("~", reviewer, 4)


def test_patch_without_lines_or_sources_keeps_them(ledger, editor, editor_api):
    pledge = ledger.gb_nov
    line_history = Line.history.filter(pledge_id=pledge.pk).count()
    response = editor_api.patch(
        f"/api/v1/pledges/{pledge.pk}/", {"notes": "Confirmed by the MoD."}, format="json"
    )
    assert response.status_code == 202  # published: the change is its pending revision
    assert [line["item"] for line in response.json()["lines"]] == [SEA_KING, PACKAGE]
    assert [line["line_no"] for line in response.json()["lines"]] == [1, 2]
    assert len(response.json()["sources"]) == 1
    assert Line.history.filter(pledge_id=pledge.pk).count() == line_history
    revision = Pledge.objects.get(pk=response.json()["id"])
    latest = revision.history.first()
    assert (latest.notes, latest.history_user) == ("Confirmed by the MoD.", editor)
    assert Pledge.objects.get(pk=pledge.pk).notes == ""


@pytest.mark.parametrize(
    ("change", "name"),
    [
        ({"lines": [{"line_no": 9, "item": "Sea Kings"}]}, "lines[1].line_no"),
        ({"sources": [{"role": "corroboration"}]}, "sources[1].source"),  # no source named
        ({"lines": []}, "lines"),
    ],
)
def test_patch_refuses_lines_and_sources_it_cannot_place(ledger, editor_api, change, name):
    before = row_counts()
    response = editor_api.patch(f"/api/v1/pledges/{ledger.gb_nov.pk}/", change, format="json")
    assert response.status_code == 400
    assert name in response.json()
    assert row_counts() == before


def test_withdraw_keeps_the_pledge_and_records_the_reason(
    ledger, reviewer, reviewer_api, anonymous
):
    pledge = ledger.us_dec
    response = reviewer_api.post(
        f"/api/v1/pledges/{pledge.pk}/withdraw/", {"reason": "Superseded by PDA 28"}, format="json"
    )
    assert (response.status_code, response.json()["status"]) == (200, "withdrawn")
    latest = Pledge.objects.get(pk=pledge.pk).history.first()
    assert (latest.status, latest.history_user, latest.history_change_reason) == (
        "withdrawn", reviewer, "Superseded by PDA 28",
    )  # fmt: skip
    assert items(anonymous.get("/api/v1/lines/")) == LISTED - {PATRIOT}


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}])
def test_withdraw_needs_a_reason(ledger, reviewer_api, body):
    url = f"/api/v1/pledges/{ledger.us_dec.pk}/withdraw/"
    response = reviewer_api.post(url, body, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()
    assert Pledge.objects.get(pk=ledger.us_dec.pk).status == "announced"


@pytest.mark.parametrize("role", ["anonymous", "reader", "editor"])
def test_withdraw_needs_a_reviewer(ledger, reader, editor, role):
    client = APIClient()
    if role != "anonymous":
        client.force_login({"reader": reader, "editor": editor}[role])
    response = client.post(
        f"/api/v1/pledges/{ledger.us_dec.pk}/withdraw/", {"reason": "No"}, format="json"
    )
    assert response.status_code in ANONYMOUS_DENIED if role == "anonymous" else {403}
    assert Pledge.objects.get(pk=ledger.us_dec.pk).status == "announced"


# --- Authentication -----------------------------------------------------------------------------


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_login_with_http_basic_gives_a_token_stored_only_hashed(ledger, editor):
    client = APIClient()
    response = client.post(
        "/api/v1/auth/login/", HTTP_AUTHORIZATION=basic("editor", "editor-pass-123")
    )
    assert response.status_code == 200
    token = response.json()["token"]
    assert response.json()["expiry"]
    stored = AuthToken.objects.get(user=editor)
    assert token not in (stored.digest, stored.token_key) and len(stored.digest) >= 64
    assert stored.token_key == token[: len(stored.token_key)]  # a prefix to find it, no more

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    payload = {"name": "Grant Shapps", "party": "GB", "title": "Defence Secretary"}
    assert client.post("/api/v1/officials/", payload, format="json").status_code == 201


def test_logout_revokes_the_token_and_logoutall_every_token(ledger, editor):
    tokens = [AuthToken.objects.create(editor)[1] for _ in range(3)]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {tokens[0]}")
    assert client.post("/api/v1/auth/logout/").status_code == 204
    refused = client.get("/api/v1/pledges/")
    assert refused.status_code in ANONYMOUS_DENIED
    assert refused["Content-Type"] == "application/json"
    assert AuthToken.objects.filter(user=editor).count() == 2

    client.credentials(HTTP_AUTHORIZATION=f"Token {tokens[1]}")
    assert client.post("/api/v1/auth/logoutall/").status_code == 204
    assert not AuthToken.objects.filter(user=editor).exists()


@pytest.mark.parametrize(
    "authorization",
    [basic("editor", "wrong-password"), basic("nobody", "editor-pass-123"), None],
    ids=["wrong-password", "unknown-user", "no-credentials"],
)
def test_login_refusals_are_json_401s(editor, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    for params in ("", "?format=csv"):
        response = APIClient().post(f"/api/v1/auth/login/{params}", **headers)
        assert response.status_code == 401
        assert response["Content-Type"] == "application/json"
        assert response["WWW-Authenticate"].startswith("Basic")
        assert "detail" in response.json()
    assert not AuthToken.objects.exists()


def test_an_expired_or_unknown_token_is_refused(editor):
    _, expired = AuthToken.objects.create(editor, expiry=datetime.timedelta(seconds=-1))
    for token in (expired, "0" * 64):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        response = client.get("/api/v1/parties/GB/")
        assert response.status_code in ANONYMOUS_DENIED
        assert response.json()["detail"]


def test_a_reader_token_reads_but_does_not_write(reader):
    _, token = AuthToken.objects.create(reader)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/officials/").status_code == 200
    payload = {"name": "Grant Shapps", "party": "GB"}
    assert client.post("/api/v1/officials/", payload, format="json").status_code == 403


def test_session_writes_need_the_csrf_token(editor):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(editor)
    payload = {"name": "Grant Shapps", "party": "GB"}
    assert client.get("/api/v1/officials/").status_code == 200
    refused = client.post("/api/v1/officials/", payload, format="json")
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    client.get("/api/v1/officials/", HTTP_ACCEPT="text/html")  # the browsable API sets the cookie
    accepted = client.post(
        "/api/v1/officials/",
        payload,
        format="json",
        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
    )
    assert accepted.status_code == 201


# --- Throttling ---------------------------------------------------------------------------------


@pytest.fixture
def throttle_cache():
    cache.clear()
    yield
    cache.clear()


def test_anonymous_requests_are_throttled_and_logged_in_ones_are_not(
    db, reader, monkeypatch, throttle_cache
):
    # DRF reads the rates when the throttle class is defined, so the class attribute is patched.
    monkeypatch.setattr(AnonRateThrottle, "THROTTLE_RATES", {"anon": "3/minute"})
    anonymous = APIClient()
    answers = [anonymous.get("/api/v1/parties/GB/").status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    refused = anonymous.get("/api/v1/parties/", {"format": "csv"})
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/json"
    assert int(refused["Retry-After"]) > 0

    logged_in = APIClient()
    logged_in.force_login(reader)
    assert {logged_in.get("/api/v1/parties/GB/").status_code for _ in range(5)} == {200}


def test_the_anonymous_rate_comes_from_the_settings():
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] == [
        "rest_framework.throttling.AnonRateThrottle"
    ]
    assert "anon" in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]


# --- Errors are JSON ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "headers", "status"),
    [
        ("get", "/api/v1/lines/?donor=XX&format=csv", {}, 400),
        ("get", "/api/v1/lines/?donor=XX", {"HTTP_ACCEPT": "text/csv"}, 400),
        ("post", "/api/v1/officials/?format=csv", {}, 403),
        ("get", "/api/v1/pledges/999999/?format=csv", {}, 404),
        ("get", "/api/v1/pledges/?page=99", {}, 404),
        ("get", "/api/v1/no-such-resource/", {}, 404),
        ("get", "/api/v1/no-such-resource/?format=csv", {"HTTP_ACCEPT": "text/csv"}, 404),
        ("get", "/api/v2/pledges/", {}, 404),
        ("get", "/api/", {}, 404),
        ("get", "/api/v1/parties/?format=xml", {}, 404),
        ("get", "/api/v1/parties/G%00/", {}, 404),  # PostgreSQL cannot compare a NUL byte
        ("get", "/api/v1/categories/%00/", {}, 404),
        ("delete", "/api/v1/parties/GB/?format=csv", {}, 405),
        ("post", "/api/v1/totals/", {}, 405),
        ("put", "/api/v1/lines/1/", {"HTTP_ACCEPT": "text/csv"}, 405),
        ("get", "/api/v1/parties/", {"HTTP_ACCEPT": "application/xml"}, 406),
    ],
)
def test_errors_are_json_whatever_format_was_asked_for(db, method, url, headers, status):
    response = getattr(APIClient(), method)(url, **headers)
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json()


def test_unknown_pages_outside_the_api_stay_html(db):
    response = APIClient().get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# --- Pagination ---------------------------------------------------------------------------------


def test_pages_of_fifty_by_default_and_page_size_on_request(db, anonymous):
    body = anonymous.get("/api/v1/parties/").json()
    assert (len(body["results"]), body["previous"]) == (50, None)
    assert "page=2" in body["next"]
    body = anonymous.get("/api/v1/parties/", {"page_size": 100, "page": 3}).json()
    assert len(body["results"]) == body["count"] - 200


def test_page_size_is_capped_at_a_thousand(db, anonymous):
    equipment = Category.objects.get(slug="equipment")
    Category.objects.bulk_create(
        Category(slug=f"part-{number:04d}", name=f"Part {number}", parent=equipment)
        for number in range(1001)
    )
    body = anonymous.get("/api/v1/categories/", {"page_size": 5000}).json()
    assert body["count"] > 1001
    assert len(body["results"]) == 1000
    assert "page=2" in body["next"]


@pytest.mark.parametrize("size", ["0", "-5", "ten", "2.5"])
def test_a_malformed_page_size_is_a_400_naming_it(db, anonymous, size):
    response = anonymous.get("/api/v1/parties/", {"page_size": size})
    assert response.status_code == 400
    assert "page_size" in response.json()


# --- Totals: answers and refusals (its sums are tested in test_totals.py) ----------------------


def test_totals_answer_json_and_csv(ledger, anonymous):
    params = {"group_by": "donor,period", "period": "quarter", "measure": "quantity"}
    body = anonymous.get("/api/v1/totals/", params).json()
    assert (body["measure"], body["group_by"], body["period"]) == (
        "quantity", ["donor", "period"], "quarter",
    )  # fmt: skip
    assert body["count"] == len(body["rows"]) > 0
    rows = csv_rows(anonymous.get("/api/v1/totals/", {**params, "format": "csv"}))
    assert len(rows) == body["count"]
    assert list(rows[0])[:3] == ["donor", "period", "unit"]


@pytest.mark.parametrize(
    "params",
    [
        {"group_by": "colour"},
        {"group_by": "donor,donor"},
        {"period": "week"},
        {"measure": "weight"},
        {"currency": "XYZ"},
        {"fx": "yesterday"},
        {"fx": "2022-02-30"},
        {"cumulative": "true"},  # needs period in group_by
        {"cumulative": "perhaps", "group_by": "period"},
        {"category_level": "3"},
        {"donor": "XX"},
        {"announced_after": "2022-1-1x"},
    ],
)
def test_totals_refuse_bad_parameters_naming_them(ledger, anonymous, params):
    name = next(iter(params)) if "cumulative" not in params else "cumulative"
    for extra in ({}, {"format": "csv"}):
        response = anonymous.get("/api/v1/totals/", {**params, **extra})
        assert response.status_code == 400, response.content
        assert response["Content-Type"] == "application/json"
        assert name in response.json()


# --- Schema and docs ----------------------------------------------------------------------------


def test_the_schema_validates_without_warnings(db, tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", tmp_path / "api.yaml")
    assert (tmp_path / "api.yaml").read_text().startswith("openapi: 3")


def test_the_schema_describes_every_resource(db, anonymous):
    schema = anonymous.get("/api/v1/schema/", {"format": "json"}).json()
    resources = ["parties", "officials", "categories", "item-types", "sources", "pledges", "lines"]
    for resource in resources:
        assert f"/api/v1/{resource}/" in schema["paths"]
    assert "/api/v1/totals/" in schema["paths"]
    assert "/api/v1/pledges/{id}/withdraw/" in schema["paths"]
    assert "delete" not in schema["paths"]["/api/v1/pledges/{id}/"]
    listed = schema["paths"]["/api/v1/lines/"]["get"]
    assert {} in listed["security"]  # anonymous users may read
    assert {"200", "400", "404"} <= set(listed["responses"])


def test_swagger_ui_is_served_offline_from_the_sidecar(db, anonymous):
    response = anonymous.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in assets
    assert all(asset.startswith("/static/drf_spectacular_sidecar/") for asset in assets)
    assert not re.search(r"https?://", html)  # no CDN
    for asset in assets:
        assert finders.find(asset.removeprefix(settings.STATIC_URL).lstrip("/")), asset
