"""The admin as a data editor uses it: through the test client, reading the pages it renders."""

import datetime
import json
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from aid.models import Category, ItemType, Line, Official, Party, Pledge
from aid.services import pledge_save
from sources.models import PledgeSource, Source
from tests.conftest import row_counts
from tests.factories import form_data

CHANGELIST = "/admin/aid/pledge/"
ADD = "/admin/aid/pledge/add/"


def change_url(pledge) -> str:
    return f"/admin/aid/pledge/{pledge.pk}/change/"


# --- Data ------------------------------------------------------------------------------------


@pytest.fixture
def us(db):
    return Party.objects.get(code="US")


@pytest.fixture
def sea_kings(make_pledge, wallace, helicopters):
    """The UK pledge of three Sea Kings, with a value, announced by Ben Wallace."""
    return make_pledge(
        official=wallace,
        package="Sea King package",
        lines=[
            Line(
                description="Sea King helicopters",
                category=helicopters,
                quantity=3,
                value=Decimal("1000"),
                currency="GBP",
                value_basis="stated",
            )
        ],
    )


@pytest.fixture
def howitzers(make_pledge, us):
    """A US pledge of howitzers (a level-2 category), from a press release, delivered."""
    austin = Official.objects.create(name="Lloyd Austin", party=us, title="Secretary of Defense")
    release = Source.objects.create(
        url="https://www.defense.gov/News/Releases/Release/Article/3000/",
        title="Additional security assistance for Ukraine",
        kind=Source.Kind.PRESS_RELEASE,
    )
    return make_pledge(
        donor=us,
        official=austin,
        announced_on=datetime.date(2023, 1, 1),
        date_precision="month",
        status=Pledge.Status.DELIVERED,
        lines=[
            Line(
                description="M777 howitzers",
                category=Category.objects.get(slug="towed-artillery"),
                quantity=18,
            )
        ],
        links=[PledgeSource(source=release)],
    )


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


def listed(client, query: str = "") -> set[str]:
    response = client.get(f"{CHANGELIST}?{query}")
    assert response.status_code == 200
    return {pledge.ref for pledge in response.context["cl"].result_list}


# --- Changelist ------------------------------------------------------------------------------


def test_changelist_shows_lines_and_total_value(editor_client, sea_kings, howitzers):
    response = editor_client.get(CHANGELIST)
    assertContains(response, "3 Sea King helicopters")
    assertContains(response, "GBP 1,000")
    assertContains(response, "18 M777 howitzers")
    assertContains(response, "2022-11-23")
    assertContains(response, "2023-01")  # month precision shown as a month
    assertContains(response, sea_kings.ref)
    assertContains(response, "Ben Wallace (GB)")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"sea_kings", "howitzers"}),
        ("donor__id__exact={us}", {"howitzers"}),
        ("donor__id__exact={gb}", {"sea_kings"}),
        ("category=helicopters", {"sea_kings"}),
        ("category=artillery", {"howitzers"}),  # its line is in a subcategory of artillery
        ("category=tanks", set()),
        ("status__exact=delivered", {"howitzers"}),
        ("status__exact=announced", {"sea_kings"}),
        ("source_kind=press-release", {"howitzers"}),
        ("source_kind=news-report", {"sea_kings"}),
        ("announced_on__gte=2023-01-01&announced_on__lt=2024-01-01", {"howitzers"}),
        ("announced_on__year=2022", {"sea_kings"}),
        ("date_precision__exact=month", {"howitzers"}),
        ("q=Sea+King", {"sea_kings"}),
        ("q=howitzers", {"howitzers"}),
        ("q=Wallace", {"sea_kings"}),
        ("q=Austin", {"howitzers"}),
        ("q=fresh+humiliation", {"sea_kings"}),  # source title
        ("q=defense.gov", {"howitzers"}),  # source URL
        ("q=Sea+King+package", {"sea_kings"}),
        ("q=Leopard", set()),
    ],
)
def test_changelist_filters_and_search(
    editor_client, sea_kings, howitzers, gb, us, query, expected
):
    pledges = {"sea_kings": sea_kings.ref, "howitzers": howitzers.ref}
    query = query.format(gb=gb.pk, us=us.pk)
    assert listed(editor_client, query) == {pledges[name] for name in expected}


