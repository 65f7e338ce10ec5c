"""Generic, data-only API test cases (NetBox's `APIViewTestCases`, for pytest).

A resource's test class declares its data — the URL, the lookup field, how to make records, a
valid create payload, an update payload, a filter value that must be refused — and inherits the
tests: list, detail, stable order, CSV, query budget, create, update, no delete, and who may do what
(anonymous, a reader with no permission, an editor with add/change/view permissions).
"""

import csv
import datetime
import io
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Model
from django.test.utils import CaptureQueriesContext
from knox.models import AuthToken
from rest_framework.test import APIClient

from aid.models import Category, ItemAlias, ItemType, Official, Party
from sources.models import Source

# Refusing an anonymous write: DRF answers 403 when the first authentication class (the session)
# has no challenge to send, 401 when it has one (a token). Either way, nothing is written.
ANONYMOUS_DENIED = {401, 403}
ROLES = ("anonymous", "reader", "editor")
UPDATED = "updated"  # in an expected-status table: the resource's `updated_status`


@dataclass
class World:
    """The records a resource's data refers to: parties, sources, an official, a catalogue item."""

    gb: Party
    ua: Party
    us: Party
    article: Source
    statement: Source
    wallace: Official
    sea_king: ItemType
    helicopters: Category
    editor: User
    reader: User
    make_pledge: Callable


def client_as(role: str, world: World) -> APIClient:
    """A client for `role`: the editor by API token, the reader by session, or nobody."""
    client = APIClient()
    if role == "editor":
        _, token = AuthToken.objects.create(world.editor)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    elif role == "reader":
        client.force_login(world.reader)
    return client


