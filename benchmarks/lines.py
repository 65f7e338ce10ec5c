"""Synthetic canonical lines CSV files for the import and export benchmarks.

`python -m benchmarks.lines ROWS -o FILE [--seed N]` writes ROWS lines in the canonical format
(aid.lines.columns.COLUMNS), cell by cell as the exporter writes them (through the same
`ledger.api.csv.csv_lines`, so text that a spreadsheet would run as a formula gets its leading
apostrophe, which the import takes away again). It reads the category slugs and the donors' names
from the database that DATABASE_URL names, which must be migrated.

`python -m benchmarks.lines --check FILE` checks a file against the import's rules without a
database and prints what it holds: the generator's own test, kept out of the pytest suite on
purpose.

The shape is meant to look like the ledger's real data: a few donors give most pledges, each
pledge has 1 to 8 lines, dates from 2022 to 2025 in every precision, a third of the quantities
unspecified, values in EUR, USD and GBP, sources shared between pledges, and a sprinkling of
awkward text (commas, quotes, newlines, non-Latin scripts, cells that start like formulas).
The same seed and row count always give the same bytes.
"""

import argparse
import csv
import datetime
import os
import random
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

SEED = 4
FIRST_DAY = datetime.date(2022, 1, 1)
LAST_DAY = datetime.date(2025, 12, 31)
RECIPIENT = "UA"
CENT = Decimal("0.01")

# Donor code, relative weight (skewed, as real aid is), home currency, officials with the titles
# they announced under (titles change, so some officials have more than one).
DONORS = [
    ("US", 30, "USD", [
        ("Lloyd J. Austin III", ["Secretary of Defense"]),
        ("Antony Blinken", ["Secretary of State"]),
        ("Joe Biden", ["President of the United States"]),
    ]),
    ("GB", 12, "GBP", [
        ("Ben Wallace", ["Defence Secretary", "Secretary of State for Defence, UK"]),
        ("Grant Shapps", ["Defence Secretary"]),
        ("John Healey", ["Secretary of State for Defence"]),
        ("Rishi Sunak", ["Prime Minister"]),
    ]),
    ("DE", 12, "EUR", [
        ("Boris Pistorius", ["Bundesminister der Verteidigung"]),
        ("Christine Lambrecht", ["Federal Minister of Defence"]),
        ("Olaf Scholz", ["Bundeskanzler", "Federal Chancellor"]),
    ]),
    ("PL", 7, "EUR", [
        ("Mariusz Błaszczak", ["Minister Obrony Narodowej"]),
        ("Władysław Kosiniak-Kamysz", ["Deputy Prime Minister, Minister of National Defence"]),
    ]),
    ("FR", 5, "EUR", [
        ("Sébastien Lecornu", ["Ministre des Armées"]),
        ("Emmanuel Macron", ["Président de la République"]),
    ]),
    ("CA", 5, "USD", [("Anita Anand", ["Minister of National Defence"]),
                      ("Bill Blair", ["Minister of National Defence"])]),
    ("NL", 5, "EUR", [("Kajsa Ollongren", ["Minister van Defensie"])]),
    ("DK", 4, "EUR", [("Troels Lund Poulsen", ["Forsvarsminister"])]),
    ("SE", 3, "EUR", [("Pål Jonson", ["Försvarsminister"])]),
    ("NO", 3, "EUR", [("Bjørn Arild Gram", ["Forsvarsminister"])]),
    ("EU", 3, "EUR", [("Josep Borrell", ["High Representative for Foreign Affairs"])]),
    ("IT", 2, "EUR", [("Guido Crosetto", ["Ministro della Difesa"])]),
    ("FI", 2, "EUR", [("Antti Häkkänen", ["Puolustusministeri"])]),
    ("CZ", 2, "EUR", [("Jana Černochová", ["Ministryně obrany"])]),
    ("EE", 1, "EUR", [("Hanno Pevkur", ["Kaitseminister"])]),
    ("LT", 1, "EUR", [("Arvydas Anušauskas", ["Krašto apsaugos ministras"])]),
    ("AU", 1, "USD", [("Richard Marles", ["Deputy Prime Minister, Minister for Defence"])]),
    ("JP", 1, "USD", [("浜田靖一", ["防衛大臣"])]),
]  # fmt: skip
CURRENCIES = ["EUR", "USD", "GBP"]

