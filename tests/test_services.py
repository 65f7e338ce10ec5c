"""The write services: every change validated whole, written with its history, by a named actor."""

import datetime
import re
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from aid.models import Line, Pledge
from aid.services import (
    official_save,
    pledge_create,
    pledge_save,
    pledge_withdraw,
    pledges_verify,
)
from sources.models import PledgeSource, Source
from sources.services import source_find, source_save
from tests.conftest import row_counts

NOV_23 = datetime.date(2022, 11, 23)


def sea_kings(category, quantity=3) -> Line:
    return Line(description="Sea King helicopters", category=category, quantity=quantity)


def links_of(pledge) -> list[PledgeSource]:
    return list(pledge.source_links.all())


# --- Creating --------------------------------------------------------------------------------


def test_pledge_create_writes_the_pledge_with_its_history_by_the_actor(make_pledge, editor):
    pledge = make_pledge()

    assert re.fullmatch(r"GB-2022-[0-9a-f]{6}", pledge.ref)
    line = pledge.lines.get()
    assert (line.line_no, line.quantity, line.quantity_qualifier) == (1, 3, "exact")
    for history in (pledge.history, line.history, pledge.source_links.get().history):
        record = history.get()
        assert (record.history_type, record.history_user) == ("+", editor)


def test_refs_are_assigned_once_and_unique(make_pledge):
    refs = [make_pledge().ref for _ in range(5)]
    assert len(set(refs)) == 5
    pledge = Pledge.objects.get(ref=refs[0])
    pledge_save(actor=None, pledge=pledge, lines=list(pledge.lines.all()), links=links_of(pledge))
    pledge.refresh_from_db()
    assert pledge.ref == refs[0]


def test_a_given_ref_is_kept_and_may_not_be_reused(make_pledge):
    pledge = make_pledge(ref="UK-MOD-2022-11-23")
    assert pledge.ref == "UK-MOD-2022-11-23"
    before = row_counts()
    with pytest.raises(ValidationError) as caught:
        make_pledge(ref="UK-MOD-2022-11-23")
    assert caught.value.message_dict["ref"] == ["Pledge with this Reference already exists."]
    assert row_counts() == before


def test_official_title_is_copied_from_the_official_when_blank(make_pledge, wallace, editor):
    copied = make_pledge(official=wallace)
    given = make_pledge(official=wallace, official_title="Secretary of State for Defence")
    assert copied.official_title == "Defence Secretary"
    assert given.official_title == "Secretary of State for Defence"

    # The title stays as it was at the announcement when the official's title changes later.
    wallace.title = "Former Defence Secretary"
    official_save(actor=editor, official=wallace)
    copied.refresh_from_db()
    assert copied.official_title == "Defence Secretary"


@pytest.mark.parametrize(
    ("lines", "links", "key", "message"),
    [
        ([], True, "lines", "A pledge needs at least one line: what was pledged."),
        (True, [], "sources", "A pledge needs at least one source."),
    ],
    ids=["no-lines", "no-sources"],
)
def test_a_pledge_needs_a_line_and_a_source(
    gb, ua, article, editor, helicopters, lines, links, key, message
):
    lines = [sea_kings(helicopters)] if lines is True else lines
    links = [PledgeSource(source=article)] if links is True else links
    with pytest.raises(ValidationError) as caught:
        pledge_create(
            actor=editor, donor=gb, recipient=ua, announced_on=NOV_23, lines=lines, links=links
        )
    assert caught.value.message_dict == {key: [message]}
    assert Pledge.objects.count() == 0


