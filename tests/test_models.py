"""What the ledger refuses, in the words an editor reads, and what the database refuses on its own
when validation is bypassed. Also the URL normalisation and the seeded reference data."""

import datetime
from decimal import Decimal

import pycountry
import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from aid.admin.entry import LineForm
from aid.models import Category, Line, Official, Party, Pledge
from sources.models import Source
from sources.normalise import normalise_url


def line_errors(**fields) -> dict[str, list[str]]:
    """Validate a line as the services do (it has no pledge yet) and return its errors."""
    line = Line(**fields)
    with pytest.raises(ValidationError) as caught:
        line.full_clean(exclude=["pledge", "line_no"], validate_unique=False)
    return caught.value.message_dict


def form_data(**fields) -> dict:
    return {"description": "Sea King helicopters", "unit": "units", **fields}


# --- Lines -----------------------------------------------------------------------------------

POSITIVE_WHOLE = (
    "Quantity must be a positive whole number; leave it empty when the source gives none."
)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"quantity": -3}, "quantity", POSITIVE_WHOLE),
        ({"quantity": 0}, "quantity", POSITIVE_WHOLE),
        (
            {"quantity": None, "quantity_qualifier": "approximate"},
            "quantity",
            "The qualifier says “approximately” but no quantity is given; give one, or set the "
            "qualifier to unspecified.",
        ),
        (
            {"quantity": 3, "quantity_qualifier": "unspecified"},
            "quantity_qualifier",
            "A quantity is given, so the qualifier cannot be unspecified.",
        ),
        (
            {"value": Decimal("1000"), "value_basis": "stated"},
            "currency",
            "Give the currency of the value (ISO 4217, e.g. EUR).",
        ),
        ({"currency": "GBP"}, "currency", "A currency is given but no value."),
        (
            {"value": Decimal("1000"), "currency": "XYZ", "value_basis": "stated"},
            "currency",
            "“XYZ” is not an ISO 4217 currency code (e.g. EUR, USD, GBP).",
        ),
        (
            {"value": Decimal("-5"), "currency": "GBP", "value_basis": "stated"},
            "value",
            "A value cannot be negative.",
        ),
    ],
    ids=[
        "negative-quantity",
        "zero-quantity",
        "qualifier-without-quantity",
        "unspecified-with-quantity",
        "value-without-currency",
        "currency-without-value",
        "unknown-currency",
        "negative-value",
    ],
)
def test_line_refuses_bad_input(helicopters, fields, field, message):
    errors = line_errors(description="Sea King helicopters", category=helicopters, **fields)
    assert errors[field] == [message]


def test_line_needs_a_category_or_an_item_type(db):
    errors = line_errors(description="Sea King helicopters", quantity=3)
    assert errors["category"] == ["Choose a category, or an item type whose category is used."]


@pytest.mark.parametrize(
    ("fields", "qualifier"),
    [({"quantity": 3}, "exact"), ({"quantity": None}, "unspecified")],
)
def test_line_defaults_its_qualifier_from_the_quantity(helicopters, fields, qualifier):
    line = Line(description="Sea King helicopters", category=helicopters, **fields)
    line.full_clean(exclude=["pledge", "line_no"], validate_unique=False)
    assert line.quantity_qualifier == qualifier