# What a line can be: level-1 category, description, item type (None: not in the catalogue),
# its level-2 category, unit, quantity range (None: the source gives only money), weight.
# Descriptions never equal an item type's name, so that matching text to the catalogue (which
# re-import would do once the types exist) never changes a line between imports.
ITEMS = [
    ("tanks", "Leopard 2A6 main battle tanks", "Leopard 2A6", "main-battle-tanks",
     "units", (3, 90), 4),
    ("tanks", "Challenger 2 tanks with spares", "Challenger 2", "main-battle-tanks",
     "units", (4, 14), 2),
    ("tanks", "T-72 tanks from storage", None, None, "vehicles", (10, 200), 2),
    ("armoured-vehicles", "Bradley fighting vehicles", "M2 Bradley", "infantry-fighting-vehicles",
     "vehicles", (10, 190), 4),
    ("armoured-vehicles", "M113 armoured personnel carriers", None, None, "vehicles", (20, 300), 3),
    ("armoured-vehicles", "MaxxPro MRAPs", "MaxxPro", "mrap-vehicles", "vehicles", (20, 500), 2),
    ("artillery", "M777 155mm towed howitzers", "M777", "towed-artillery", "systems", (4, 150), 4),
    ("artillery", "HIMARS launchers", "M142 HIMARS", "multiple-rocket-launchers",
     "launchers", (2, 40), 3),
    ("artillery", "CAESAR self-propelled howitzers", None, None, "systems", (6, 40), 2),
    ("artillery", "120mm mortars", None, None, "units", (10, 500), 2),
    ("air-defence", "Patriot air defence battery", "MIM-104 Patriot", "long-range-air-defence",
     "batteries", (1, 3), 2),
    ("air-defence", "IRIS-T SLM systems", None, None, "systems", (1, 8), 2),
    ("air-defence", "Stinger MANPADS", "FIM-92 Stinger", "manpads", "missiles", (100, 2000), 3),
    ("air-defence", "Gepard anti-aircraft guns", None, None, "vehicles", (5, 60), 2),
    ("missiles", "Javelin anti-tank missiles", "FGM-148 Javelin", "anti-tank-missiles",
     "missiles", (100, 10000), 4),
    ("missiles", "Storm Shadow cruise missiles", None, None, "missiles", (10, 100), 1),
    ("missiles", "NLAW anti-tank weapons", None, None, "units", (500, 10000), 2),
    ("ammunition", "155mm artillery rounds", None, None, "rounds", (5000, 1000000), 8),
    ("ammunition", "small-arms ammunition", None, None, "rounds", (100000, 100000000), 4),
    ("ammunition", "120mm tank ammunition", None, None, "rounds", (1000, 50000), 2),
    ("aircraft", "F-16 fighter jets", "F-16", "combat-aircraft", "units", (2, 40), 1),
    ("helicopters", "Mi-17 transport helicopters", None, None, "units", (2, 20), 1),
    ("helicopters", "Sea King search and rescue helicopters", "Westland Sea King",
     "multirole-helicopters", "units", (1, 6), 1),
    ("drones", "Switchblade loitering munitions", None, None, "units", (10, 1000), 3),
    ("drones", "FPV drones", None, None, "units", (1000, 100000), 3),
    ("drones", "Puma reconnaissance drones", None, None, "systems", (5, 100), 2),
    ("naval", "Mark VI patrol boats", None, None, "units", (2, 20), 1),
    ("small-arms", "assault rifles", None, None, "units", (500, 50000), 2),
    ("small-arms", "machine guns", None, None, "units", (100, 5000), 2),
    ("vehicles", "military trucks", None, None, "vehicles", (20, 1000), 3),
    ("vehicles", "field ambulances", None, None, "vehicles", (5, 200), 2),
    ("equipment", "night-vision devices", None, None, "sets", (100, 10000), 2),
    ("equipment", "body armour and helmets", None, None, "sets", (1000, 100000), 2),
    ("equipment", "Starlink terminals", None, None, "units", (100, 10000), 2),
    ("equipment", "counter-battery radars", None, None, "systems", (2, 40), 2),
    ("training", "Ukrainian soldiers trained", None, None, "personnel", (100, 30000), 2),
    ("military-financing", "Foreign Military Financing", None, None, "units", None, 2),
    ("financial-aid", "budget support grant", None, None, "units", None, 1),
    ("humanitarian-aid", "generators and winter supplies", None, None, "tonnes", (10, 5000), 1),
]  # fmt: skip
UNALLOCATED = "unallocated"
PACKAGE_TOTAL = "package total, not broken down by item"