def test_a_failing_create_writes_nothing_and_reports_every_error(gb, article, editor, helicopters):
    before = row_counts()
    with pytest.raises(ValidationError) as caught:
        pledge_create(
            actor=editor,
            donor=gb,
            recipient=gb,
            announced_on=NOV_23,
            date_precision="month",
            lines=[
                sea_kings(helicopters),
                Line(description="L118 light guns", category=helicopters, quantity=-2),
                Line(description="Package", category=helicopters, value=Decimal("100")),
                Line(description="Unnamed", quantity=None, quantity_qualifier="at_least"),
            ],
            links=[PledgeSource(source=article), PledgeSource(source=article)],
        )
    errors = caught.value.message_dict
    assert errors == {
        "recipient": ["The recipient must differ from the donor."],
        "announced_on": [
            "With month precision the date must be the first day of the month: 2022-11-01."
        ],
        "lines[2].quantity": [
            "Quantity must be a positive whole number; leave it empty when the source gives none."
        ],
        "lines[3].currency": ["Give the currency of the value (ISO 4217, e.g. EUR)."],
        "lines[4].category": ["Choose a category, or an item type whose category is used."],
        "lines[4].quantity": [
            "The qualifier says “at least” but no quantity is given; give one, or set the "
            "qualifier to unspecified."
        ],
        "sources[2].source": ["This source is already cited for this pledge."],
    }
    assert row_counts() == before


def test_a_failing_update_changes_nothing(make_pledge, helicopters, admin_user):
    pledge = make_pledge()
    line = pledge.lines.get()
    before = row_counts()

    pledge.package = "Renamed"
    line.quantity = 4
    bad = Line(description="Spare parts", category=helicopters, currency="GBP")
    with pytest.raises(ValidationError) as caught:
        pledge_save(actor=admin_user, pledge=pledge, lines=[line, bad], links=[])
    assert set(caught.value.message_dict) == {"sources", "lines[2].currency"}

    assert row_counts() == before
    pledge.refresh_from_db()
    line.refresh_from_db()
    assert (pledge.package, line.quantity) == ("", 3)
    assert pledge.source_links.count() == 1


@pytest.mark.parametrize("quantity,refused", [(2**31 - 1, False), (2**31, True)])
def test_a_quantity_beyond_the_databases_integer_is_refused_on_both(
    make_pledge, admin_user, quantity, refused
):
    """SQLite would store it and PostgreSQL would fail on it: both refuse it, by name."""
    pledge = make_pledge(review="draft")  # changed in place
    line = pledge.lines.get()
    line.quantity = quantity
    links = list(pledge.source_links.all())
    if refused:
        with pytest.raises(ValidationError) as caught:
            pledge_save(actor=admin_user, pledge=pledge, lines=[line], links=links)
        assert caught.value.message_dict == {
            "lines[1].quantity": ["Quantity must be at most 2147483647."]
        }
    else:
        pledge_save(actor=admin_user, pledge=pledge, lines=[line], links=links)
    line.refresh_from_db()
    assert line.quantity == (3 if refused else quantity)


# --- Changing --------------------------------------------------------------------------------


def test_history_keeps_the_previous_values_and_who_changed_them(make_pledge, editor, admin_user):
    pledge = make_pledge(review="draft")  # changed in place
    line = pledge.lines.get()

    line.quantity = 4
    pledge.status = Pledge.Status.PARTLY_DELIVERED
    pledge_save(
        actor=admin_user, pledge=pledge, lines=[line], links=links_of(pledge), reason="MoD update"
    )

    latest = line.history.latest()
    assert (latest.quantity, latest.history_type, latest.history_user) == (4, "~", admin_user)
    assert latest.history_change_reason == "MoD update"
    previous = latest.prev_record
    assert (previous.quantity, previous.history_user) == (3, editor)
    assert [change.field for change in latest.diff_against(previous).changes] == ["quantity"]

    pledge_record = pledge.history.latest()
    assert pledge_record.history_user == admin_user
    assert pledge_record.prev_record.status == Pledge.Status.ANNOUNCED
    assert Line.objects.get(pk=line.pk).line_no == 1


def test_a_reason_is_recorded_for_its_own_save_only(make_pledge, admin_user):
    pledge = make_pledge(review="draft")  # withdrawn and changed in place
    pledge_withdraw(actor=admin_user, pledge=pledge, reason="Duplicate of an earlier entry")
    pledge.notes = "Checked against the MoD release."
    pledge_save(
        actor=admin_user, pledge=pledge, lines=list(pledge.lines.all()), links=links_of(pledge)
    )
    assert pledge.history.latest().history_change_reason is None


