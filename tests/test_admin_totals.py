"""The admin totals page: the API's numbers, laid out as tables and charts, with a CSV link that
holds exactly the table's rows."""

import csv
import io
import re
from collections import defaultdict
from decimal import Decimal
from html import unescape
from html.parser import HTMLParser

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from aid.admin import charts
from aid.filters import LineFilterSet
from aid.models import Category, Line, Party
from aid.selectors import TotalsQuery, totals

PAGE = "/admin/totals/"


@pytest.fixture
def staff(client, editor):
    client.force_login(editor)
    return client


class TotalsReader(HTMLParser):
    """The numbers of every totals table on the page, from their data attributes.

    `cells[unit][donor][column]` is a cell's amount, `row_totals[unit][donor]` a row's total;
    the footer is the donor "" (its cells are the column totals).
    """

    def __init__(self):
        super().__init__()
        self.cells = defaultdict(lambda: defaultdict(dict))
        self.row_totals = defaultdict(dict)
        self.lines = defaultdict(dict)
        self.missing = defaultdict(dict)
        self.unit = self.donor = None
        self.in_body = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and "data-unit" in attrs:
            self.unit = attrs["data-unit"]
        elif tag == "tr" and "data-donor" in attrs:
            self.donor = attrs["data-donor"]
        elif tag == "td" and self.donor is not None:
            if "data-amount" in attrs:
                self.cells[self.unit][self.donor][attrs["data-column"]] = Decimal(
                    attrs["data-amount"]
                )
            if "data-total" in attrs:
                self.row_totals[self.unit][self.donor] = Decimal(attrs["data-total"])
            if "data-lines" in attrs and "data-column" not in attrs:
                self.lines[self.unit][self.donor] = int(attrs["data-lines"])
            if "data-missing" in attrs and "data-column" not in attrs:
                self.missing[self.unit][self.donor] = int(attrs["data-missing"])

    def handle_endtag(self, tag):
        if tag == "tr":
            self.donor = None


def read(response) -> TotalsReader:
    assert response.status_code == 200
    reader = TotalsReader()
    reader.feed(response.content.decode())
    return reader


def expected(query: TotalsQuery, **filters) -> dict:
    """unit → donor → column → amount, straight from the selector the API calls."""
    lines = LineFilterSet(data=filters, queryset=Line.objects.all()).qs
    measure = "quantity" if query.measure == "quantity" else "value"
    out = defaultdict(lambda: defaultdict(dict))
    for row in totals(lines, query):
        # The page shows a row without any known quantity as "?", holding 0 as its amount.
        amount = Decimal(row[measure] or 0)
        out[row.get("unit", "")][row["donor"]][row[query.group_by[1]]] = amount
    return out


def without_footer(cells) -> dict:
    return {
        unit: {donor: dict(row) for donor, row in by_donor.items() if donor}
        for unit, by_donor in cells.items()
    }


CASES = [
    pytest.param(
        {},
        TotalsQuery(group_by=("donor", "category"), category_level=1),
        {},
        id="value-by-level-1-category",
    ),
    pytest.param(
        {"measure": "quantity", "category_level": ""},
        TotalsQuery(group_by=("donor", "category"), measure="quantity"),
        {},
        id="quantity-by-category-as-entered",
    ),
    pytest.param(
        {
            "measure": "quantity",
            "columns": "period",
            "period": "quarter",
            "donor": ["DE", "PL", "GB"],
            "announced_after": "2022-06-01",
            "announced_before": "2023-12-31",
        },
        TotalsQuery(
            group_by=("donor", "period"), period="quarter", category_level=1, measure="quantity"
        ),
        {
            "donor": ["DE", "PL", "GB"],
            "announced_after": "2022-06-01",
            "announced_before": "2023-12-31",
        },
        id="quantity-by-quarter-for-three-donors",
    ),
    pytest.param(
        {"columns": "period", "currency": "GBP", "fx": "2024-01-02", "category": ["tanks"]},
        TotalsQuery(
            group_by=("donor", "period"),
            category_level=1,
            currency="GBP",
            fx="2024-01-02",
        ),
        {"category": ["tanks"]},
        id="value-by-year-in-gbp-at-one-date",
    ),
]


