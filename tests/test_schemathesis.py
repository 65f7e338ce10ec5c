"""The API against its own OpenAPI schema: schemathesis generates requests from the schema, sends
them to the Django application (WSGI, in the test's database) and checks every answer.

Bounded for CI (well under two minutes on two cores): the same cases on every run, a few dozen
per operation, no shrinking. Reads also run schemathesis' coverage phase (boundary values of every
parameter); writes, whose nested bodies give it hundreds of cases each, only the fuzzing phase.
"""

import datetime

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from knox.models import AuthToken
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from aid.models import Category, Line
from sources.models import PledgeSource, Source

SCHEMA_URL = "/api/v1/schema/?format=json"
READ_SETTINGS = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,  # the same cases on every run: a CI failure reproduces locally
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
WRITE_SETTINGS = settings(READ_SETTINGS, max_examples=25)

# Every response is checked: no 5xx, a documented status code, content type, headers and body,
# authentication not ignored, for valid and invalid requests alike. Left out are two checks about
# what a request may be:
# - "a request the schema allows is accepted": an unknown party code or id is a 400 by design
#   (never a silently empty list), and no schema can list the codes the ledger holds;
# - "a request the schema forbids is refused": an empty parameter (`?announced_before=`, as an
#   HTML filter form sends it) means "not filtered", and CSV ignores `page` and `page_size`.
LENIENCY_CHECKS = [positive_data_acceptance, negative_data_rejection]


@pytest.fixture
def ledger_data(make_pledge, wallace, helicopters, editor):
    """Some records, so that lookups, filters and updates find something: pledge 1, official 1,
    source 1 and the seeded categories (`drones`) exist."""
    statement = Source.objects.create(
        url="https://www.gov.uk/government/news/uk-to-send-sea-king-helicopters",
        title="UK to send Sea King helicopters",
        publisher="Ministry of Defence",
        published_on=datetime.date(2022, 11, 23),
    )
    for day in (1, 15):
        make_pledge(
            announced_on=datetime.date(2022, 11, day),
            official=wallace,
            lines=[
                Line(description="Sea King helicopters", category=helicopters, quantity=3),
                Line(
                    description="=Package value",
                    category=Category.objects.get(slug="unallocated"),
                    value=1_000_000,
                    currency="GBP",
                    value_basis=Line.ValueBasis.STATED,
                ),
            ],
            links=[PledgeSource(source=statement)],
        )


@pytest.fixture
def app(ledger_data):
    """Django's WSGI application, in the test's transaction. Like Django's test client, it must
    not close the database connection after each request (PostgreSQL would lose the test's
    transaction; SQLite in memory never closes)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield WSGIHandler()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def read_schema(app):
    return schemathesis.openapi.from_wsgi(SCHEMA_URL, app)


@pytest.fixture
def write_schema(app):
    config = schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": False}}})
    return schemathesis.openapi.from_wsgi(SCHEMA_URL, app, config=config)


reads = schemathesis.pytest.from_fixture("read_schema")
writes = schemathesis.pytest.from_fixture("write_schema")


@writes.auth(refresh_interval=None)
class EditorToken:
    """Writes are sent by the editor with an API token; schemathesis also tries them without."""

    def get(self, case, context):
        _, token = AuthToken.objects.create(User.objects.get(username="editor"))
        return token

    def set(self, case, token, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Token {token}"}


@reads.include(method="GET").parametrize()
@READ_SETTINGS
def test_reads_answer_as_the_schema_says(case):
    case.call_and_validate(excluded_checks=LENIENCY_CHECKS)


@writes.include(method=["POST", "PUT", "PATCH"]).exclude(path_regex="/auth/").parametrize()
@WRITE_SETTINGS
def test_writes_answer_as_the_schema_says(case):
    # Random ids would name no record: updates go to records that exist, with generated bodies.
    if "id" in case.path_parameters:
        case.path_parameters["id"] = 1
    if "slug" in case.path_parameters:
        case.path_parameters["slug"] = "drones"
    case.call_and_validate(excluded_checks=LENIENCY_CHECKS)
