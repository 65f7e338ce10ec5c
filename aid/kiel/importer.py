"""Importing the Kiel Institute's Ukraine Support Tracker (release 7) through the lines import.

Each Kiel package (`ID`) becomes one pledge `kiel-r7-<ID>` and each of its rows a line, mapped
onto the canonical lines CSV's cells and handed to `rows_import`, so the workbook is checked and
written exactly as a lines CSV is: all or nothing, re-imports updating. The package value that
Kiel counts (`Total`, in the original currency, on the package's first row) becomes a value line
as SPEC rule 1 says; the workbook's own exchange rates are stored as the rate table
`kiel-ust-r7`, so the totals endpoint can give Kiel's published figures back (docs/kiel.md).
"""

import re
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.db import transaction

from aid.codes import currencies
from aid.kiel import workbook as kw
from aid.lines.importer import ImportReport, rows_import
from aid.models import DatePrecision, Line
from aid.rates.convert import load_table
from aid.rules import DEFAULT_RECIPIENT

REF_PREFIX = "kiel-r7-"
RATE_TABLE = "kiel-ust-r7"
TYPES = ("military", "financial", "humanitarian")
DATASET = "Kiel Institute, Ukraine Support Tracker, release 7"
HEADER = [
    "pledge_ref", "line_no", "donor", "recipient", "announced_on", "date_precision", "item",
    "category", "quantity", "unit", "value", "currency", "value_basis", "source_urls", "notes",
]  # fmt: skip

# Kiel's `Sub-type of item` (lower-cased) → category: the most specific thing Kiel says.
SUB_TYPES = {
    **dict.fromkeys(
        ["105mm howitzer", "122mm howitzer", "152mm howitzer", "155mm howitzer",
         "unknown howitzer"], "artillery"),  # towed or self-propelled: Kiel does not say
    **dict.fromkeys(["122mm mlrs", "127mm mlrs", "227mm mlrs"], "multiple-rocket-launchers"),
    **dict.fromkeys(
        ["105mm", "122mm howitzer ammunition", "152mm howitzer ammunition",
         "155mm howitzer ammunition", "howitzer ammunition"], "artillery-ammunition"),
    **dict.fromkeys(
        ["122mm mlrs ammunition", "127mm mlrs ammunition", "227mm mlrs ammunition",
         "300mm mlrs ammunition"], "rockets"),
    **dict.fromkeys(
        ["anti-aircraft guns ammunition", "light anti-armor weapon (law) ammunition",
         "recoilless rifle (rr/rcl) ammunition", "explosive"], "ammunition"),
    **dict.fromkeys(
        ["armoured utility vehicle (auv)", "protected patrol vehicle (ppv)"], "mrap-vehicles"),
    **dict.fromkeys(
        ["armoured recovery vehicle (arv)", "vehicle launched bridge (vlb)"],
        "armoured-engineering-vehicles"),
    **dict.fromkeys(
        ["light anti-armor weapon (law)", "recoilless rifle (rr/rcl)"],
        "portable-anti-tank-weapons"),
    **dict.fromkeys(["anti-aircraft system ammunition", "manpads ammunition"],
                    "air-defence-missiles"),
    **dict.fromkeys(["grenade launcher", "under-barrel grenade launcher"], "grenade-launchers"),
    **dict.fromkeys(["cargo drone", "unknown drone"], "drones"),
    "mortar": "mortars", "mortar ammunition": "mortar-ammunition",
    "anti-aircraft system": "air-defence", "self-propelled anti-aircraft weapon":
    "anti-aircraft-guns", "manpads": "manpads", "anti-ship missle system": "anti-ship-missiles",
    "ashm": "anti-ship-missiles", "air-to-surface missile (asm)": "missiles",
    "armoured personnel carrier (apc)": "armoured-personnel-carriers",
    "infantry fighting vehicle (ifv)": "infantry-fighting-vehicles",
    "main battle tank (mbt)": "main-battle-tanks", "mine vessels": "mine-countermeasures",
    "patrol and coastal combatants": "patrol-boats", "anti-drone": "electronic-warfare",
    "small arms and light weapons (salw)": "small-arms", "anti-materiel rifle": "rifles",
    "small arms and light weapons (salw) ammunition": "small-arms-ammunition",
    "combat aircraft": "combat-aircraft", "transport aircraft": "transport-aircraft",
    "combat drones": "combat-drones", "reconnaissance drone": "reconnaissance-drones",
    "loitering munition (suicide drone)": "loitering-munitions", "minehunter drone": "naval-drones",
}  # fmt: skip
# Words of the item's name, tried in order when the sub-type says nothing.
ITEM_WORDS = [
    (r"armou?red personnel carrier", "armoured-personnel-carriers"),
    (r"mine resistant|mrap", "mrap-vehicles"),
    (r"armou?red (medical )?(treatment )?vehicle", "armoured-vehicles"),
    (r"helicopter", "helicopters"),
    (r"counter-unmanned|anti-drone", "electronic-warfare"),
    (r"unmanned|drone", "drones"),
    (r"missile", "missiles"),
    (r"demining|mine clearing|minesweeper", "demining"),
    (r"\bmines?\b|fuse|ammunition|round", "ammunition"),
    (r"helmet|vest|body armou?r", "body-armour"),
    (r"night.vision|thermal|optic|binocular|rangefinder|field glass", "night-vision"),
    (r"radar|firefinder", "radars"),
    (r"radio|telephone|field cable|communication", "communications"),
    (r"medical|hospital|first-aid|bandage|stretcher|ambulance|auto-injector", "medical-equipment"),
    (r"truck|trailer|tractor|vehicle|oshkosh", "vehicles"),
    (r"\bgun\b|cannon|rifle", "small-arms"),
]
# Kiel's `Type of item` when neither the sub-type nor the item's words place it.
ITEM_TYPES = {
    "light armaments & infantry": "small-arms", "aviation and drones": "drones",
    "air-launched ammunition": "missiles",
}  # fmt: skip
# `Type of Aid Specific` for money rather than goods.
MILITARY_MONEY = {"grant", "funding for weapon acquisition program", "european peace facility"}
FINANCIAL = {"loan": "loans", "guarantee": "guarantees"}
BASES = {
    "value is given by the source": Line.ValueBasis.STATED,
    "value is calculated with prices": Line.ValueBasis.ESTIMATED,
    "value is given by hand": Line.ValueBasis.ESTIMATED,
}
ROUNDS = {"artillery-ammunition", "mortar-ammunition", "small-arms-ammunition", "tank-ammunition"}


