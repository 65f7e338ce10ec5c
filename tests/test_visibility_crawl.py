"""With a draft in the ledger, an anonymous reader crawls every GET route of the API's URL conf:
lists, details, CSV, every filter of each list, the schema and its docs. No answer shows the draft's
ref or id, and asking for the draft (by ref or id, in a path or a filter) is answered exactly as
asking for a record that does not exist. Routes are found by walking the URL conf, so a route added
later is crawled without changing this file."""

import csv
import datetime
import io
import json
import re
from dataclasses import dataclass

import pytest
from django.urls import NoReverseMatch, URLResolver, get_resolver, reverse
from rest_framework.settings import api_settings

from aid.models import Category, Line, Pledge
from aid.services import pledge_save
from sources.models import PledgeSource

# The draft's tokens and unknown ones of the same shape: same length, same kinds of character.
DRAFT_ID, UNKNOWN_ID = "987654", "987653"
DRAFT_REF, UNKNOWN_REF = "ZZ-DRAFT-4242", "ZZ-NOONE-4242"
DRAFT_ITEM = "Unannounced loitering munitions"
REVISION_ITEM = "Pending rocket sleds"  # an editor's change to the published pledge, unpublished
TOKENS = {"id": (DRAFT_ID, UNKNOWN_ID), "ref": (DRAFT_REF, UNKNOWN_REF)}
ID_FIELDS = {"id", "pledge", "pledges", "pledge_ref"}
FORMATS = [renderer.format for renderer in api_settings.DEFAULT_RENDERER_CLASSES]
# Path parameters other than a viewset's lookup and `format`, with why the crawl leaves them be.
UNCRAWLED_PARAMETERS: dict[str, str] = {
    "filename": "a release's file (releases/<name>/files/<filename>): releases hold published "
    "pledges only, and the release's detail, which 404s alike, is crawled by its name",
}
# Per-request CSRF tokens in HTML pages (the browsable API): random, so not part of the answer.
CSRF = re.compile(rb'("csrfToken": "|name="csrfmiddlewaretoken" value=")[^"]*')


@pytest.fixture
def ledger(make_pledge, gb, ua, article, editor):
    """A published pledge with a pending revision, then a draft whose pledge, line and citation
    ids are DRAFT_ID."""
    published = make_pledge(ref="ZZ-PUBLIC-4242")
    [line] = published.lines.all()
    line.description = REVISION_ITEM
    revision = pledge_save(
        actor=editor, pledge=published, lines=[line], links=list(published.source_links.all())
    )
    assert revision.revision_of_id == published.pk
    draft = Pledge.objects.create(
        id=int(DRAFT_ID),
        ref=DRAFT_REF,
        donor=gb,
        recipient=ua,
        announced_on=datetime.date(2023, 5, 1),
        review=Pledge.Review.DRAFT,
    )
    Line.objects.create(
        id=int(DRAFT_ID),
        pledge=draft,
        line_no=1,
        description=DRAFT_ITEM,
        category=Category.objects.get(slug="helicopters"),
        quantity=7,
        quantity_qualifier=Line.Qualifier.EXACT,
    )
    PledgeSource.objects.create(id=int(DRAFT_ID), pledge=draft, source=article)
    return published, draft


@dataclass(frozen=True)
class Route:
    name: str
    view: type | None
    parameters: frozenset[str]

    @property
    def lookup(self) -> str | None:
        """The path parameter that names one record (pk, code, slug), if the route has one."""
        if self.view is None or not hasattr(self.view, "lookup_field"):
            return None
        name = getattr(self.view, "lookup_url_kwarg", None) or self.view.lookup_field
        return name if name in self.parameters else None

    @property
    def filters(self) -> list[str]:
        filterset = getattr(self.view, "filterset_class", None)
        return list(filterset.base_filters) if filterset else []


def url_patterns(patterns):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from url_patterns(pattern.url_patterns)
        else:
            yield pattern


def reads(callback) -> bool:
    """Whether the route answers GET: a viewset route by its actions, a class view by `get`."""
    actions = getattr(callback, "actions", None)
    if actions is not None:
        return "get" in actions
    view = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    return view is None or hasattr(view, "get")


def get_routes() -> list[Route]:
    routes = []
    for pattern in url_patterns(get_resolver("ledger.api.urls").url_patterns):
        assert pattern.name, f"{pattern.pattern}: name the route, so that the crawl can reach it"
        if reads(pattern.callback):
            view = getattr(pattern.callback, "cls", None)
            parameters = frozenset(pattern.pattern.regex.groupindex)
            routes.append(Route(pattern.name, view, parameters))
    return routes


@dataclass(frozen=True)
class Answer:
    status: int
    media_type: str
    content: bytes

    def replaced(self, old: str, new: str) -> "Answer":
        content = self.content.replace(old.encode(), new.encode())
        return Answer(self.status, self.media_type, content)


def get(client, url: str) -> Answer:
    response = client.get(url)
    assert response.status_code < 500, f"GET {url}: {response.status_code}"
    content = b"".join(response.streaming_content) if response.streaming else response.content
    media_type = response.get("Content-Type", "").partition(";")[0]
    return Answer(response.status_code, media_type, CSRF.sub(rb"\1", content))