def test_saving_an_unchanged_pledge_writes_no_history(make_pledge, admin_user):
    pledge = make_pledge()
    before = row_counts()
    pledge_save(
        actor=admin_user,
        pledge=Pledge.objects.get(pk=pledge.pk),
        lines=list(Line.objects.filter(pledge=pledge)),
        links=list(PledgeSource.objects.filter(pledge=pledge)),
    )
    assert row_counts() == before


def test_a_removed_line_stays_in_history_with_the_actor(make_pledge, helicopters, admin_user):
    pledge = make_pledge(
        lines=[sea_kings(helicopters), sea_kings(helicopters, quantity=10)], review="draft"
    )
    first, second = pledge.lines.order_by("line_no")

    pledge_save(
        actor=admin_user, pledge=pledge, lines=[first], links=links_of(pledge), reason="Typo"
    )

    assert list(pledge.lines.all()) == [first]
    removal = Line.history.get(id=second.pk, history_type="-")
    assert (removal.history_user, removal.history_change_reason) == (admin_user, "Typo")
    assert (removal.line_no, removal.quantity, removal.pledge_id) == (2, 10, pledge.pk)


@pytest.mark.parametrize("review", ["draft", "verified"])
def test_line_numbers_are_never_reused(make_pledge, helicopters, artillery, admin_user, review):
    """Neither on a draft nor across the revisions that change a published pledge."""
    pledge = make_pledge(
        lines=[sea_kings(helicopters), sea_kings(helicopters, quantity=10)], review=review
    )
    first = pledge.lines.get(line_no=1)

    def save(lines):
        saved = pledge_save(
            actor=admin_user, pledge=Pledge.objects.get(pk=pledge.pk), lines=lines,
            links=links_of(pledge),
        )  # fmt: skip
        if review == "verified":
            assert saved.revision_of == pledge
            pledges_verify(actor=admin_user, pledges=[saved])

    save([first])
    assert list(pledge.lines.values_list("line_no", flat=True)) == [1]
    guns = Line(description="L119 light guns", category=artillery, quantity=6)
    save([first, guns])

    numbers = dict(pledge.lines.values_list("description", "line_no"))
    assert numbers == {"Sea King helicopters": 1, "L119 light guns": 3}


def test_a_removed_source_link_stays_in_history(make_pledge, article, editor, admin_user):
    pledge = make_pledge(review="draft")  # changed in place
    statement = Source.objects.create(title="MoD statement, 23 November 2022")
    corroboration = PledgeSource(source=statement, role=PledgeSource.Role.CORROBORATION)
    pledge_save(
        actor=editor,
        pledge=pledge,
        lines=list(pledge.lines.all()),
        links=[*links_of(pledge), corroboration],
    )
    assert pledge.source_links.count() == 2

    pledge_save(
        actor=admin_user,
        pledge=pledge,
        lines=list(pledge.lines.all()),
        links=[link for link in links_of(pledge) if link.source_id != statement.pk],
    )
    assert [link.source for link in pledge.source_links.all()] == [article]
    removal = PledgeSource.history.get(source_id=statement.pk, history_type="-")
    assert removal.history_user == admin_user


# --- Published pledges ------------------------------------------------------------------------


