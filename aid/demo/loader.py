"""The demo ledger: the seed case from the project's brief and Protect Ukraine Now's compilation of
heavy-weapon pledges and US security-assistance announcements (see `data/README.md`).

Rows that report one announcement become one pledge: heavy-weapon rows of the same donor and day
are lines of one pledge, and US rows on the day of a US announcement are lines of that
announcement's pledge, whose value is its undivided package total (SPEC rule 1). Every pledge has
a stable `ref`, so loading again skips what is already there.
"""

import csv
import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from aid.models import Category, DatePrecision, ItemAlias, ItemType, Line, Official, Party, Pledge
from aid.selectors import item_type_for
from aid.services import pledge_create
from sources.models import PledgeSource, Source
from sources.services import source_find, source_save

DATA = Path(__file__).parent / "data"
REASON = "load_demo"

# Protect Ukraine Now's categories: the ledger's category and the unit they are counted in.
CATEGORIES = {
    "Air Defense System": ("air-defence", "systems"),
    "Self-Propelled Artillery": ("self-propelled-artillery", "systems"),
    "Towed Artillery": ("towed-artillery", "systems"),
    "Multiple Launch Rocket System": ("multiple-rocket-launchers", "systems"),
    "Tank": ("main-battle-tanks", "vehicles"),
    "Infantry Fighting Vehicle": ("infantry-fighting-vehicles", "vehicles"),
    "Helicopter": ("helicopters", "units"),
    "Warplane": ("combat-aircraft", "units"),
}

# Catalogue names where the compilation uses more than one spelling for one item type.
ALIASES = {
    "Westland Sea King": ["SH-3 Sea King", "Sea King"],
    "MIM-104 Patriot": ["Patriot"],
    "M1 Abrams": ["Abrams M1A1", "Abrams"],
}

# US appropriation authorities: the line's wording and category.
US_AUTHORITIES = {
    "pda_usd_m": ("Presidential Drawdown Authority package", "unallocated"),
    "usai_usd_m": ("Ukraine Security Assistance Initiative funding", "procurement-funding"),
    "fmf_usd_m": ("Foreign Military Financing", "foreign-military-financing"),
}

# Cited for the compilation's rows that give no source of their own.
COMPILATION = {
    "url": "https://github.com/protect-ukraine-now/pun",
    "title": "Protect Ukraine Now: pledges of heavy weapons and US security assistance",
    "publisher": "Protect Ukraine Now",
    "kind": Source.Kind.DATASET,
    "language": "en",
}

SEED_ARTICLE = {
    "title": (
        "Russian recruits escape military training camp in fresh humiliation for Vladimir Putin"
    ),
    "publisher": "Daily Express",
    "published_on": datetime.date(2022, 11, 23),
    "kind": Source.Kind.NEWS_REPORT,
    "language": "en",
}


@dataclass
class Draft:
    """A pledge being assembled from one or more rows before it is written through the service."""

    ref: str
    donor: str
    announced_on: datetime.date
    precision: str = DatePrecision.DAY
    official: tuple[str, str] | None = None
    notes: str = ""
    lines: list[Line] = field(default_factory=list)
    sources: list[tuple[Source, str]] = field(default_factory=list)

    def cite(self, source: Source, role: str = PledgeSource.Role.ANNOUNCEMENT) -> None:
        if all(cited.pk != source.pk for cited, _ in self.sources):
            self.sources.append((source, role))