@dataclass
class KielReport:
    """What the import did or would do: the lines import's report, and what Kiel's rows needed."""

    report: ImportReport
    rates: int
    packages: int
    rows: int
    skipped: list[tuple[int, str]] = field(default_factory=list)
    remarks: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.report.ok

    def summary(self) -> str:
        if not self.ok:
            return self.report.summary()
        verb = "would be" if self.report.dry_run else "were"
        rates = f"{self.rates} exchange rates {verb} stored as the rate table “{RATE_TABLE}”."
        return (
            f"{self.report.summary()}\n{self.rows:,} workbook rows in {self.packages:,} packages "
            f"{verb} mapped; {len(self.skipped):,} rows skipped, {len(self.remarks):,} remarks. "
            f"{rates}"
        )

    def skipped_by_reason(self) -> dict[str, list[int]]:
        reasons = defaultdict(list)
        for row, reason in self.skipped:
            reasons[reason].append(row)
        return dict(reasons)


@dataclass
class Mapping:
    records: list[tuple[int, list[str]]] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)
    remarks: list[tuple[int, str]] = field(default_factory=list)
    packages: int = 0
    rows: int = 0


def kiel_import(
    *,
    actor,
    path: Path | str,
    types: tuple[str, ...] = TYPES,
    dry_run: bool = False,
    verify: bool = False,
) -> KielReport:
    """Import the workbook's packages of the chosen types and its rate table, all or nothing;
    with `verify`, the pledges it creates or changes are verified by `actor` (a reviewer)."""
    workbook = kw.read_workbook(path)
    mapping = map_packages(workbook.rows, types, workbook.rates)
    # A currency the ledger does not know (HRK, withdrawn in 2023) has its values in euros.
    rates = {code: rate for code, rate in workbook.rates.items() if code in currencies()}
    name = Path(path).name
    with transaction.atomic():
        if not dry_run:
            load_table(RATE_TABLE, rates, f"{DATASET} ({name}): {workbook.rates_note}")
        report = rows_import(
            actor=actor,
            header=HEADER,
            records=mapping.records,
            reason=f"import_kiel {name}"[:100],  # history keeps at most 100 characters
            file_source=f"{DATASET} ({name})",
            dry_run=dry_run,
            verify=verify,
        )
        if report.errors:
            transaction.set_rollback(True)
    return KielReport(
        report=report,
        rates=len(rates),
        packages=mapping.packages,
        rows=mapping.rows,
        skipped=mapping.skipped,
        remarks=mapping.remarks,
    )