def test_changelist_filter_choices(editor_client, sea_kings, howitzers):
    response = editor_client.get(CHANGELIST)
    filters = {spec.title: spec for spec in response.context["cl"].filter_specs}
    donors = [choice["display"] for choice in filters["donor"].choices(response.context["cl"])]
    assert donors == ["All", "United Kingdom (GB)", "United States (US)"]
    categories = [
        choice["display"] for choice in filters["category"].choices(response.context["cl"])
    ]
    assert len(categories) == 1 + 18
    assert "Helicopters" in categories


def test_search_does_not_repeat_a_pledge_matching_on_two_lines(editor_client, make_pledge):
    helicopters = Category.objects.get(slug="helicopters")
    pledge = make_pledge(
        lines=[
            Line(description="Sea King Mk 3", category=helicopters, quantity=2),
            Line(description="Sea King Mk 4", category=helicopters, quantity=1),
        ]
    )
    response = editor_client.get(f"{CHANGELIST}?q=Sea+King")
    assert [row.pk for row in response.context["cl"].result_list] == [pledge.pk]


@pytest.fixture
def add_pledges(make_pledge, wallace, helicopters):
    """Adds pledges like the ones editors enter: an official, two lines (one with an item type and
    one with a value) and two sources each."""
    sea_king = ItemType.objects.create(name="Westland Sea King", category=helicopters)
    unallocated = Category.objects.get(slug="unallocated")
    added = 0

    def add(count: int):
        nonlocal added
        for number in range(added, added + count):
            make_pledge(
                official=wallace,
                announced_on=datetime.date(2022, 1, 1) + datetime.timedelta(days=number),
                lines=[
                    Line(description="Sea King", item_type=sea_king, quantity=number + 1),
                    Line(
                        description="Package",
                        category=unallocated,
                        value=Decimal(number * 1000),
                        currency="GBP",
                        value_basis="stated",
                    ),
                ],
                links=[
                    PledgeSource(source=Source.objects.create(title=f"Statement {number}")),
                    PledgeSource(source=Source.objects.create(url=f"https://example.com/{number}")),
                ],
            )
        added += count

    return add


def changelist_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(CHANGELIST)
    assert response.status_code == 200
    return len(queries)


def test_changelist_query_count_does_not_grow_with_pledges(editor_client, add_pledges):
    add_pledges(3)
    few = changelist_queries(editor_client)
    add_pledges(27)
    assert changelist_queries(editor_client) == few


def test_changelist_query_budget(editor_client, add_pledges, django_assert_max_num_queries):
    add_pledges(30)
    with django_assert_max_num_queries(15):
        response = editor_client.get(CHANGELIST)
    assert len(response.context["cl"].result_list) == 30
    assertContains(response, "GBP 29,000")


# --- Add and change --------------------------------------------------------------------------


def add_form(client, gb, article, helicopters, **changes) -> dict:
    return form_data(
        client,
        ADD,
        "pledge_form",
        **{
            "donor": str(gb.pk),
            "announced_on": "2022-11-23",
            "date_precision": "day",
            "package": "Sea Kings",
            "lines-0-description": "Sea King helicopters",
            "lines-0-category": str(helicopters.pk),
            "lines-0-quantity": "3",
            "lines-0-value": "1000000",
            "lines-0-currency": "GBP",
            "lines-0-value_basis": "stated",
            "lines-1-description": "L119 light guns",
            "lines-1-category": str(Category.objects.get(slug="towed-artillery").pk),
            "source_links-0-source": str(article.pk),
            "source_links-0-role": "announcement",
            "source_links-0-quote": "The UK will send three Sea King helicopters.",
            **changes,
        },
    )


