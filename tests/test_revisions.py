"""Published pledges and pending revisions (aid/revisions.py): an editor's change never moves a
published figure until a reviewer publishes it, and nothing is counted twice meanwhile."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from aid.models import Line, Pledge
from aid.revisions import PendingExists, pledge_send_back
from aid.services import pledge_save, pledge_withdraw, pledges_verify
from tests.conftest import member
from tests.factories import TOTALS


@pytest.fixture
def published(make_pledge, helicopters):
    return make_pledge(
        ref="GB-SEA-KINGS",
        lines=[
            Line(description="Sea King helicopters", category=helicopters, quantity=3),
            Line(description="spares", category=helicopters, value=Decimal("100"), currency="GBP",
                 value_basis="stated"),
        ],
    )  # fmt: skip


def edit(pledge: Pledge, editor, quantity: int = 10, drop_last=False) -> Pledge:
    """The editor's change, made as the admin and the API make it: the stored rows, edited."""
    lines = list(pledge.lines.order_by("line_no"))
    lines[0].quantity = quantity
    if drop_last:
        lines = lines[:-1]
    return pledge_save(
        actor=editor, pledge=pledge, lines=lines, links=list(pledge.source_links.all())
    )


def public_quantities(client) -> dict[str, int | None]:
    rows = client.get("/api/v1/lines/").json()["results"]
    return {row["item"]: row["quantity"] for row in rows}


def test_an_edit_of_a_published_pledge_waits_as_a_revision(client, published, editor):
    before = public_quantities(client)
    revision = edit(published, editor)
    assert revision.pk != published.pk and revision.revision_of_id == published.pk
    assert (revision.ref, revision.review) == (published.ref, Pledge.Review.DRAFT)
    assert [(line.line_no, line.quantity) for line in revision.lines.order_by("line_no")] == [
        (1, 10),
        (2, None),
    ]
    published.refresh_from_db()
    assert (
        published.review == Pledge.Review.VERIFIED and published.lines.get(line_no=1).quantity == 3
    )
    assert public_quantities(client) == before == {"Sea King helicopters": 3, "spares": None}


def test_publishing_copies_the_revision_onto_the_published_pledge(
    client, published, editor, reviewer
):
    line_pks = sorted(published.lines.values_list("pk", flat=True))
    revision = edit(published, editor, drop_last=True)
    assert pledges_verify(actor=reviewer, pledges=[revision]) == 1
    assert not Pledge.objects.filter(pk=revision.pk).exists()
    published.refresh_from_db()
    assert (published.version, published.reviewed_by) == (2, reviewer)
    assert [(line.pk, line.line_no, line.quantity) for line in published.lines.all()] == [
        (line_pks[0], 1, 10)
    ]
    assert public_quantities(client) == {"Sea King helicopters": 10}
    # The published pledge's history is what the public saw, change by change.
    assert list(
        Line.history.filter(pledge_id=published.pk, line_no=1).values_list("quantity", flat=True)
    ) == [10, 3]
    assert Line.history.filter(pledge_id=published.pk, line_no=2).first().history_type == "-"


def test_a_new_line_of_a_revision_takes_a_number_the_pledge_never_used(
    published, editor, reviewer, helicopters
):
    lines = list(published.lines.order_by("line_no"))[:1]  # line 2 removed in this revision
    lines.append(Line(description="Sea King crews trained", category=helicopters))
    revision = pledge_save(
        actor=editor, pledge=published, lines=lines, links=list(published.source_links.all())
    )
    assert sorted(revision.lines.values_list("line_no", flat=True)) == [1, 3]
    pledges_verify(actor=reviewer, pledges=[revision])
    assert sorted(published.lines.values_list("line_no", flat=True)) == [1, 3]


def test_a_second_change_while_one_is_pending_is_refused_and_the_revision_is_edited(
    published, editor
):
    revision = edit(published, editor)
    with pytest.raises(PendingExists, match=f"revision {revision.pk}"):
        edit(Pledge.objects.get(pk=published.pk), editor, quantity=11)
    again = edit(Pledge.objects.get(pk=revision.pk), editor, quantity=12)
    assert again.pk == revision.pk and again.lines.get(line_no=1).quantity == 12
    assert Pledge.objects.filter(revision_of=published).count() == 1