def test_line_accepts_a_value_with_currency_and_basis(helicopters):
    line = Line(
        description="Sea King helicopters",
        category=helicopters,
        quantity=3,
        quantity_qualifier="at_least",
        value=Decimal("1000000"),
        currency="gbp",
        value_basis="stated",
    )
    line.full_clean(exclude=["pledge", "line_no"], validate_unique=False)
    assert line.currency == "GBP"
    assert line.quantity_label == "≥3"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"quantity": "2.5"}, "quantity", "Enter a whole number."),
        ({"quantity": "-1"}, "quantity", POSITIVE_WHOLE),
        ({"quantity": "0"}, "quantity", POSITIVE_WHOLE),
        (
            {"quantity": "", "quantity_qualifier": "up_to"},
            "quantity",
            "The qualifier says “up to” but no quantity is given; give one, or set the qualifier "
            "to unspecified.",
        ),
        (
            {"quantity": "4", "quantity_qualifier": "unspecified"},
            "quantity_qualifier",
            "A quantity is given, so the qualifier cannot be unspecified.",
        ),
        (
            {"value": "1000", "value_basis": "stated"},
            "currency",
            "Give the currency of the value (ISO 4217, e.g. EUR).",
        ),
        ({"currency": "EUR"}, "currency", "A currency is given but no value."),
        (
            {"value": "1000", "currency": "XYZ", "value_basis": "stated"},
            "currency",
            "Select a valid choice. XYZ is not one of the available choices.",
        ),
    ],
    ids=[
        "fractional",
        "negative",
        "zero",
        "qualifier-without-quantity",
        "unspecified-with-quantity",
        "value-without-currency",
        "currency-without-value",
        "unknown-currency",
    ],
)
def test_line_form_shows_the_error_an_editor_reads(helicopters, fields, field, message):
    form = LineForm(data=form_data(category=helicopters.pk, **fields))
    assert not form.is_valid()
    assert form.errors[field][0] == message


def test_line_form_accepts_a_good_line(helicopters):
    form = LineForm(
        data=form_data(
            category=helicopters.pk,
            quantity="3",
            value="1000",
            currency="GBP",
            value_basis="stated",
        )
    )
    assert form.is_valid(), form.errors


# --- Pledges ---------------------------------------------------------------------------------


def pledge_errors(**fields) -> dict[str, list[str]]:
    pledge = Pledge(ref="TEST-1", **fields)
    with pytest.raises(ValidationError) as caught:
        pledge.full_clean()
    return caught.value.message_dict


def test_pledge_refuses_a_future_date(gb, ua):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    errors = pledge_errors(donor=gb, recipient=ua, announced_on=tomorrow)
    assert errors["announced_on"] == ["The announcement date cannot be in the future."]


def test_pledge_reports_every_date_error_at_once(gb, ua):
    next_year = timezone.localdate().replace(month=6, day=15) + datetime.timedelta(days=366)
    errors = pledge_errors(donor=gb, recipient=ua, announced_on=next_year, date_precision="year")
    assert errors["announced_on"] == [
        "The announcement date cannot be in the future.",
        f"With year precision the date must be the first day of the year: {next_year.year}-01-01.",
    ]


@pytest.mark.parametrize(
    ("announced_on", "precision", "message"),
    [
        (
            datetime.date(2022, 11, 23),
            "month",
            "With month precision the date must be the first day of the month: 2022-11-01.",
        ),
        (
            datetime.date(2022, 11, 1),
            "quarter",
            "With quarter precision the date must be the first day of the quarter: 2022-10-01.",
        ),
        (
            datetime.date(2022, 3, 1),
            "year",
            "With year precision the date must be the first day of the year: 2022-01-01.",
        ),
    ],
)
def test_pledge_date_must_match_its_precision(gb, ua, announced_on, precision, message):
    errors = pledge_errors(
        donor=gb, recipient=ua, announced_on=announced_on, date_precision=precision
    )
    assert errors["announced_on"] == [message]


@pytest.mark.parametrize(
    ("announced_on", "precision", "label"),
    [
        (datetime.date(2022, 11, 23), "day", "2022-11-23"),
        (datetime.date(2022, 11, 1), "month", "2022-11"),
        (datetime.date(2022, 10, 1), "quarter", "2022-Q4"),
        (datetime.date(2022, 1, 1), "year", "2022"),
    ],
)
def test_pledge_accepts_the_first_day_of_its_period(gb, ua, announced_on, precision, label):
    pledge = Pledge(
        ref="TEST-1", donor=gb, recipient=ua, announced_on=announced_on, date_precision=precision
    )
    pledge.full_clean()
    assert pledge.announced_label == label