# Awkward text, written as it was entered: `csv_lines` neutralises the formula-like starts.
AWKWARD_ITEMS = [
    "{item}, with spare parts, ammunition and training",
    'so-called "{item}" (as the ministry put it)',
    "{item}\nincluding maintenance for two years",
    "=SUM({item})",
    "+{item} (additional)",
    "-{item} previously pledged",
    "@{item}",
    "'{item}'",
    "Танки та {item}",
    "Боєприпаси калібру 155 мм",
    "無人機 {item}",
    "معدات عسكرية {item}",
    "{item} 🇺🇦",
]
PACKAGES = [
    "Presidential Drawdown Authority tranche {k}",
    "Ukraine Security Assistance Initiative, package {k}",
    "Winter package {k}",
    'Package "{k}"',
    "Пакет допомоги №{k}",
    "=Package {k}",
    "Ramstein, meeting {k}",
]
NOTES = [
    "Announced at the Ramstein meeting.",
    'Quantities given as "up to"; delivery schedule unclear.',
    "Confirmed by the ministry, see second source.",
    "Source gives the value in millions, rounded.",
    "Перекладено з українського джерела.",
    "=1+1 is not a formula here",
    "-deliveries paused, then resumed",
    "@channel announcement on social media",
    "'Cited' with quotes, commas, and more",
]
STATUSES = [("announced", 50), ("partly-delivered", 20), ("delivered", 25), ("withdrawn", 5)]
PRECISIONS = [("day", 70), ("month", 15), ("quarter", 8), ("year", 7)]
QUALIFIERS = [("exact", 55), ("approximate", 15), ("at_least", 20), ("up_to", 10)]
BASES = [("stated", 60), ("estimated", 30), ("unknown", 10)]
SOURCES = [(1, 60), (2, 30), (3, 10)]  # how many sources a pledge cites
LINES_PER_PLEDGE = [(1, 30), (2, 20), (3, 15), (4, 10), (5, 8), (6, 7), (7, 5), (8, 5)]


def weighted(rng: random.Random, choices: list[tuple], weight: int = -1):
    """The first element of one of `choices`, drawn by the weight each holds at `weight`."""
    return rng.choices([choice[0] for choice in choices], [choice[weight] for choice in choices])[0]


