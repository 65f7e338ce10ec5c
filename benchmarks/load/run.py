"""`make load`: the production server under load, and a PostgreSQL restart in the middle of it.

Creates the PostgreSQL database `ledger_load` (LOAD_POSTGRES_URL overrides), loads the synthetic
ledger into it (benchmarks/synthetic.py), starts gunicorn under ledger.settings.production as
`make serve` does, and drives it with Locust (benchmarks/load/locustfile.py) at each concurrency
level in turn: reads, totals, small CSV exports and an editor's token-authenticated writes. Then,
under the highest level sustained (no error, p99 within budget), it restarts PostgreSQL mid-run
and measures the error window and the recovery, without touching gunicorn
(benchmarks/load/faults.py). Last, every write the generator saw succeed is looked up in the
database. The report goes to docs/load.md and is printed; the database is dropped.
"""

import argparse
import datetime
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from benchmarks.load.faults import RESTART_AT, FaultRun, fault_run
from benchmarks.load.figures import (
    ALL,
    Journal,
    WriteCheck,
    check_writes,
    cpu_table,
    stats_rows,
    stats_table,
    writes_section,
)
from benchmarks.load.server import (
    ROOT,
    Database,
    Failure,
    Gunicorn,
    cpu_shares,
    cpu_snapshot,
    prepare,
    production_env,
)
from benchmarks.run import machine

# Locust has a virtualenv of its own (requirements-load.txt says why); `make load` builds it.
LOCUST = os.environ.get("LOAD_LOCUST", str(ROOT / ".venv" / "load" / "bin" / "locust"))
LOCUSTFILE = Path(__file__).with_name("locustfile.py")
POSTGRES_URL = os.environ.get("LOAD_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/ledger_load")


