"""The pledge list's lines CSV in the admin: export what the list shows, import in two steps."""

import csv
import datetime
import io

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from pytest_django.asserts import assertContains, assertNotContains

from aid.lines.columns import COLUMNS
from aid.models import Category, Line, Official, Party, Pledge
from aid.services import pledges_verify
from sources.models import Source
from tests.conftest import row_counts

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/aid/pledge/"
EXPORT = "/admin/aid/pledge/export-lines/"
IMPORT = "/admin/aid/pledge/import-lines/"
TEMPLATE = "/admin/aid/pledge/import-lines/template.csv"

HEADER = [
    "pledge_ref", "donor", "recipient", "announced_on", "date_precision", "official",
    "official_title", "item", "category", "quantity", "quantity_qualifier", "unit", "value",
    "currency", "value_basis", "status", "source_urls",
]  # fmt: skip
SEA_KINGS = [
    "IMP-1", "GB", "UA", "2022-11-23", "day", "Ben Wallace", "Defence Secretary",
    "Sea King helicopters", "helicopters", "3", "exact", "units", "1000", "GBP", "stated",
    "announced", "https://example.org/sea-kings",
]  # fmt: skip
ROUNDS = [
    "IMP-1", "GB", "UA", "2022-11-23", "day", "Ben Wallace", "Defence Secretary",
    "artillery rounds", "artillery", "", "", "rounds", "", "", "", "announced",
    "https://example.org/sea-kings",
]  # fmt: skip
HOWITZERS = [
    "IMP-2", "US", "UA", "2023-01-01", "month", "", "", "M777 howitzers", "towed-artillery",
    "18", "exact", "units", "", "", "", "delivered", "https://example.org/howitzers",
]  # fmt: skip


def csv_file(*rows: list[str], header: list[str] = HEADER, name: str = "lines.csv"):
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    upload = io.BytesIO(text.getvalue().encode())
    upload.name = name
    return upload


def good_file():
    """Two pledges, the first with two lines."""
    return csv_file(SEA_KINGS, ROUNDS, HOWITZERS)


def exported(response) -> list[dict]:
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="lines.csv"'
    text = b"".join(response.streaming_content).decode()
    assert text.startswith(",".join(COLUMNS) + "\r\n")
    return list(csv.DictReader(io.StringIO(text)))


def refs(response) -> set[str]:
    return {row["pledge_ref"] for row in exported(response)}


def staff_with(*codenames: str, username: str = "clerk") -> User:
    user = User.objects.create_user(username, password="clerk-pass-123", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture(autouse=True)
def import_dir(settings, tmp_path):
    settings.LEDGER_IMPORT_DIR = tmp_path / "imports"
    return settings.LEDGER_IMPORT_DIR


def kept_files(import_dir) -> list:
    return sorted(import_dir.glob("*")) if import_dir.exists() else []


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


@pytest.fixture
def us(db):
    return Party.objects.get(code="US")


@pytest.fixture
def sea_kings(make_pledge):
    return make_pledge()


@pytest.fixture
def howitzers(make_pledge, us):
    return make_pledge(
        donor=us,
        announced_on=datetime.date(2023, 1, 1),
        date_precision="month",
        lines=[
            Line(
                description="M777 howitzers",
                category=Category.objects.get(slug="towed-artillery"),
                quantity=18,
            ),
            Line(description="155 mm rounds", category=Category.objects.get(slug="artillery")),
        ],
    )


# --- Export -------------------------------------------------------------------------------------


def test_action_exports_the_lines_of_the_selected_pledges_only(editor_client, sea_kings, howitzers):
    response = editor_client.post(
        CHANGELIST, {"action": "export_lines", "_selected_action": [howitzers.pk]}
    )
    rows = exported(response)
    assert [(row["pledge_ref"], row["line_no"], row["item"]) for row in rows] == [
        (howitzers.ref, "1", "M777 howitzers"),
        (howitzers.ref, "2", "155 mm rounds"),
    ]


def test_action_is_offered_with_its_label(editor_client, sea_kings):
    response = editor_client.get(CHANGELIST)
    assertContains(response, "Export lines of the selected pledges (CSV)")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"sea_kings", "howitzers"}),
        ("donor__id__exact={us}", {"howitzers"}),
        ("donor__id__exact={gb}", {"sea_kings"}),
        ("q=Sea+King", {"sea_kings"}),
        ("q=howitzers&donor__id__exact={us}", {"howitzers"}),
        ("q=howitzers&donor__id__exact={gb}", set()),
        ("announced_on__year=2022", {"sea_kings"}),
        ("category=artillery", {"howitzers"}),
        ("p=2", {"sea_kings", "howitzers"}),  # every page, not the one on screen
    ],
)
def test_export_link_holds_what_the_list_shows(
    editor_client, sea_kings, howitzers, gb, us, query, expected
):
    pledges = {"sea_kings": sea_kings.ref, "howitzers": howitzers.ref}
    query = query.format(gb=gb.pk, us=us.pk)
    assert refs(editor_client.get(f"{EXPORT}?{query}")) == {pledges[name] for name in expected}