def setup_django() -> None:
    """The generator writes through the exporter's own CSV code, which needs Django."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ledger.settings.base")
    import django

    django.setup()


def first_day(date: datetime.date, precision: str) -> datetime.date:
    """The stored date of a period (as aid.models.first_day, without needing Django)."""
    if precision == "month":
        return date.replace(day=1)
    if precision == "quarter":
        return date.replace(month=(date.month - 1) // 3 * 3 + 1, day=1)
    if precision == "year":
        return date.replace(month=1, day=1)
    return date


@dataclass(frozen=True)
class Head:
    """What the first pass decides about a pledge: enough to sort pledges as the export does."""

    index: int
    ref: str
    donor: str
    announced_on: datetime.date
    precision: str
    lines: int


@dataclass
class Taxonomy:
    """The categories in the database: level-1 slug → itself and its children."""

    slugs: dict[str, list[str]]

    @classmethod
    def from_pairs(cls, pairs: list[tuple[str, str | None]]) -> "Taxonomy":
        slugs: dict[str, list[str]] = {}
        for slug, parent in sorted(pairs, key=lambda pair: (pair[1] is not None, pair[0])):
            slugs.setdefault(parent or slug, []).append(slug)
        return cls(slugs)


class Generator:
    def __init__(
        self,
        rows: int,
        *,
        seed: int,
        taxonomy: Taxonomy,
        donor_names: dict[str, str],
        donors: list[tuple] = DONORS,
        currencies: list[str] = CURRENCIES,
    ):
        self.rows = rows
        self.seed = seed
        self.taxonomy = taxonomy
        self.donor_names = donor_names
        self.donor_weights = donors
        self.currencies = currencies
        self.donors = {code: (currency, officials) for code, _, currency, officials in donors}
        self.items = [item for item in ITEMS if item[0] in taxonomy.slugs]
        missing = {item[0] for item in ITEMS} - set(taxonomy.slugs)
        if UNALLOCATED not in taxonomy.slugs or len(missing) > len(ITEMS) // 2:
            raise ValueError(f"the database lacks the seeded categories {sorted(missing)}")
        last = min(LAST_DAY, datetime.date.today())
        self.days = (last - FIRST_DAY).days + 1
        self.sources = max(20, rows // 10)  # each source cited by about five pledges

    def heads(self) -> list[Head]:
        """Every pledge's head, in the export's order (newest first, then by reference)."""
        rng = random.Random(self.seed)
        heads, total = [], 0
        while total < self.rows:
            size = min(weighted(rng, LINES_PER_PLEDGE), self.rows - total)
            donor = weighted(rng, self.donor_weights, weight=1)
            precision = weighted(rng, PRECISIONS)
            day = first_day(FIRST_DAY + datetime.timedelta(rng.randrange(self.days)), precision)
            index = len(heads)
            heads.append(
                Head(index, f"{donor}-{day.year}-{index:06x}", donor, day, precision, size)
            )
            total += size
        heads.sort(key=lambda head: (-head.announced_on.toordinal(), head.ref))
        return heads

    def __iter__(self) -> Iterator[dict]:
        for head in self.heads():
            yield from self.pledge_rows(head)

    def pledge_rows(self, head: Head) -> Iterator[dict]:
        rng = random.Random(f"{self.seed}:{head.index}")
        currency, officials = self.donors[head.donor]
        official, title = "", ""
        if rng.random() < 0.8:
            official, titles = rng.choice(officials)
            # Always with a title: an empty one is filled from the official, and the file would
            # then no longer be what an export of the imported ledger gives.
            title = rng.choice(titles)
        package = ""
        if rng.random() < 0.4:
            package = rng.choice(PACKAGES).format(k=rng.randrange(1, 80))
        notes = ""
        if rng.random() < 0.5:
            notes = "\n".join(rng.sample(NOTES, rng.choice([1, 1, 1, 2, 3])))
        urls = rng.sample(range(1, self.sources + 1), min(self.sources, weighted(rng, SOURCES)))
        pledge = {
            "pledge_ref": head.ref,
            "donor": head.donor,
            "donor_name": self.donor_names.get(head.donor, ""),
            "recipient": RECIPIENT,
            "announced_on": head.announced_on,
            "date_precision": head.precision,
            "official": official,
            "official_title": title,
            "package": package,
            "status": weighted(rng, STATUSES),
            "review": "verified",  # the benchmark imports with --verify
            "source_urls": " ".join(source_url(number) for number in urls),
            "notes": notes,
        }
        valued = rng.choices(["total", "items", "none"], [20, 35, 45])[0]
        for line_no in range(1, head.lines + 1):
            if valued == "total" and line_no == 1:
                line = self.package_total(rng, currency)
            else:
                line = self.line(rng, currency, valued == "items")
            yield {**pledge, "line_no": line_no, **line}

    def package_total(self, rng: random.Random, currency: str) -> dict:
        return {
            "item": PACKAGE_TOTAL,
            "item_type": "",
            "category": UNALLOCATED,
            "quantity": None,
            "quantity_qualifier": "unspecified",
            "unit": "units",
            **self.value(rng, currency, scale=1000),
        }

    def line(self, rng: random.Random, currency: str, valued: bool) -> dict:
        level1, item, item_type, fixed, unit, quantities, _ = rng.choices(
            self.items, [item[-1] for item in self.items]
        )[0]
        if item_type and fixed in self.taxonomy.slugs[level1] and rng.random() < 0.5:
            category = fixed  # an item type keeps one category, so no import warns
        else:
            item_type = ""
            category = rng.choice(self.taxonomy.slugs[level1])
        if not item_type and rng.random() < 0.08:
            item = rng.choice(AWKWARD_ITEMS).format(item=item)
        quantity, qualifier = None, "unspecified"
        if quantities and rng.random() >= 1 / 3:
            low, high = quantities
            quantity = max(1, int(low * (high / low) ** rng.random()))
            if quantity > 1000 and rng.random() < 0.7:
                quantity = round(quantity, -3)
            qualifier = weighted(rng, QUALIFIERS)
        line = {
            "item": item,
            "item_type": item_type or "",
            "category": category,
            "quantity": quantity,
            "quantity_qualifier": qualifier,
            "unit": unit,
            "value": None,
            "currency": "",
            "value_basis": "",
            "value_eur": None,
        }
        if valued and (quantities is None or rng.random() < 0.6):
            line.update(self.value(rng, currency, scale=1))
        return line

    def value(self, rng: random.Random, currency: str, scale: int) -> dict:
        amount = Decimal(100_000 * scale) * Decimal(2000 ** rng.random())
        rounding = rng.random()
        if rounding < 0.5:
            amount = amount.quantize(Decimal("1E6"))
        elif rounding < 0.8:
            amount = amount.quantize(Decimal("1E3"))
        if rng.random() < 0.15:
            currency = rng.choice(self.currencies)
        return {
            "value": max(amount, Decimal(1)).quantize(CENT),
            "currency": currency,
            "value_basis": weighted(rng, BASES),
            "value_eur": None,  # ignored on input; the export computes it
        }


def source_url(number: int) -> str:
    """The URL of source `number`, already in its normalised form so a round trip keeps it."""
    if number % 13 == 5:
        return f"https://example.org/news/{number}?lang=uk"
    return f"https://example.org/news/{number}"


def write(path: Path, rows: int, *, seed: int = SEED) -> int:
    """Write the file (needs Django set up, for the taxonomy and the exporter's CSV writer)."""
    from aid.lines.columns import COLUMNS
    from aid.models import Category, Party
    from ledger.api.csv import csv_lines

    taxonomy = Taxonomy.from_pairs(list(Category.objects.values_list("slug", "parent__slug")))
    codes = [donor[0] for donor in DONORS]
    names = dict(Party.objects.filter(code__in=codes).values_list("code", "name"))
    if missing := sorted(set(codes) - set(names)):
        raise SystemExit(f"These donors are not in the database: {', '.join(missing)}")
    generator = Generator(rows, seed=seed, taxonomy=taxonomy, donor_names=names)
    count = -1
    with open(path, "w", encoding="utf-8", newline="") as handle:
        for text in csv_lines(generator, header=COLUMNS):
            handle.write(text)
            count += 1
    return count


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "'")
TEXT_COLUMNS = ["official", "official_title", "package", "item", "item_type", "notes"]


