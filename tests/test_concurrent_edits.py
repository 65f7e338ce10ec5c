"""No lost updates: two editors changing the same pledge at once cannot overwrite each other.

Each pledge has a version that every change increments; a save based on an older version is
refused, in the service, in the admin (with the editor's input kept) and in the API (ETag and
If-Match, 412 on a mismatch). Drafts are edited in place, and so are pending revisions, so the
same protection holds for two editors of one revision; a published pledge takes one pending
revision at a time, and a second change is refused naming it (aid.revisions)."""

import pytest
from django.test import Client
from rest_framework.test import APIClient

from aid.models import Line, Pledge
from aid.services import StalePledge, pledge_save, pledge_withdraw
from tests.conftest import row_counts
from tests.factories import form_data

STALE = "This pledge was changed by"


def change_url(pledge) -> str:
    return f"/admin/aid/pledge/{pledge.pk}/change/"


@pytest.fixture
def pledge(make_pledge):
    """A draft: its changes apply in place, each a new version."""
    return make_pledge(review="draft")


@pytest.fixture
def published(make_pledge):
    return make_pledge()


def change(pledge, actor, **fields) -> Pledge:
    """What `pledge_save` makes of `fields` changed on the stored `pledge`."""
    current = Pledge.objects.get(pk=pledge.pk)
    for name, value in fields.items():
        setattr(current, name, value)
    return pledge_save(
        actor=actor, pledge=current, lines=list(current.lines.all()),
        links=list(current.source_links.all()),
    )  # fmt: skip


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- The service -------------------------------------------------------------------------------


def test_a_save_based_on_an_older_version_is_refused_and_writes_nothing(pledge, editor):
    mine, theirs = Pledge.objects.get(pk=pledge.pk), Pledge.objects.get(pk=pledge.pk)
    theirs.notes = "Confirmed by the MoD."
    pledge_save(
        actor=editor, pledge=theirs, lines=list(theirs.lines.all()),
        links=list(theirs.source_links.all()),
    )  # fmt: skip
    assert theirs.version == 2
    before = row_counts()

    mine.package = "Winter package"
    with pytest.raises(StalePledge) as refused:
        pledge_save(
            actor=editor, pledge=mine, lines=list(mine.lines.all()),
            links=list(mine.source_links.all()),
        )  # fmt: skip
    assert "now version 2; you edited version 1" in refused.value.messages[0]
    assert "by editor" in refused.value.messages[0]
    assert row_counts() == before
    stored = Pledge.objects.get(pk=pledge.pk)
    assert (stored.notes, stored.package, stored.version) == ("Confirmed by the MoD.", "", 2)


def test_every_kind_of_change_increments_the_version_and_no_change_does_not(pledge, editor):
    def save(lines=None):
        current = Pledge.objects.get(pk=pledge.pk)
        pledge_save(
            actor=editor, pledge=current, lines=lines or list(current.lines.all()),
            links=list(current.source_links.all()),
        )  # fmt: skip
        return Pledge.objects.get(pk=pledge.pk).version

    assert pledge.version == 1
    assert save() == 1  # nothing changed
    line = pledge.lines.get()
    line.quantity = 4
    assert save(lines=[line]) == 2  # a line only
    assert save(lines=[line, Line(description="spares", category=line.category)]) == 3
    pledge_withdraw(actor=editor, pledge=Pledge.objects.get(pk=pledge.pk), reason="duplicate")
    assert Pledge.objects.get(pk=pledge.pk).version == 4
    assert Pledge.history.filter(id=pledge.pk).first().version == 4


# --- The admin ---------------------------------------------------------------------------------


def test_two_admin_sessions_the_second_save_is_refused_and_keeps_its_input(
    pledge, editor, admin_user
):
    first, second = client_for(admin_user), client_for(editor)
    url = change_url(pledge)
    # Both open the pledge before either saves.
    first_form = form_data(first, url, "pledge_form", **{"lines-0-quantity": "4"})
    second_form = form_data(
        second, url, "pledge_form", notes="Seen in Hansard.", **{"lines-0-quantity": "5"}
    )
    assert first_form["loaded_version"] == second_form["loaded_version"] == "1"

    assert first.post(url, first_form).status_code == 302
    refused = second.post(url, second_form)

    assert refused.status_code == 200
    page = refused.content.decode()
    assert "This pledge was changed by admin" in page
    assert "now version 2; you edited version 1" in page
    # The second editor's input is still on the form, to be made again after a reload.
    assert "Seen in Hansard.</textarea>" in page
    assert 'name="lines-0-quantity" value="5"' in page
    stored = Pledge.objects.get(pk=pledge.pk)
    assert (stored.version, stored.notes, stored.lines.get().quantity) == (2, "", 4)

    # After reloading, the second editor's save goes through.
    again = form_data(second, url, "pledge_form", notes="Seen in Hansard.")
    assert again["loaded_version"] == "2"
    assert second.post(url, again).status_code == 302
    stored.refresh_from_db()
    assert (stored.version, stored.notes, stored.lines.get().quantity) == (3, "Seen in Hansard.", 4)


