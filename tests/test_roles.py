"""Roles and review: what each role may do on the admin, the API and the import, and what the
public sees of drafts (docs/operations.md, "Roles")."""

import datetime

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from knox.models import AuthToken
from rest_framework.test import APIClient

from aid.lines.columns import COLUMNS
from aid.models import Pledge
from aid.services import pledge_save, pledges_verify
from tests.conftest import member
from tests.factories import form_data

ROLES = ("anonymous", "reader", "editor", "reviewer", "administrator")
GROUPS = {
    "reader": "readers",
    "editor": "editors",
    "reviewer": "reviewers",
    "administrator": "administrators",
}
CHANGELIST = "/admin/aid/pledge/"
IMPORT = "/admin/aid/pledge/import-lines/"


@pytest.fixture
def users(db):
    return {role: member(f"a-{role}", group) for role, group in GROUPS.items()}


@pytest.fixture
def pledges(make_pledge):
    """One verified pledge and one draft."""
    public = make_pledge()
    draft = make_pledge(announced_on=datetime.date(2023, 3, 1), review="draft")
    return public, draft


def admin_as(role, users, client):
    if role != "anonymous":
        client.force_login(users[role])
    return client


def api_as(role, users) -> APIClient:
    client = APIClient()
    if role != "anonymous":
        _, token = AuthToken.objects.create(users[role])
        client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


@pytest.mark.django_db
def test_the_migration_seeds_the_four_roles():
    permissions = {
        group.name: set(group.permissions.values_list("codename", flat=True))
        for group in Group.objects.all()
    }
    assert {"readers", "editors", "reviewers", "administrators"} <= permissions.keys()
    assert "view_pledge" in permissions["readers"]
    assert not {"add_pledge", "change_pledge"} & permissions["readers"]
    assert {"add_pledge", "change_line", "add_source", "change_official"} <= permissions["editors"]
    assert not {"verify_pledge", "withdraw_pledge"} & permissions["editors"]
    reviewing = {"verify_pledge", "withdraw_pledge", "add_release"}
    assert permissions["editors"] | reviewing == permissions["reviewers"]
    assert {"view_release", "add_release"} <= permissions["administrators"]
    assert "view_release" in permissions["readers"] and "add_release" not in permissions["editors"]
    assert {"add_user", "change_group", "delete_authtoken"} <= permissions["administrators"]
    assert "add_user" not in permissions["reviewers"]


# --- the admin ----------------------------------------------------------------------------------

