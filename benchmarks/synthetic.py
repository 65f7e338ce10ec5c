"""A synthetic ledger of N lines, written straight into a migrated database in bulk.

`python -m benchmarks.synthetic ROWS [--seed N]` (DATABASE_URL names the database) fills an empty,
migrated ledger with the shape of benchmarks/lines.py widened to the issue's: about forty donors
with a skewed share, each paying in its home currency (EUR, USD, GBP, PLN, CAD, AUD, JPY, NOK,
SEK, DKK, CZK, ...), three and more years of dates in every precision, 1–8 lines per pledge, a
third of the quantities unspecified, package totals as `unallocated` lines, and one to three
sources per pledge, each source shared by about five pledges.

The importer would take an hour over a million lines; the benchmark needs the ledger, not the
import (which it times on its own). So rows go in with `COPY` (PostgreSQL) or `executemany`
(SQLite) with their keys assigned here, and no history rows: no read path looks at history.
The same seed and row count give the same ledger.
"""

import argparse
import time
from collections.abc import Iterable

from benchmarks.lines import DONORS, SEED, Generator, Taxonomy, setup_django

# Home currencies where the donor does not pay in EUR, USD or GBP (all ECB reference currencies).
HOME = {
    "PL": "PLN", "CA": "CAD", "AU": "AUD", "JP": "JPY", "NO": "NOK", "SE": "SEK", "DK": "DKK",
    "CZ": "CZK",
}  # fmt: skip
# The long tail of donors, each giving a few pledges (weights relative to DONORS' US = 30).
TAIL = [
    ("BE", "EUR"), ("ES", "EUR"), ("PT", "EUR"), ("IE", "EUR"), ("LU", "EUR"), ("LV", "EUR"),
    ("SK", "EUR"), ("SI", "EUR"), ("HR", "EUR"), ("RO", "RON"), ("BG", "BGN"), ("GR", "EUR"),
    ("HU", "HUF"), ("IS", "ISK"), ("NZ", "NZD"), ("KR", "KRW"), ("TR", "TRY"), ("AT", "EUR"),
    ("AL", "EUR"), ("MK", "EUR"), ("ME", "EUR"), ("CH", "CHF"),
]  # fmt: skip
WIDE_DONORS = [
    (code, weight, HOME.get(code, currency), officials)
    for code, weight, currency, officials in DONORS
] + [
    (code, 0.5 if index < 8 else 0.2, currency, [(f"Minister of Defence of {code}", ["Minister"])])
    for index, (code, currency) in enumerate(TAIL)
]
WIDE_CURRENCIES = ["EUR", "USD", "GBP", "PLN", "CAD", "JPY", "CHF", "SEK", "NOK"]
PUBLISHERS = ["Ministry of Defence", "Reuters", "Kyiv Independent", "", "Department of Defense"]
CHUNK = 50_000


def generator(rows: int, seed: int = SEED) -> Generator:
    from aid.models import Category, Party

    taxonomy = Taxonomy.from_pairs(list(Category.objects.values_list("slug", "parent__slug")))
    codes = [donor[0] for donor in WIDE_DONORS]
    names = dict(Party.objects.filter(code__in=codes).values_list("code", "name"))
    if missing := sorted(set(codes) - set(names)):
        raise SystemExit(f"These donors are not in the database: {', '.join(missing)}")
    return Generator(
        rows,
        seed=seed,
        taxonomy=taxonomy,
        donor_names=names,
        donors=WIDE_DONORS,
        currencies=WIDE_CURRENCIES,
    )


class Writer:
    """Rows of one model's table, in its concrete fields' order, by COPY or executemany."""

    def __init__(self, model):
        from django.db import connection

        self.connection = connection
        self.fields = model._meta.concrete_fields
        self.table = model._meta.db_table
        self.pending: list[list] = []
        self.count = 0

    def add(self, **values) -> None:
        # A field the loader does not name takes its default (a pledge's version starts at 1).
        self.pending.append(
            [
                values[field.attname] if field.attname in values else field.get_default()
                for field in self.fields
            ]
        )
        if len(self.pending) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        names = ", ".join(f'"{field.column}"' for field in self.fields)
        with self.connection.cursor() as cursor:
            if self.connection.vendor == "postgresql":
                with cursor.cursor.copy(f'COPY "{self.table}" ({names}) FROM STDIN') as copy:
                    for row in self.pending:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(self.fields))
                cursor.executemany(
                    f'INSERT INTO "{self.table}" ({names}) VALUES ({marks})', self.pending
                )
        self.count += len(self.pending)
        self.pending = []


