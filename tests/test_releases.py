"""Dataset releases (aid/releases/): the published ledger frozen into files that a citation can
rely on: their checksums hold, they are the public export of their moment, the next release says
exactly what changed, and nothing later touches them."""

import datetime
import hashlib
import io
import json
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from aid.lines.export import export_csv
from aid.models import Category, Line, Pledge, Release
from aid.releases.make import folder_of, release_create
from aid.selectors import TotalsQuery, totals
from aid.services import pledge_save, pledge_withdraw, pledges_verify

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def release_dir(settings, tmp_path):
    settings.LEDGER_RELEASE_DIR = tmp_path / "releases"
    return settings.LEDGER_RELEASE_DIR


@pytest.fixture
def ledger(make_pledge, helicopters, artillery, reviewer):
    """Two published pledges, one already withdrawn, and a draft the public does not see."""
    sea_kings = make_pledge(
        ref="GB-SEA-KINGS",
        lines=[
            Line(description="Sea King helicopters", category=helicopters, quantity=3,
                 value=Decimal("100.00"), currency="EUR", value_basis="stated"),
            Line(description="spares", category=helicopters),
        ],
    )  # fmt: skip
    shells = make_pledge(
        ref="GB-SHELLS",
        announced_on=datetime.date(2023, 1, 5),
        lines=[Line(description="155mm shells", category=artillery, value=Decimal("50.00"),
                    currency="EUR", value_basis="stated")],
    )  # fmt: skip
    old = make_pledge(ref="GB-OLD", announced_on=datetime.date(2022, 5, 1))
    old = pledge_withdraw(actor=reviewer, pledge=old, reason="Superseded")
    make_pledge(ref="GB-DRAFT", review="draft")
    return sea_kings, shells, old


def public_export() -> str:
    return "".join(export_csv(Line.objects.filter(pledge__review="verified")))


def read_json(release: Release, name: str) -> dict:
    return json.loads((folder_of(release) / name).read_text(encoding="utf-8"))


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_release_is_the_public_export_and_its_checksums_hold(ledger, reviewer):
    release = release_create(actor=reviewer, name="2026-12", note="First")
    lines_csv = (folder_of(release) / "lines.csv").read_bytes()
    assert lines_csv.decode("utf-8") == public_export()
    assert b"GB-DRAFT" not in lines_csv and b"GB-OLD" in lines_csv  # withdrawn, with its status
    assert (release.pledges, release.lines) == (3, 4)
    assert [entry["name"] for entry in release.files] == [
        "lines.csv",
        "datapackage.json",
        "changes.json",
    ]
    for entry in release.files:
        path = folder_of(release) / entry["name"]
        assert (entry["bytes"], entry["sha256"]) == (path.stat().st_size, sha256(path))
    package = read_json(release, "datapackage.json")
    listed = {entry["name"]: entry for entry in package["files"]}
    assert listed == {
        entry["name"]: entry for entry in release.files if entry["name"] != "datapackage.json"
    }
    assert package["resources"][0]["hash"] == f"sha256:{release.file('lines.csv')['sha256']}"
    assert package["release"]["name"] == "2026-12" and package["release"]["previous"] is None
    assert package["software"]["from"] in {"git describe", "pyproject.toml"}
    assert package["software"]["version"]
    day = release.created_at.date().isoformat()
    assert package["citation"] == (
        f"Military-aid commitment ledger, release 2026-12 ({day}), "
        "http://127.0.0.1:8000/api/v1/releases/2026-12/"
    )
    assert package["licenses"][0]["name"] == "CC-BY-4.0"
    changes = read_json(release, "changes.json")
    assert changes["previous"] is None
    assert sorted(changes["pledges"]["added"]) == ["GB-OLD", "GB-SEA-KINGS", "GB-SHELLS"]
    assert changes["pledges"]["changed"] == changes["pledges"]["withdrawn"] == []


def edit_published(pledge: Pledge, editor, reviewer) -> None:
    """An editor's change to a published pledge (a pending revision), published by a reviewer:
    the first line's quantity, the second line removed, and the package name."""
    lines = list(pledge.lines.order_by("line_no"))[:1]
    lines[0].quantity = 5
    pledge.package = "Sea King package"
    revision = pledge_save(
        actor=editor, pledge=pledge, lines=lines, links=list(pledge.source_links.all())
    )
    pledges_verify(actor=reviewer, pledges=[revision])


