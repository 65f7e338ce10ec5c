"""The import enforces roles itself, for the user it is given, whether the command or the admin
page calls it: adding an item type needs `aid.add_itemtype` (administrators), withdrawing a
pledge needs `aid.withdraw_pledge` (reviewers) and a reason its history records."""

from io import StringIO
from pathlib import Path
from tempfile import mkdtemp

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from aid.models import ItemType, Pledge
from tests.conftest import member, row_counts
from tests.factories import csv_text, row

GROUPS = {
    "reader": "readers",
    "editor": "editors",
    "reviewer": "reviewers",
    "administrator": "administrators",
}
IMPORT = "/admin/aid/pledge/import-lines/"
NEW_TYPE = "Westland Sea King Mk 4"
REASON = "Cancelled by the Ministry of Defence"


@pytest.fixture
def users(db):
    return {role: member(f"i-{role}", group) for role, group in GROUPS.items()}


@pytest.fixture
def stored(users):
    """A pledge the ledger holds, announced, imported by an administrator."""
    call_command("import_lines", write_file(csv_text(row())), "--user", "i-administrator")
    return Pledge.objects.get(ref="GB-1")


def write_file(text: str, name="lines.csv") -> str:
    path = Path(mkdtemp()) / name
    path.write_text(text)
    return str(path)


def counts() -> dict[str, int]:
    return row_counts() | {"item types": ItemType.objects.count()}


def command(role: str, text: str, *options: str) -> str:
    """Run import_lines as `role`; the error it fails with, or "" when it imported."""
    err = StringIO()
    try:
        call_command(
            "import_lines", write_file(text), "--user", f"i-{role}", *options,
            stdout=StringIO(), stderr=err,
        )  # fmt: skip
    except CommandError as error:
        return f"{err.getvalue()}\n{error}"
    return ""


def admin_import(client, user, text: str, reason: str = ""):
    """Upload and, when the preview allows it, confirm, as `user` on the admin page; the last
    response."""
    client.force_login(user)
    upload = SimpleUploadedFile("lines.csv", text.encode())
    response = client.post(IMPORT, {"file": upload, "reason": reason})
    assert response.status_code == 200
    token = response.context.get("token")
    if token is None:
        return response
    return client.post(IMPORT, {"token": token, "confirm": "Confirm import"})


# --- item types ---------------------------------------------------------------------------------


def test_the_seeded_roles_that_may_add_item_types_and_withdraw(users):
    may = {
        role: (user.has_perm("aid.add_itemtype"), user.has_perm("aid.withdraw_pledge"))
        for role, user in users.items()
    }
    assert may == {
        "reader": (False, False),
        "editor": (False, False),
        "reviewer": (False, True),
        "administrator": (True, True),
    }


@pytest.mark.parametrize("role", ["editor", "reviewer"])
def test_an_import_adding_an_item_type_is_refused_by_row_without_the_permission(users, role):
    before = counts()
    text = csv_text(row(), row(pledge_ref="GB-2", item_type=NEW_TYPE))
    error = command(role, text)
    assert (
        f"row 3, column item_type: '{NEW_TYPE}' is not in the catalogue and you may not add "
        "item types"
    ) in error
    assert "nothing was imported" in error
    assert counts() == before


def test_an_administrator_import_adds_the_item_type(users):
    assert command("administrator", csv_text(row(item_type=NEW_TYPE))) == ""
    assert ItemType.objects.filter(name=NEW_TYPE).exists()
    assert Pledge.objects.get(ref="GB-1").lines.get().item_type.name == NEW_TYPE


def test_a_reader_may_not_import_at_all(users):
    before = counts()
    assert "you may not import" in command("reader", csv_text(row()))
    assert counts() == before


def test_on_the_admin_page_an_editor_adding_an_item_type_is_refused_by_row(client, users):
    before = counts()
    response = admin_import(client, users["editor"], csv_text(row(item_type=NEW_TYPE)))
    page = response.content.decode()
    assert "Nothing was imported" in page
    assert f"row 2, column item_type: &#x27;{NEW_TYPE}&#x27; is not in the catalogue" in page
    assert counts() == before


def test_on_the_admin_page_an_administrator_adds_the_item_type(client, users):
    response = admin_import(client, users["administrator"], csv_text(row(item_type=NEW_TYPE)))
    assert response.status_code == 302
    assert ItemType.objects.filter(name=NEW_TYPE).exists()