def csv_rows(response) -> list[dict[str, str]]:
    """The rows of a streamed CSV response, by header."""
    assert response.streaming, "CSV is streamed"
    text = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def assert_matches(actual: Any, expected: Any, where: str = "body") -> None:
    """Every key given in `expected` has its value in `actual` (which may say more)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{where}: {actual!r} is not an object"
        for key, value in expected.items():
            assert key in actual, f"{where}.{key} is missing"
            assert_matches(actual[key], value, f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{where}: {actual!r}"
        for number, (got, want) in enumerate(zip(actual, expected, strict=True)):
            assert_matches(got, want, f"{where}[{number}]")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def ask_for_csv(client: APIClient, url: str, ask: str):
    """The list as CSV, asked for by `?format=csv` or by `Accept: text/csv`."""
    if ask == "format":
        return client.get(url, {"format": "csv"})
    return client.get(url, HTTP_ACCEPT="text/csv")


def count_queries(client: APIClient, url: str, params: dict) -> int:
    """Queries to answer one request, including a streamed body read to its end."""
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
        assert response.status_code == 200, response.content[:500]
        if response.streaming:
            b"".join(response.streaming_content)
    return len(queries)


class ReadOnlyResourceCases:
    """Tests every resource gets. Subclasses declare the data below; the tests are inherited."""

    url: ClassVar[str]  # "/api/v1/officials/"
    model: ClassVar[type[Model]]
    lookup: ClassVar[str] = "id"  # the field that names a record in its URL and in the JSON
    order_by: ClassVar[tuple[str, ...]]  # the documented default order of the list
    list_queries: ClassVar[int]  # queries a list page may take, whatever its size
    bad_filters: ClassVar[dict[str, str]] = {}  # parameter -> a value that must be a 400

    def records(self, world: World, count: int) -> list[Model]:
        """`count` records of this resource (or at least that many, for seeded ones)."""
        raise NotImplementedError

    # --- fixtures ---------------------------------------------------------------------------

    @pytest.fixture
    def world(self, gb, ua, article, wallace, helicopters, editor, reader, make_pledge):
        us = Party.objects.get(code="US")
        statement = Source.objects.create(
            url="https://www.gov.uk/government/news/uk-to-send-sea-king-helicopters",
            title="UK to send Sea King helicopters to Ukraine",
            publisher="Ministry of Defence",
            published_on=datetime.date(2022, 11, 23),
            kind=Source.Kind.PRESS_RELEASE,
            language="en",
        )
        sea_king = ItemType.objects.create(name="Westland Sea King", category=helicopters)
        ItemAlias.objects.create(item_type=sea_king, alias="Sea King")
        return World(
            gb=gb, ua=ua, us=us, article=article, statement=statement, wallace=wallace,
            sea_king=sea_king, helicopters=helicopters, editor=editor, reader=reader,
            make_pledge=make_pledge,
        )  # fmt: skip

    # --- helpers ----------------------------------------------------------------------------

    def key(self, record: Model) -> Any:
        return getattr(record, self.lookup)

    def detail_url(self, record_or_key: Model | Any) -> str:
        key = self.key(record_or_key) if isinstance(record_or_key, Model) else record_or_key
        return f"{self.url}{key}/"

    def listed(self, client: APIClient, **params) -> dict:
        response = client.get(self.url, {"page_size": 1000, **params})
        assert response.status_code == 200, response.content[:500]
        return response.json()

    # --- reading ----------------------------------------------------------------------------

    def test_list(self, world):
        records = self.records(world, 3)
        body = self.listed(client_as("anonymous", world))
        keys = [row[self.lookup] for row in body["results"]]
        assert {self.key(record) for record in records} <= set(keys)
        assert body["count"] == len(keys) == len(set(keys))
        assert set(body) == {"count", "next", "previous", "results"}

    def test_list_is_in_the_documented_stable_order(self, world):
        self.records(world, 5)
        client = client_as("anonymous", world)
        whole = [row[self.lookup] for row in self.listed(client)["results"]]
        expected = list(self.model.objects.order_by(*self.order_by).values_list(self.lookup))
        assert whole == [key for (key,) in expected]

        paged, url = [], f"{self.url}?page_size=2"
        for _ in range(3):  # the first pages, one after the other, as a client walks them
            body = client.get(url).json()
            paged += [row[self.lookup] for row in body["results"]]
            url = body["next"]
        assert paged == whole[:6]

    def test_detail(self, world):
        record = self.records(world, 1)[0]
        response = client_as("anonymous", world).get(self.detail_url(record))
        assert response.status_code == 200
        assert response.json()[self.lookup] == self.key(record)

    def test_detail_of_an_unknown_record_is_a_json_404(self, world):
        for params in ({}, {"format": "csv"}):
            response = client_as("anonymous", world).get(self.detail_url("0"), params)
            assert response.status_code == 404
            assert response["Content-Type"] == "application/json"
            assert "detail" in response.json()

    def test_browsable_api(self, world):
        self.records(world, 1)
        response = client_as("editor", world).get(self.url, HTTP_ACCEPT="text/html")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/html")

    @pytest.mark.parametrize("role", ROLES)
    def test_anyone_may_read_by_default(self, world, role):
        record = self.records(world, 1)[0]
        client = client_as(role, world)
        assert client.get(self.url).status_code == 200
        assert client.get(self.detail_url(record)).status_code == 200

    @pytest.mark.parametrize("role", ROLES)
    def test_reading_may_require_a_login(self, world, settings, role):
        settings.LEDGER_API_READ_REQUIRES_LOGIN = True
        record = self.records(world, 1)[0]
        client = client_as(role, world)
        detail = self.detail_url(record)
        for url, params in ((self.url, {}), (self.url, {"format": "csv"}), (detail, {})):
            response = client.get(url, params)
            if role == "anonymous":
                assert response.status_code in ANONYMOUS_DENIED
                assert response["Content-Type"] == "application/json"
            else:
                assert response.status_code == 200

    def test_a_bad_filter_value_is_a_400_naming_the_parameter(self, world):
        client = client_as("anonymous", world)
        for name, value in self.bad_filters.items():
            for params in ({name: value}, {name: value, "format": "csv"}):
                response = client.get(self.url, params)
                assert response.status_code == 400, (name, value)
                assert response["Content-Type"] == "application/json"
                assert name in response.json(), response.json()

    # --- CSV --------------------------------------------------------------------------------

    @pytest.mark.parametrize("ask", ["format", "accept"])
    def test_csv_holds_every_row_of_the_list_in_its_order(self, world, ask):
        self.records(world, 3)
        client = client_as("anonymous", world)
        listed = self.listed(client)
        response = ask_for_csv(client, self.url, ask)
        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response["Content-Disposition"].startswith("attachment; filename=")
        rows = csv_rows(response)
        assert len(rows) == listed["count"]  # all of them: CSV is not paginated
        assert list(rows[0]) == list(listed["results"][0])  # the JSON's fields, in its order
        assert [row[self.lookup] for row in rows] == [
            str(row[self.lookup]) for row in listed["results"]
        ]

    # --- query budgets ----------------------------------------------------------------------

    def test_list_queries_do_not_grow_with_the_page_size(self, world):
        self.records(world, 25)
        client = client_as("anonymous", world)
        small = count_queries(client, self.url, {"page_size": 2})
        large = count_queries(client, self.url, {"page_size": 20})
        assert small == large <= self.list_queries

    def test_csv_queries_do_not_grow_with_the_rows(self, world):
        self.records(world, 3)
        client = client_as("anonymous", world)
        few = count_queries(client, self.url, {"format": "csv"})
        self.records(world, 20)
        assert count_queries(client, self.url, {"format": "csv"}) == few

    # --- no writes --------------------------------------------------------------------------

    @pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
    def test_writes_are_not_allowed(self, world, admin_user, method):
        record = self.records(world, 1)[0]
        url = self.url if method == "post" else self.detail_url(record)
        admin = APIClient()
        admin.force_login(admin_user)
        for client in (client_as("editor", world), admin):
            response = getattr(client, method)(url, {}, format="json")
            assert response.status_code == 405
            assert response["Content-Type"] == "application/json"


class ResourceCases(ReadOnlyResourceCases):
    """A resource that editors write (never delete): create, update and the permission matrix."""

    required: ClassVar[str]  # a field that an empty create payload must be told it lacks
    # What an editor's update answers: 200, applied; a published pledge's change instead waits
    # for review as a new record, its pending revision (202, aid.revisions).
    updated_status: ClassVar[int] = 200

    def create_payload(self, world: World) -> dict:
        raise NotImplementedError

    def update_payload(self, world: World, record: Model) -> dict:
        raise NotImplementedError

    def stored(self, body: dict) -> Model:
        return self.model.objects.get(**{self.lookup: body[self.lookup]})

    def assert_recorded(self, record: Model, history_type: str, world: World) -> None:
        """The change is in the history, made by the API user."""
        latest = record.history.first()
        assert (latest.history_type, latest.history_user) == (history_type, world.editor)

    # --- writing ----------------------------------------------------------------------------

    def test_create(self, world):
        payload = self.create_payload(world)
        response = client_as("editor", world).post(self.url, payload, format="json")
        assert response.status_code == 201, response.json()
        assert_matches(response.json(), payload)
        record = self.stored(response.json())
        self.assert_recorded(record, "+", world)
        # Read back as the editor: a new pledge is a draft, which the public does not see.
        detail = client_as("editor", world).get(self.detail_url(record))
        assert_matches(detail.json(), payload)

    def test_create_refuses_an_empty_payload_naming_what_is_missing(self, world):
        before = self.model.objects.count()
        response = client_as("editor", world).post(self.url, {}, format="json")
        assert response.status_code == 400
        assert self.required in response.json(), response.json()
        assert self.model.objects.count() == before

    def test_update(self, world):
        record = self.records(world, 1)[0]
        payload = self.update_payload(world, record)
        response = client_as("editor", world).put(self.detail_url(record), payload, format="json")
        assert response.status_code == 200, response.json()
        assert_matches(response.json(), payload)
        record = self.stored(response.json())
        self.assert_recorded(record, "~", world)
        assert_matches(client_as("editor", world).get(self.detail_url(record)).json(), payload)

    def test_partial_update(self, world):
        record = self.records(world, 1)[0]
        name, value = next(
            (name, value)
            for name, value in self.update_payload(world, record).items()
            if name != self.lookup and not isinstance(value, list | dict)
        )
        response = client_as("editor", world).patch(
            self.detail_url(record), {name: value}, format="json"
        )
        assert response.status_code == 200, response.json()
        assert response.json()[name] == value

    @pytest.mark.parametrize(
        ("role", "method", "expected"),
        [
            ("anonymous", "post", ANONYMOUS_DENIED),
            ("anonymous", "put", ANONYMOUS_DENIED),
            ("anonymous", "patch", ANONYMOUS_DENIED),
            ("anonymous", "delete", {405}),
            ("reader", "post", {403}),
            ("reader", "put", {403}),
            ("reader", "patch", {403}),
            ("reader", "delete", {405}),
            ("editor", "post", {201}),
            ("editor", "put", UPDATED),
            ("editor", "patch", UPDATED),
            ("editor", "delete", {405}),
        ],
    )
    def test_who_may_write(self, world, role, method, expected):
        record = self.records(world, 1)[0]
        before = self.model.objects.count()
        if method == "post":
            url, payload = self.url, self.create_payload(world)
        else:
            url, payload = self.detail_url(record), self.update_payload(world, record)
        response = getattr(client_as(role, world), method)(url, payload, format="json")
        expected = {self.updated_status} if expected is UPDATED else expected
        assert response.status_code in expected, response.json()
        assert response["Content-Type"] == "application/json"
        # A create adds a record; so does an accepted (202) change: it waits as its own record.
        assert self.model.objects.count() == before + (response.status_code in (201, 202))
        if response.status_code >= 400:
            assert "detail" in response.json()

    def test_nobody_deletes_not_even_a_superuser(self, world, admin_user):
        record = self.records(world, 1)[0]
        client = APIClient()
        client.force_login(admin_user)
        response = client.delete(self.detail_url(record))
        assert response.status_code == 405
        assert self.model.objects.filter(pk=record.pk).exists()

    # Writable resources do not inherit the read-only refusal of every write.
    test_writes_are_not_allowed = None