def map_packages(
    rows: list[kw.KielRow], types: tuple[str, ...] = TYPES, rates: dict | None = None
) -> Mapping:
    """The canonical records of every package of the chosen types, and why other rows were not."""
    mapping = Mapping()
    packages: dict[str, list[kw.KielRow]] = {}
    for row in rows:
        key = row.text(kw.ID)
        if not key:
            mapping.skipped.append((row.number, "no package ID"))
        else:
            packages.setdefault(key, []).append(row)
    for key, members in packages.items():
        aid_type = members[0].text(kw.AID_TYPE).lower()
        donor = kw.donor_code(members[0].text(kw.DONOR))
        reason = (
            f"Type of Aid General “{members[0].text(kw.AID_TYPE)}” is not one of {', '.join(TYPES)}"
            if aid_type not in TYPES
            else f"{aid_type} aid was not selected (--types)"
            if aid_type not in types
            else f"donor “{members[0].text(kw.DONOR)}” has no party code"
            if donor is None
            else ""
        )
        if reason:
            mapping.skipped += [(row.number, reason) for row in members]
            continue
        mapper = PackageMapper(key, donor, members, mapping.remarks, rates or {})
        mapping.records += mapper.records()
        mapping.packages += 1
        mapping.rows += len(members)
    return mapping