def test_changelist_links_the_export_with_its_own_filters(editor_client, sea_kings, us):
    response = editor_client.get(f"{CHANGELIST}?donor__id__exact={us.pk}&q=howitzers")
    assertContains(response, f'href="{EXPORT}?donor__id__exact={us.pk}&amp;q=howitzers"')
    assertContains(response, "Export these results (CSV)")
    assertContains(response, f'href="{IMPORT}"')


def test_export_with_parameters_the_list_refuses_goes_back_to_the_list(editor_client, sea_kings):
    response = editor_client.get(f"{EXPORT}?no_such_field=1")
    assert response.status_code == 302
    assert response["Location"] == f"{CHANGELIST}?e=1"


def test_export_needs_permission_to_view_pledges(client, sea_kings):
    client.force_login(staff_with())
    assert client.get(EXPORT).status_code == 403
    client.force_login(User.objects.create_user("outsider", password="outsider-pass-123"))
    response = client.get(EXPORT)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    client.force_login(staff_with("view_pledge", username="viewer"))
    assert refs(client.get(EXPORT)) == {sea_kings.ref}


def test_viewer_sees_export_but_not_import(client, sea_kings):
    client.force_login(staff_with("view_pledge"))
    response = client.get(CHANGELIST)
    assertContains(response, "Export these results (CSV)")
    assertContains(response, "Export lines of the selected pledges (CSV)")
    assertNotContains(response, IMPORT)
    assertNotContains(client.get("/admin/"), IMPORT)


# --- Import: permissions and template -----------------------------------------------------------


@pytest.mark.parametrize(
    "codenames",
    [(), ("view_pledge",), ("add_pledge",), ("change_pledge",), ("view_pledge", "add_pledge")],
)
def test_import_needs_add_and_change(client, import_dir, codenames):
    client.force_login(staff_with(*codenames))
    assert client.get(IMPORT).status_code == 403
    assert client.post(IMPORT, {"file": good_file()}).status_code == 403
    assert client.get(TEMPLATE).status_code == 403
    assert not Pledge.objects.exists()
    assert kept_files(import_dir) == []


def test_import_page_is_linked_from_the_index(editor_client):
    assertContains(editor_client.get("/admin/"), f'href="{IMPORT}"')


def test_import_page_explains_the_format(editor_client, settings):
    settings.LEDGER_IMPORT_MAX_BYTES = 5 * 1024 * 1024
    response = editor_client.get(IMPORT)
    assertContains(response, "5.0\xa0MB")
    assertContains(response, 'enctype="multipart/form-data"')
    assertContains(response, "csrfmiddlewaretoken")
    assertContains(response, f'href="{TEMPLATE}"')
    assertContains(response, '<code class="required">source_urls</code>', html=True)


def test_template_is_the_header_alone(editor_client):
    response = editor_client.get(TEMPLATE)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    assert response.content.decode() == ",".join(COLUMNS) + "\r\n"