def test_a_save_that_changes_nothing_opens_no_revision(published, editor):
    lines = list(published.lines.all())
    saved = pledge_save(
        actor=editor, pledge=published, lines=lines, links=list(published.source_links.all())
    )
    assert saved.pk == published.pk and not Pledge.objects.filter(revision_of=published).exists()


def test_staff_totals_with_drafts_count_a_revised_pledge_once(client, published, editor):
    edit(published, editor, quantity=10)
    client.force_login(editor)
    both = {"measure": "quantity", "review": ["draft", "verified"]}
    [row] = client.get(TOTALS, both).json()["rows"]
    assert row["quantity"] == 10  # the revision's, not 3 + 10
    [row] = client.get(TOTALS, {"measure": "quantity"}).json()["rows"]
    assert row["quantity"] == 3  # the published figure
    refs = [line["pledge"] for line in client.get("/api/v1/lines/", both).json()["results"]]
    assert set(refs) == {published.ref}


def test_the_public_never_learns_that_a_revision_exists(client, published, editor):
    revision = edit(published, editor)
    answer = client.get(f"/api/v1/pledges/{published.pk}/").json()
    assert answer["pending"] is None and answer["lines"][0]["quantity"] == 3
    assert client.get(f"/api/v1/pledges/{revision.pk}/").status_code == 404
    client.force_login(editor)
    assert client.get(f"/api/v1/pledges/{published.pk}/").json()["pending"] == revision.pk
    assert client.get(f"/api/v1/pledges/{revision.pk}/").json()["revision_of"] == published.pk


def test_four_eyes_a_reviewer_does_not_publish_their_own_change(settings, published, reviewer):
    settings.LEDGER_FOUR_EYES = True
    revision = edit(published, reviewer)
    with pytest.raises(ValidationError, match="four eyes"):
        pledges_verify(actor=reviewer, pledges=[revision])
    assert Pledge.objects.filter(pk=revision.pk).exists()
    other = member("reviewer2", "reviewers")
    assert pledges_verify(actor=other, pledges=[revision]) == 1


def test_a_withdrawal_takes_effect_when_published(client, settings, published, reviewer):
    settings.LEDGER_FOUR_EYES = True
    pending = pledge_withdraw(actor=reviewer, pledge=published, reason="Never delivered")
    assert pending.revision_of_id == published.pk and pending.status == Pledge.Status.WITHDRAWN
    assert "Sea King helicopters" in public_quantities(client)
    pledges_verify(actor=member("reviewer2", "reviewers"), pledges=[pending])
    published.refresh_from_db()
    assert published.status == Pledge.Status.WITHDRAWN
    assert public_quantities(client) == {}
    assert published.history.first().history_change_reason == "Never delivered"


def test_without_four_eyes_a_reviewers_withdrawal_is_published_at_once(published, reviewer):
    withdrawn = pledge_withdraw(actor=reviewer, pledge=published, reason="Cancelled")
    assert withdrawn.pk == published.pk and withdrawn.status == Pledge.Status.WITHDRAWN
    assert not Pledge.objects.filter(revision_of=published).exists()


def test_an_editors_withdrawal_waits_for_a_reviewer(published, editor, reviewer):
    pending = pledge_withdraw(actor=editor, pledge=published, reason="Cancelled")
    assert pending.revision_of_id == published.pk
    assert Pledge.objects.get(pk=published.pk).status == Pledge.Status.ANNOUNCED


def test_a_reviewer_sends_a_change_back_with_a_note_the_editor_sees(
    client, published, editor, reviewer
):
    revision = edit(published, editor)
    pledge_send_back(actor=reviewer, pledge=revision, note="Quote the MoD, not the tabloid.")
    client.force_login(editor)
    answer = client.get(f"/api/v1/pledges/{revision.pk}/").json()
    assert answer["review_note"] == "Quote the MoD, not the tabloid."
    with pytest.raises(ValidationError):
        pledge_send_back(actor=reviewer, pledge=Pledge.objects.get(pk=published.pk), note="x")


