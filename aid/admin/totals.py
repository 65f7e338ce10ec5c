"""The admin's totals page: donors × categories (or periods), as a table, a chart and a CSV link.

It holds the same numbers as `/api/v1/totals/` because it is the API's own pipeline: the page's
parameters become the API's query string, which `LineFilterSet` and `TotalsQuerySerializer` parse
and `aid.selectors.totals` sums. The CSV link is that query string with `format=csv`.
"""

import dataclasses
from dataclasses import dataclass, field
from decimal import Decimal

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AdminDateWidget, FilteredSelectMultiple
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import QueryDict
from django.template.defaultfilters import pluralize
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from aid.admin import charts
from aid.filters import LineFilterSet
from aid.models import AidType, Category, Party, Pledge, RateTable, Unit
from aid.rates.convert import ANNOUNCEMENT, is_date
from aid.selectors import PERIODS, TotalsQuery, period_sort_key, totals, visible_lines
from aid.totals_query import TotalsQuerySerializer

# What the page shows when it is opened without parameters.
DEFAULTS = {
    "columns": "category",
    "category_level": "1",
    "period": "year",
    "measure": "value",
    "currency": "EUR",
    "fx": ANNOUNCEMENT,
    "top": "15",
}
COLUMNS = ("category", "period")
TOP = ("10", "15", "20", "30", "50")
# Line filters the form offers; any other LineFilterSet parameter in the URL is kept as it is.
FORM_FILTERS = ("donor", "category", "aid_type", "announced_after", "announced_before")
OTHER_FILTERS = tuple(
    name for name in LineFilterSet.base_filters if name not in (*FORM_FILTERS, "ordering")
)
CURRENCIES = ("EUR", "USD", "GBP", "CAD", "AUD", "JPY", "CHF", "NOK", "SEK", "DKK", "PLN", "CZK")


class TotalsForm(forms.Form):
    """Draws the controls and keeps the user's choices. It validates nothing: the API's
    FilterSet and serializer do, so that the page and the API accept the same input."""

    donor = forms.ModelMultipleChoiceField(
        queryset=Party.objects.none(),
        to_field_name="code",
        required=False,
        label="Donors",
        help_text="None chosen: every donor.",
        widget=FilteredSelectMultiple("donors", is_stacked=False),
    )
    category = forms.MultipleChoiceField(
        required=False,
        label="Categories",
        help_text="A level-1 category includes its subcategories. None chosen: all.",
        widget=FilteredSelectMultiple("categories", is_stacked=False),
    )
    announced_after = forms.DateField(
        required=False, label="Announced from", widget=AdminDateWidget()
    )
    announced_before = forms.DateField(required=False, label="to", widget=AdminDateWidget())
    aid_type = forms.ChoiceField(
        choices=[("", "all"), *AidType.choices], required=False, label="Aid type"
    )
    measure = forms.ChoiceField(
        choices=[("value", "value"), ("quantity", "quantity (one table per unit)")],
        label="Measure",
    )
    columns = forms.ChoiceField(
        choices=[("category", "categories"), ("period", "periods")], label="Columns"
    )
    category_level = forms.ChoiceField(
        choices=[("1", "level 1"), ("", "as entered (level 2)")],
        required=False,
        label="Categories at",
    )
    period = forms.ChoiceField(choices=[(name, name) for name in PERIODS], label="Period")
    currency = forms.ChoiceField(label="Currency")
    fx = forms.CharField(
        label="Exchange rates",
        widget=forms.TextInput(attrs={"size": 14, "list": "fx-choices"}),
        help_text="announcement, a date YYYY-MM-DD, or a rate table",
    )
    top = forms.ChoiceField(
        choices=[(n, n) for n in TOP], label="Chart donors", help_text="the rest summed"
    )

    def __init__(self, data: QueryDict):
        super().__init__(data)
        donors = Q(pledges_made__isnull=False) | Q(code__in=data.getlist("donor"))
        self.fields["donor"].queryset = Party.objects.filter(donors).distinct().order_by("name")
        self.fields["category"].choices = category_choices()
        requested = data.get("currency", "").strip().upper()
        self.fields["currency"].choices = [
            (code, code) for code in dict.fromkeys([*CURRENCIES, requested]) if code
        ]


