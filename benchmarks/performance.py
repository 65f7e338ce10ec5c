"""Issue 6's table, printed and written to docs/performance.md."""

import datetime

from benchmarks.reads import Bench, line, ms

TARGETS = {
    "totals": "≤ 1.5× hand SQL, faster than DuckDB, < 3× growth 10^4 → 10^6",
    "lines": "≤ 100 ms",
    "CSV": "≤ 2× the dump, server < 200 MB",
    "admin": "≤ 500 ms",
    "import": "≥ 10,000 rows/s",
}


def table(benches: list[Bench], results: list) -> str:
    rows = [
        "| database | lines | what | measured through | median | baseline(s): median (ratio) "
        "| check before timing | other |",
        "|---|--:|---|---|--:|---|---|---|",
    ]
    for bench in benches:
        for figure in bench.figures:
            baselines = line(figure).split("; ", 1)[1:] or ["none (absolute)"]
            rows.append(
                f"| {figure.database} | {figure.rows:,} | {figure.what} | {figure.measured} "
                f"| {ms(figure.median)} | {baselines[0]} | {figure.check} | {figure.extra} |"
            )
    for result in results:
        if result.rows != 100_000 or not result.imported or result.imported.returncode:
            continue
        seconds = result.imported.seconds
        floor = result.floor_seconds
        baseline = (
            f"{'COPY FROM' if result.database == 'postgres' else 'sqlite3 .import'} "
            f"{floor:.1f} s · {result.rows / floor:,.0f} rows/s (×{seconds / floor:.1f})"
            if floor
            else "no sqlite3 shell"
        )
        rows.append(
            f"| {result.database} | {result.rows:,} (CSV rows) | import of the canonical CSV "
            f"| `manage.py import_lines`, whole process | {seconds:.1f} s · "
            f"{result.rows / seconds:,.0f} rows/s | {baseline} | every pledge created | "
            f"peak RSS {result.imported.peak_rss / 2**20:,.0f} MiB |"
        )
    return "\n".join(rows)


def growth(benches: list[Bench]) -> list[str]:
    """How each timed path grows from the smallest scale to the largest, per database."""
    lines = []
    for database in sorted({bench.database.name for bench in benches}):
        own = [bench for bench in benches if bench.database.name == database]
        if len(own) < 2:
            continue
        small, large = own[0], own[-1]
        for first, last in zip(small.figures, large.figures, strict=False):
            if first.median and last.median:
                lines.append(
                    f"- {database}, {first.what}: ×{last.median / first.median:.1f} from "
                    f"{small.rows:,} to {large.rows:,} lines ({ms(first.median)} → "
                    f"{ms(last.median)})"
                )
    return lines


MARKER = "<!-- Written by hand below this line; `make bench` keeps it. -->"


def kept(path) -> str:
    """The hand-written analysis under MARKER in the existing document, if any."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    return text[text.index(MARKER) :] if MARKER in text else MARKER + "\n"


def document(benches, results, versions, argv, machine, seconds, path) -> str:
    notes = [f"- {b.database.name} {b.rows:,}: {note}" for b in benches for note in b.notes]
    loads = [
        f"- {b.database.name} {b.rows:,}: synthetic ledger loaded in {b.load_seconds:.0f} s"
        for b in benches
    ]
    return "\n".join(
        [
            "# Performance: the ledger against its own database",
            "",
            f"Last run: {datetime.datetime.now():%Y-%m-%d %H:%M}, "
            f"`python -m benchmarks.run {' '.join(argv)}` ({seconds / 60:.0f} min).",
            f"Machine: {machine}. Databases: {', '.join(versions)}.",
            "",
            "Reproduce: `make bench` (10^4 and 10^5 lines, SQLite and PostgreSQL, about 15 "
            "minutes on 2 cores); `BENCH_SCALE=1000000 make bench DBS=postgres` for the million; "
            "`BENCH_RUNS` sets the timed runs (5). See benchmarks/README.md.",
            "",
            "## Figures",
            "",
            table(benches, results),
            "",
            "Medians of the timed runs; each API request and its baseline run alternately in the "
            "same run against the same database, and each API answer was first compared with "
            "its baseline's (the check column). Ratios are API / baseline: below 1 the API is "
            "faster.",
            "",
            "## Growth with the ledger",
            "",
            *(growth(benches) or ["- one scale only"]),
            "",
            "## Loading",
            "",
            *loads,
            "",
            "## Notes",
            "",
            *(notes or ["- every check passed"]),
            "",
            kept(path),
        ]
    )
