"""Importing changes to published pledges: an editor's file writes them to the pledges' pending
revisions, so what the public reads moves only when a reviewer publishes; a reviewer's
`verify` import publishes them at once (docs/data-entry.md, "Importing")."""

from django.test import Client

from aid.lines.importer import lines_import
from aid.models import Pledge
from aid.services import pledges_verify
from sources.models import PledgeSource
from tests.conftest import row_counts
from tests.factories import csv_text, messages, row, run

TWO_LINES = [
    row(line_no="1"),
    row(line_no="2", item="artillery rounds", category="artillery", quantity="", unit="rounds"),
]


def public_lines() -> list[dict]:
    response = Client().get("/api/v1/lines/")
    assert response.status_code == 200
    return response.json()["results"]


def published_by(reviewer, *rows) -> Pledge:
    report = lines_import(actor=reviewer, data=csv_text(*rows).encode(), verify=True)
    assert report.ok, messages(report)
    return Pledge.objects.get(ref="GB-1", revision_of=None)


def test_an_editors_change_waits_in_one_revision_and_the_public_sees_no_change(editor, reviewer):
    published = published_by(reviewer, *TWO_LINES)
    before = public_lines()
    changed = [row(line_no="1", quantity="5", notes="five not three"), TWO_LINES[1]]
    report = run(csv_text(*changed), editor)
    assert report.ok, messages(report)
    assert [plan.action for plan in report.plans] == ["revise"]
    assert (report.pledges_revised, report.lines_updated) == (1, 1)
    assert public_lines() == before
    published.refresh_from_db()
    assert (published.review, published.version, published.notes) == ("verified", 1, "")
    revision = Pledge.objects.get(revision_of=published)
    assert (revision.ref, revision.review, revision.notes) == ("GB-1", "draft", "five not three")
    assert [(line.line_no, line.quantity) for line in revision.lines.order_by("line_no")] == [
        (1, 5),
        (2, None),
    ]
    assert [link.source.url for link in revision.source_links.all()] == [
        "https://www.bbc.com/news/uk-63725431"
    ]


def test_a_second_import_updates_the_revision_and_the_same_file_again_changes_nothing(
    editor, reviewer
):
    published_by(reviewer, *TWO_LINES)
    assert run(csv_text(row(line_no="1", quantity="5"), TWO_LINES[1]), editor).ok
    second = csv_text(row(line_no="1", quantity="6"), TWO_LINES[1])
    assert run(second, editor).pledges_revised == 1
    revision = Pledge.objects.get(revision_of__isnull=False)  # still the one revision
    assert revision.lines.get(line_no=1).quantity == 6
    counts = row_counts()
    again = run(second, editor)
    assert (again.pledges_unchanged, again.pledges_revised) == (1, 0)
    assert row_counts() == counts


def test_an_unchanged_published_pledge_gets_no_revision(editor, reviewer):
    published_by(reviewer, *TWO_LINES)
    counts = row_counts()
    report = run(csv_text(*TWO_LINES), editor)
    assert (report.pledges_unchanged, report.pledges_revised) == (1, 0)
    assert row_counts() == counts


def test_revision_lines_keep_the_published_numbers_and_new_ones_follow_the_highest_ever(
    editor, reviewer
):
    published = published_by(reviewer, *TWO_LINES)
    # Line 2 removed and published: its number is never given to another item.
    published = published_by(reviewer, TWO_LINES[0], row(line_no="3", item="mortars",
                                                          category="artillery"))  # fmt: skip
    assert sorted(published.lines.values_list("line_no", flat=True)) == [1, 3]
    unnumbered = [
        row(quantity="4"),
        row(item="mortars", category="artillery"),
        row(item="radars", category="air-defence", quantity="2"),
    ]
    assert run(csv_text(*unnumbered), editor).ok
    revision = published.pending
    assert sorted(revision.lines.values_list("line_no", "quantity")) == [(1, 4), (3, 3), (4, 2)]
    # A further new row on the pending revision is numbered past the revision's too.
    assert run(csv_text(*unnumbered, row(item="trucks", category="vehicles")), editor).ok
    assert sorted(revision.lines.values_list("line_no", flat=True)) == [1, 3, 4, 5]


