"""A draft is the team's: what a source cites and what its filters answer never reveal one to
the public, in JSON or in CSV, while signed-in staff still see it."""

import csv
import io

import pytest
from django.contrib.auth.models import Permission, User

from aid.models import Pledge

SOURCES = "/api/v1/sources/"


@pytest.fixture
def draft(make_pledge):
    return make_pledge(review="draft", ref="GB-DRAFT-1")


@pytest.fixture
def published(make_pledge):
    return make_pledge(ref="GB-PUBLIC-1")


def body(client, url: str) -> tuple[int, bytes]:
    response = client.get(url)
    if response.streaming:
        return response.status_code, b"".join(response.streaming_content)
    return response.status_code, response.content


def test_the_sources_csv_lists_only_the_published_pledges_a_source_supports(
    client, draft, published
):
    status, content = body(client, SOURCES + "?format=csv")
    assert status == 200
    [source] = csv.DictReader(io.StringIO(content.decode("utf-8-sig")))
    assert source["pledges"].split() == [str(published.pk)]


def test_a_sources_json_never_shows_a_drafts_id(client, draft, published):
    [source] = client.get(SOURCES).json()["results"]
    assert draft.pk not in source["pledges"]
    detail = client.get(f"{SOURCES}{source['id']}/").json()
    assert detail["pledges"] == [published.pk]


def test_the_pledge_filter_answers_a_drafts_ref_as_an_unknown_ref(client, draft, published):
    assert body(client, f"{SOURCES}?pledge={draft.ref}") == body(
        client, f"{SOURCES}?pledge=NO-SUCH-REF"
    )
    assert client.get(f"{SOURCES}?pledge={draft.ref}").json()["count"] == 0
    assert body(client, f"{SOURCES}?pledge={draft.ref}&format=csv") == body(
        client, f"{SOURCES}?pledge=NO-SUCH-REF&format=csv"
    )
    assert client.get(f"{SOURCES}?pledge={published.ref}").json()["count"] == 1


def test_staff_still_see_what_a_source_supports_drafts_included(client, editor, draft, published):
    client.force_login(editor)
    [source] = client.get(SOURCES).json()["results"]
    assert sorted(source["pledges"]) == sorted([draft.pk, published.pk])
    assert client.get(f"{SOURCES}?pledge={draft.ref}").json()["count"] == 1
    assert Pledge.objects.get(pk=draft.pk).review == Pledge.Review.DRAFT


def user_with(username: str, *codenames: str, is_staff: bool = False) -> User:
    user = User.objects.create_user(username, password=f"{username}-pass-123", is_staff=is_staff)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


def test_a_source_writer_who_may_not_see_drafts_is_answered_without_them(client, draft, published):
    """A write's answer is a read: it lists what the writer may see, not what the source cites."""
    client.force_login(user_with("sourcer", "view_source", "change_source"))
    [source] = client.get(SOURCES).json()["results"]
    response = client.patch(
        f"{SOURCES}{source['id']}/", {"title": "Retitled"}, content_type="application/json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["title"] == "Retitled"
    assert response.json()["pledges"] == [published.pk]


def test_the_source_admin_counts_and_lists_only_pledges_the_user_may_see(client, draft, published):
    client.force_login(user_with("librarian", "view_source", "view_pledgesource", is_staff=True))
    changelist = client.get("/admin/sources/source/")
    assert changelist.status_code == 200
    assert [source.pledge_count for source in changelist.context["cl"].result_list] == [1]
    page = client.get(f"/admin/sources/source/{draft.source_links.get().source_id}/change/")
    assert page.status_code == 200
    assert f"/admin/aid/pledge/{published.pk}/change/" in page.content.decode()
    assert f"/admin/aid/pledge/{draft.pk}/change/" not in page.content.decode()


def test_the_team_sees_in_the_source_admin_the_drafts_a_source_supports(
    client, editor, draft, published
):
    client.force_login(editor)
    changelist = client.get("/admin/sources/source/")
    assert [source.pledge_count for source in changelist.context["cl"].result_list] == [2]