def check(path: Path) -> tuple[list[str], Counter]:
    """Problems with the file by the import's rules (as far as they need no database), and
    counts of what it holds."""
    from aid.lines.columns import COLUMNS, PLEDGE_COLUMNS

    problems, seen = [], Counter()
    pledges: dict[str, dict] = {}
    numbers: set[tuple[str, str]] = set()
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        if header != COLUMNS:
            problems.append(f"header differs from COLUMNS: {header}")
        for number, cells in enumerate(reader, start=2):
            row = dict(zip(header, cells, strict=True))
            problems.extend(f"row {number}: {message}" for message in check_row(row))
            ref = row["pledge_ref"]
            pledge = {name: row[name] for name in PLEDGE_COLUMNS}
            if pledges.setdefault(ref, pledge) != pledge:
                problems.append(f"row {number}: pledge fields differ from {ref}'s first row")
            if (ref, row["line_no"]) in numbers:
                problems.append(f"row {number}: line {row['line_no']} of {ref} twice")
            numbers.add((ref, row["line_no"]))
            seen["rows"] += 1
            seen[f"precision {row['date_precision']}"] += 1
            seen[f"qualifier {row['quantity_qualifier']}"] += 1
            seen[f"currency {row['currency'] or '-'}"] += 1
            seen[f"basis {row['value_basis'] or '-'}"] += 1
            seen[f"year {row['announced_on'][:4]}"] += 1
            seen["item types named"] += bool(row["item_type"])
            seen["neutralised cells"] += sum(row[name][:1] == "'" for name in TEXT_COLUMNS)
            seen["cells with newlines"] += sum("\n" in cell for cell in cells)
            seen["non-ASCII rows"] += any(not cell.isascii() for cell in cells)
    seen["pledges"] = len(pledges)
    seen["donors"] = len({pledge["donor"] for pledge in pledges.values()})
    seen["distinct source URLs"] = len(
        {url for pledge in pledges.values() for url in pledge["source_urls"].split()}
    )
    return problems, seen