# --- Import: upload, preview, confirm -----------------------------------------------------------


def preview(client, upload=None):
    response = client.post(IMPORT, {"file": upload or good_file()})
    assert response.status_code == 200
    return response


def test_preview_shows_counts_and_plans_and_writes_nothing(editor_client, import_dir):
    before = row_counts()
    response = preview(editor_client)
    report = response.context["report"]
    assert report.dry_run
    assert report.errors == []
    assert (report.pledges_created, report.pledges_updated, report.pledges_unchanged) == (2, 0, 0)
    assert (report.lines_created, report.lines_updated, report.lines_removed) == (3, 0, 0)
    assert (report.sources_created, report.officials_created) == (2, 1)
    plans = [(plan.ref, plan.action, plan.row, plan.lines) for plan in response.context["plans"]]
    assert plans == [("IMP-1", "create", 2, 2), ("IMP-2", "create", 4, 1)]
    assertContains(response, "Confirm import")
    assertContains(response, '<td class="action-create">create</td>', count=2, html=True)
    assertContains(response, "lines.csv")

    assert row_counts() == before
    assert not Source.objects.exists()
    assert not Official.objects.exists()
    (kept,) = kept_files(import_dir)
    assert kept.name == f"{response.context['token']}.csv"
    assert kept.read_bytes() == good_file().getvalue()


def test_confirm_imports_and_history_names_the_user(editor_client, editor, import_dir):
    token = preview(editor_client).context["token"]
    response = editor_client.post(IMPORT, {"token": token, "confirm": "Confirm import"})
    assert response.status_code == 302
    assert response["Location"] == CHANGELIST
    page = editor_client.get(CHANGELIST)
    assertContains(page, "From lines.csv: Imported 3 rows: 2 pledges created")
    assertContains(page, "IMP-1")
    assertContains(page, "IMP-2")

    sea_kings = Pledge.objects.get(ref="IMP-1")
    assert sea_kings.donor.code == "GB"
    assert list(sea_kings.lines.order_by("line_no").values_list("description", flat=True)) == [
        "Sea King helicopters",
        "artillery rounds",
    ]
    assert Pledge.objects.get(ref="IMP-2").lines.count() == 1
    assert {record.history_user for record in Pledge.history.all()} == {editor}
    assert {record.history_user for record in Line.history.all()} == {editor}
    assert kept_files(import_dir) == []
    # The token was spent: confirming again imports nothing twice.
    again = editor_client.post(IMPORT, {"token": token, "confirm": "Confirm import"})
    assertContains(again, "upload the file again")
    assert Pledge.objects.count() == 2


def test_reimport_previews_unchanged(editor_client):
    token = preview(editor_client).context["token"]
    editor_client.post(IMPORT, {"token": token, "confirm": "Confirm import"})
    response = preview(editor_client)
    assert [plan.action for plan in response.context["plans"]] == ["unchanged", "unchanged"]
    assert response.context["report"].pledges_unchanged == 2


def test_changes_to_published_pledges_preview_and_import_as_pending_changes(
    editor_client, reviewer
):
    token = preview(editor_client).context["token"]
    editor_client.post(IMPORT, {"token": token, "confirm": "Confirm import"})
    pledges_verify(actor=reviewer, pledges=list(Pledge.objects.all()))
    changed = [*SEA_KINGS[:9], "4", *SEA_KINGS[10:]]
    response = preview(editor_client, csv_file(changed, ROUNDS, HOWITZERS))
    assert [plan.action for plan in response.context["plans"]] == ["revise", "unchanged"]
    assertContains(response, '<td class="num" id="import-pending">1</td>', html=True)
    assertContains(response, "what the public reads does not change until a reviewer")
    token = response.context["token"]
    editor_client.post(IMPORT, {"token": token, "confirm": "Confirm import"})
    page = editor_client.get(CHANGELIST)
    assertContains(page, "1 pending changes to published pledges")
    published = Pledge.objects.get(ref="IMP-1", revision_of=None)
    assert published.lines.get(line_no=1).quantity == 3
    assert published.pending.lines.get(line_no=1).quantity == 4