@pytest.mark.parametrize("review", ["draft", "verified"])
def test_a_withdrawal_makes_an_open_admin_form_stale(make_pledge, editor, admin_user, review):
    pledge = make_pledge(review=review)  # a published one is withdrawn by publishing a revision
    client = client_for(editor)
    url = change_url(pledge)
    form = form_data(client, url, "pledge_form", status="delivered")
    pledge_withdraw(actor=admin_user, pledge=pledge, reason="duplicate")
    assert STALE in client.post(url, form).content.decode()
    assert Pledge.objects.get(pk=pledge.pk).status == Pledge.Status.WITHDRAWN
    assert not Pledge.objects.filter(revision_of=pledge).exists()


def test_two_admin_sessions_on_one_revision_the_second_save_is_refused(
    published, editor, admin_user
):
    revision = change(published, editor, notes="Confirmed by the MoD.")
    first, second = client_for(admin_user), client_for(editor)
    url = change_url(revision)
    first_form = form_data(first, url, "pledge_form", **{"lines-0-quantity": "4"})
    second_form = form_data(second, url, "pledge_form", package="Winter package")

    assert first.post(url, first_form).status_code == 302
    refused = second.post(url, second_form)
    assert refused.status_code == 200
    assert "This pledge was changed by admin" in refused.content.decode()
    revision.refresh_from_db()
    assert (revision.version, revision.package, revision.lines.get().quantity) == (2, "", 4)
    assert Pledge.objects.get(pk=published.pk).lines.get().quantity == 3  # still unpublished


def test_a_second_change_to_a_published_pledge_is_refused_in_the_admin_naming_its_revision(
    published, editor, admin_user
):
    client = client_for(admin_user)
    url = change_url(published)
    form = form_data(client, url, "pledge_form", package="Winter package")
    revision = change(published, editor, notes="Confirmed by the MoD.")  # meanwhile
    before = row_counts()

    refused = client.post(url, form)
    assert refused.status_code == 200
    page = refused.content.decode()
    assert f"pending change (revision {revision.pk})" in page
    assert row_counts() == before
    revision.refresh_from_db()
    assert (revision.package, revision.notes) == ("", "Confirmed by the MoD.")


# --- The API -----------------------------------------------------------------------------------


def api_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_api_honours_if_match_and_answers_412_on_a_stale_etag(pledge, editor, admin_user):
    url = f"/api/v1/pledges/{pledge.pk}/"
    first, second = api_for(admin_user), api_for(editor)
    read = first.get(url)
    etag = read["ETag"]
    assert etag == f'"pledge-{pledge.pk}-v1"' and second.get(url)["ETag"] == etag

    saved = first.patch(url, {"notes": "Confirmed."}, format="json", HTTP_IF_MATCH=etag)
    assert saved.status_code == 200
    assert saved["ETag"] == f'"pledge-{pledge.pk}-v2"' == first.get(url)["ETag"]

    before = row_counts()
    refused = second.patch(url, {"package": "Winter"}, format="json", HTTP_IF_MATCH=etag)
    assert refused.status_code == 412
    assert refused["Content-Type"] == "application/json"
    assert "changed after you read it" in refused.json()["detail"]
    refused = second.put(
        url, {**read.json(), "package": "Winter"}, format="json", HTTP_IF_MATCH=etag
    )
    assert refused.status_code == 412
    assert row_counts() == before
    stored = Pledge.objects.get(pk=pledge.pk)
    assert (stored.notes, stored.package, stored.version) == ("Confirmed.", "", 2)

    # With the new ETag (or `*`, or none: the client did not ask) the write goes through.
    assert (
        second.patch(
            url, {"package": "Winter"}, format="json", HTTP_IF_MATCH=saved["ETag"]
        ).status_code
        == 200
    )
    assert (
        second.patch(url, {"package": "Spring"}, format="json", HTTP_IF_MATCH="*").status_code
        == 200
    )
    assert second.patch(url, {"package": "Summer"}, format="json").status_code == 200
    assert Pledge.objects.get(pk=pledge.pk).version == 5


def test_two_editors_of_one_revision_the_stale_etag_is_a_412(published, editor, admin_user):
    revision = change(published, editor, notes="Confirmed by the MoD.")
    url = f"/api/v1/pledges/{revision.pk}/"
    first, second = api_for(admin_user), api_for(editor)
    etag = first.get(url)["ETag"]
    assert etag == f'"pledge-{revision.pk}-v1"' == second.get(url)["ETag"]

    saved = first.patch(url, {"package": "Winter"}, format="json", HTTP_IF_MATCH=etag)
    assert (saved.status_code, saved["ETag"]) == (200, f'"pledge-{revision.pk}-v2"')
    before = row_counts()
    refused = second.patch(url, {"package": "Spring"}, format="json", HTTP_IF_MATCH=etag)
    assert refused.status_code == 412
    assert row_counts() == before
    revision.refresh_from_db()
    assert (revision.package, revision.version, revision.revision_of_id) == (
        "Winter", 2, published.pk,
    )  # fmt: skip


