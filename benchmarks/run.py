"""`make bench [ROWS=10000,100000] [DBS=sqlite,postgres]`: the canonical lines CSV, timed.

For each database and each size, on a freshly migrated database: generate the file
(benchmarks/lines.py), time `manage.py import_lines` into the empty ledger (every pledge created)
and again (every pledge unchanged), time `manage.py export_lines` and take its peak memory, then
time `GET /api/v1/lines/?format=csv` from a real `manage.py runserver` process and take that
server's peak memory. Every command runs as its own process, as a user would run it.
The table is printed and written to benchmarks/results.md.

SQLite lives in a temporary directory; PostgreSQL is the database `ledger_bench` on
127.0.0.1:5432 as user postgres (BENCH_POSTGRES_URL overrides), dropped and created by this script.
"""

import argparse
import csv
import datetime
import os
import platform
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import dj_database_url
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
POSTGRES_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/ledger_bench"
)
USER = "bench"
# Every status, withdrawn included: the export leaves withdrawn pledges out unless asked.
STATUSES = ["announced", "partly-delivered", "delivered", "withdrawn"]
TIMEOUT = 3600
PLEDGE_ACTIONS = ["created", "updated", "unchanged"]
MIB = 1024 * 1024


@dataclass
class Process:
    """A finished command: wall time, peak resident memory (from wait4) and its output."""

    seconds: float
    peak_rss: int  # bytes
    returncode: int
    stdout: str
    stderr: str


def command(args: list[str], env: dict, workdir: Path) -> Process:
    """Run `args` to the end as a child process and measure it alone (wait4's rusage is this
    child's own, not the sum of every child so far)."""
    out, err = workdir / "stdout.txt", workdir / "stderr.txt"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        started = time.perf_counter()
        child = subprocess.Popen(args, cwd=ROOT, env=env, stdout=stdout, stderr=stderr)
        timer = threading.Timer(TIMEOUT, child.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    return Process(
        seconds=seconds,
        peak_rss=usage.ru_maxrss * 1024,  # kilobytes on Linux
        returncode=child.returncode,
        stdout=out.read_text(errors="replace"),
        stderr=err.read_text(errors="replace"),
    )


def manage(*args: str, env: dict, workdir: Path, check: bool = True) -> Process:
    done = command([PYTHON, "manage.py", *args], env, workdir)
    if check and done.returncode:
        raise Failure(f"manage.py {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")
    return done


class Failure(Exception):
    pass


class Database:
    """A throwaway database that DATABASE_URL names for the commands."""

    def __init__(self, name: str, workdir: Path):
        self.name = name
        if name == "sqlite":
            self.path = workdir / "bench.sqlite3"
            self.url = f"sqlite:///{self.path}"
        elif name == "postgres":
            self.url = POSTGRES_URL
            self.config = dj_database_url.parse(self.url)
        else:
            raise SystemExit(f"Unknown database {name!r}: use sqlite and/or postgres.")

    def admin(self):
        config = self.config
        return psycopg.connect(
            dbname="postgres",
            host=config["HOST"] or None,
            port=config["PORT"] or None,
            user=config["USER"] or None,
            password=config["PASSWORD"] or None,
            autocommit=True,
        )

    def drop(self) -> None:
        if self.name == "sqlite":
            for path in self.path.parent.glob(self.path.name + "*"):
                path.unlink()
            return
        with self.admin() as connection:
            name = sql.Identifier(self.config["NAME"])
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))

    def create(self) -> None:
        self.drop()
        if self.name == "postgres":
            with self.admin() as connection:
                name = sql.Identifier(self.config["NAME"])
                connection.execute(sql.SQL("CREATE DATABASE {}").format(name))

    def version(self) -> str:
        if self.name == "sqlite":
            return f"SQLite {sqlite3.sqlite_version}"
        with self.admin() as connection:
            return f"PostgreSQL {connection.execute('SHOW server_version').fetchone()[0]}"