def category_choices() -> list[tuple[str, str]]:
    """Level-1 categories, each followed by its subcategories, as the taxonomy reads."""
    categories = list(Category.objects.select_related("parent"))
    order = sorted(
        categories,
        key=lambda c: (c.parent.name if c.parent_id else c.name, c.parent_id is not None, c.name),
    )
    return [(c.slug, f"{c.parent.name} › {c.name}" if c.parent_id else c.name) for c in order]


def page_parameters(get: QueryDict) -> QueryDict:
    """The request's parameters, with the page's defaults for those it does not name."""
    data = get.copy()
    for name, value in DEFAULTS.items():
        if name not in data:
            data[name] = value
    return data


def api_parameters(data: QueryDict) -> QueryDict:
    """The `/api/v1/totals/` query string for the page's parameters.

    The page filters and sums with exactly this, and links to it as CSV, so the CSV rows are
    the table's cells. Empty values are left out, as a form left blank means "no filter".
    """
    api = QueryDict(mutable=True)
    for name in (*FORM_FILTERS, *OTHER_FILTERS):
        values = [value for value in data.getlist(name) if value.strip()]
        if values:
            api.setlist(name, values)
    api["group_by"] = f"donor,{data['columns']}"
    names = ["measure", "category_level"]
    names += ["period"] if data["columns"] == "period" else []
    names += ["currency", "fx"] if data["measure"] != "quantity" else []
    for name in names:
        if data.get(name, "").strip():
            api[name] = data[name]
    return api


@dataclass
class Cell:
    """A sum with the count of lines it could not include, which make it a lower bound."""

    what: str  # "value" or "quantity"
    amount: Decimal | int = 0
    lines: int = 0
    missing: int = 0  # lines without a value (or quantity)
    unconverted: int = 0  # lines with a value in a currency the rates do not cover

    def add(self, other: "Cell") -> None:
        self.what = other.what
        self.amount += other.amount
        self.lines += other.lines
        self.missing += other.missing
        self.unconverted += other.unconverted

    @property
    def html(self) -> str:
        """The amount; `*` when lines are missing from it, `?` when every line is."""
        if not self.lines:
            return ""
        gaps = self.missing + self.unconverted
        note = f"{gaps} of {self.lines} line{pluralize(self.lines)} without a {self.what}"
        if self.unconverted:
            note += f" ({self.unconverted} without an exchange rate)"
        if gaps and not self.amount:
            return format_html('<span class="unknown" title="{}">?</span>', note)
        if gaps:
            return format_html(
                '{}<span class="lower-bound" title="{}">*</span>', f"{self.amount:,.0f}", note
            )
        return f"{self.amount:,.0f}"


@dataclass
class Column:
    key: str
    label: str
    colour: str = ""


@dataclass
class Row:
    donor: str
    label: str
    cells: dict[str, Cell] = field(default_factory=dict)
    total: Cell = field(default_factory=lambda: Cell(""))
    pledges: int = 0

    def cell_list(self, columns: list[Column]) -> list[tuple[Column, Cell | None]]:
        return [(column, self.cells.get(column.key)) for column in columns]


@dataclass
class Table:
    """One donor × column table: for values the only one, for quantities one per unit."""

    unit: str  # "" for values
    column_key: str  # category or period
    title: str
    axis: str
    columns: list[Column]
    rows: list[Row]
    footer: Row
    chart: str = ""
    uncharted: int = 0  # donors whose lines add up to nothing to draw

    @property
    def lines(self) -> int:
        return self.footer.total.lines

    @property
    def missing(self) -> int:
        return self.footer.total.missing

    @property
    def unconverted(self) -> int:
        return self.footer.total.unconverted

    @property
    def body(self) -> list[tuple[Row, list[tuple[Column, Cell | None]]]]:
        return [(row, row.cell_list(self.columns)) for row in self.rows]

    @property
    def footer_cells(self) -> list[tuple[Column, Cell | None]]:
        return self.footer.cell_list(self.columns)