# --- withdrawals --------------------------------------------------------------------------------


WITHDRAWN = csv_text(row(status="withdrawn"))


def test_an_editor_withdrawing_is_refused_even_with_a_reason(stored):
    before = counts()
    error = command("editor", WITHDRAWN, "--reason", REASON)
    assert "row 2, column status: withdrawn: you may not withdraw pledges" in error
    assert counts() == before
    stored.refresh_from_db()
    assert stored.status == Pledge.Status.ANNOUNCED


def test_a_reviewer_withdrawing_without_a_reason_is_refused(stored):
    before = counts()
    error = command("reviewer", WITHDRAWN)
    assert "row 2, column status: withdrawn: give the reason" in error
    assert command("reviewer", WITHDRAWN, "--reason", "   ") != ""
    assert counts() == before
    stored.refresh_from_db()
    assert stored.status == Pledge.Status.ANNOUNCED


def test_a_reviewer_withdraws_with_a_reason_recorded_in_the_history(stored, users):
    assert command("reviewer", WITHDRAWN, "--reason", REASON) == ""
    stored.refresh_from_db()
    assert stored.status == Pledge.Status.WITHDRAWN
    latest = stored.history.first()
    assert (latest.history_user, latest.history_change_reason) == (users["reviewer"], REASON)


def test_a_new_pledge_created_withdrawn_is_a_withdrawal_too(users):
    before = counts()
    assert "you may not withdraw" in command("editor", WITHDRAWN, "--reason", REASON)
    assert "give the reason" in command("reviewer", WITHDRAWN)
    assert counts() == before
    assert command("reviewer", WITHDRAWN, "--reason", REASON) == ""
    created = Pledge.objects.get(ref="GB-1")
    assert created.status == Pledge.Status.WITHDRAWN
    assert created.history.get().history_change_reason == REASON


def test_a_pledge_already_withdrawn_needs_no_reason_to_be_edited(stored, users):
    assert command("reviewer", WITHDRAWN, "--reason", REASON) == ""
    text = csv_text(row(status="withdrawn", quantity="4"))
    assert command("editor", text) == ""
    assert Pledge.objects.get(ref="GB-1").lines.get().quantity == 4


def test_only_the_withdrawn_pledges_history_gives_the_reason(stored, users):
    text = csv_text(row(status="withdrawn"), row(pledge_ref="GB-2", quantity="7"))
    assert command("reviewer", text, "--reason", REASON, "--dry-run") == ""
    assert not Pledge.objects.filter(ref="GB-2").exists()  # a dry run checks, writes nothing
    assert command("reviewer", text, "--reason", REASON) == ""
    other = Pledge.objects.get(ref="GB-2").history.get()
    assert other.history_change_reason == "Imported from lines.csv"
    assert Pledge.objects.get(ref="GB-1").history.first().history_change_reason == REASON


@pytest.mark.parametrize(
    "role, reason, refusal",
    [
        ("editor", REASON, "you may not withdraw pledges"),
        ("reviewer", "", "give the reason the pledges are withdrawn"),
    ],
)
def test_on_the_admin_page_a_withdrawal_is_refused(client, users, stored, role, reason, refusal):
    before = counts()
    response = admin_import(client, users[role], WITHDRAWN, reason)
    page = response.content.decode()
    assert f"row 2, column status: withdrawn: {refusal}" in page
    assert counts() == before


def test_on_the_admin_page_the_reason_goes_from_upload_to_preview_to_confirm(client, users, stored):
    client.force_login(users["reviewer"])
    upload = SimpleUploadedFile("lines.csv", WITHDRAWN.encode())
    preview = client.post(IMPORT, {"file": upload, "reason": REASON})
    assert REASON in preview.content.decode()
    stored.refresh_from_db()
    assert stored.status == Pledge.Status.ANNOUNCED  # the preview writes nothing
    response = client.post(IMPORT, {"token": preview.context["token"], "confirm": "Confirm"})
    assert response.status_code == 302
    stored.refresh_from_db()
    assert stored.status == Pledge.Status.WITHDRAWN
    latest = stored.history.first()
    assert (latest.history_user, latest.history_change_reason) == (users["reviewer"], REASON)