def test_a_change_to_a_published_pledge_waits_and_publishing_it_is_history(
    make_pledge, helicopters, editor, reviewer
):
    pledge = make_pledge(lines=[sea_kings(helicopters), sea_kings(helicopters, quantity=10)])
    first, second = pledge.lines.order_by("line_no")
    first.quantity = 4
    pledge.package = "Sea King package"
    revision = pledge_save(
        actor=editor, pledge=pledge, lines=[first], links=links_of(pledge), reason="MoD update"
    )
    assert (revision.revision_of, revision.ref, revision.review) == (pledge, pledge.ref, "draft")
    assert list(revision.lines.values_list("line_no", "quantity")) == [(1, 4)]
    stored = Pledge.objects.get(pk=pledge.pk)
    assert (stored.package, stored.version, stored.pending) == ("", 1, revision)
    assert list(stored.lines.values_list("line_no", "quantity")) == [(1, 3), (2, 10)]

    assert pledges_verify(actor=reviewer, pledges=[revision]) == 1
    stored = Pledge.objects.get(pk=pledge.pk)
    assert (stored.package, stored.version, stored.review) == ("Sea King package", 2, "verified")
    assert stored.reviewed_by == reviewer
    assert list(stored.lines.values_list("pk", "line_no", "quantity")) == [(first.pk, 1, 4)]
    assert not Pledge.objects.filter(pk=revision.pk).exists()
    changed = Line.history.filter(id=first.pk).latest()
    assert (changed.history_type, changed.quantity, changed.prev_record.quantity) == ("~", 4, 3)
    assert changed.history_user == reviewer
    assert changed.history_change_reason == "MoD update"  # the editor's, carried on publishing
    removal = Line.history.get(id=second.pk, history_type="-")
    assert (removal.history_user, removal.quantity) == (reviewer, 10)
    record = stored.history.latest()
    assert (record.package, record.prev_record.package) == ("Sea King package", "")


# --- Withdrawing -----------------------------------------------------------------------------


def test_withdraw_records_the_reason_and_the_actor(make_pledge, admin_user):
    pledge = make_pledge()
    pledge_withdraw(actor=admin_user, pledge=pledge, reason="Cancelled by the new government")

    pledge.refresh_from_db()
    assert pledge.status == Pledge.Status.WITHDRAWN
    record = pledge.history.latest()
    assert record.history_change_reason == "Cancelled by the new government"
    assert (record.history_user, record.status) == (admin_user, "withdrawn")
    assert record.prev_record.status == "announced"
    assert Pledge.objects.filter(pk=pledge.pk).exists()  # withdrawn, never deleted


@pytest.mark.parametrize("reason", ["", "   \n"])
def test_withdraw_needs_a_reason(make_pledge, admin_user, reason):
    pledge = make_pledge()
    with pytest.raises(ValidationError) as caught:
        pledge_withdraw(actor=admin_user, pledge=pledge, reason=reason)
    assert caught.value.message_dict == {"reason": ["Say why the pledge is withdrawn."]}
    pledge.refresh_from_db()
    assert pledge.status == Pledge.Status.ANNOUNCED
    assert pledge.history.count() == 1


# --- Sources ---------------------------------------------------------------------------------


def test_source_save_stores_the_url_normalised_with_its_author(editor):
    source = source_save(
        actor=editor,
        source=Source(
            url="HTTPS://WWW.GOV.UK/government/news/UK-Sea-Kings?utm_source=twitter#main",
            title="UK to send Sea King helicopters to Ukraine",
            kind=Source.Kind.PRESS_RELEASE,
        ),
    )
    source.refresh_from_db()
    assert source.url == "https://www.gov.uk/government/news/UK-Sea-Kings"
    assert source.history.get().history_user == editor
    assert source_find("https://www.gov.uk/government/news/UK-Sea-Kings?fbclid=abc") == source
    assert source_find("https://www.gov.uk/government/news/uk-sea-kings") is None


def test_source_save_refuses_a_duplicate_and_writes_nothing(editor):
    existing = source_save(actor=editor, source=Source(url="https://example.com/a", title="A"))
    with pytest.raises(ValidationError) as caught:
        source_save(actor=editor, source=Source(url="https://EXAMPLE.com/a?utm_campaign=x#p"))
    assert caught.value.message_dict["url"] == [
        f"This URL is already in the ledger as source #{existing.pk} (“A”); use that source."
    ]
    assert Source.objects.count() == 1
    assert Source.history.count() == 1