@dataclass
class Result:
    database: str
    rows: int
    file_bytes: int = 0
    imported: Process | None = None
    reimported: Process | None = None
    exported: Process | None = None
    api_seconds: float | None = None
    api_first_byte: float | None = None
    server_rss: tuple[int, int] | None = None  # before the request, peak after it
    floor_seconds: float | None = None  # the database's own bulk load of the same file
    notes: list[str] = field(default_factory=list)


def environment(database: Database) -> dict:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database.url,
        DJANGO_SETTINGS_MODULE="ledger.settings.base",
        LEDGER_DEBUG="false",  # as in production: DEBUG keeps a log of queries
        LEDGER_API_ANON_RATE="1000000/hour",
        LEDGER_LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def bench(database: Database, rows: int, workdir: Path, files: dict[int, Path]) -> Result:
    result = Result(database.name, rows)
    env = environment(database)
    database.create()
    print(f"[{database.name} {rows:,}] migrate", flush=True)
    manage("migrate", "--noinput", "-v0", env=env, workdir=workdir)
    manage(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model; "
        "from django.contrib.auth.models import Group; "
        f"get_user_model().objects.create_user({USER!r}).groups.add("
        "Group.objects.get(name='administrators'))",
        env=env,
        workdir=workdir,
    )
    if rows not in files:
        path = workdir / f"lines-{rows}.csv"
        print(f"[{database.name} {rows:,}] generate {path.name}", flush=True)
        done = command([PYTHON, "-m", "benchmarks.lines", str(rows), "-o", str(path)], env, workdir)
        if done.returncode:
            raise Failure(f"benchmarks.lines failed:\n{done.stderr}")
        files[rows] = path
    source = files[rows]
    result.file_bytes = source.stat().st_size

    for attempt, expected in (("imported", "created"), ("reimported", "unchanged")):
        print(f"[{database.name} {rows:,}] import_lines ({expected})", flush=True)
        done = manage(
            # As an administrator who verifies: the export and the API (verified pledges only)
            # then give back every pledge of the file; the file adds item types and withdraws.
            "import_lines", str(source), "--user", USER, "--verify",
            "--reason", "withdrawn in the benchmark file", env=env, workdir=workdir,
            check=False,
        )  # fmt: skip
        setattr(result, attempt, done)
        if done.returncode:
            result.notes.append(import_failure(done, source))
            return result
        summary = done.stdout.strip().splitlines()[-1]
        if said(summary) != expected_actions(source, expected):
            result.notes.append(f"import expected every pledge {expected}; it said: {summary}")
        if attempt == "imported":
            result.floor_seconds = copy_floor(database, source, workdir)

    exported = workdir / f"export-{database.name}-{rows}.csv"
    print(f"[{database.name} {rows:,}] export_lines", flush=True)
    statuses = [f"status={status}" for status in STATUSES]
    result.exported = manage(
        "export_lines", *statuses, "-o", str(exported), env=env, workdir=workdir
    )
    if difference := compare(source, exported):
        result.notes.append(f"export after import differs from the imported file: {difference}")

    print(f"[{database.name} {rows:,}] GET /api/v1/lines/?format=csv", flush=True)
    downloaded = workdir / f"api-{database.name}-{rows}.csv"
    with Server(env, workdir) as server:
        query = "&".join(statuses)
        before = server.peak_rss()
        started = time.perf_counter()
        url = f"{server.url}/api/v1/lines/?format=csv&{query}"
        with urllib.request.urlopen(url) as response, open(downloaded, "wb") as handle:
            chunk = response.read(64 * 1024)
            result.api_first_byte = time.perf_counter() - started
            while chunk:
                handle.write(chunk)
                chunk = response.read(MIB)
        result.api_seconds = time.perf_counter() - started
        result.server_rss = (before, server.peak_rss())
    if downloaded.read_bytes() != exported.read_bytes():
        result.notes.append("the API's CSV differs from export_lines' file")
    for path in (exported, downloaded):
        path.unlink()
    return result