def test_add_page_offers_line_and_source_rows(editor_client, ua):
    response = editor_client.get(ADD)
    assertContains(response, 'name="lines-TOTAL_FORMS"')
    assertContains(response, 'name="source_links-TOTAL_FORMS"')
    assertContains(response, f'<option value="{ua.pk}" selected>Ukraine (UA)</option>', html=True)


def test_add_form_creates_the_pledge_through_the_service(
    editor_client, editor, gb, ua, article, helicopters
):
    response = editor_client.post(ADD, add_form(editor_client, gb, article, helicopters))

    assert response.status_code == 302, response.context and response.context["errors"]
    pledge = Pledge.objects.get()
    assert (pledge.donor, pledge.recipient, pledge.package) == (gb, ua, "Sea Kings")
    assert pledge.ref.startswith("GB-2022-")
    lines = list(pledge.lines.order_by("line_no"))
    assert [(line.line_no, str(line)) for line in lines] == [
        (1, "3 Sea King helicopters"),
        (2, "L119 light guns"),
    ]
    assert lines[1].quantity_qualifier == "unspecified"
    assert (lines[0].value, lines[0].currency) == (Decimal("1000000.00"), "GBP")
    link = pledge.source_links.get()
    assert (link.source, link.quote) == (article, "The UK will send three Sea King helicopters.")
    for history in (pledge.history, Line.history, PledgeSource.history):
        assert {record.history_user for record in history.all()} == {editor}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"lines-0-quantity": "-3"},
            "Quantity must be a positive whole number; leave it empty when the source gives none.",
        ),
        ({"lines-0-quantity": "2.5"}, "Enter a whole number."),
        (
            {"lines-0-currency": ""},
            "Give the currency of the value (ISO 4217, e.g. EUR).",
        ),
        ({"lines-0-value": "", "lines-0-value_basis": ""}, "A currency is given but no value."),
        ({"announced_on": "2999-01-01"}, "The announcement date cannot be in the future."),
        (
            {"date_precision": "month"},
            "With month precision the date must be the first day of the month: 2022-11-01.",
        ),
        ({"recipient": "{gb}"}, "The recipient must differ from the donor."),
        ({"lines-0-description": "", "lines-0-category": "", "lines-0-quantity": ""}, None),
    ],
    ids=[
        "negative-quantity",
        "fractional-quantity",
        "value-without-currency",
        "currency-without-value",
        "future-date",
        "month-not-on-the-1st",
        "donor-is-recipient",
        "first-line-left-empty",
    ],
)
def test_add_form_shows_errors_and_saves_nothing(
    editor_client, gb, article, helicopters, changes, message
):
    changes = {key: value.format(gb=gb.pk) for key, value in changes.items()}
    before = row_counts()
    response = editor_client.post(ADD, add_form(editor_client, gb, article, helicopters, **changes))
    assert response.status_code == 200
    assertContains(response, "Please correct the error")
    if message:
        assertContains(response, message)
    assert row_counts() == before


def test_add_form_refuses_a_pledge_without_a_source(editor_client, gb, article, helicopters):
    data = add_form(editor_client, gb, article, helicopters, **{"source_links-0-source": ""})
    response = editor_client.post(ADD, data)
    assert response.status_code == 200
    assert Pledge.objects.count() == 0


def verify(client, pledge):
    """The reviewers' verify action on one pledge: publishes a draft or a pending revision."""
    selected = {"action": "verify", "_selected_action": [pledge.pk]}
    assert client.post(CHANGELIST, selected).status_code == 302


def test_change_page_edits_a_line(admin_client, editor, admin_user, sea_kings):
    """`admin_client` is pytest-django's client logged in as the `admin_user` fixture. The
    pledge is published: the change waits as its revision until it is verified."""
    url = change_url(sea_kings)
    assertContains(admin_client.get(url), "Sea King helicopters")
    line = sea_kings.lines.get()

    data = form_data(admin_client, url, "pledge_form", **{"lines-0-quantity": "4"})
    response = admin_client.post(url, data)

    revision = Pledge.objects.get(revision_of=sea_kings)
    assert (response.status_code, response["Location"]) == (302, change_url(revision))
    assertContains(admin_client.get(response["Location"]), f"revision {revision.pk}")
    pending = revision.lines.get()
    assert (pending.quantity, pending.line_no, pending.value) == (4, 1, Decimal("1000.00"))
    line.refresh_from_db()
    assert line.quantity == 3  # the published figure stays until the change is verified

    verify(admin_client, revision)
    line.refresh_from_db()
    assert (line.quantity, line.line_no, line.value) == (4, 1, Decimal("1000.00"))
    latest = line.history.latest()
    assert (latest.history_user, latest.prev_record.quantity) == (admin_user, 3)
    assert latest.prev_record.history_user == editor