def test_publishing_the_imported_revision_gives_the_published_pledge_the_files_content(
    editor, reviewer
):
    published = published_by(reviewer, *TWO_LINES)
    changed = [row(line_no="1", quantity="5", package="Autumn package"), TWO_LINES[1]]
    assert run(csv_text(*changed), editor).ok
    assert pledges_verify(actor=reviewer, pledges=[published.pending]) == 1
    published.refresh_from_db()
    assert not Pledge.objects.filter(revision_of__isnull=False).exists()
    assert (published.review, published.package, published.version) == (
        "verified",
        "Autumn package",
        2,
    )
    assert [(line.line_no, line.quantity) for line in published.lines.order_by("line_no")] == [
        (1, 5),
        (2, None),
    ]
    assert {line["quantity"] for line in public_lines()} == {5, None}


def test_links_to_sources_without_a_url_are_carried_to_the_revision(editor, make_pledge):
    published = make_pledge()  # cites an article that has no URL, which a file cannot name
    article = published.source_links.get()
    article.quote = "thirty Sea Kings"
    article.save()
    report = run(csv_text(row(pledge_ref=published.ref, quantity="4", source_urls="")), editor)
    assert report.ok, messages(report)
    assert [plan.action for plan in report.plans] == ["revise"]
    link = published.pending.source_links.get()
    assert (link.source, link.role, link.quote) == (
        article.source,
        PledgeSource.Role.ANNOUNCEMENT,
        "thirty Sea Kings",
    )


def test_a_reviewers_verified_import_publishes_at_once_and_replaces_the_pending_revision(
    editor, reviewer
):
    published = published_by(reviewer, *TWO_LINES)
    assert run(csv_text(row(line_no="1", quantity="5"), TWO_LINES[1]), editor).ok
    revision = published.pending
    data = csv_text(row(line_no="1", quantity="7"), TWO_LINES[1]).encode()
    report = lines_import(actor=reviewer, data=data, verify=True)
    assert (report.pledges_updated, report.revisions_superseded) == (1, 1)
    assert not Pledge.objects.filter(pk=revision.pk).exists()
    assert Pledge.history.filter(id=revision.pk, history_type="-").exists()
    published.refresh_from_db()
    assert (published.review, published.reviewed_by) == ("verified", reviewer)
    assert published.lines.get(line_no=1).quantity == 7
    assert {line["quantity"] for line in public_lines()} == {7, None}


def test_an_editors_withdrawal_of_a_published_pledge_is_refused_as_before(editor, reviewer):
    published_by(reviewer, *TWO_LINES)
    counts = row_counts()
    withdrawn = [row(line_no="1", status="withdrawn"), TWO_LINES[1]]
    report = lines_import(actor=editor, data=csv_text(*withdrawn).encode(), withdraw_reason="x")
    assert messages(report) == ["row 2, column status: withdrawn: you may not withdraw pledges "
                                "(reviewers may)"]  # fmt: skip
    assert row_counts() == counts


def test_a_reviewers_unverified_withdrawal_waits_in_the_revision(reviewer):
    published = published_by(reviewer, *TWO_LINES)
    withdrawn = [row(line_no="1", status="withdrawn"), TWO_LINES[1]]
    data = csv_text(*withdrawn).encode()
    report = lines_import(actor=reviewer, data=data, withdraw_reason="double counted")
    assert report.pledges_revised == 1, messages(report)
    published.refresh_from_db()
    assert published.status != "withdrawn"
    revision = published.pending
    assert revision.status == "withdrawn"
    assert revision.history.get().history_change_reason == "double counted"


def test_an_import_with_one_bad_row_writes_no_revision(editor, reviewer):
    published_by(reviewer, *TWO_LINES)
    counts = row_counts()
    bad = [row(line_no="1", quantity="5"), row(pledge_ref="US-1", donor="XX")]
    report = run(csv_text(*bad), editor)
    assert not report.ok
    assert row_counts() == counts