def by_key(rows: list[dict]) -> dict:
    return {(row["donor"], row["category"]): row for row in rows}


def test_the_next_release_lists_exactly_what_changed(
    ledger, make_pledge, editor, reviewer, artillery
):
    sea_kings, shells, _ = ledger
    first = release_create(actor=reviewer, name="r1")
    before = totals_now()
    edit_published(sea_kings, editor, reviewer)
    make_pledge(
        ref="GB-NEW",
        lines=[Line(description="howitzers", category=artillery, quantity=2,
                    value=Decimal("30.00"), currency="EUR", value_basis="stated")],
    )  # fmt: skip
    pledge_withdraw(actor=reviewer, pledge=shells, reason="Cancelled")
    make_pledge(ref="GB-PENDING", review="draft")  # not published: not in a release

    second = release_create(actor=reviewer, name="r2")
    changes = read_json(second, "changes.json")
    assert (changes["release"], changes["previous"]) == ("r2", "r1")
    assert second.previous == first
    pledges = changes["pledges"]
    assert pledges["added"] == ["GB-NEW"]
    assert pledges["changed"] == [
        {
            "pledge_ref": "GB-SEA-KINGS",
            "fields": [{"field": "package", "before": None, "after": "Sea King package"}],
            "lines": [
                {
                    "line_no": 1,
                    "action": "changed",
                    "fields": [{"field": "quantity", "before": "3", "after": "5"}],
                },
                {
                    "line_no": 2,
                    "action": "removed",
                    "fields": [
                        {"field": "item", "before": "spares", "after": None},
                        {"field": "category", "before": "helicopters", "after": None},
                        {"field": "quantity_qualifier", "before": "unspecified", "after": None},
                        {"field": "unit", "before": "units", "after": None},
                    ],
                },
            ],
        }
    ]
    assert pledges["withdrawn"] == [
        {
            "pledge_ref": "GB-SHELLS",
            "fields": [{"field": "status", "before": "announced", "after": "withdrawn"}],
            "lines": [],
            "gone": False,
        }
    ]
    after = totals_now()
    rows = by_key(changes["totals"])
    assert set(rows) == set(before) | set(after)
    for key, row in rows.items():
        assert row["before"] == before.get(key, {"value_eur": None, "lines": 0}), key
        assert row["after"] == after.get(key, {"value_eur": None, "lines": 0}), key
    assert rows[("GB", "artillery")]["before"] == {"value_eur": "50.00", "lines": 1}
    assert rows[("GB", "artillery")]["after"] == {"value_eur": "30.00", "lines": 1}


def totals_now() -> dict:
    """The public totals by donor × level-1 category (withdrawn pledges left out, as by
    default), from the one aggregation, in the changes file's shape."""
    public = Line.objects.filter(pledge__review="verified").exclude(pledge__status="withdrawn")
    query = TotalsQuery(group_by=("donor", "category"), category_level=1)
    return {
        (row["donor"], row["category"]): {
            "value_eur": None if row["value"] is None else str(row["value"]),
            "lines": row["lines"],
        }
        for row in totals(public, query)
    }


def test_a_release_never_changes_after_the_ledger_does(ledger, make_pledge, editor, reviewer):
    sea_kings, shells, _ = ledger
    first = release_create(actor=reviewer, name="r1")
    checksums = {name.name: sha256(name) for name in folder_of(first).iterdir()}
    edit_published(sea_kings, editor, reviewer)
    pledge_withdraw(actor=reviewer, pledge=shells, reason="Cancelled")
    Category.objects.filter(slug="helicopters").update(name="Rotorcraft")
    release_create(actor=reviewer, name="r2")
    assert {name.name: sha256(name) for name in folder_of(first).iterdir()} == checksums
    first.refresh_from_db()
    assert {entry["name"]: entry["sha256"] for entry in first.files} == {
        name: digest for name, digest in checksums.items()
    }