def test_pledge_donor_must_differ_from_recipient(gb):
    errors = pledge_errors(donor=gb, recipient=gb, announced_on=datetime.date(2022, 11, 23))
    assert errors["recipient"] == ["The recipient must differ from the donor."]


def test_pledge_official_must_speak_for_the_donor(gb, ua, wallace):
    us = Party.objects.get(code="US")
    errors = pledge_errors(
        donor=us, recipient=ua, announced_on=datetime.date(2022, 11, 23), official=wallace
    )
    assert errors["official"] == [
        "Ben Wallace speaks for United Kingdom, not for the donor United States."
    ]


def test_official_name_is_unique_per_party_whatever_its_case(wallace):
    duplicate = Official(name="BEN WALLACE", party=wallace.party)
    with pytest.raises(ValidationError) as caught:
        duplicate.full_clean()
    assert caught.value.messages == ["This official is already in the ledger for this party."]


# --- Sources ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["not a url", "http://exa mple.com/a", "http://[bad/", "http://example.com:99999/"],
)
def test_source_refuses_a_malformed_url(db, url):
    source = Source(url=url, title="An article")
    with pytest.raises(ValidationError) as caught:
        source.full_clean()
    assert caught.value.message_dict["url"][0].startswith("Enter a valid URL")


def test_source_url_is_stored_normalised(db):
    source = Source(url="HTTPS://WWW.BBC.CO.UK/news/UK-123?utm_source=twitter#comments")
    source.full_clean()
    assert source.url == "https://www.bbc.co.uk/news/UK-123"


def test_source_refuses_a_url_already_stored_under_another_spelling(db):
    existing = Source.objects.create(url="https://www.bbc.co.uk/news/uk-123", title="Sea Kings")
    duplicate = Source(url="https://WWW.BBC.co.uk/news/uk-123?utm_source=twitter&fbclid=x#top")
    with pytest.raises(ValidationError) as caught:
        duplicate.full_clean()
    assert caught.value.message_dict["url"] == [
        f"This URL is already in the ledger as source #{existing.pk} (“Sea Kings”); "
        "use that source."
    ]


def test_source_with_another_path_case_is_another_source(db):
    Source.objects.create(url="https://example.com/news/uk-123", title="One")
    other = Source(url="https://example.com/news/UK-123")
    other.full_clean()


@pytest.mark.parametrize("url", [None, "", "   "])
def test_source_needs_a_url_or_a_title(db, url):
    source = Source(url=url, title="  ")
    with pytest.raises(ValidationError) as caught:
        source.full_clean()
    assert caught.value.message_dict["title"] == ["A source needs a URL or a title."]


def test_source_without_url_but_with_title_is_accepted(db):
    source = Source(url="", title="Hansard, 23 November 2022, col. 512")
    source.full_clean()
    source.save()
    assert source.url is None
    Source(title="Another untitled record").full_clean()  # two sources without URL may coexist


def test_source_language_is_stored_lower_case(db):
    source = Source(title="An article", language="EN")
    source.full_clean()
    assert source.language == "en"


def test_source_refuses_an_unknown_language(db):
    source = Source(title="An article", language="xx")
    with pytest.raises(ValidationError) as caught:
        source.full_clean()
    assert caught.value.message_dict["language"] == [
        "“xx” is not an ISO 639-1 language code (e.g. en, uk, de)."
    ]


# --- Categories ------------------------------------------------------------------------------


def test_category_has_at_most_two_levels(db):
    level2 = Category.objects.get(slug="attack-helicopters")
    level3 = Category(slug="apache", name="Apache", parent=level2)
    with pytest.raises(ValidationError) as caught:
        level3.full_clean()
    assert caught.value.message_dict["parent"] == [
        "Categories have two levels; “Attack helicopters (Helicopters)” is already level 2."
    ]