class PackageMapper:
    """One Kiel package onto canonical records: one per row, and a value line when needed."""

    def __init__(self, key: str, donor: str, rows: list[kw.KielRow], remarks: list, rates: dict):
        self.key, self.donor, self.rows, self.remarks = key, donor, rows, remarks
        self.rates = rates
        self.first = next((row for row in rows if row[kw.FIRST_ROW] == 1), rows[0])
        self.aid_type = self.first.text(kw.AID_TYPE).lower()
        self.notes = [
            f"{DATASET}, package {key} (worksheet rows {rows[0].number}–{rows[-1].number})."
        ]

    def records(self) -> list[tuple[int, list[str]]]:
        date = self.package_date()
        urls = self.source_urls()
        lines = self.lines()
        explanations = list(dict.fromkeys(row.text(kw.EXPLANATION) for row in self.rows))
        notes = "\n".join([*self.notes, *(f"Kiel: {text}" for text in explanations if text)])
        records = []
        for line_no, (number, line) in enumerate(lines, start=1):
            cells = {
                "pledge_ref": f"{REF_PREFIX}{self.key}",
                "line_no": str(line_no),
                "donor": self.donor,
                "recipient": DEFAULT_RECIPIENT,
                "announced_on": date.text,
                "date_precision": date.precision,
                "source_urls": " ".join(urls),
                "notes": notes,
                **line,
            }
            records.append((number, [cells.get(column, "") for column in HEADER]))
        return records

    def package_date(self) -> kw.KielDate:
        """The first row's date, else the first date a row gives, else the release's year."""
        dates = {row.number: kw.date_of(row[kw.DATE]) for row in self.rows}
        date = dates[self.first.number] or next((d for d in dates.values() if d), None)
        if date is None:
            date = kw.KielDate(kw.RELEASE_START.replace(month=1, day=1), DatePrecision.YEAR)
            self.notes.append("No row of the package gives a date: 2022, the release's year.")
        elif date.remark:
            self.notes.append(f"Date {date.text}: Kiel gives {date.remark}.")
        others = defaultdict(list)
        for row in self.rows:
            own = dates[row.number]
            if own is None:
                given = row.shown(kw.DATE)
                remark = (
                    f"gives no usable date (“{given}”): it keeps its package's date, {date.text}"
                )
                self.remarks.append((row.number, remark))
            elif (own.day, own.precision) != (date.day, date.precision):
                others[own.text].append(str(row.number))
        if others:
            listed = "; ".join(f"{day} (rows {', '.join(rows)})" for day, rows in others.items())
            self.notes.append(f"Rows dated otherwise than the package: {listed}.")
        return date

    def source_urls(self) -> list[str]:
        """The union of the package's Sources 1–4: a pledge's rows must agree on its sources."""
        urls, rejected = [], {}
        for row in self.rows:
            found, texts = kw.urls_of([row[column] for column in kw.SOURCES])
            urls += [url for url in found if url not in urls]
            for text in texts:
                rejected.setdefault(text, row.number)
        self.remarks += [(row, f"source “{text}” is not a URL") for text, row in rejected.items()]
        return urls

    def lines(self) -> list[tuple[int, dict]]:
        """(row number, line cells) for each row, with the package value placed by rule 1."""
        lines = {row.number: self.item_line(row) for row in self.rows}
        value = self.package_value()
        if value is None:
            return list(lines.items())
        total, currency, basis = value
        estimates = {row.number: kw.amount_of(row[kw.OWN_ESTIMATE]) for row in self.rows}
        estimated = [amount for amount in estimates.values() if amount]
        if estimated and abs(sum(estimated) - total) <= Decimal("0.01") * len(estimated):
            # Kiel's total is the sum of its own per-item estimates: they account for it.
            for number, amount in estimates.items():
                if amount:
                    amount, code = self.money(amount, currency)
                    lines[number].update(value=str(amount), currency=code, value_basis="estimated")
            if currency != "USD":
                self.remarks.append(
                    (self.first.number, f"package {self.key}: Kiel's item estimates are in USD "
                     f"but its total is read as {currency}; the ledger follows Kiel")
                )  # fmt: skip
            return list(lines.items())
        total, currency = self.money(total, currency)
        package_line = {
            "item": self.first.text(kw.SPECIFIC) or self.aid_type.capitalize(),
            "category": self.value_category(),
            "value": str(total),
            "currency": currency,
            "value_basis": basis,
        }
        if lines[self.first.number].get("no_item"):
            lines[self.first.number] = package_line  # the first row is the package itself
            return list(lines.items())
        package_line["item"] = f"Package total ({package_line['item']}), not broken down by item"
        return [(self.first.number, package_line), *lines.items()]

    def package_value(self) -> tuple[Decimal, str, str] | None:
        """The package value Kiel counts: `Total` with a `Converted Value in EUR` beside it."""
        total = kw.amount_of(self.first[kw.TOTAL])
        given = kw.amount_of(self.first[kw.GIVEN_VALUE])
        currency = self.first.text(kw.CURRENCY).upper()
        if kw.amount_of(self.first[kw.TOTAL_EUR]) is None:
            if total is not None or given is not None:
                amount = total if total is not None else given
                self.notes.append(
                    f"Kiel gives a package value of {amount:,} {currency} but leaves it out of its "
                    "totals (no Converted Value in EUR); the ledger does not count it either."
                )
                self.remarks.append(
                    (self.first.number, f"package {self.key}: value {amount:,} {currency} is not "
                     "counted by Kiel (no Converted Value in EUR): kept in the pledge's notes")
                )  # fmt: skip
            return None
        if total is None:
            return None
        origin = self.first.text(kw.VALUE_ORIGIN).lower()
        return total, currency, BASES.get(origin, Line.ValueBasis.UNKNOWN)

    def money(self, amount: Decimal, currency: str) -> tuple[Decimal, str]:
        """The amount as announced, or in euros at Kiel's own rate when the ledger has no such
        currency (the Croatian kuna, withdrawn from ISO 4217 when Croatia adopted the euro)."""
        if currency in currencies() or currency not in self.rates:
            return amount, currency
        euros = (amount / self.rates[currency]).quantize(kw.CENT)
        self.notes.append(
            f"{amount:,} {currency} converted to {euros:,} EUR at Kiel's rate "
            f"({self.rates[currency]} {currency} per euro): the ledger has no {currency}."
        )
        self.remarks.append(
            (self.first.number, f"package {self.key}: {currency} is not a current ISO 4217 "
             "currency; the value is stored in EUR at Kiel's rate")
        )  # fmt: skip
        return euros, "EUR"

    def value_category(self) -> str:
        specific = self.first.text(kw.SPECIFIC).lower()
        if self.aid_type == "financial":
            return FINANCIAL.get(specific, "financial-aid")
        if self.aid_type == "humanitarian":
            return "humanitarian-aid"
        return "military-financing" if specific in MILITARY_MONEY else "unallocated"

    def item_line(self, row: kw.KielRow) -> dict:
        item = row.text(kw.ITEM)
        quantity, remark = kw.quantity_of(row[kw.UNITS])
        if remark:
            self.remarks.append((row.number, f"No. of Units {remark}: quantity left unspecified"))
        no_item = item.lower() in kw.NOTHING or item == "0"
        if no_item:
            item = row.text(kw.SPECIFIC) or row.text(kw.AID_TYPE) or "Unspecified aid"
        category = self.category(row, no_item)
        unit = ""
        if re.search(r"\btons?\b|\btonnes?\b", item, re.IGNORECASE):
            unit = "tonnes"
        elif category in ROUNDS:
            unit = "rounds"
        line = {
            "item": item[:500],
            "category": category,
            "quantity": str(quantity) if quantity else "",
            "unit": unit,
        }
        return line | ({"no_item": "1"} if no_item else {})

    def category(self, row: kw.KielRow, no_item: bool) -> str:
        aid_type = row.text(kw.AID_TYPE).lower()
        if aid_type == "financial":
            return FINANCIAL.get(row.text(kw.SPECIFIC).lower(), "financial-aid")
        if aid_type == "humanitarian":
            return "humanitarian-aid"
        if no_item:
            return "unallocated"  # nothing is known about what it is
        sub_type = " ".join(row.text(kw.SUB_TYPE).lower().split())
        if sub_type in SUB_TYPES:
            return SUB_TYPES[sub_type]
        item = row.text(kw.ITEM).lower()
        for pattern, slug in ITEM_WORDS:
            if re.search(pattern, item):
                return slug
        kind = row.text(kw.ITEM_TYPE).lower()
        if kind.startswith("ammunition"):
            return "ammunition"
        return ITEM_TYPES.get(kind, "equipment")