def test_change_page_adds_a_line_after_the_highest_number_ever_used(admin_client, sea_kings):
    """Across the published pledge and its revisions: a number once used is never reused."""
    helicopters = Category.objects.get(slug="helicopters")
    first = sea_kings.lines.get()
    second = Line(description="Spare engines", category=helicopters, quantity=2)
    revision = pledge_save(
        actor=None,
        pledge=sea_kings,
        lines=[first, second],
        links=list(sea_kings.source_links.all()),
    )
    verify(admin_client, revision)
    assert list(sea_kings.lines.values_list("line_no", flat=True)) == [1, 2]

    url = change_url(sea_kings)
    data = form_data(admin_client, url, "pledge_form", **{"lines-1-DELETE": "on"})
    response = admin_client.post(url, data)
    assert response.status_code == 302
    revision = Pledge.objects.get(revision_of=sea_kings)
    assert list(revision.lines.values_list("line_no", flat=True)) == [1]

    url = response["Location"]  # the editor goes on with the pending revision
    data = form_data(
        admin_client,
        url,
        "pledge_form",
        **{"lines-1-description": "Rotor blades", "lines-1-category": str(helicopters.pk)},
    )
    assert admin_client.post(url, data).status_code == 302
    numbered = {"Sea King helicopters": 1, "Rotor blades": 3}
    assert dict(revision.lines.values_list("description", "line_no")) == numbered
    assert list(sea_kings.lines.values_list("line_no", flat=True)) == [1, 2]
    verify(admin_client, revision)
    assert dict(sea_kings.lines.values_list("description", "line_no")) == numbered


@pytest.mark.parametrize("inline", ["lines", "source_links"])
def test_change_page_refuses_to_remove_every_line_or_source(admin_client, sea_kings, inline):
    url = change_url(sea_kings)
    before = row_counts()
    data = form_data(admin_client, url, "pledge_form", **{f"{inline}-0-DELETE": "on"})
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assertContains(response, "Please submit at least 1 form.")
    assert row_counts() == before


def test_with_four_eyes_the_verify_action_refuses_the_author_and_verifies_the_rest(
    client, reviewer, make_pledge, sea_kings, settings
):
    """LEDGER_FOUR_EYES is on in production: the refusal is a message, not a server error."""
    settings.LEDGER_FOUR_EYES = True
    line = sea_kings.lines.get()
    line.quantity = 4
    mine = pledge_save(
        actor=reviewer, pledge=sea_kings, lines=[line], links=list(sea_kings.source_links.all())
    )
    theirs = make_pledge(announced_on=datetime.date(2023, 2, 1), review="draft")
    client.force_login(reviewer)
    selected = {"action": "verify", "_selected_action": [mine.pk, theirs.pk]}
    response = client.post(CHANGELIST, selected, follow=True)
    assert response.status_code == 200
    assertContains(response, "another reviewer publishes it")
    assertContains(response, "Verified 1 pledge(s)")
    assert Pledge.objects.get(pk=theirs.pk).review == "verified"
    assert Pledge.objects.filter(pk=mine.pk, revision_of=sea_kings).exists()
    assert sea_kings.lines.get().quantity == 3


# --- No deleting; withdrawing instead --------------------------------------------------------