def test_category_with_children_cannot_become_level_2(db):
    helicopters = Category.objects.get(slug="helicopters")
    helicopters.parent = Category.objects.get(slug="aircraft")
    with pytest.raises(ValidationError) as caught:
        helicopters.full_clean()
    assert caught.value.message_dict["parent"] == [
        "This category has subcategories, so it must stay at level 1."
    ]


def test_subcategory_takes_its_parents_aid_type(db):
    child = Category(slug="winter-clothing", name="Winter clothing", aid_type="military")
    child.parent = Category.objects.get(slug="humanitarian-aid")
    child.full_clean()
    assert child.aid_type == "humanitarian"


# --- The database on its own -----------------------------------------------------------------


@pytest.fixture
def line(make_pledge):
    return make_pledge().lines.get()


@pytest.mark.parametrize(
    "changes",
    [
        {"quantity": 0},
        {"quantity": -1},
        {"quantity_qualifier": "unspecified"},
        {"quantity": None},  # qualifier stays "exact"
        {"value": Decimal("1000")},  # no currency, no basis
        {"value": Decimal("1000"), "value_basis": "stated"},  # no currency
        {"currency": "GBP", "value_basis": "stated"},  # no value
        {"value": Decimal("-1"), "currency": "GBP", "value_basis": "stated"},
    ],
    ids=[
        "zero-quantity",
        "negative-quantity",
        "unspecified-with-quantity",
        "exact-without-quantity",
        "value-alone",
        "value-without-currency",
        "currency-without-value",
        "negative-value",
    ],
)
def test_database_refuses_a_bad_line_update(line, changes):
    with pytest.raises(IntegrityError), transaction.atomic():
        Line.objects.filter(pk=line.pk).update(**changes)


def test_database_accepts_a_consistent_line_update(line):
    """The control for the test above: the same route accepts a consistent row."""
    Line.objects.filter(pk=line.pk).update(
        quantity=None, quantity_qualifier="unspecified", value=Decimal("10"), currency="GBP",
        value_basis="stated",
    )  # fmt: skip
    line.refresh_from_db()
    assert (line.quantity, line.value) == (None, Decimal("10"))


def test_database_refuses_a_line_created_with_a_zero_quantity(line, helicopters):
    with pytest.raises(IntegrityError), transaction.atomic():
        Line.objects.create(
            pledge=line.pledge, line_no=2, description="x", category=helicopters, quantity=0,
            quantity_qualifier="exact",
        )  # fmt: skip


def test_database_refuses_a_reused_line_number(line, helicopters):
    with pytest.raises(IntegrityError), transaction.atomic():
        Line.objects.create(
            pledge=line.pledge, line_no=line.line_no, description="x", category=helicopters,
            quantity_qualifier="unspecified",
        )  # fmt: skip


def test_database_refuses_donor_as_recipient(make_pledge, gb):
    pledge = make_pledge()
    with pytest.raises(IntegrityError), transaction.atomic():
        Pledge.objects.filter(pk=pledge.pk).update(recipient=gb)
    with pytest.raises(IntegrityError), transaction.atomic():
        Pledge.objects.create(
            ref="GB-2022-direct", donor=gb, recipient=gb, announced_on=datetime.date(2022, 1, 1)
        )


def test_database_refuses_a_duplicate_url(db):
    Source.objects.create(url="https://example.com/a", title="A")
    with pytest.raises(IntegrityError), transaction.atomic():
        Source.objects.create(url="https://example.com/a", title="Again")


def test_database_refuses_a_source_with_neither_url_nor_title(db):
    with pytest.raises(IntegrityError), transaction.atomic():
        Source.objects.create(url=None, title="")