def load(rows: int, seed: int = SEED) -> dict[str, int]:
    """Fill the (empty) ledger; returns how many rows each table got."""
    from django.db import connection, transaction
    from django.utils import timezone

    from aid.models import Category, ItemType, Line, Official, Party, Pledge
    from aid.models.catalogue import Unit
    from benchmarks.lines import ITEMS
    from sources.models import PledgeSource, Source

    if Line.objects.exists():
        raise SystemExit("The ledger already has lines: load into an empty, migrated database.")
    ledger = generator(rows, seed)
    now = timezone.now()
    stamp = (
        now if connection.vendor == "postgresql" else connection.ops.adapt_datetimefield_value(now)
    )
    parties = dict(Party.objects.values_list("code", "pk"))
    categories = dict(Category.objects.values_list("slug", "pk"))
    with transaction.atomic():
        officials = {}
        for code, _, _, people in WIDE_DONORS:
            for name, titles in people:
                official, _ = Official.objects.get_or_create(
                    name=name, party_id=parties[code], defaults={"title": titles[0]}
                )
                officials[name] = official.pk
        item_types = {}
        for _, _, name, slug, unit, _, _ in ITEMS:
            if name and slug in categories:
                item_type, _ = ItemType.objects.get_or_create(
                    name=name,
                    defaults={"category_id": categories[slug], "default_unit": Unit(unit)},
                )
                item_types[name] = item_type.pk

        sources = Writer(Source)
        for number in range(1, ledger.sources + 1):
            from benchmarks.lines import source_url

            sources.add(
                id=number,
                url=source_url(number),
                title=f"Aid announcement {number}",
                publisher=PUBLISHERS[number % len(PUBLISHERS)],
                kind="news-report" if number % 3 else "official-statement",
                language="en",
                archive_url="",
                created_at=stamp,
            )
        sources.flush()
        url_ids = {url_of(number): number for number in range(1, ledger.sources + 1)}

        pledges, links, lines = Writer(Pledge), Writer(PledgeSource), Writer(Line)
        for pledge_id, pledge_rows in enumerate(by_pledge(ledger), start=1):
            first = pledge_rows[0]
            pledges.add(
                id=pledge_id,
                ref=first["pledge_ref"],
                donor_id=parties[first["donor"]],
                recipient_id=parties[first["recipient"]],
                announced_on=first["announced_on"],
                date_precision=first["date_precision"],
                official_id=officials.get(first["official"]),
                official_title=first["official_title"],
                package=first["package"],
                status=first["status"],
                review="verified",  # published: what the public API answers from
                notes=first["notes"],
                created_at=stamp,
                updated_at=stamp,
            )
            for position, url in enumerate(first["source_urls"].split()):
                links.add(
                    id=links.count + len(links.pending) + 1,
                    pledge_id=pledge_id,
                    source_id=url_ids[url],
                    role="announcement" if position == 0 else "corroboration",
                    quote="",
                )
            for row in pledge_rows:
                lines.add(
                    id=lines.count + len(lines.pending) + 1,
                    pledge_id=pledge_id,
                    line_no=row["line_no"],
                    description=row["item"],
                    item_type_id=item_types.get(row["item_type"]) if row["item_type"] else None,
                    category_id=categories[row["category"]],
                    quantity=row["quantity"],
                    quantity_qualifier=row["quantity_qualifier"],
                    unit=row["unit"],
                    value=row["value"],
                    currency=row["currency"],
                    value_basis=row["value_basis"],
                )
            if len(lines.pending) >= CHUNK:
                # Parents before children, so that foreign keys hold at every flush.
                pledges.flush()
                links.flush()
                lines.flush()
        pledges.flush()
        links.flush()
        lines.flush()
        finish(connection, [Source, Pledge, PledgeSource, Line])
    return {
        "sources": sources.count,
        "pledges": pledges.count,
        "pledge sources": links.count,
        "lines": lines.count,
    }


def url_of(number: int) -> str:
    from benchmarks.lines import source_url

    return source_url(number)


def by_pledge(rows: Iterable[dict]) -> Iterable[list[dict]]:
    current: list[dict] = []
    for row in rows:
        if current and row["pledge_ref"] != current[0]["pledge_ref"]:
            yield current
            current = []
        current.append(row)
    if current:
        yield current


def finish(connection, models) -> None:
    """Move PostgreSQL's sequences past the keys assigned here, and gather statistics."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for model in models:
                table = model._meta.db_table
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                    f'(SELECT COALESCE(MAX(id), 1) FROM "{table}"))',
                    [table],
                )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    else:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.synthetic", description=__doc__)
    parser.add_argument("rows", type=int, help="how many lines to load")
    parser.add_argument("--seed", type=int, default=SEED)
    options = parser.parse_args(argv)
    setup_django()
    started = time.perf_counter()
    counts = load(options.rows, options.seed)
    seconds = time.perf_counter() - started
    print(
        ", ".join(f"{count:,} {name}" for name, count in counts.items())
        + f" loaded in {seconds:.1f} s ({counts['lines'] / seconds:,.0f} lines/s)."
    )


if __name__ == "__main__":
    main()