FLOOR_TABLE = "bench_copy_floor"


def copy_floor(database: Database, source: Path, workdir: Path) -> float | None:
    """The database's own fastest load of the same file: COPY FROM (PostgreSQL) or the sqlite3
    shell's `.import --csv` (SQLite) into an unindexed table of text columns. The median of three.
    None when SQLite's shell is not installed."""
    with open(source, encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle))
    columns = ", ".join(f'"{name}" text' for name in header)
    times = []
    for _ in range(3):
        if database.name == "postgres":
            config = database.config
            with psycopg.connect(
                dbname=config["NAME"], host=config["HOST"] or None, port=config["PORT"] or None,
                user=config["USER"] or None, password=config["PASSWORD"] or None, autocommit=True,
            ) as connection:  # fmt: skip
                connection.execute(f"DROP TABLE IF EXISTS {FLOOR_TABLE}")
                connection.execute(f"CREATE TABLE {FLOOR_TABLE} ({columns})")
                started = time.perf_counter()
                with connection.cursor().copy(
                    f"COPY {FLOOR_TABLE} FROM STDIN WITH (FORMAT csv, HEADER)"
                ) as copy, open(source, "rb") as handle:  # fmt: skip
                    while block := handle.read(MIB):
                        copy.write(block)
                times.append(time.perf_counter() - started)
                connection.execute(f"DROP TABLE {FLOOR_TABLE}")
        else:
            if not shutil.which("sqlite3"):
                return None
            scratch = workdir / "floor.sqlite3"
            scratch.unlink(missing_ok=True)
            script = (
                f"CREATE TABLE {FLOOR_TABLE} ({columns});\n"
                f".import --csv --skip 1 {source} {FLOOR_TABLE}\n"
            )
            started = time.perf_counter()
            subprocess.run(["sqlite3", str(scratch)], input=script.encode(), check=True)
            times.append(time.perf_counter() - started)
            scratch.unlink()
    return sorted(times)[1]


def said(summary: str) -> dict[str, int]:
    """Pledges created, updated and unchanged, as an import's summary gives them."""
    found = re.search(r"([\d,]+) pledges created, ([\d,]+) updated, ([\d,]+) unchanged", summary)
    counts = [int(count.replace(",", "")) for count in found.groups()] if found else []
    return dict(zip(PLEDGE_ACTIONS, counts, strict=False))


def expected_actions(path: Path, expected: str) -> dict[str, int]:
    """The same counts when every pledge of the file is `expected` (created or unchanged)."""
    with open(path, encoding="utf-8", newline="") as handle:
        pledges = len({record[0] for record in csv.reader(handle)}) - 1  # less the header
    return {action: pledges if action == expected else 0 for action in PLEDGE_ACTIONS}


def import_failure(done: Process, source: Path) -> str:
    """The command's own words, and the rows it names as they stand in the file."""
    problems = done.stderr.strip().splitlines()
    numbers = sorted({int(n) for n in re.findall(r"^row (\d+)", done.stderr, re.M)})[:3]
    records = {}
    with open(source, encoding="utf-8", newline="") as handle:
        for number, record in enumerate(csv.reader(handle), start=1):
            if number in numbers:
                records[number] = record
    shown = "\n".join(problems[:20])
    rows = "\n".join(f"row {number}: {record!r}" for number, record in records.items())
    return f"import_lines failed ({done.returncode}):\n{shown}\n{rows}".rstrip()