# --- URL normalisation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "normalised"),
    [
        # tracking parameters dropped, whatever their case; the rest kept byte for byte, in order
        (
            "https://example.com/a?utm_source=tw&id=5&UTM_Medium=x&Ref=A%20b&fbclid=zz&gclid=1",
            "https://example.com/a?id=5&Ref=A%20b",
        ),
        ("https://example.com/a?b=1&&c=%41+d&mc_cid=9", "https://example.com/a?b=1&c=%41+d"),
        ("https://example.com/a?x=1;y=2&pk_campaign=z", "https://example.com/a?x=1;y=2"),
        ("https://example.com/a?utm_source=tw", "https://example.com/a"),
        # fragment dropped
        ("https://example.com/a#comments", "https://example.com/a"),
        # scheme and host lower-cased, path case kept
        ("HTTPS://WWW.Example.COM/News/UK-123", "https://www.example.com/News/UK-123"),
        # default port dropped, others kept
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("http://example.com:443/a", "http://example.com:443/a"),
        # an empty path is the root
        ("https://example.com", "https://example.com/"),
        # surrounding spaces
        ("  https://example.com/a  ", "https://example.com/a"),
        # X/Twitter share parameters dropped on X/Twitter only
        (
            "https://twitter.com/DefenceHQ/status/1?s=20&t=abc",
            "https://twitter.com/DefenceHQ/status/1",
        ),
        ("https://www.twitter.com/a?s=20", "https://www.twitter.com/a"),
        ("https://mobile.twitter.com/a?t=x&lang=en", "https://mobile.twitter.com/a?lang=en"),
        ("https://X.com/DefenceHQ/status/1?s=46", "https://x.com/DefenceHQ/status/1"),
        ("https://example.com/search?s=tanks&t=2", "https://example.com/search?s=tanks&t=2"),
        ("https://notx.com/a?s=1", "https://notx.com/a?s=1"),
        # an IPv6 host keeps its brackets
        ("http://[2001:DB8::1]:8080/a#x", "http://[2001:db8::1]:8080/a"),
    ],
)
def test_normalise_url(url, normalised):
    assert normalise_url(url) == normalised


def test_normalise_url_is_idempotent():
    once = normalise_url("HTTPS://Example.com:443/A?utm_source=x&q=1#f")
    assert normalise_url(once) == once


# --- Seeded reference data -------------------------------------------------------------------


def test_every_country_and_the_organisations_are_seeded(db):
    assert Party.objects.count() == len(pycountry.countries) + 2
    codes = set(Party.objects.values_list("code", flat=True))
    assert {country.alpha_2 for country in pycountry.countries} <= codes
    organisations = Party.objects.filter(kind=Party.Kind.ORGANISATION)
    assert set(organisations.values_list("code", "name")) == {
        ("EU", "European Union"),
        ("NATO", "North Atlantic Treaty Organization"),
    }
    assert Party.objects.get(code="GB").name == "United Kingdom"


LEVEL_1 = {
    "tanks": "I",
    "armoured-vehicles": "II",
    "artillery": "III",
    "air-defence": "VII",
    "missiles": "VII",
    "ammunition": "",
    "aircraft": "IV",
    "helicopters": "V",
    "drones": "IV",
    "naval": "VI",
    "small-arms": "SALW",
    "vehicles": "",
    "equipment": "",
    "training": "",
    "military-financing": "",
    "unallocated": "",
    "financial-aid": "",
    "humanitarian-aid": "",
}


def test_level_1_categories_are_seeded_with_their_un_register_category(db):
    seeded = dict(Category.objects.filter(parent=None).values_list("slug", "un_register"))
    assert seeded == LEVEL_1


@pytest.mark.parametrize("slug", sorted(LEVEL_1))
def test_level_1_category_children_and_aid_type(db, slug):
    category = Category.objects.get(slug=slug)
    children = list(category.children.all())
    expected_aid_type = {"financial-aid": "financial", "humanitarian-aid": "humanitarian"}
    assert category.aid_type == expected_aid_type.get(slug, "military")
    assert {child.aid_type for child in children} <= {category.aid_type}
    if slug == "unallocated":
        assert children == []
    else:
        assert children
        assert all(not child.children.exists() for child in children)