@pytest.mark.parametrize(("params", "query", "filters"), CASES)
def test_the_table_holds_the_selectors_numbers_and_its_totals_add_up(
    demo, staff, params, query, filters
):
    page = read(staff.get(PAGE, params))
    assert without_footer(page.cells) == expected(query, **filters)
    for unit, by_donor in page.cells.items():
        columns = defaultdict(Decimal)
        for donor, cells in by_donor.items():
            if donor:
                assert page.row_totals[unit][donor] == sum(cells.values()), donor
                for column, amount in cells.items():
                    columns[column] += amount
        assert by_donor[""] == columns  # the footer: column totals
        grand = page.row_totals[unit][""]
        assert grand == sum(columns.values())
        assert grand == sum(total for donor, total in page.row_totals[unit].items() if donor)


def test_the_grand_total_is_the_selectors_grand_total(demo, staff):
    page = read(staff.get(PAGE, {"measure": "quantity"}))
    grand = totals(
        LineFilterSet(data={}, queryset=Line.objects.all()).qs,
        TotalsQuery(measure="quantity"),
    )
    for row in grand:
        assert page.row_totals[row["unit"]][""] == (row["quantity"] or 0)
        assert page.lines[row["unit"]][""] == row["lines"]
        assert page.missing[row["unit"]][""] == row["unspecified"]


def csv_link(response) -> str:
    match = re.search(r'<a href="([^"]+)" id="totals-csv"', response.content.decode())
    assert match, "no CSV link on the page"
    return unescape(match.group(1))