def test_pledges_cannot_be_deleted_even_by_a_superuser(admin_client, sea_kings):
    delete_url = f"/admin/aid/pledge/{sea_kings.pk}/delete/"
    assert admin_client.get(delete_url).status_code == 403
    assert admin_client.post(delete_url, {"post": "yes"}).status_code == 403
    assertNotContains(admin_client.get(change_url(sea_kings)), delete_url)
    actions = admin_client.get(CHANGELIST).context["action_form"].fields["action"].choices
    assert [name for name, _ in actions] == ["", "verify", "send_back", "withdraw", "export_lines"]
    response = admin_client.post(
        CHANGELIST, {"action": "delete_selected", "_selected_action": [sea_kings.pk], "post": "yes"}
    )
    assert response.status_code in (200, 302)
    assert Pledge.objects.filter(pk=sea_kings.pk).exists()


def test_withdraw_action_asks_for_a_reason_then_withdraws(client, reviewer, sea_kings, howitzers):
    client.force_login(reviewer)
    selected = {"action": "withdraw", "_selected_action": [sea_kings.pk]}
    response = client.post(CHANGELIST, selected)
    assert response.status_code == 200
    assertContains(response, "These pledges will be marked")
    assertContains(response, str(sea_kings))
    assertNotContains(response, str(howitzers))
    sea_kings.refresh_from_db()
    assert sea_kings.status == Pledge.Status.ANNOUNCED

    response = client.post(CHANGELIST, {**selected, "reason": ""})
    assertContains(response, "This field is required.")
    sea_kings.refresh_from_db()
    assert sea_kings.status == Pledge.Status.ANNOUNCED

    response = client.post(CHANGELIST, {**selected, "reason": "Superseded by package 2"})
    assert response.status_code == 302
    sea_kings.refresh_from_db()
    howitzers.refresh_from_db()
    assert (sea_kings.status, howitzers.status) == ("withdrawn", "delivered")
    record = sea_kings.history.latest()
    assert (record.history_user, record.history_change_reason) == (
        reviewer,
        "Superseded by package 2",
    )


def test_a_user_who_may_only_view_pledges_cannot_withdraw_them(client, sea_kings):
    viewer = User.objects.create_user("viewer", password="viewer-pass-123", is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename="view_pledge"))
    client.force_login(viewer)
    selected = {"action": "withdraw", "_selected_action": [sea_kings.pk], "reason": "x"}
    client.post(CHANGELIST, selected)
    sea_kings.refresh_from_db()
    assert sea_kings.status == Pledge.Status.ANNOUNCED


def line_history_section(client, pledge) -> str:
    response = client.get(f"/admin/aid/pledge/{pledge.pk}/history/")
    assert response.status_code == 200
    html = response.content.decode()
    return html[html.index('id="line-history"') : html.index('id="source-history"')]


@pytest.mark.parametrize("review", ["draft", "verified"])
def test_history_page_shows_line_changes(
    admin_client, admin_user, make_pledge, wallace, helicopters, review
):
    pledge = make_pledge(
        official=wallace,
        review=review,
        lines=[
            Line(description="Sea King helicopters", category=helicopters, quantity=3,
                 value=Decimal("1000"), currency="GBP", value_basis="stated")
        ],
    )  # fmt: skip
    line = pledge.lines.get()
    line.quantity = 4
    saved = pledge_save(
        actor=admin_user,
        pledge=pledge,
        lines=[line],
        links=list(pledge.source_links.all()),
        reason="Corrected from MoD release",
    )
    if review == "verified":  # the change is in the published pledge's history once published
        assert "<td>4</td>" not in line_history_section(admin_client, pledge)
        assertContains(admin_client.get(f"/admin/aid/pledge/{saved.pk}/history/"), "Corrected")
        verify(admin_client, saved)
    section = line_history_section(admin_client, pledge)
    # Published, the change keeps the editor's reason in the published pledge's history.
    assert "Corrected from MoD release" in section
    assert "Changed" in section and "Created" in section
    assert "<td>4</td>" in section and "<td>3</td>" in section
    assert "<td>admin</td>" in section and "<td>editor</td>" in section
    assert "GBP 1000.00" in section


# --- Sources ---------------------------------------------------------------------------------