class Generator:
    """Runs Locust headless against the server, one journal per run."""

    def __init__(self, server: Gunicorn, workdir: Path, run: str, ledger: dict[str, int]):
        self.server, self.workdir = server, workdir
        self.env = {
            **os.environ,
            "LOAD_TOKENS": str(workdir / "tokens.txt"),
            "LOAD_RUN": run,
            "LOAD_PLEDGES": str(ledger["pledges"]),
            "LOAD_SOURCES": str(ledger["sources"]),
        }

    def start(self, label: str, users: int, seconds: int) -> "LocustRun":
        journal = self.workdir / f"journal-{label}.jsonl"
        log = open(self.workdir / f"locust-{label}.log", "wb")  # noqa: SIM115 (the child's)
        process = subprocess.Popen(
            [LOCUST, "-f", str(LOCUSTFILE), "--headless", "--host", self.server.url,
             "--users", str(users), "--spawn-rate", str(users), "--run-time", f"{seconds}s",
             "--stop-timeout", "30", "--only-summary", "--loglevel", "WARNING"],
            cwd=ROOT, env={**self.env, "LOAD_JOURNAL": str(journal)},
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        cpu = cpu_snapshot(self.server.process.pid, process.pid)
        return LocustRun(label, process, journal, time.monotonic(), seconds, cpu)

    def finish(self, run: "LocustRun") -> Journal:
        # The CPU figures end with the run time, while Locust is still there to be measured.
        time.sleep(max(0.0, run.started + run.seconds - 0.5 - time.monotonic()))
        cpu = cpu_snapshot(self.server.process.pid, run.process.pid)
        elapsed = time.monotonic() - run.started
        run.process.wait(timeout=600)
        log = (self.workdir / f"locust-{run.label}.log").read_text(errors="replace")
        # Locust exits 1 when a request failed; anything else, or a traceback from a user's
        # task, is the generator's own fault and would make the figures meaningless.
        if run.process.returncode not in (0, 1) or "Traceback" in log:
            raise Failure(f"locust failed ({run.process.returncode}):\n{log[-3000:]}")
        journal = Journal.read(run.journal)
        journal.cpu = cpu_shares(run.cpu, cpu, elapsed)
        return journal

    def level(self, users: int, seconds: int) -> Journal:
        return self.finish(self.start(f"{users}-users", users, seconds))


@dataclass
class LocustRun:
    label: str
    process: subprocess.Popen
    journal: Path
    started: float  # time.monotonic()
    seconds: int
    cpu: dict[str, float]


def overall(journal: Journal) -> dict:
    return next(row for row in stats_rows(journal) if row["name"] == ALL)


def sustained(levels: list[tuple[int, Journal]], p99_ms: int) -> int | None:
    """The most users served with no error and a p99 within the budget. With sync workers an
    overload queues rather than fails, so errors alone would call any level sustained."""
    good = [
        users
        for users, journal in levels
        if not journal.failures() and overall(journal)["p99"] <= p99_ms
    ]
    return max(good, default=None)


def verdict(levels: list[tuple[int, Journal]], p99_ms: int) -> str:
    def figures(users: int) -> str:
        row = overall(dict(levels)[users])
        return f"{row['rate']:.1f} requests/s, p50 {row['p50']:,.0f} ms, p99 {row['p99']:,.0f} ms"

    best = sustained(levels, p99_ms)
    budget = f"no error, p99 ≤ {p99_ms:,} ms"
    first = (
        f"**Highest concurrency sustained ({budget}): {best} users**, {figures(best)}."
        if best
        else f"**No level was sustained ({budget}).**"
    )
    clean = max((users for users, journal in levels if not journal.failures()), default=None)
    second = (
        f"Highest with no error at all: {clean} users, {figures(clean)}."
        if clean
        else "Every level had errors."
    )
    return f"{first} {second}"


def report(options, database: Database, ledger: dict, levels: list[tuple[int, Journal]],
           fault: FaultRun | None, writes: WriteCheck, minutes: float) -> str:  # fmt: skip
    lines = [
        "# Load and faults: the production server under load",
        "",
        f"Run on {datetime.datetime.now():%Y-%m-%d %H:%M} with `make load` "
        f"(`python -m benchmarks.load.run --users {','.join(map(str, options.users))} "
        f"--seconds {options.seconds} --rows {options.rows} --workers {options.workers}"
        f"{' --no-faults' if not options.faults else ''}`), {minutes:.1f} min in all.",
        f"Machine: {machine()}. {database.version()}.",
        f"Server: gunicorn, {options.workers} sync workers, ledger.settings.production, on "
        f"loopback. Ledger: the synthetic one, {options.rows:,} lines in {ledger['pledges']:,} "
        "pledges. Generator: Locust "
        f"{subprocess.run([LOCUST, '--version'], capture_output=True, text=True).stdout.split()[1]}"
        " (headless, on the same two cores as the server and the database), each user "
        "waiting 0.2–1 s between tasks: lists and pledges 6, lines 2, totals 2, a small CSV "
        "export 1, creating a pledge 2, changing one with If-Match 1 (reading it, then PATCH).",
        "",
    ]
    if levels:
        lines += [
            "## Throughput and latency",
            "",
            stats_table([(str(users), journal) for users, journal in levels]),
            "",
            verdict(levels, options.p99_ms),
            "",
            "CPU while each level ran (100 % = one core, 200 % = both; PostgreSQL counts "
            "the backends that lived through the level):",
            "",
            cpu_table([(str(users), journal) for users, journal in levels]),
            "",
        ]
    if fault:
        lines += ["## PostgreSQL restart under load", "", fault.section(), ""]
    lines += ["## Writes", "", "Over every run above, looked up in the database afterwards:", ""]
    lines += [writes_section(writes), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.load.run", description=__doc__)
    parser.add_argument(
        "--users", default=os.environ.get("LOAD_USERS", "4,16,32,64"),
        type=lambda text: [int(part) for part in text.split(",")],
        help="concurrency levels, comma-separated (LOAD_USERS; default 4,16,32,64)",
    )  # fmt: skip
    parser.add_argument(
        "--seconds", type=int, default=int(os.environ.get("LOAD_SECONDS", "30")),
        help="seconds at each level (LOAD_SECONDS; default 30); the fault run takes 40",
    )  # fmt: skip
    parser.add_argument(
        "--p99-ms", type=int, default=int(os.environ.get("LOAD_P99_MS", "1000")),
        help="the p99 latency a sustained level stays within (LOAD_P99_MS; default 1000)",
    )  # fmt: skip
    parser.add_argument("--rows", type=int, default=10_000, help="lines in the synthetic ledger")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (make serve's 3)")
    parser.add_argument(
        "--faults", action=argparse.BooleanOptionalAction, default=True,
        help="restart PostgreSQL under load after the levels (default: yes)",
    )  # fmt: skip
    parser.add_argument(
        "--faults-only", action="store_true", help="only the restart, at the highest of --users"
    )
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "load.md")
    parser.add_argument("--keep", action="store_true", help="keep the database and the logs")
    options = parser.parse_args(argv)

    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="ledger-load-"))
    database = Database(POSTGRES_URL)
    run = uuid.uuid4().hex[:8]
    print(f"Preparing {database.name} ({options.rows:,} lines); logs in {workdir}", flush=True)
    database.create()
    try:
        env = production_env(database, workdir)
        ledger = prepare(env, options.rows, workdir, tokens=max(options.users))
        levels, fault = [], None
        with Gunicorn(env, options.workers, workdir) as server:
            generator = Generator(server, workdir, run, ledger)
            for users in [] if options.faults_only else options.users:
                print(f"{users} users for {options.seconds} s", flush=True)
                levels.append((users, generator.level(users, options.seconds)))
            if options.faults or options.faults_only:
                # Under the load the server sustains; failing that, the most within the budget.
                users = sustained(levels, options.p99_ms) or max(
                    (n for n, journal in levels if overall(journal)["p99"] <= options.p99_ms),
                    default=min(options.users),
                )
                print(f"{users} users for 40 s, PostgreSQL restarted at {RESTART_AT} s", flush=True)
                fault = fault_run(generator, server, database, users, seconds=40)
        journals = [journal for _, journal in levels] + ([fault.journal] if fault else [])
        writes = check_writes(journals, database.url, run)
        text = report(
            options, database, ledger, levels, fault, writes, (time.monotonic() - started) / 60
        )
    finally:
        if not options.keep:
            database.drop()
    options.output.write_text(text)
    print(text)
    if not options.keep:
        shutil.rmtree(workdir)
    if not writes.ok():
        raise SystemExit("Writes were lost or duplicated: see the report.")


if __name__ == "__main__":
    main()