def cell_of(row: dict, measure: str) -> Cell:
    if measure == "quantity":
        return Cell("quantity", row["quantity"] or 0, row["lines"], row["unspecified"])
    amount = row["value"] or 0  # unknown adds nothing; the cell shows "?" when every line is
    return Cell("value", amount, row["lines"], row["unvalued"], row["unconverted"])


def tables(
    rows: list[dict], by_donor: list[dict], grand: list[dict], query: TotalsQuery, top: int
) -> list[Table]:
    """The selector's rows laid out as tables, one per unit for quantities."""
    donors = {row["donor"] for row in rows}
    parties = dict(Party.objects.filter(code__in=donors).values_list("code", "name"))
    labels = column_labels(rows, query)
    units = sorted({row.get("unit", "") for row in rows}, key=lambda unit: unit_order(rows, unit))
    return [
        table_of(
            [row for row in rows if row.get("unit", "") == unit],
            pledges={
                row["donor"]: row["pledges"] for row in by_donor if row.get("unit", "") == unit
            },
            all_pledges=sum(row["pledges"] for row in grand if row.get("unit", "") == unit),
            unit=unit,
            query=query,
            parties=parties,
            labels=labels,
            top=top,
        )
        for unit in units
    ]


def table_of(
    rows: list[dict],
    *,
    pledges: dict[str, int],
    all_pledges: int,
    unit: str,
    query: TotalsQuery,
    parties: dict[str, str],
    labels: dict[str, str],
    top: int,
) -> Table:
    """Donors down, columns across; row and column totals are sums of the cells."""
    column_key = query.group_by[1]
    by_donor: dict[str, Row] = {}
    footer = Row("", "Total", pledges=all_pledges)
    for row in rows:
        donor, key, cell = row["donor"], row[column_key] or "", cell_of(row, query.measure)
        line = by_donor.setdefault(
            donor,
            Row(donor, f"{parties.get(donor, donor)} ({donor})", pledges=pledges.get(donor, 0)),
        )
        line.cells[key] = cell
        line.total.add(cell)
        footer.cells.setdefault(key, Cell(cell.what)).add(cell)
        footer.total.add(cell)
    by_column = footer.cells
    if column_key == "period":
        keys = sorted(by_column, key=period_sort_key)
    else:
        keys = sorted(by_column, key=lambda key: (-by_column[key].amount, labels[key]))
    if column_key == "period":  # every table's ramp runs over all periods: one colour each
        series = charts.series_for(
            [(key, labels[key]) for key in sorted(labels, key=period_sort_key)],
            ordered=True,
            rest="",
        )
    else:
        series = charts.series_for(
            [(key, labels[key]) for key in keys], ordered=False, rest="other categories"
        )
    colours = charts.colours(series)
    donor_rows = sorted(
        by_donor.values(), key=lambda row: (-row.total.amount, -row.total.lines, row.label)
    )
    title, axis = titles(query, unit)
    bars = [
        charts.Bar(row.label, {key: cell.amount for key, cell in row.cells.items()})
        for row in donor_rows
        if row.total.amount > 0
    ]
    # Safe: aid.admin.charts escapes every text it puts in the SVG.
    chart = mark_safe(
        charts.stacked_bars(charts.top(bars, top, "other donors"), series, title=title, axis=axis)
    )
    return Table(
        unit=unit,
        column_key=column_key,
        title=title,
        axis=axis,
        columns=[Column(key, labels[key], colours[key]) for key in keys],
        rows=donor_rows,
        footer=footer,
        chart=chart,
        uncharted=len(donor_rows) - len(bars),
    )