def draft_ids(answer: Answer) -> list:
    """Where the answer gives ids (JSON id/pledge/pledges fields, CSV pledge columns) and one is
    the draft's; HTML and YAML give none."""
    if answer.media_type == "application/json":
        return [found for found in json_ids(json.loads(answer.content)) if str(found) == DRAFT_ID]
    if answer.media_type == "text/csv":
        rows = csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig")))
        cells = ((row.get(name) or "").split() for row in rows for name in ID_FIELDS)
        return [ids for ids in cells if DRAFT_ID in ids]
    return []


def json_ids(value):
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ID_FIELDS and not isinstance(item, dict):
                yield from item if isinstance(item, list) else [item]
            else:
                yield from json_ids(item)
    elif isinstance(value, list):
        for item in value:
            yield from json_ids(item)


def leaks(answer: Answer) -> list[str]:
    content = answer.content.lower()
    found = [
        text for text in (DRAFT_REF, DRAFT_ITEM, REVISION_ITEM) if text.lower().encode() in content
    ]
    return found + [f"id {DRAFT_ID}"] * bool(draft_ids(answer))


def reversed_urls(route: Route, **parameters) -> list[str]:
    """The route's URLs for these parameters: one per format when it takes a format."""
    if "format" not in route.parameters:
        return [reverse(route.name, kwargs=parameters)]
    return [reverse(route.name, kwargs={**parameters, "format": name}) for name in FORMATS]


class Crawl:
    def __init__(self, client):
        client.raise_request_exception = False  # so that `get` names the URL of a server error
        self.client = client
        self.problems: list[str] = []
        self.requests = 0

    def read(self, url: str) -> None:
        """An answer to a request that does not name the draft must not show it."""
        answer = get(self.client, url)
        self.requests += 1
        if found := leaks(answer):
            self.problems.append(f"GET {url} ({answer.status}) shows the draft: {found}")

    def ask(self, draft_url: str, unknown_url: str, kind: str) -> None:
        """Asking for the draft answers as asking for an unknown record, byte for byte."""
        draft_token, unknown_token = TOKENS[kind]
        answer, unknown = get(self.client, draft_url), get(self.client, unknown_url)
        self.requests += 2
        if found := leaks(unknown):
            self.problems.append(f"GET {unknown_url} ({unknown.status}) shows the draft: {found}")
        if answer != unknown.replaced(unknown_token, draft_token):
            self.problems.append(
                f"GET {draft_url} answers {answer.status} {answer.content[:300]!r}, "
                f"but {unknown_url} answers {unknown.status} {unknown.content[:300]!r}"
            )

    def route(self, route: Route) -> None:
        if unexplained := route.parameters - {route.lookup, "format", *UNCRAWLED_PARAMETERS}:
            self.problems.append(f"{route.name}: crawl path parameters {sorted(unexplained)}")
            return
        if route.lookup:
            for kind, (draft, unknown) in TOKENS.items():
                try:
                    pairs = zip(
                        reversed_urls(route, **{route.lookup: draft}),
                        reversed_urls(route, **{route.lookup: unknown}),
                        strict=True,
                    )
                except NoReverseMatch:
                    continue  # the route's pattern refuses such a key: no URL can name the draft
                for draft_url, unknown_url in pairs:
                    self.ask(draft_url, unknown_url, kind)
            return
        for url in reversed_urls(route):
            self.read(url)
            if "format" not in route.parameters:
                self.read(f"{url}?format=csv")
                self.filters(route, url)

    def filters(self, route: Route, url: str) -> None:
        for name in route.filters:
            for kind, (draft, unknown) in TOKENS.items():
                for suffix in ("", "&format=csv"):
                    self.ask(
                        f"{url}?{name}={draft}{suffix}", f"{url}?{name}={unknown}{suffix}", kind
                    )


def test_an_anonymous_crawl_of_the_api_never_shows_a_draft(client, ledger):
    crawl = Crawl(client)
    routes = get_routes()
    for route in routes:
        crawl.route(route)
    assert crawl.problems == []
    crawled = {route.name for route in routes}
    assert {"pledge-list", "pledge-detail", "line-detail", "source-list", "totals"} <= crawled
    assert {"schema", "docs", "line-datapackage"} <= crawled
    assert "pledge-verify" not in crawled  # POST only
    assert crawl.requests > 500, crawl.requests  # every filter of every list, twice each


def test_the_crawl_sees_the_draft_where_staff_may(client, editor, ledger):
    """The crawl's checks can fail: for the team, the draft is there to be found."""
    client.force_login(editor)
    crawl = Crawl(client)
    crawl.ask(
        reverse("pledge-detail", args=[DRAFT_ID]), reverse("pledge-detail", args=[UNKNOWN_ID]), "id"
    )
    crawl.ask(
        f"{reverse('line-list')}?pledge={DRAFT_REF}&review=draft",
        f"{reverse('line-list')}?pledge={UNKNOWN_REF}&review=draft",
        "ref",
    )
    crawl.read(f"{reverse('source-list')}?format=csv")
    assert len(crawl.problems) == 3
    assert "id 987654" in crawl.problems[2]
