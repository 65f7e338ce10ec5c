"""Published pledges and their pending revisions, through the API (aid.revisions): an editor's
change to a published pledge is accepted (202) as a revision at its own URL, the public reads the
published figures until a reviewer publishes it, and with four eyes the author never does."""

import datetime

import pytest
from rest_framework.test import APIClient

from aid.models import Category, Line, Pledge
from tests.conftest import member, row_counts

TOTALS = {"measure": "quantity", "group_by": "category"}


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def url_of(pledge_or_id) -> str:
    return f"/api/v1/pledges/{getattr(pledge_or_id, 'pk', pledge_or_id)}/"


def public_view(client: APIClient) -> tuple:
    """What an anonymous reader gets from the list, the totals and the lines CSV."""
    lines = client.get("/api/v1/lines/", {"format": "csv"})
    assert lines.status_code == 200
    return (
        client.get("/api/v1/pledges/").json(),
        client.get("/api/v1/totals/", TOTALS).json(),
        b"".join(lines.streaming_content).decode(),
    )


@pytest.fixture
def published(make_pledge):
    """A published pledge of three Sea Kings; another published pledge beside it."""
    make_pledge(
        announced_on=datetime.date(2023, 1, 14),
        lines=[
            Line(
                description="Challenger 2 tanks",
                category=Category.objects.get(slug="main-battle-tanks"),
                quantity=14,
            )
        ],
    )
    return make_pledge()


@pytest.fixture
def other_reviewer(db):
    return member("second-reviewer", "reviewers")


def change_quantity(client, pledge, quantity):
    return client.patch(
        url_of(pledge),
        {"lines": [{"line_no": 1, "item": "Sea King helicopters", "quantity": quantity}]},
        format="json",
    )


def test_a_change_is_accepted_as_a_revision_and_the_public_reads_the_published_pledge(
    published, editor
):
    anonymous = APIClient()
    before = public_view(anonymous)

    response = change_quantity(api_for(editor), published, 5)
    assert response.status_code == 202, response.json()
    revision = response.json()
    assert response["Location"] == f"http://testserver{url_of(revision['id'])}"
    assert (revision["revision_of"], revision["ref"], revision["review"]) == (
        published.pk, published.ref, "draft",
    )  # fmt: skip
    assert revision["lines"][0]["quantity"] == 5
    assert response["ETag"] == f'"pledge-{revision["id"]}-v1"'

    assert public_view(anonymous) == before
    assert anonymous.get(url_of(revision["id"])).status_code == 404
    assert anonymous.get(url_of(published)).json()["lines"][0]["quantity"] == 3


def test_staff_see_the_revision_and_the_published_pledge_names_it(published, editor):
    revision = change_quantity(api_for(editor), published, 5).json()
    staff, anonymous = api_for(editor), APIClient()

    assert staff.get(url_of(published)).json()["pending"] == revision["id"]
    assert staff.get(url_of(revision["id"])).json()["revision_of"] == published.pk
    public = anonymous.get(url_of(published)).json()
    assert (public["pending"], public["revision_of"]) == (None, None)
    listed = anonymous.get("/api/v1/pledges/").json()["results"]
    assert [row["pending"] for row in listed] == [None, None]

    # The ledger as it will be: each pledge once, a pending change in place of its pledge.
    both = staff.get("/api/v1/pledges/", {"review": ["draft", "verified"]}).json()["results"]
    assert len(both) == 2
    assert revision["id"] in {row["id"] for row in both}
    assert published.pk not in {row["id"] for row in both}


def test_a_second_change_while_one_is_pending_is_a_409_naming_the_revision(
    published, editor, reviewer
):
    revision = change_quantity(api_for(editor), published, 5).json()
    before = row_counts()
    refused = change_quantity(api_for(reviewer), published, 6)
    assert refused.status_code == 409
    assert f"revision {revision['id']}" in refused.json()["detail"]
    assert row_counts() == before

    # The revision itself is edited in place, like any draft.
    edited = change_quantity(api_for(reviewer), revision["id"], 6)
    assert (edited.status_code, edited.json()["id"], edited.json()["version"]) == (
        200, revision["id"], 2,
    )  # fmt: skip


def test_verifying_the_revision_publishes_it_and_its_url_is_gone(published, editor, reviewer):
    anonymous = APIClient()
    revision = change_quantity(api_for(editor), published, 5).json()

    response = api_for(reviewer).post(f"{url_of(revision['id'])}verify/")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["id"], body["ref"], body["review"], body["pending"]) == (
        published.pk, published.ref, "verified", None,
    )  # fmt: skip
    assert (body["version"], body["reviewed_by"]) == (2, reviewer.username)
    assert response["ETag"] == f'"pledge-{published.pk}-v2"'

    public = anonymous.get(url_of(published)).json()
    assert [(line["line_no"], line["quantity"]) for line in public["lines"]] == [(1, 5)]
    totals = anonymous.get("/api/v1/totals/", {"measure": "quantity"}).json()
    assert totals["total"][0]["quantity"] == 5 + 14
    for client in (anonymous, api_for(reviewer)):
        assert client.get(url_of(revision["id"])).status_code == 404
    assert not Pledge.objects.filter(revision_of=published).exists()


def test_with_four_eyes_the_author_may_not_publish_their_change(
    published, reviewer, other_reviewer, settings
):
    settings.LEDGER_FOUR_EYES = True
    revision = change_quantity(api_for(reviewer), published, 5).json()

    refused = api_for(reviewer).post(f"{url_of(revision['id'])}verify/")
    assert refused.status_code == 400
    assert "another reviewer" in " ".join(refused.json()["review"])
    assert APIClient().get(url_of(published)).json()["lines"][0]["quantity"] == 3

    accepted = api_for(other_reviewer).post(f"{url_of(revision['id'])}verify/")
    assert accepted.status_code == 200, accepted.json()
    assert accepted.json()["reviewed_by"] == other_reviewer.username
    assert APIClient().get(url_of(published)).json()["lines"][0]["quantity"] == 5


def test_with_four_eyes_a_withdrawal_waits_for_another_reviewer(
    published, reviewer, other_reviewer, settings
):
    settings.LEDGER_FOUR_EYES = True
    response = api_for(reviewer).post(
        f"{url_of(published)}withdraw/", {"reason": "Duplicate"}, format="json"
    )
    assert response.status_code == 202, response.json()
    revision = response.json()
    assert (revision["revision_of"], revision["status"]) == (published.pk, "withdrawn")
    assert response["Location"].endswith(url_of(revision["id"]))
    assert APIClient().get(url_of(published)).json()["status"] == "announced"

    verified = api_for(other_reviewer).post(f"{url_of(revision['id'])}verify/")
    assert (verified.status_code, verified.json()["status"]) == (200, "withdrawn")
    assert published.pk not in {
        row["id"] for row in APIClient().get("/api/v1/pledges/").json()["results"]
    }
