"""The canonical lines CSV (SPEC "Canonical lines CSV"): its export, in the columns of
aid.lines.columns.

One exporter serves the API (`lines/?format=csv`), the admin (an action and a link on the pledge
list) and `manage.py export_lines`; each hands it a queryset of lines that its own filters chose.
Rows are read in chunks and written as they come, so memory does not grow with the row count.
"""

import datetime
from collections import defaultdict
from collections.abc import Iterator, Sequence
from decimal import Decimal
from itertools import chain, islice

from django.db.models import OuterRef, QuerySet, Subquery
from django.http import StreamingHttpResponse

from aid.lines.columns import COLUMNS, TABLE
from aid.models import CitationAsOf, Line, LineAsOf
from ledger.api.csv import csv_text, text_cells, value_cells
from sources.models import PledgeSource, Source

CENT = Decimal("0.01")
CHUNK = 2000

# Read from the database for each column but source_urls, which comes from the pledges' links
# (SourceURLs). `value_eur` is the stored conversion (SPEC rule 4), rounded to the cent.
READ = [column.name for column in TABLE if column.read_from]
FIELDS = [column.read_from for column in TABLE if column.read_from]
# The columns of numbers and dates, whose text is canonical as Python writes it; the rest is text.
VALUES = {column.name for column in TABLE if column.type != "string"}
PLEDGE_ORDER = ("-pledge__announced_on", "pledge__ref")
EXPORT_ORDER = (*PLEDGE_ORDER, "line_no")


def export_queryset(lines: QuerySet[Line]) -> QuerySet[Line]:
    """`lines` in the export's stable order, which depends only on what the file itself holds
    (so an export of a re-imported file lists its rows in the same order)."""
    return lines.order_by(*EXPORT_ORDER)


def export_columns(lines: QuerySet[Line]) -> Iterator[dict[str, Sequence]]:
    """The file's values CHUNK lines at a time, column by column (one sequence of values per
    name in COLUMNS): the source URLs added, `value_eur` rounded to the cent.

    Two queries, whatever the number of lines: the lines as plain tuples, and their pledges'
    source URLs in the same order (SourceURLs, which looks up by id any pledge it misses)."""
    values = export_queryset(lines).values_list("pledge_id", *FIELDS)
    rows = values.iterator(chunk_size=CHUNK)
    sources = SourceURLs(lines)
    while chunk := list(islice(rows, CHUNK)):
        pledge_ids, *read = zip(*chunk, strict=True)
        columns = dict(zip(READ, read, strict=True))
        urls = sources.of(pledge_ids, last_day=columns["announced_on"][-1])
        columns["source_urls"] = [urls.get(pledge_id) for pledge_id in pledge_ids]
        columns["value_eur"] = [
            None if eur is None else eur.quantize(CENT) for eur in columns["value_eur"]
        ]
        yield columns


class SourceURLs:
    """The source URLs of an export's pledges, read by one query in the lines' own order and
    handed out a chunk at a time: a query a chunk by pledge ids costs as much again as
    formatting the chunk.

    The two queries may see the ledger a moment apart: a pledge whose links are not in the stream
    where its lines are (it has no URL, or it changed meanwhile) is looked up by id."""

    def __init__(self, lines: QuerySet[Line]):
        self.citations = citations_of(lines)
        links = (
            self.citations.objects.filter(
                pledge__in=lines.values("pledge_id"), source__url__isnull=False
            )
            .order_by(*PLEDGE_ORDER, "id")
            .values_list("pledge_id", "pledge__announced_on", "source__url")
        )
        self.links = links.iterator(chunk_size=CHUNK)
        self.pending = next(self.links, None)
        self.carried: dict[int, str] = {}  # the last pledge's, whose lines may go on

    def of(self, pledge_ids: Sequence[int], last_day: datetime.date) -> dict[int, str]:
        """The URLs of these pledges (a chunk's, in order), the last announced on `last_day`."""
        wanted = set(pledge_ids)
        listed = defaultdict(list)
        while self.pending is not None:
            pledge_id, day, url = self.pending
            if pledge_id in wanted:
                listed[pledge_id].append(url)
            elif day <= last_day:
                break  # a later chunk's
            # else a pledge that the lines have passed (it changed meanwhile): dropped
            self.pending = next(self.links, None)
        urls = {**self.carried, **{pledge_id: " ".join(each) for pledge_id, each in listed.items()}}
        if missing := wanted - urls.keys():
            urls.update(source_urls(missing, self.citations))
        last = pledge_ids[-1]
        self.carried = {last: urls[last]} if last in urls else {}
        return urls


def citations_of(lines: QuerySet) -> type:
    """Where the lines' pledges' citations are: the live ones, or as they stood at a moment
    when the lines are the ledger's then (`aid.as_of`)."""
    return CitationAsOf if lines.model is LineAsOf else PledgeSource


def source_urls(pledge_ids: set[int], citations: type = PledgeSource) -> dict[int, str]:
    """Each pledge's source URLs, in the order they were linked, separated by spaces.

    Each link looks its source up by key: with a join, PostgreSQL may read every source to merge
    them with a few hundred links (40 ms rather than 4 at 10^6 lines)."""
    url = Source.objects.filter(pk=OuterRef("source_id")).values("url")
    links = (
        citations.objects.filter(pledge_id__in=pledge_ids)
        .annotate(source_url=Subquery(url))
        .order_by("pledge_id", "id")
        .values_list("pledge_id", "source_url")
    )
    urls = defaultdict(list)
    for pledge_id, source_url in links:
        if source_url is not None:  # a document without a URL is not listed
            urls[pledge_id].append(source_url)
    return {pledge_id: " ".join(listed) for pledge_id, listed in urls.items()}


def export_text(lines: QuerySet[Line]) -> Iterator[list[str]]:
    """The file's text in blocks of lines of text: the header, then one block per chunk, each
    formatted a column at a time."""
    yield csv_text([[name] for name in COLUMNS])
    for columns in export_columns(lines):
        yield csv_text(
            [
                value_cells(columns[name]) if name in VALUES else text_cells(columns[name])
                for name in COLUMNS
            ]
        )


def export_csv(lines: QuerySet[Line]) -> Iterator[str]:
    """The file's text, a header then one line of text per line of aid."""
    return chain.from_iterable(export_text(lines))


def export_response(lines: QuerySet[Line], filename: str = "lines.csv") -> StreamingHttpResponse:
    """The file as a download, streamed a chunk at a time (a write per line would cost more than
    the line): memory stays flat however many lines it holds."""
    blocks = map("".join, export_text(lines))
    response = StreamingHttpResponse(blocks, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