def check_row(row: dict) -> Iterator[str]:
    from aid.lines.columns import REQUIRED

    for name in REQUIRED:
        if not row[name]:
            yield f"{name} is empty"
    day = datetime.date.fromisoformat(row["announced_on"])
    if first_day(day, row["date_precision"]) != day:
        yield f"announced_on {day} is not the first day of its {row['date_precision']}"
    if not FIRST_DAY <= day <= min(LAST_DAY, datetime.date.today()):
        yield f"announced_on {day} is out of range"
    if (row["quantity"] == "") != (row["quantity_qualifier"] == "unspecified"):
        yield "quantity and qualifier disagree"
    if row["quantity"] and not (row["quantity"].isdigit() and int(row["quantity"]) >= 1):
        yield f"quantity {row['quantity']!r} is not a positive whole number"
    if (row["value"] == "") != (row["currency"] == "") or (row["value"] == "") != (
        row["value_basis"] == ""
    ):
        yield "value, currency and value_basis disagree"
    if row["value"] and Decimal(row["value"]) != Decimal(row["value"]).quantize(CENT):
        yield f"value {row['value']} has more than two decimals"
    for url in row["source_urls"].split(" "):
        if not url.startswith("https://"):
            yield f"source URL {url!r} is not https"
    for name in TEXT_COLUMNS:
        text = row[name]
        if text != text.strip():
            yield f"{name} has surrounding whitespace, which the import strips"
        if text[:1] == "'" and not text[1:2].startswith(FORMULA_STARTS):
            yield f"{name} starts with an apostrophe that the import would keep"
        if text[:1] in FORMULA_STARTS[:-1]:
            yield f"{name} starts like a formula without the exporter's apostrophe"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.lines", description=__doc__)
    parser.add_argument("rows", nargs="?", type=int, help="how many lines to write")
    parser.add_argument("-o", "--output", type=Path, help="the CSV file to write")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--check", type=Path, metavar="FILE", help="check FILE instead")
    options = parser.parse_args(argv)
    setup_django()
    if options.check:
        problems, seen = check(options.check)
        for name, count in sorted(seen.items()):
            print(f"{name:>24}: {count:,}")
        for problem in problems[:50]:
            print(problem, file=sys.stderr)
        if problems:
            raise SystemExit(f"{len(problems):,} problems")
        return
    if not options.rows or not options.output:
        parser.error("give ROWS and -o FILE, or --check FILE")
    written = write(options.output, options.rows, seed=options.seed)
    print(f"Wrote {written:,} lines to {options.output}.")


if __name__ == "__main__":
    main()