class Demo:
    def __init__(self, actor):
        self.actor = actor
        self.categories = {category.slug: category for category in Category.objects.all()}
        self.parties = {party.code: party for party in Party.objects.all()}
        self.sources: dict[str, Source] = {}

    def source(self, url: str) -> Source:
        """The stored source for a URL, created on first use; the compilation when there is none."""
        if url not in self.sources:
            fields = {"url": url, "kind": source_kind(url)} if url else COMPILATION
            self.sources[url] = source_find(fields["url"]) or source_save(
                actor=self.actor, source=Source(**fields)
            )
        return self.sources[url]

    def item_type(self, name: str, category: str, unit: str) -> ItemType:
        canonical = next((key for key, names in ALIASES.items() if name in names), name)
        found = item_type_for(canonical)
        if found:
            return found
        item_type = ItemType.objects.create(
            name=canonical, category=self.categories[category], default_unit=unit
        )
        ItemAlias.objects.bulk_create(
            [ItemAlias(item_type=item_type, alias=alias) for alias in ALIASES.get(canonical, [])]
        )
        return item_type

    def heavy_weapons(self, drafts: dict[str, Draft]) -> None:
        with open(DATA / "heavy_weapons_pledges.csv", newline="", encoding="utf-8") as file:
            for row in csv.DictReader(file):
                donor = row["donor_code"].upper()
                day = datetime.date.fromisoformat(row["date"])
                ref = f"pun-{donor.lower()}-{day}"
                draft = drafts.setdefault(ref, Draft(ref=ref, donor=donor, announced_on=day))
                category, unit = CATEGORIES[row["category"]]
                item_type = self.item_type(row["item"], category, unit)
                draft.lines.append(
                    Line(
                        description=row["item"],
                        item_type=item_type,
                        category=item_type.category,
                        quantity=int(row["quantity"]),
                        unit=unit,
                    )
                )
                draft.cite(self.source(row["source_url"]))

    def us_announcements(self, drafts: dict[str, Draft]) -> None:
        with open(DATA / "us_security_assistance_announcements.csv", newline="") as file:
            for row in csv.DictReader(file):
                day = datetime.date.fromisoformat(row["date"])
                ref = f"pun-us-{day}"
                draft = drafts.setdefault(ref, Draft(ref=ref, donor="US", announced_on=day))
                package_lines = [
                    Line(
                        description=description,
                        category=self.categories[category],
                        unit="units",
                        value=Decimal(row[column]) * 1_000_000,
                        currency="USD",
                        value_basis=Line.ValueBasis.STATED,
                    )
                    for column, (description, category) in US_AUTHORITIES.items()
                    if row[column].strip()
                ]
                # The package total comes first; items the compilation lists follow it.
                draft.lines[:0] = package_lines
                for column in ("release_url", "fact_sheet_url"):
                    if row[column].strip():
                        draft.cite(self.source(row[column]))

    def seed_case(self, drafts: dict[str, Draft]) -> None:
        """The brief's seed: one article reports a new pledge and restates an earlier one."""
        article = Source.objects.filter(
            title=SEED_ARTICLE["title"], publisher=SEED_ARTICLE["publisher"]
        ).first() or source_save(actor=self.actor, source=Source(**SEED_ARTICLE))

        sea_kings = drafts["pun-gb-2022-11-23"]
        sea_kings.official = ("Ben Wallace", "Defence Secretary")
        sea_kings.lines[0].description = "Sea King helicopters"
        sea_kings.lines.append(
            Line(
                description="additional artillery rounds",
                category=self.categories["artillery-ammunition"],
                unit="rounds",
            )
        )
        sea_kings.cite(article)

        earlier = Draft(
            ref="seed-gb-2022-11-air-defence",
            donor="GB",
            announced_on=datetime.date(2022, 11, 1),
            precision=DatePrecision.MONTH,
            notes="Known from its restatement in the seed article; the date is known to the month.",
        )
        earlier.lines = [
            Line(
                description="surface-to-air missiles",
                category=self.categories["air-defence-missiles"],
                quantity=1000,
                unit="missiles",
            ),
            Line(
                description="anti-aircraft guns",
                category=self.categories["anti-aircraft-guns"],
                quantity=125,
                unit="units",
            ),
        ]
        earlier.cite(article, PledgeSource.Role.RE_ANNOUNCEMENT)
        drafts[earlier.ref] = earlier

    def save(self, draft: Draft) -> Pledge:
        official = None
        if draft.official:
            name, title = draft.official
            official, _ = Official.objects.get_or_create(
                name=name, party=self.parties[draft.donor], defaults={"title": title}
            )
        return pledge_create(
            actor=self.actor,
            reason=REASON,
            ref=draft.ref,
            donor=self.parties[draft.donor],
            recipient=self.parties["UA"],
            announced_on=draft.announced_on,
            date_precision=draft.precision,
            official=official,
            notes=draft.notes,
            # Published compilations, checked when the demo was built: public from the start.
            review=Pledge.Review.VERIFIED,
            reviewed_by=self.actor,
            reviewed_at=timezone.now(),
            lines=draft.lines,
            links=[PledgeSource(source=source, role=role) for source, role in draft.sources],
        )


def source_kind(url: str) -> str:
    """A source's kind from its host: governments publish releases, platforms carry posts."""
    host = (urlsplit(url).hostname or "").removeprefix("www.")
    if host in {"twitter.com", "x.com", "t.me", "facebook.com"}:
        return Source.Kind.SOCIAL_MEDIA
    if host.endswith((".gov", ".mil", ".gov.uk", ".gc.ca")) or host in {
        "bundesregierung.de",
        "mzv.cz",
        "regjeringen.no",
        "government.se",
    }:
        return Source.Kind.PRESS_RELEASE
    return Source.Kind.NEWS_REPORT


@transaction.atomic
def load_demo(*, actor=None) -> dict[str, int]:
    """Load what is missing of the demo ledger; return how many pledges were created and skipped."""
    demo = Demo(actor)
    drafts: dict[str, Draft] = {}
    demo.heavy_weapons(drafts)
    demo.us_announcements(drafts)
    demo.seed_case(drafts)
    existing = set(Pledge.objects.filter(ref__in=drafts).values_list("ref", flat=True))
    created = 0
    for draft in sorted(drafts.values(), key=lambda draft: (draft.announced_on, draft.ref)):
        if draft.ref not in existing:
            demo.save(draft)
            created += 1
    return {"created": created, "skipped": len(drafts) - created}
