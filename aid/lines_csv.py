"""The canonical lines CSV (SPEC "Canonical lines CSV"): its columns and its export.

One exporter serves the API (`lines/?format=csv`), the admin (an action and a link on the pledge
list) and `manage.py export_lines`; each hands it a queryset of lines that its own filters chose.
Rows are read in chunks and written as they come, so memory does not grow with the row count.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from decimal import Decimal

from django.db.models import DecimalField, ExpressionWrapper, QuerySet
from django.http import StreamingHttpResponse

from aid.fx import ANNOUNCEMENT, Basis
from aid.models import Line
from ledger.api.csv import csv_lines
from sources.models import PledgeSource

COLUMNS = [
    "pledge_ref", "line_no", "donor", "donor_name", "recipient", "announced_on", "date_precision",
    "official", "official_title", "package", "item", "item_type", "category", "quantity",
    "quantity_qualifier", "unit", "value", "currency", "value_basis", "value_eur", "status",
    "source_urls", "notes",
]  # fmt: skip
REQUIRED = ["donor", "announced_on", "item", "category", "source_urls"]
IGNORED_ON_INPUT = ["donor_name", "value_eur"]
# The columns that describe the pledge rather than the line: equal on every row of one pledge.
PLEDGE_COLUMNS = [
    "donor", "recipient", "announced_on", "date_precision", "official", "official_title",
    "package", "status", "source_urls", "notes",
]  # fmt: skip
EUR = Basis(currency="EUR", fx=ANNOUNCEMENT)
CENT = Decimal("0.01")
CHUNK = 2000

# Database fields read for each column, in COLUMNS order (source_urls is filled per chunk).
FIELDS = {
    "pledge_ref": "pledge__ref",
    "line_no": "line_no",
    "donor": "pledge__donor__code",
    "donor_name": "pledge__donor__name",
    "recipient": "pledge__recipient__code",
    "announced_on": "pledge__announced_on",
    "date_precision": "pledge__date_precision",
    "official": "pledge__official__name",
    "official_title": "pledge__official_title",
    "package": "pledge__package",
    "item": "description",
    "item_type": "item_type__name",
    "category": "category__slug",
    "quantity": "quantity",
    "quantity_qualifier": "quantity_qualifier",
    "unit": "unit",
    "value": "value",
    "currency": "currency",
    "value_basis": "value_basis",
    "value_eur": "value_eur",
    "status": "pledge__status",
    "notes": "pledge__notes",
}
EXPORT_ORDER = ("-pledge__announced_on", "pledge__ref", "line_no")


def export_queryset(lines: QuerySet[Line]) -> QuerySet[Line]:
    """`lines` in the export's stable order, which depends only on what the file itself holds
    (so an export of a re-imported file lists its rows in the same order)."""
    return lines.order_by(*EXPORT_ORDER)


def export_rows(lines: QuerySet[Line]) -> Iterator[dict]:
    """One dict per line in COLUMNS order, `value_eur` converted as SPEC rule 4 says.

    Each chunk of lines costs two queries (the lines, then their pledges' source URLs), whatever
    the chunk holds."""
    converted = ExpressionWrapper(
        EUR.expression(), output_field=DecimalField(max_digits=32, decimal_places=8)
    )
    names = [name for name in COLUMNS if name != "source_urls"]
    values = (
        export_queryset(lines)
        .annotate(value_eur=converted)
        .values_list("pledge_id", *[FIELDS[name] for name in names])
    )
    chunk: list[tuple] = []
    for row in values.iterator(chunk_size=CHUNK):
        chunk.append(row)
        if len(chunk) == CHUNK:
            yield from with_sources(chunk, names)
            chunk = []
    yield from with_sources(chunk, names)


def with_sources(chunk: list[tuple], names: list[str]) -> Iterable[dict]:
    urls = source_urls({row[0] for row in chunk})
    for pledge_id, *cells in chunk:
        row = dict(zip(names, cells, strict=True))
        if row["value_eur"] is not None:
            row["value_eur"] = Decimal(row["value_eur"]).quantize(CENT)
        row["source_urls"] = " ".join(urls.get(pledge_id, ()))
        yield row


def source_urls(pledge_ids: set[int]) -> dict[int, list[str]]:
    """Each pledge's source URLs, in the order they were linked."""
    urls = defaultdict(list)
    if not pledge_ids:
        return urls
    links = (
        PledgeSource.objects.filter(pledge_id__in=pledge_ids, source__url__isnull=False)
        .order_by("pledge_id", "id")
        .values_list("pledge_id", "source__url")
    )
    for pledge_id, url in links:
        urls[pledge_id].append(url)
    return urls


def export_csv(lines: QuerySet[Line]) -> Iterator[str]:
    """The file's text, a header then one line of text per line of aid."""
    return csv_lines(export_rows(lines), header=COLUMNS)


def export_response(lines: QuerySet[Line], filename: str = "lines.csv") -> StreamingHttpResponse:
    """The file as a download, streamed: memory stays flat however many lines it holds."""
    response = StreamingHttpResponse(export_csv(lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