def test_the_admin_takes_the_editor_to_the_revision(client, published, editor):
    from tests.factories import form_data

    client.force_login(editor)
    page = f"/admin/aid/pledge/{published.pk}/change/"
    data = form_data(client, page, "pledge_form", **{"lines-0-quantity": "10"})
    response = client.post(page, data)
    revision = Pledge.objects.get(revision_of=published)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/aid/pledge/{revision.pk}/change/"
    assert revision.lines.get(line_no=1).quantity == 10
    assert Pledge.objects.get(pk=published.pk).lines.get(line_no=1).quantity == 3
    # The published pledge's form now says where the change is, instead of saving a second one.
    response = client.post(page, form_data(client, page, "pledge_form"))
    assert response.status_code == 200 and f"revision {revision.pk}" in response.content.decode()


def test_the_review_queue_lists_changes_with_their_diff(
    client, published, editor, reviewer, make_pledge
):
    revision = edit(published, editor, drop_last=True)
    new = make_pledge(review="draft", ref="PL-NEW")
    assert client.get("/api/v1/reviews/").status_code in (401, 403)  # the public: no queue
    client.force_login(editor)
    queue = client.get("/api/v1/reviews/").json()["results"]
    assert [(item["id"], item["kind"], item["pledge"]) for item in queue] == [
        (revision.pk, "revision", published.pk),
        (new.pk, "new", None),
    ]
    diff = queue[0]["diff"]
    assert diff["pledge"] == []
    assert diff["lines"] == [
        {"key": "line 1", "action": "changed",
         "changes": [{"field": "quantity", "before": "3", "after": "10"}]},
        {"key": "line 2", "action": "removed", "changes": []},
    ]  # fmt: skip
    assert diff["sources"] == []
    # Editors read the queue; reviewers act on it.
    assert client.post(f"/api/v1/reviews/{revision.pk}/publish/").status_code == 403
    client.force_login(reviewer)
    answer = client.post(f"/api/v1/reviews/{revision.pk}/send-back/", {"note": "Source?"})
    assert answer.status_code == 200 and answer.json()["review_note"] == "Source?"
    answer = client.post(f"/api/v1/reviews/{revision.pk}/publish/")
    assert answer.json() == {"published": published.pk}
    assert Pledge.objects.get(pk=published.pk).lines.get().quantity == 10
    assert [item["id"] for item in client.get("/api/v1/reviews/").json()["results"]] == [new.pk]


def test_the_admin_shows_the_reviewer_what_publishing_changes(client, published, editor, reviewer):
    revision = edit(published, editor)
    client.force_login(reviewer)
    page = client.get(f"/admin/aid/pledge/{revision.pk}/change/").content.decode()
    assert "<del>3</del>" in page and "<ins>10</ins>" in page
    response = client.post(
        "/admin/aid/pledge/",
        {"action": "send_back", "_selected_action": [revision.pk], "note": "Which article?"},
    )
    assert response.status_code == 302
    assert Pledge.objects.get(pk=revision.pk).review_note == "Which article?"


def test_a_pledge_with_a_pending_change_is_not_withdrawn_over_it(
    client, published, editor, reviewer
):
    """Publishing the withdrawal would publish the editor's unreviewed change with it."""
    revision = edit(published, editor, quantity=99)
    with pytest.raises(PendingExists):
        pledge_withdraw(actor=reviewer, pledge=published, reason="Cancelled")
    client.force_login(reviewer)
    answer = client.post(f"/api/v1/pledges/{published.pk}/withdraw/", {"reason": "Cancelled"})
    assert answer.status_code == 409 and f"revision {revision.pk}" in answer.json()["detail"]
    # Withdrawing the revision itself leaves it pending, for a reviewer to publish or send back.
    pending = pledge_withdraw(actor=reviewer, pledge=revision, reason="Cancelled")
    assert pending.pk == revision.pk and pending.status == Pledge.Status.WITHDRAWN
    published.refresh_from_db()
    assert published.status == Pledge.Status.ANNOUNCED
    assert published.lines.get(line_no=1).quantity == 3


def test_the_admin_list_filters_the_queue_by_kind(client, published, editor, make_pledge):
    revision = edit(published, editor)
    new = make_pledge(review="draft", ref="PL-NEW")
    client.force_login(editor)

    def listed(awaiting: str) -> set[int]:
        response = client.get("/admin/aid/pledge/", {"awaiting": awaiting})
        return {pledge.pk for pledge in response.context["cl"].result_list}

    assert listed("revision") == {revision.pk}
    assert listed("new") == {new.pk}