def test_a_name_in_use_or_not_a_name_is_refused_naming_the_field(ledger, reviewer, release_dir):
    release_create(actor=reviewer, name="r1")
    for name, message in [("r1", "already exists"), ("r 2/..", "letters, digits"),
                          ("..", "Start with a letter")]:  # fmt: skip
        with pytest.raises(ValidationError) as refused:
            release_create(actor=reviewer, name=name)
        assert message in " ".join(refused.value.message_dict["name"]), name
    assert Release.objects.count() == 1
    assert sorted(path.name for path in release_dir.iterdir() if path.name != ".lock") == ["r1"]


def test_anonymous_readers_list_and_download_but_cannot_make_a_release(client, ledger, reviewer):
    release = release_create(actor=reviewer, name="2026-12")
    listed = client.get("/api/v1/releases/").json()["results"]
    assert [row["name"] for row in listed] == ["2026-12"]
    detail = client.get("/api/v1/releases/2026-12/").json()
    assert (detail["pledges"], detail["lines"]) == (3, 4)
    files = {entry["name"]: entry for entry in detail["files"]}
    for name, content_type in [("lines.csv", "text/csv; charset=utf-8"),
                               ("datapackage.json", "application/json"),
                               ("changes.json", "application/json")]:  # fmt: skip
        entry = files[name]
        assert entry["url"] == f"http://testserver/api/v1/releases/2026-12/files/{name}"
        response = client.get(entry["url"])
        assert response.status_code == 200, name
        body = b"".join(response.streaming_content)
        assert hashlib.sha256(body).hexdigest() == entry["sha256"] == release.file(name)["sha256"]
        assert len(body) == entry["bytes"]
        assert response["Content-Type"] == content_type
        assert response["ETag"] == f'"{entry["sha256"]}"'
        assert response["Content-Disposition"] == f'attachment; filename="2026-12-{name}"'
        again = client.get(entry["url"], HTTP_IF_NONE_MATCH=response["ETag"])
        assert again.status_code == 304
    assert client.get("/api/v1/releases/2026-12/files/notes.txt").status_code == 404
    assert client.get("/api/v1/releases/nope/files/lines.csv").status_code == 404
    assert client.post("/api/v1/releases/", {"name": "x"}).status_code in (401, 403, 405)
    made = client.post(reverse("admin:aid_release_add"), {"name": "x"})
    assert made.status_code == 302 and "/login/" in made["Location"]
    assert not Release.objects.filter(name="x").exists()


def test_editors_may_not_make_a_release_reviewers_and_administrators_may(client, editor):
    assert not editor.has_perm("aid.add_release")
    for role in ("reviewers", "administrators"):
        assert Group.objects.get(name=role).permissions.filter(codename="add_release").exists()
    assert not Group.objects.get(name="editors").permissions.filter(codename="add_release").exists()
    client.force_login(editor)
    assert client.post(reverse("admin:aid_release_add"), {"name": "x"}).status_code == 403
    assert Permission.objects.filter(codename="add_release").exists()


def test_the_command_and_the_admin_make_the_same_release(client, ledger, reviewer):
    out = io.StringIO()
    call_command("release", "by-command", "--note", "monthly", "--user", "reviewer", stdout=out)
    assert "3 pledges, 4 lines" in out.getvalue()
    client.force_login(reviewer)
    page = client.get(reverse("admin:aid_release_add"))
    assert page.status_code == 200 and b"Make a release" in page.content
    answer = client.post(reverse("admin:aid_release_add"), {"name": "by-admin", "note": "x"})
    assert answer.status_code == 302
    command, admin = Release.objects.get(name="by-command"), Release.objects.get(name="by-admin")
    assert command.created_by == admin.created_by == reviewer
    assert command.file("lines.csv") == admin.file("lines.csv")
    assert (command.pledges, command.lines) == (admin.pledges, admin.lines)
    changes = read_json(admin, "changes.json")["pledges"]
    assert changes == {"added": [], "changed": [], "withdrawn": []}
    refused = client.post(reverse("admin:aid_release_add"), {"name": "by-admin"})
    assert refused.status_code == 200 and b"already exists" in refused.content
    with pytest.raises(CommandError, match=r"name: .*already exists"):
        call_command("release", "by-command")
    assert client.get(reverse("admin:aid_release_change", args=[admin.pk])).status_code == 200