@pytest.mark.parametrize(("params", "query", "filters"), CASES)
def test_the_csv_link_gives_exactly_the_tables_rows(demo, staff, params, query, filters):
    response = staff.get(PAGE, params)
    link = csv_link(response)
    assert link.startswith("/api/v1/totals/?") and "format=csv" in link
    download = staff.get(link)
    assert download.status_code == 200
    assert download["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(download.streaming_content).decode())))
    measure = "quantity" if query.measure == "quantity" else "value"
    from_csv = defaultdict(lambda: defaultdict(dict))
    for row in rows:
        amount = Decimal(row[measure] or 0)  # an empty cell: no line has a quantity
        from_csv[row.get("unit", "")][row["donor"]][row[query.group_by[1]]] = amount
    assert from_csv == without_footer(read(response).cells)


def test_the_csv_link_carries_every_parameter_the_page_used(demo, staff):
    params = {
        "donor": ["GB", "US"],
        "category": ["artillery", "tanks"],
        "aid_type": "military",
        "announced_after": "2022-03-01",
        "announced_before": "2024-06-30",
        "columns": "period",
        "period": "month",
        "currency": "USD",
        "fx": "announcement",
        "status": "announced",  # not on the form: kept, and shown, as it came
    }
    response = staff.get(PAGE, params)
    assert b"status=announced" in response.content
    link = csv_link(response)
    for fragment in (
        "donor=GB", "donor=US", "category=artillery", "category=tanks", "aid_type=military",
        "announced_after=2022-03-01", "announced_before=2024-06-30",
        "group_by=donor%2Cperiod", "period=month", "currency=USD", "fx=announcement",
        "status=announced", "measure=value", "category_level=1",
    ):  # fmt: skip
        assert fragment in link.split("?", 1)[1].split("&"), fragment


@pytest.fixture
def japan(db):
    """A donor the demo ledger does not have, so these tests see only their own pledges."""
    return Party.objects.get(code="JP")


def test_quantities_are_never_added_across_units_and_gaps_are_counted(staff, make_pledge, japan):
    helicopters = Category.objects.get(slug="helicopters")
    ammunition = Category.objects.get(slug="ammunition")
    make_pledge(
        lines=[
            Line(description="Sea King helicopters", category=helicopters, quantity=3),
            Line(description="Shells", category=ammunition, quantity=1000, unit="rounds"),
            Line(description="More shells", category=ammunition, unit="rounds"),
        ],
        donor=japan,
    )
    response = staff.get(PAGE, {"measure": "quantity", "donor": "JP"})
    page = read(response)
    assert page.row_totals == {"units": {"JP": 3, "": 3}, "rounds": {"JP": 1000, "": 1000}}
    assert page.missing["rounds"] == {"JP": 1, "": 1}
    content = response.content.decode()
    assert "Quantity in units by donor and category" in content
    assert "Quantity in rounds by donor and category" in content
    assert "1 line without a quantity" in content and "lower bounds" in content
    assert "1 of 2 lines without a quantity" in content  # the cell's mark


def test_lines_without_value_are_counted_and_marked(staff, make_pledge, japan):
    artillery = Category.objects.get(slug="artillery")
    make_pledge(
        lines=[
            Line(
                description="Package",
                category=artillery,
                value=Decimal(1000),
                currency="EUR",
                value_basis=Line.ValueBasis.STATED,
            ),
            Line(description="Guns", category=artillery, quantity=4),
        ],
        donor=japan,
    )
    response = staff.get(PAGE, {"donor": "JP"})
    page = read(response)
    assert page.cells[""]["JP"] == {"artillery": Decimal("1000.00")}
    assert page.missing[""]["JP"] == 1
    assert "1 line without a value" in response.content.decode()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"donor": "XX"}, "Donors: Select a valid choice. XX is not one of the available"),
        ({"announced_after": "2022-13-01"}, "Announced from: Enter a valid date."),
        ({"fx": "nonsense"}, "Exchange rates: Not `announcement`"),
        ({"currency": "ZZZ"}, "Currency: No ZZZ rate"),
        ({"measure": "weight"}, 'Measure: "weight" is not a valid choice.'),
        ({"period": "week", "columns": "period"}, 'Period: "week" is not a valid choice.'),
        ({"columns": "official"}, "Columns: choose category or period"),
        ({"top": "7"}, "Chart donors: choose one of"),
        ({"category": "no-such-category"}, "Categories: Select a valid choice."),
    ],
)
def test_bad_parameters_are_shown_as_errors_not_a_server_error(staff, db, params, message):
    response = staff.get(PAGE, params)
    assert response.status_code == 200
    content = unescape(response.content.decode())
    assert 'id="totals-errors"' in content
    assert message in content
    assert not svgs(response) and 'id="totals-csv"' not in content


def test_anonymous_users_are_sent_to_the_login_page(client, db):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response["Location"] == f"/admin/login/?next={PAGE}"


def test_staff_without_permission_to_view_pledges_are_refused(client, db):
    user = User.objects.create_user("clerk", password="clerk-pass-123", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename="view_source"))
    client.force_login(user)
    assert client.get(PAGE).status_code == 403
    assert b'id="totals-link"' not in client.get("/admin/").content


def test_a_viewer_of_pledges_may_see_the_page(client, db):
    user = User.objects.create_user("viewer", password="viewer-pass-123", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename="view_pledge"))
    client.force_login(user)
    assert client.get(PAGE).status_code == 200


def svgs(response) -> list[str]:
    return re.findall(
        r"<svg class=\"totals-chart\".*?</svg>", response.content.decode(), flags=re.S
    )


def test_the_chart_is_inline_svg_with_no_url_and_no_script(demo, staff):
    response = staff.get(PAGE, {"measure": "quantity", "top": "10"})
    drawn = svgs(response)
    assert len(drawn) >= 3  # one per unit with a quantity: systems, units, vehicles, ...
    for svg in drawn:
        assert not re.search(r"https?:", svg)
        assert "<script" not in svg and "href" not in svg
        assert "<rect" in svg and 'class="axis-label"' in svg
    systems = drawn[0]
    assert "United States (US)" in systems and "systems" in systems
    # 25 donors gave systems: the top 10 are drawn and the other 15 summed in one bar.
    assert ">15 other donors<" in systems
    assert systems.count('class="label"') == 10
    content = response.content.decode()
    assert "<script" not in content.split('id="content-main"')[1].split("</form>", 1)[1]