def test_cancel_drops_the_upload(editor_client, import_dir):
    before = row_counts()
    token = preview(editor_client).context["token"]
    response = editor_client.post(IMPORT, {"token": token, "cancel": "Cancel"})
    assert response.status_code == 302
    assert kept_files(import_dir) == []
    assert row_counts() == before
    assertContains(editor_client.get(CHANGELIST), "nothing was imported")


def test_errors_are_shown_by_row_and_column_and_nothing_is_written(editor_client, import_dir):
    before = row_counts()
    bad_donor = ["IMP-3", "XX", *SEA_KINGS[2:]]
    negative = [*HOWITZERS[:9], "-3", *HOWITZERS[10:]]
    response = preview(editor_client, csv_file(SEA_KINGS, bad_donor, negative))
    assertContains(response, "Nothing was imported")
    assertContains(response, "Fix these rows and upload the file again")
    assertContains(response, "row 3, column donor")
    assertContains(response, "row 4, column quantity")
    assertContains(response, "(&#x27;-3&#x27;)")
    assertContains(response, 'id="import-form"')  # the form again
    assertNotContains(response, "Confirm import")
    assert row_counts() == before
    assert kept_files(import_dir) == []


def test_errors_that_appear_before_confirm_are_shown_and_nothing_is_written(
    editor_client, import_dir
):
    token = preview(editor_client).context["token"]
    Category.objects.filter(slug="towed-artillery").delete()
    response = editor_client.post(IMPORT, {"token": token, "confirm": "Confirm import"})
    assert response.status_code == 200
    assertContains(response, "row 4, column category")
    assert not Pledge.objects.exists()
    assert kept_files(import_dir) == []


def test_warnings_are_shown_in_the_preview(editor_client):
    response = preview(editor_client, csv_file([*SEA_KINGS, "green"], header=[*HEADER, "colour"]))
    assert response.context["report"].warnings
    assertContains(response, "colour")
    assertContains(response, "Confirm import")


def test_refused_file_is_a_form_error(editor_client, import_dir):
    upload = io.BytesIO(b"\xff\xfe\x00b\x00a\x00d")
    upload.name = "lines.csv"
    response = preview(editor_client, upload)
    assert response.context["form"].errors["file"]
    assertNotContains(response, "Confirm import")
    assert kept_files(import_dir) == []


def test_oversized_file_is_refused_before_it_is_read(editor_client, settings, import_dir):
    settings.LEDGER_IMPORT_MAX_BYTES = 100
    response = preview(editor_client)
    assert response.context["form"].errors["file"] == [
        f"The file is {len(good_file().getvalue())}\xa0bytes; the limit is 100\xa0bytes."
    ]
    assert kept_files(import_dir) == []


def test_another_sessions_token_is_refused(editor_client, editor, admin_user, import_dir):
    token = preview(editor_client).context["token"]
    for user in (editor, admin_user):  # the same user in another browser, and someone else
        other = Client()
        other.force_login(user)
        response = other.post(IMPORT, {"token": token, "confirm": "Confirm import"})
        assertContains(response, "upload the file again")
        assert not Pledge.objects.exists()
        other.post(IMPORT, {"token": token, "cancel": "Cancel"})
    assert len(kept_files(import_dir)) == 1  # still the uploader's to confirm
    editor_client.post(IMPORT, {"token": token, "confirm": "Confirm import"})
    assert Pledge.objects.count() == 2


@pytest.mark.parametrize("token", ["../../db", "0" * 32, "", "A" * 32])
def test_malformed_or_unknown_tokens_are_refused(editor_client, import_dir, token):
    response = editor_client.post(IMPORT, {"token": token, "confirm": "Confirm import"})
    assertContains(response, "upload the file again")
    assert not Pledge.objects.exists()