ADMIN_PAGES = {
    # page: roles that get it (others: anonymous is sent to log in, staff get 403)
    CHANGELIST: {"reader", "editor", "reviewer", "administrator"},
    "/admin/aid/pledge/add/": {"editor", "reviewer", "administrator"},
    IMPORT: {"editor", "reviewer", "administrator"},
    "/admin/auth/user/": {"administrator"},
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("page", ADMIN_PAGES)
def test_admin_pages_per_role(client, users, role, page):
    response = admin_as(role, users, client).get(page)
    if role in ADMIN_PAGES[page]:
        assert response.status_code == 200
    elif role == "anonymous":
        assert (response.status_code, response["Location"][:13]) == (302, "/admin/login/")
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("role", ROLES)
def test_admin_actions_per_role(client, users, pledges, role):
    public, draft = pledges
    client = admin_as(role, users, client)
    offered = set()
    if role != "anonymous":
        actions = client.get(CHANGELIST).context["action_form"].fields["action"].choices
        offered = {name for name, _ in actions if name}
    may_review = role in ("reviewer", "administrator")
    assert ("verify" in offered, "withdraw" in offered) == (may_review, may_review)

    client.post(CHANGELIST, {"action": "verify", "_selected_action": [draft.pk]})
    client.post(
        CHANGELIST, {"action": "withdraw", "_selected_action": [public.pk], "reason": "duplicate"}
    )
    public.refresh_from_db()
    draft.refresh_from_db()
    assert (draft.review == "verified", public.status == "withdrawn") == (may_review, may_review)
    if may_review:
        assert (draft.reviewed_by, draft.reviewed_at is not None) == (users[role], True)


def test_an_editor_cannot_withdraw_by_editing_the_status(client, users, pledges):
    public, _ = pledges
    client.force_login(users["editor"])
    url = f"{CHANGELIST}{public.pk}/change/"
    data = form_data(client, url, "pledge_form", status="withdrawn")
    response = client.post(url, data)
    assert response.status_code == 200
    assert "withdraw action" in response.content.decode()
    public.refresh_from_db()
    assert public.status == "announced"


# --- the API ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_api_lists_show_verified_pledges_and_drafts_only_to_staff_who_ask(users, pledges, role):
    public, draft = pledges
    client = api_as(role, users)
    listed = {row["ref"] for row in client.get("/api/v1/pledges/").json()["results"]}
    assert listed == {public.ref}  # the default answer, for everyone
    csv = client.get("/api/v1/lines/", {"format": "csv"})
    lines = b"".join(csv.streaming_content).decode()
    assert (public.ref in lines, draft.ref in lines) == (True, False)
    totals = client.get("/api/v1/totals/", {"measure": "quantity"}).json()["total"][0]
    assert totals["pledges"] == 1

    asked = client.get("/api/v1/pledges/", {"review": ["draft", "verified"]})
    detail = client.get(f"/api/v1/pledges/{draft.pk}/")
    asked_totals = client.get("/api/v1/totals/", {"measure": "quantity", "review": "draft"})
    if role == "anonymous":
        assert (asked.status_code, detail.status_code, asked_totals.status_code) == (
            403,
            404,
            403,
        )
        assert "review=draft" in asked.json()["detail"]
    else:
        assert {row["ref"] for row in asked.json()["results"]} == {public.ref, draft.ref}
        assert (detail.status_code, detail.json()["review"]) == (200, "draft")
        assert asked_totals.json()["total"][0]["pledges"] == 1


def test_api_drafts_are_hidden_from_signed_in_users_who_are_not_staff(pledges):
    _, draft = pledges
    outsider = User.objects.create_user("outsider", password="outsider-pass-123")
    client = APIClient()
    client.force_login(outsider)
    assert client.get("/api/v1/pledges/", {"review": "draft"}).status_code == 403
    assert client.get(f"/api/v1/pledges/{draft.pk}/").status_code == 404


WRITES = {"editor", "reviewer", "administrator"}
REVIEWS = {"reviewer", "administrator"}


@pytest.mark.parametrize("role", ROLES)
def test_api_writes_per_role(users, pledges, gb, ua, article, role):
    public, draft = pledges
    client = api_as(role, users)
    payload = {
        "donor": "GB",
        "recipient": "UA",
        "announced_on": "2024-05-01",
        "lines": [{"item": "Storm Shadow missiles", "category": "missiles"}],
        "sources": [{"source": article.pk, "role": "announcement"}],
    }
    created = client.post("/api/v1/pledges/", payload, format="json")
    verified = client.post(f"/api/v1/pledges/{draft.pk}/verify/")
    withdrawn = client.post(
        f"/api/v1/pledges/{public.pk}/withdraw/", {"reason": "duplicate"}, format="json"
    )
    denied = {401, 403} if role == "anonymous" else {403}
    if role in WRITES:
        assert created.status_code == 201, created.json()
        assert created.json()["review"] == "draft"  # a new pledge waits for review
    else:
        assert created.status_code in denied
    if role in REVIEWS:
        assert (verified.status_code, verified.json()["review"]) == (200, "verified")
        assert verified.json()["reviewed_by"] == users[role].username
        assert withdrawn.status_code == 200
    else:
        assert verified.status_code in denied | {404}  # a draft is not found by the public
        assert withdrawn.status_code in denied
    draft.refresh_from_db()
    public.refresh_from_db()
    assert (draft.review == "verified", public.status == "withdrawn") == (
        role in REVIEWS,
        role in REVIEWS,
    )


def test_a_change_to_a_published_pledge_waits_as_a_revision_until_verified(users, pledges):
    public, _ = pledges
    editor, reviewer, anonymous = api_as("editor", users), api_as("reviewer", users), APIClient()
    assert public.review == "verified"
    url = f"/api/v1/pledges/{public.pk}/"
    response = editor.patch(url, {"notes": "typo"}, format="json")
    revision = response.json()
    assert (response.status_code, revision["review"], revision["revision_of"]) == (
        202, "draft", public.pk,
    )  # fmt: skip
    assert (revision["ref"], revision["notes"], revision["reviewed_by"]) == (
        public.ref,
        "typo",
        None,
    )
    # The public goes on reading the published pledge; the change is not public.
    published = anonymous.get(url).json()
    assert (published["review"], published["notes"]) == ("verified", "")
    revision_url = f"/api/v1/pledges/{revision['id']}/"
    assert anonymous.get(revision_url).status_code == 404

    verified = reviewer.post(f"{revision_url}verify/")
    assert (verified.status_code, verified.json()["id"]) == (200, public.pk)
    public.refresh_from_db()
    assert (public.review, public.reviewed_by, public.version) == ("verified", users["reviewer"], 2)
    assert anonymous.get(url).json()["notes"] == "typo"
    assert reviewer.get(revision_url).status_code == 404  # published into its pledge
    record = public.history.first()
    assert (record.review, record.history_user, record.history_change_reason) == (
        "verified",
        users["reviewer"],
        f"published revision {revision['id']}",
    )


def test_a_line_only_change_to_a_published_pledge_also_waits_as_a_revision(pledges, users):
    public, _ = pledges
    line = public.lines.get()
    line.quantity = 4
    revision = pledge_save(
        actor=users["editor"], pledge=public, lines=[line], links=list(public.source_links.all())
    )
    assert (revision.revision_of, revision.review) == (public, "draft")
    assert revision.lines.get().quantity == 4
    public.refresh_from_db()
    assert public.review == "verified" and public.reviewed_at is not None
    assert public.lines.get().quantity == 3

    pledges_verify(actor=users["reviewer"], pledges=[revision])
    assert public.lines.get().quantity == 4


# --- the import ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_the_admin_import_per_role(client, users, role):
    header = ",".join(COLUMNS)
    row = {column: "" for column in COLUMNS} | {
        "pledge_ref": "GB-IMPORT-1",
        "line_no": "1",
        "donor": "GB",
        "recipient": "UA",
        "announced_on": "2024-01-01",
        "date_precision": "day",
        "item": "Storm Shadow missiles",
        "category": "missiles",
        "status": "announced",
        "source_urls": "https://www.gov.uk/storm-shadow",
    }
    data = f"{header}\r\n{','.join(row[column] for column in COLUMNS)}\r\n".encode()
    client = admin_as(role, users, client)
    response = client.post(IMPORT, {"file": SimpleUploadedFile("lines.csv", data)})
    if role in WRITES:
        assert response.status_code == 200
        page = response.content.decode()
        assert "Import lines: preview" in page and "GB-IMPORT-1" in page
    else:
        assert response.status_code in ({302} if role == "anonymous" else {403})
    assert not Pledge.objects.filter(ref="GB-IMPORT-1").exists()  # a preview writes nothing