def test_a_second_change_to_a_published_pledge_is_a_409_naming_its_revision(
    published, editor, admin_user
):
    url = f"/api/v1/pledges/{published.pk}/"
    first, second = api_for(editor), api_for(admin_user)
    etag = second.get(url)["ETag"]
    accepted = first.patch(url, {"notes": "Confirmed by the MoD."}, format="json")
    assert accepted.status_code == 202
    revision = accepted.json()["id"]
    assert first.get(url)["ETag"] == etag  # the published pledge is unchanged

    before = row_counts()
    refused = second.patch(url, {"package": "Winter"}, format="json", HTTP_IF_MATCH=etag)
    assert refused.status_code == 409
    assert f"revision {revision}" in refused.json()["detail"]
    assert row_counts() == before

    # Once the revision is published, a form read before it is stale.
    reviewer = api_for(admin_user)
    assert reviewer.post(f"/api/v1/pledges/{revision}/verify/").status_code == 200
    stale = second.patch(url, {"package": "Winter"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412


def test_a_write_that_loses_a_race_is_a_412_even_without_if_match(pledge, editor, monkeypatch):
    """Someone saves between the API reading the pledge and writing it."""
    from aid.api import serializers

    real_save = serializers.pledge_save

    def save_after_someone_else(*, pledge, **kwargs):
        Pledge.objects.filter(pk=pledge.pk).update(version=pledge.version + 1)
        return real_save(pledge=pledge, **kwargs)

    monkeypatch.setattr(serializers, "pledge_save", save_after_someone_else)
    response = api_for(editor).patch(
        f"/api/v1/pledges/{pledge.pk}/", {"notes": "Mine."}, format="json"
    )
    assert response.status_code == 412
    assert "you edited version 1" in response.json()["detail"]
    assert Pledge.objects.get(pk=pledge.pk).notes == ""


# --- The importer -------------------------------------------------------------------------------


def import_csv(editor, **cells):
    from tests.factories import csv_text, row, run

    report = run(csv_text(row(**cells)), editor)
    assert not report.errors, report.errors
    return report


def test_a_reimport_of_an_edited_pledge_is_unchanged_whatever_its_version(editor):
    import_csv(editor)
    pledge = Pledge.objects.get(ref="GB-1")
    assert pledge.version == 1
    pledge.notes = "edited in the admin"
    pledge_save(
        actor=editor, pledge=pledge, lines=list(pledge.lines.all()),
        links=list(pledge.source_links.all()),
    )  # fmt: skip
    assert import_csv(editor, notes="edited in the admin").pledges_unchanged == 1
    assert Pledge.objects.get(ref="GB-1").version == 2


def test_an_import_that_changes_a_pledge_makes_open_forms_stale(editor):
    import_csv(editor)
    assert import_csv(editor, notes="corrected by the import").pledges_updated == 1
    assert Pledge.objects.get(ref="GB-1").version == 2


def test_an_import_that_changes_only_lines_gives_a_new_version_too(editor):
    import_csv(editor)
    assert import_csv(editor, quantity="4").pledges_updated == 1
    assert Pledge.objects.get(ref="GB-1").version == 2


@pytest.mark.parametrize("change", [{"notes": "corrected by the import"}, {"quantity": "4"}])
def test_an_editors_save_between_an_imports_check_and_write_is_not_overwritten(
    editor, monkeypatch, change
):
    from aid.lines import importer
    from tests.factories import csv_text, row, run

    import_csv(editor)
    checked, before = importer.plan, {}

    def editor_saves_meanwhile(*args, **kwargs):
        writes = checked(*args, **kwargs)
        pledge = Pledge.objects.get(ref="GB-1")
        pledge.notes = "the editor's correction"
        pledge_save(
            actor=editor, pledge=pledge, lines=list(pledge.lines.all()),
            links=list(pledge.source_links.all()),
        )  # fmt: skip
        before.update(row_counts())
        return writes

    monkeypatch.setattr(importer, "plan", editor_saves_meanwhile)
    report = run(csv_text(row(**change)), editor)
    assert [str(problem) for problem in report.errors] == [
        "file: 1 pledge(s) were changed by someone else while the file was being checked (GB-1); "
        "nothing was written: import the file again to see and apply the differences"
    ]
    pledge = Pledge.objects.get(ref="GB-1")
    assert (pledge.notes, pledge.version) == ("the editor's correction", 2)
    assert pledge.lines.get().quantity != 4
    assert row_counts() == before