def unit_order(rows: list[dict], unit: str) -> tuple[int, str]:
    """Units with the most lines first."""
    return -sum(row["lines"] for row in rows if row.get("unit", "") == unit), unit


def column_labels(rows: list[dict], query: TotalsQuery) -> dict[str, str]:
    column_key = query.group_by[1]
    keys = {row[column_key] or "" for row in rows}
    if column_key == "period":
        return {key: key or "no date" for key in keys}
    categories = Category.objects.filter(slug__in=keys).select_related("parent")
    # Rolled up to level 1, the name alone; as entered, a subcategory names its parent too.
    names = {c.slug: c.name if query.category_level == 1 else str(c) for c in categories}
    return {key: names.get(key, key or "no category") for key in keys}


def titles(query: TotalsQuery, unit: str) -> tuple[str, str]:
    across = query.period if query.group_by[1] == "period" else "category"
    if query.measure == "quantity":
        label = Unit(unit).label if unit in Unit.values else unit
        return f"Quantity in {label} by donor and {across}", label
    if query.fx == ANNOUNCEMENT:
        rates = "ECB rate of each announcement date"
    elif is_date(query.fx):
        rates = f"ECB rates of {query.fx}"
    else:
        rates = f"rate table {query.fx}"
    return f"Value by donor and {across}", f"{query.currency} ({rates})"


def error_messages(name_errors: dict, form: TotalsForm) -> list[str]:
    """`label: message` for each parameter the FilterSet or serializer refused."""
    messages = []
    for name, errors in name_errors.items():
        field_ = form.fields.get("columns" if name == "group_by" else name)
        label = field_.label if field_ else name
        whole = name in ("__all__", "non_field_errors")
        messages += [str(error) if whole else f"{label}: {error}" for error in errors]
    return messages


def totals_page(request):
    """Staff who may view pledges see the totals the API would give for the same parameters."""
    if not admin.site.get_model_admin(Pledge).has_view_permission(request):
        raise PermissionDenied
    data = page_parameters(request.GET)
    form = TotalsForm(data)
    errors = []
    if data["columns"] not in COLUMNS:
        errors.append(f"Columns: choose {' or '.join(COLUMNS)}, not “{data['columns']}”.")
    if data["top"] not in TOP:
        errors.append(f"Chart donors: choose one of {', '.join(TOP)}.")
    context = {
        **admin.site.each_context(request),
        "title": "Totals",
        "form": form,
        "errors": errors,
        "tables": [],
        "opts": Pledge._meta,
        "rate_tables": RateTable.objects.filter(dated=False).values_list("name", flat=True),
        "kept_filters": [(name, value) for name in OTHER_FILTERS for value in data.getlist(name)],
    }
    if errors:
        return TemplateResponse(request, "admin/aid/totals.html", context)
    api = api_parameters(data)
    filterset = LineFilterSet(data=api, queryset=visible_lines(request), request=request)
    query_params = TotalsQuerySerializer(data=api)
    if not filterset.is_valid():
        errors += error_messages(filterset.errors, form)
    if not query_params.is_valid():
        errors += error_messages(query_params.errors, form)
    if errors:
        return TemplateResponse(request, "admin/aid/totals.html", context)
    query = query_params.query()
    lines = filterset.qs
    rows = totals(lines, query)
    by_donor = totals(lines, dataclasses.replace(query, group_by=("donor",)))
    grand = totals(lines, dataclasses.replace(query, group_by=()))
    api_url = reverse("totals")
    context |= {
        "query": query,
        "basis": query.basis.describe() if query.measure == "value" else "",
        "tables": tables(rows, by_donor, grand, query, int(data["top"])),
        "json_url": f"{api_url}?{api.urlencode()}",
        "csv_url": f"{api_url}?{api.urlencode()}&format=csv",
    }
    return TemplateResponse(request, "admin/aid/totals.html", context)
