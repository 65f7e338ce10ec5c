"""The figures of `make load`, computed from the generator's journal (benchmarks/load/locustfile.py)
rather than from Locust's summary: exact percentiles, errors by what the server answered, and the
timestamps that place each failure against a PostgreSQL restart."""

import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

ALL = "all requests"


def percentile(sorted_ms: list[float], fraction: float) -> float:
    """Nearest rank: the smallest value that `fraction` of the requests did not exceed."""
    return sorted_ms[max(0, math.ceil(fraction * len(sorted_ms)) - 1)]


@dataclass
class Journal:
    requests: list[dict] = field(default_factory=list)
    writes: list[dict] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # percent of one core, by party

    @classmethod
    def read(cls, path: Path) -> "Journal":
        journal = cls()
        for line in path.read_text().splitlines():
            entry = json.loads(line)
            (journal.writes if "write" in entry else journal.requests).append(entry)
        return journal

    def failures(self) -> list[dict]:
        return [entry for entry in self.requests if "error" in entry]

    def span(self) -> float:
        """Seconds from the first request's start to the last one's end."""
        if not self.requests:
            return 0.0
        ends = (entry["t"] + entry["ms"] / 1000 for entry in self.requests)
        return max(ends) - min(entry["t"] for entry in self.requests)


def failure_kind(entry: dict) -> str:
    if entry["status"]:
        return str(entry["status"])
    return "no response" if "timed out" not in entry["error"] else "timeout"


def stats_rows(journal: Journal) -> list[dict]:
    """Per request type (and for all): count, throughput, p50, p99, errors by kind."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for entry in journal.requests:
        groups[entry["name"]].append(entry)
        groups[ALL].append(entry)
    seconds = journal.span() or 1.0
    rows = []
    for name in [*sorted(name for name in groups if name != ALL), ALL]:
        entries = groups[name]
        times = sorted(entry["ms"] for entry in entries)
        kinds = Counter(failure_kind(entry) for entry in entries if "error" in entry)
        rows.append(
            {
                "name": name,
                "count": len(entries),
                "rate": len(entries) / seconds,
                "p50": percentile(times, 0.50),
                "p99": percentile(times, 0.99),
                "max": times[-1],
                "errors": sum(kinds.values()),
                "kinds": kinds,
            }
        )
    return rows


def stats_table(levels: list[tuple[str, Journal]]) -> str:
    lines = [
        "| users | request | requests | per second | p50 | p99 | max | errors |",
        "|--:|---|--:|--:|--:|--:|--:|---|",
    ]
    for label, journal in levels:
        for row in stats_rows(journal):
            name = f"**{row['name']}**" if row["name"] == ALL else row["name"]
            errors = ", ".join(f"{count} × {kind}" for kind, count in row["kinds"].items())
            lines.append(
                f"| {label} | {name} | {row['count']:,} | {row['rate']:.1f} "
                f"| {row['p50']:,.0f} ms | {row['p99']:,.0f} ms | {row['max']:,.0f} ms "
                f"| {row['errors'] or 0}{f' ({errors})' if errors else ''} |"
            )
    return "\n".join(lines)


@dataclass
class WriteCheck:
    """Every write the generator saw succeed, looked up in the database."""

    created: int = 0  # answered 201
    lost: list[str] = field(default_factory=list)  # answered 201, not in the database
    duplicated: list[str] = field(default_factory=list)  # in the database more than once
    refused_but_saved: list[str] = field(default_factory=list)  # answered an error, yet saved
    refused: int = 0
    unexplained: list[str] = field(default_factory=list)  # in the database, never sent
    updates: int = 0  # answered 200
    updated_pledges: int = 0
    version_mismatches: list[str] = field(default_factory=list)

    def ok(self) -> bool:
        return not (
            self.lost
            or self.duplicated
            or self.refused_but_saved
            or self.unexplained
            or self.version_mismatches
        )


def check_writes(journals: list[Journal], database_url: str, run: str) -> WriteCheck:
    writes = [entry for journal in journals for entry in journal.writes]
    with psycopg.connect(database_url) as connection:
        stored = Counter(
            dict(
                connection.execute(
                    "SELECT notes, count(*) FROM aid_pledge WHERE notes LIKE %s GROUP BY notes",
                    [f"load {run} %"],
                ).fetchall()
            )
        )
        updated = {entry["id"] for entry in writes if entry["write"] == "update"}
        versions = dict(
            connection.execute(
                "SELECT id, version FROM aid_pledge WHERE id = ANY(%s)", [list(updated)]
            ).fetchall()
        )
    check = WriteCheck()
    sent = {entry["marker"] for entry in writes if entry["write"] == "create"}
    for entry in writes:
        if entry["write"] != "create" or "ok" not in entry:
            continue
        marker = entry["marker"]
        if entry["ok"]:
            check.created += 1
            if stored[marker] == 0:
                check.lost.append(marker)
        else:
            check.refused += 1
            if stored[marker]:
                check.refused_but_saved.append(f"{marker} (answered {entry['status']})")
    check.duplicated = [marker for marker, count in stored.items() if count > 1]
    check.unexplained = [marker for marker in stored if marker not in sent]
    last_seen: dict[int, int] = {}
    for entry in writes:
        if entry["write"] == "update" and entry["ok"]:
            check.updates += 1
            last_seen[entry["id"]] = max(last_seen.get(entry["id"], 0), entry["version"])
    check.updated_pledges = len(last_seen)
    for pledge, version in sorted(last_seen.items()):
        if versions.get(pledge) != version:
            check.version_mismatches.append(
                f"pledge {pledge}: the last 200 said v{version}, the database has "
                f"v{versions.get(pledge)}"
            )
    return check


def writes_section(check: WriteCheck) -> str:
    def listed(items: list[str]) -> str:
        return f"{len(items)}" + (f" ({'; '.join(items[:5])})" if items else "")

    return "\n".join(
        [
            f"- Pledges created (201): {check.created:,}; not in the database (lost): "
            f"{listed(check.lost)}; in it more than once (duplicated): "
            f"{listed(check.duplicated)}.",
            f"- Creates answered with an error: {check.refused:,}; of those saved all the "
            f"same: {listed(check.refused_but_saved)}. Pledges in the database that the "
            f"generator never sent: {listed(check.unexplained)}.",
            f"- Updates with If-Match answered 200: {check.updates:,} on "
            f"{check.updated_pledges:,} pledges; pledges whose stored version differs from "
            f"the last ETag the generator was given: {listed(check.version_mismatches)}.",
            f"- **{'No write lost or duplicated.' if check.ok() else 'WRITES WRONG: see above.'}**",
        ]
    )


def cpu_table(levels: list[tuple[str, Journal]]) -> str:
    lines = [
        "| users | machine busy | gunicorn | PostgreSQL (at least) | Locust | other processes |",
        "|--:|--:|--:|--:|--:|--:|",
    ]
    for label, journal in levels:
        cpu = journal.cpu
        lines.append(
            f"| {label} | {cpu['machine']:.0f} % | {cpu['gunicorn']:.0f} % "
            f"| {cpu['postgres']:.0f} % | {cpu['locust']:.0f} % | {cpu['other']:.0f} % |"
        )
    return "\n".join(lines)