def test_source_change_page_lists_the_pledges_it_supports(editor_client, article, sea_kings):
    response = editor_client.get(f"/admin/sources/source/{article.pk}/change/")
    assertContains(response, f'<a href="{change_url(sea_kings)}">{sea_kings}</a>', html=True)
    assertContains(response, "Pledges supported by this source")


SOURCE_ADD = "/admin/sources/source/add/"


def test_source_add_form_stores_the_url_normalised(editor_client, editor):
    data = form_data(
        editor_client,
        SOURCE_ADD,
        "source_form",
        url="HTTPS://WWW.GOV.UK/government/news/Sea-Kings?utm_source=twitter#top",
        title="UK to gift Sea King helicopters",
    )
    assert editor_client.post(SOURCE_ADD, data).status_code == 302
    source = Source.objects.get(title="UK to gift Sea King helicopters")
    assert source.url == "https://www.gov.uk/government/news/Sea-Kings"
    assert source.history.get().history_user == editor


def test_source_add_form_links_to_the_existing_source(editor_client):
    existing = Source.objects.create(url="https://www.gov.uk/news/sea-kings", title="Sea Kings")
    data = form_data(
        editor_client,
        SOURCE_ADD,
        "source_form",
        url="https://WWW.GOV.UK/news/sea-kings?utm_source=twitter&fbclid=abc#top",
        title="Same article, shared link",
    )
    response = editor_client.post(SOURCE_ADD, data)
    assert response.status_code == 200
    assertContains(
        response,
        f'<a href="/admin/sources/source/{existing.pk}/change/" target="_blank">'
        f"source #{existing.pk}: “Sea Kings”</a>",
    )
    assert Source.objects.count() == 1


@pytest.mark.parametrize("url", ["not a url", "http://example.com:99999/"])
def test_source_add_form_refuses_a_malformed_url(editor_client, url):
    data = form_data(editor_client, SOURCE_ADD, "source_form", url=url, title="Bad link")
    response = editor_client.post(SOURCE_ADD, data)
    assert response.status_code == 200
    assertContains(response, "Enter a valid URL")
    assert not Source.objects.exists()


# --- Autocomplete and permissions ------------------------------------------------------------


def test_donor_autocomplete_finds_united_kingdom(editor_client, gb):
    response = editor_client.get(
        "/admin/autocomplete/",
        {"app_label": "aid", "model_name": "pledge", "field_name": "donor", "term": "united"},
    )
    assert response.status_code == 200
    results = json.loads(response.content)["results"]
    assert {"id": str(gb.pk), "text": "United Kingdom (GB)"} in results
    assert all("united" in result["text"].lower() for result in results)


def test_source_autocomplete_searches_urls(editor_client, article):
    Source.objects.create(url="https://www.gov.uk/news/sea-kings", title="Sea Kings")
    response = editor_client.get(
        "/admin/autocomplete/",
        {
            "app_label": "sources",
            "model_name": "pledgesource",
            "field_name": "source",
            "term": "gov.uk",
        },
    )
    assert [result["text"] for result in json.loads(response.content)["results"]] == ["Sea Kings"]


def test_staff_without_permissions_cannot_add_or_change(client, sea_kings, gb, article):
    clerk = User.objects.create_user("clerk", password="clerk-pass-123", is_staff=True)
    client.force_login(clerk)
    assert client.get(ADD).status_code == 403
    assert client.post(ADD, {"donor": gb.pk}).status_code == 403
    assert client.get(change_url(sea_kings)).status_code == 403
    assert client.get(CHANGELIST).status_code == 403
    assert Pledge.objects.count() == 1


def test_anonymous_users_are_sent_to_the_login_page(client):
    response = client.get(ADD)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_today_is_accepted_as_an_announcement_date(editor_client, gb, article, helicopters):
    today = timezone.localdate().isoformat()
    response = editor_client.post(
        ADD, add_form(editor_client, gb, article, helicopters, announced_on=today)
    )
    assert response.status_code == 302
    assert Pledge.objects.get().announced_on.isoformat() == today