def compare(imported: Path, exported: Path) -> str:
    """How the export differs from the file imported, apart from value_eur, which the import
    ignores and the export computes ("" when it does not)."""
    with (
        open(imported, encoding="utf-8", newline="") as a,
        open(exported, encoding="utf-8", newline="") as b,
    ):
        left, right = csv.reader(a), csv.reader(b)
        header = next(left)
        if header != next(right):
            return "the headers differ"
        skip = header.index("value_eur")
        differing, first, count = 0, "", 0
        for count, (x, y) in enumerate(zip(left, right, strict=False), start=2):
            if x[:skip] + x[skip + 1 :] != y[:skip] + y[skip + 1 :]:
                differing += 1
                if not first:
                    cells = [
                        f"{n}: {p!r} → {q!r}"
                        for n, p, q in zip(header, x, y, strict=False)
                        if p != q
                    ]
                    first = f"row {count}: " + "; ".join(cells)
        extra = sum(1 for _ in left) + sum(1 for _ in right)
    if extra:
        return f"{extra} rows more in one file than the other"
    return f"{differing} rows differ, first {first}" if differing else ""


class Server:
    """`manage.py runserver --noreload` on a free port, for as long as the block runs."""

    def __init__(self, env: dict, workdir: Path):
        self.env, self.workdir = env, workdir

    def __enter__(self) -> "Server":
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.log = open(self.workdir / "server.log", "wb")  # closed in __exit__
        self.process = subprocess.Popen(
            [PYTHON, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/api/v1/", timeout=5):
                    return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.__exit__(None, None, None)
                    log = (self.workdir / "server.log").read_text(errors="replace")
                    raise Failure(f"runserver did not start:\n{log}") from None
                time.sleep(0.2)

    def peak_rss(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"^VmHWM:\s+(\d+) kB", status, re.M).group(1)) * 1024

    def __exit__(self, *exc) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


def rate(rows: int, process: Process | None) -> str:
    if process is None or process.returncode:
        return "failed" if process else "–"
    return f"{process.seconds:.1f} s · {rows / process.seconds:,.0f}/s"


def own_rate(process: Process | None) -> str:
    """The importer's own figure, without the process start-up and Django's set-up."""
    found = process and re.search(r"\(([\d.]+) s, ([\d,]+) rows/s\)", process.stdout)
    return f"{found.group(2)}/s" if found else "–"


def mib(value: int | None) -> str:
    return f"{value / MIB:,.0f} MiB" if value else "–"


def table(results: list[Result]) -> str:
    lines = [
        "| database | rows | file | import (all created) | importer's own | peak RSS "
        "| re-import (all unchanged) | importer's own | export_lines | peak RSS "
        "| API CSV (first byte) | server RSS before → peak |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for result in results:
        imported, reimported, exported = result.imported, result.reimported, result.exported
        api = (
            f"{result.api_seconds:.1f} s ({result.api_first_byte * 1000:.0f} ms)"
            if result.api_seconds
            else "–"
        )
        server = (
            f"{mib(result.server_rss[0])} → {mib(result.server_rss[1])}"
            if result.server_rss
            else "–"
        )
        lines.append(
            f"| {result.database} | {result.rows:,} | {result.file_bytes / MIB:.1f} MiB "
            f"| {rate(result.rows, imported)} | {own_rate(imported)} "
            f"| {mib(imported and imported.peak_rss)} "
            f"| {rate(result.rows, reimported)} | {own_rate(reimported)} "
            f"| {rate(result.rows, exported)} | {mib(exported and exported.peak_rss)} "
            f"| {api} | {server} |"
        )
    return "\n".join(lines)


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return (
        f"{cpu}, {os.cpu_count()} CPUs, {memory:.0f} GiB; {platform.platform()}; "
        f"Python {platform.python_version()}"
    )


def report(results: list[Result], versions: list[str], argv: list[str]) -> str:
    notes = [f"- {r.database} {r.rows:,}: {note}" for r in results for note in r.notes]
    return "\n".join(
        [
            "# Canonical lines CSV: import and export benchmark",
            "",
            f"Run on {datetime.datetime.now():%Y-%m-%d %H:%M} with "
            f"`{' '.join(['python -m benchmarks.run', *argv])}` (`make bench`).",
            f"Machine: {machine()}. Databases: {', '.join(versions)}.",
            "",
            table(results),
            "",
            "Each figure is one run of a separate process on a freshly migrated database. "
            "Import and export times are wall-clock for the whole command, Django's start-up "
            "included; the importer's own rate is the one its summary prints. Peak RSS is the "
            "command's maximum resident memory (wait4); the server's is its VmHWM before the "
            "request and after it. The API CSV is `GET /api/v1/lines/?format=csv` with every "
            "status, from `manage.py runserver --noreload`, read to the end; `first byte` is "
            "the time to its first 64 KiB.",
            "",
            "## Notes",
            "",
            *(
                notes
                or [
                    "- Every import did what was expected; every export equalled the file "
                    "imported (apart from value_eur, which only the export fills) and the "
                    "API's CSV equalled export_lines' file byte for byte."
                ]
            ),
            "",
        ]
    )


def sizes(text: str) -> list[int]:
    multipliers = {"k": 1000, "m": 1_000_000}
    values = []
    for part in text.split(","):
        part = part.strip().lower().replace("_", "")
        factor = multipliers.get(part[-1:], 1)
        values.append(int(part.rstrip("km")) * factor)
    return sorted(values)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument(
        "--scale",
        type=sizes,
        default=sizes(os.environ.get("BENCH_SCALE") or "10k,100k"),
        help="lines in the synthetic ledger for the side-by-side table (BENCH_SCALE), e.g. 1m",
    )
    parser.add_argument(
        "--runs", type=int, default=int(os.environ.get("BENCH_RUNS") or 5), help="timed runs"
    )
    parser.add_argument(
        "--rows", type=sizes, default=[10_000, 100_000], help="round-trip CSV rows, e.g. 10k,100k"
    )
    parser.add_argument("--dbs", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument(
        "--parts", default="reads,roundtrip", help="reads (issue 6's table), roundtrip, or both"
    )
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results.md")
    parser.add_argument("--doc", type=Path, default=ROOT / "docs" / "performance.md")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    options = parser.parse_args(argv)
    from benchmarks import performance, reads

    parts = {part.strip() for part in options.parts.split(",")}
    workdir = Path(tempfile.mkdtemp(prefix="ledger-bench-"))
    results, versions, files, benches = [], [], {}, []
    started = time.perf_counter()
    try:
        for name in [name.strip() for name in options.dbs.split(",") if name.strip()]:
            database = Database(name, workdir)
            versions.append(database.version())
            if "reads" in parts:
                template = reads.Template(database, workdir)
                try:
                    for rows in options.scale:
                        scaled = reads.scale_database(name, rows, workdir)
                        bench_ = reads.Bench(scaled, rows, workdir, options.runs, template)
                        try:
                            bench_.run()
                        finally:
                            scaled.drop()
                        benches.append(bench_)
                finally:
                    template.drop()
            if "roundtrip" in parts:
                try:
                    for rows in options.rows:
                        results.append(bench(database, rows, workdir, files))
                        print(table(results[-1:]).splitlines()[-1], flush=True)
                finally:
                    database.drop()
    except Failure as error:
        print(error, file=sys.stderr)
        raise SystemExit(1) from None
    finally:
        if options.keep:
            print(f"Files kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    seconds = time.perf_counter() - started
    if results:
        text = report(results, versions, argv)
        options.output.write_text(text, encoding="utf-8")
        print()
        print(text)
        print(f"Written to {options.output.relative_to(ROOT)}.")
    if benches:
        text = performance.document(
            benches, results, versions, argv, machine(), seconds, options.doc
        )
        options.doc.write_text(text, encoding="utf-8")
        print()
        print(performance.table(benches, results))
        print(f"Written to {options.doc}.")


if __name__ == "__main__":
    main()