def test_the_chart_draws_the_same_numbers_as_the_table(demo, staff):
    response = staff.get(PAGE, {"measure": "quantity", "top": "50"})
    systems = svgs(response)[0]
    page = read(response)
    for donor, total in page.row_totals["systems"].items():
        if donor:
            assert f">{charts.compact(float(total))}</text>" in systems


def test_the_index_and_the_pledge_list_link_to_the_page(staff):
    for page in ("/admin/", "/admin/aid/pledge/"):
        content = staff.get(page).content.decode()
        assert f'href="{PAGE}"' in content, page
        assert 'id="totals-link"' in content
    assert "Recent actions" in staff.get("/admin/").content.decode()  # the rest of the index
    assert "Add pledge" in staff.get("/admin/aid/pledge/").content.decode()


def test_the_page_reads_in_a_few_queries_whatever_the_number_of_donors(demo, staff):
    with CaptureQueriesContext(connection) as queries:
        assert staff.get(PAGE, {"measure": "quantity", "columns": "period"}).status_code == 200
    assert len(queries) <= 12, [query["sql"][:120] for query in queries]


def test_no_lines_say_so(staff, db):
    response = staff.get(PAGE, {"announced_after": "2100-01-01"})
    assert b"No lines match these filters." in response.content


# --- the chart module on its own ---------------------------------------------------------------


def test_compact_numbers():
    assert [charts.compact(n) for n in (0, 7, 512, 1_500, 12_345_678, 2.5e9, 1e12)] == [
        "0", "7", "512", "1.5 k", "12.3 m", "2.5 bn", "1 tn",
    ]  # fmt: skip


def test_ticks_are_round_and_reach_the_maximum():
    assert charts.ticks(338) == [0, 100, 200, 300, 400]
    assert charts.ticks(64.98e9) == [0, 20e9, 40e9, 60e9, 80e9]
    assert charts.ticks(7) == [0, 2, 4, 6, 8]


def test_categories_beyond_the_palette_share_one_grey_series():
    columns = [(f"c{i}", f"Category {i}") for i in range(12)]
    series = charts.series_for(columns, ordered=False, rest="other categories")
    assert len(series) == len(charts.PALETTE) + 1
    assert series[-1].label == "other categories (3)"
    assert series[-1].members == ("c9", "c10", "c11")
    assert len({one.colour for one in series}) == len(series)
    periods = charts.series_for(columns, ordered=True, rest="unused")
    assert len(periods) == 12 and len({one.colour for one in periods}) == 12


def test_top_sums_the_rest_into_one_labelled_bar():
    bars = [charts.Bar(f"D{i}", {"a": i, "b": 1}) for i in range(1, 31)]
    shown = charts.top(bars, 10, "other donors")
    assert [bar.label for bar in shown[:3]] == ["D30", "D29", "D28"]
    assert shown[-1].label == "20 other donors" and shown[-1].rest
    assert shown[-1].amounts == {"a": sum(range(1, 21)), "b": 20}
    assert charts.top(bars[:11], 10, "other donors") == sorted(bars[:11], key=lambda b: -b.total)


def test_labels_are_escaped_in_the_svg():
    svg = charts.stacked_bars(
        [charts.Bar("<b>&</b>", {"a": 1})],
        charts.series_for([("a", "A & <B>")], ordered=False, rest="rest"),
        title="t",
        axis="EUR",
    )
    assert "<b>" not in svg and "&lt;b&gt;&amp;&lt;/b&gt;" in svg and "A &amp; &lt;B&gt;" in svg
