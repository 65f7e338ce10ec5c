"""Query parameters cannot reach SQL unchecked: `ordering` takes only the names a list offers,
every filter parses its value before the database sees it, and anything else is a 400 that
names the parameter (or, for names no endpoint knows, is ignored) — never a 500, never a write."""

import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from aid.filters import LineFilterSet, PledgeFilterSet
from tests.conftest import row_counts

LISTS = ["/api/v1/lines/", "/api/v1/pledges/", "/api/v1/totals/"]
HOSTILE = [
    "id; DROP TABLE aid_line",
    "id) UNION SELECT password FROM auth_user --",
    "pledge__donor__name",  # a field path the list does not offer
    "reviewed_by__password",
    "value desc",
    "'",
    "-",
    "\x00",
]
FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def ledger(make_pledge):
    make_pledge()
    return APIClient()


@pytest.mark.parametrize("path", ["/api/v1/lines/", "/api/v1/pledges/"])
@pytest.mark.parametrize("value", HOSTILE)
def test_ordering_takes_only_the_offered_names(ledger, path, value):
    before = row_counts()
    response = ledger.get(path, {"ordering": value})
    assert response.status_code == 400, response.content[:300]
    assert "ordering" in response.json()
    assert row_counts() == before


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("name", ["source", "q", "publisher", "donor", "donor_id"])
def test_a_nul_character_is_refused_by_name(ledger, path, name):
    """PostgreSQL cannot store or compare NUL: it must never reach the database."""
    response = ledger.get(path, {name: "https://a.example/\x00x"})
    assert response.status_code == 400
    assert name in response.json()


@pytest.mark.parametrize("path", ["/api/v1/lines/", "/api/v1/pledges/"])
def test_offered_orderings_work_both_ways(ledger, make_pledge, path):
    make_pledge(announced_on=datetime.date(2023, 6, 1))
    up = ledger.get(path, {"ordering": "announced_on"}).json()["results"]
    down = ledger.get(path, {"ordering": "-announced_on"}).json()["results"]
    assert [row["id"] for row in up] == [row["id"] for row in reversed(down)]
    assert len(up) == 2


@pytest.mark.parametrize(
    "path,names",
    [
        ("/api/v1/lines/", sorted(LineFilterSet.base_filters)),
        ("/api/v1/totals/", sorted(LineFilterSet.base_filters)),
        ("/api/v1/pledges/", sorted(PledgeFilterSet.base_filters)),
    ],
)
def test_any_text_in_any_filter_is_answered_or_refused_by_name(ledger, path, names):
    before = row_counts()

    @FUZZ
    @given(name=st.sampled_from(names), value=st.text(max_size=40) | st.sampled_from(HOSTILE))
    def check(name, value):
        response = ledger.get(path, {name: value})
        assert response.status_code in (200, 400, 403), (name, value, response.status_code)
        if response.status_code == 400:
            assert name in response.json(), (name, value, response.json())

    check()
    assert row_counts() == before
