"""The fault part of `make load`: PostgreSQL restarted under load, the server left alone.

Measures when PostgreSQL refused connections (a probe every 50 ms), which requests failed and
with what answer, how soon they succeeded again, and whether any gunicorn worker hung.
"""

import os
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import psycopg

from benchmarks.load.figures import Journal, failure_kind, stats_table
from benchmarks.load.server import Database, Gunicorn

if TYPE_CHECKING:
    from benchmarks.load.run import Generator

RESTART_AT = 12  # seconds into the fault run


@dataclass
class Outage:
    """A restart of PostgreSQL, as a client probing it every 50 ms saw it (epoch seconds)."""

    began: float  # the restart command started
    command_ended: float
    down: float | None  # the first connection refused
    up: float | None  # the first accepted after that


def restart_postgres(database: Database) -> Outage:
    probes: list[tuple[float, bool]] = []
    stop = threading.Event()

    def probe() -> None:
        while not stop.is_set():
            started = time.time()
            try:
                with psycopg.connect(database.url, connect_timeout=2) as connection:
                    connection.execute("SELECT 1")
                probes.append((started, True))
            except psycopg.Error:
                probes.append((started, False))
            time.sleep(0.05)

    def back() -> bool:
        refused = [at for at, ok in probes if not ok]
        return bool(refused) and any(ok and at > refused[0] for at, ok in probes)

    watcher = threading.Thread(target=probe)
    watcher.start()
    try:
        began = time.time()
        subprocess.run(restart_command().split(), check=True, capture_output=True, timeout=120)
        command_ended = time.time()
        while not back() and time.time() < command_ended + 5:
            time.sleep(0.05)
    finally:
        stop.set()
        watcher.join()
    refused = [at for at, ok in probes if not ok and at >= began]
    down = refused[0] if refused else None
    up = next((at for at, ok in probes if ok and down and at > down), None)
    return Outage(began, command_ended, down, up)


@dataclass
class FaultRun:
    users: int
    journal: Journal
    outage: Outage
    workers_before: set[int]
    workers_after: set[int]
    worker_timeouts: int

    def section(self) -> str:
        requests, outage, began = self.journal.requests, self.outage, self.outage.began
        # Failures that ended before the restart (a broken endpoint) are not the restart's: the
        # window is made of the others, so that one steady failure cannot stretch it.
        before = {
            (entry["name"], failure_kind(entry))
            for entry in self.journal.failures()
            if entry["t"] + entry["ms"] / 1000 < began
        }
        steady = [
            entry
            for entry in self.journal.failures()
            if (entry["name"], failure_kind(entry)) in before
        ]
        failures = [entry for entry in self.journal.failures() if entry not in steady]
        lines = [
            f"{self.users} users for {self.journal.span():.0f} s; PostgreSQL restarted "
            f"{RESTART_AT} s in with `{restart_command()}` (the command took "
            f"{outage.command_ended - began:.1f} s). gunicorn was not touched.",
            "",
            stats_table([(str(self.users), self.journal)]),
            "",
        ]
        if outage.down and outage.up:
            lines.append(
                f"- PostgreSQL refused connections from {outage.down - began:+.2f} s to "
                f"{outage.up - began:+.2f} s after the restart began (a probe every 50 ms)."
            )
        last = outage.up or outage.command_ended
        if failures:
            first = min(entry["t"] for entry in failures)
            last = max(entry["t"] + entry["ms"] / 1000 for entry in failures)
            kinds = Counter(failure_kind(entry) for entry in failures)
            lines.append(
                f"- **Error window: {last - first:.2f} s**, from {first - began:+.2f} s to "
                f"{last - began:+.2f} s after the restart began: {len(failures)} failed "
                f"requests ({', '.join(f'{count} × {kind}' for kind, count in kinds.items())})."
            )
            if outage.up:
                recovery = round(last - outage.up, 2) + 0  # + 0: no "-0.00"
                lines.append(
                    f"- Recovery: the last failed request ended {recovery:+.2f} s from the "
                    "moment PostgreSQL accepted connections again."
                )
        else:
            lines.append("- No request failed.")
        after = [entry for entry in requests if entry["t"] > last]
        failed_after = [entry for entry in after if entry in failures]
        lines.append(
            f"- After that: {len(after):,} requests, {len(failed_after)} failed; the app was "
            "not restarted."
        )
        if failures:
            bodies = Counter(
                f"{entry['status']} {entry.get('type', '')}: {entry.get('body', '')[:90]!r}"
                for entry in failures
            )
            tracebacks = sum("Traceback" in entry.get("body", "") for entry in failures)
            lines.append(
                f"- What the failed requests were answered ({tracebacks} with a traceback): "
                + "; ".join(f"{count} × {body}" for body, count in bodies.most_common(6))
            )
        if steady:
            kinds = Counter(f"{entry['name']} {failure_kind(entry)}" for entry in steady)
            lines.append(
                f"- Failing before the restart already, and so left out of the above: "
                f"{len(steady)} ({', '.join(f'{n} × {kind}' for kind, n in kinds.items())})."
            )
        slowest = max(entry["ms"] for entry in requests)
        same = self.workers_before == self.workers_after
        lines.append(
            f"- Slowest request of the run: {slowest:,.0f} ms. gunicorn workers "
            f"{'unchanged (none hung or restarted)' if same else 'CHANGED'}; "
            f"worker timeouts in its log: {self.worker_timeouts}."
        )
        return "\n".join(lines)


def restart_command() -> str:
    return os.environ.get("LOAD_PG_RESTART", "pg_ctlcluster 15 main restart")


def fault_run(generator: "Generator", server: Gunicorn, database: Database, users: int,
              seconds: int) -> FaultRun:  # fmt: skip
    """Restart PostgreSQL under load; the server is left alone to recover by itself."""
    workers_before = server.worker_pids()
    run = generator.start(f"fault-{users}-users", users, seconds)
    time.sleep(RESTART_AT)
    outage = restart_postgres(database)
    journal = generator.finish(run)
    return FaultRun(
        users=users,
        journal=journal,
        outage=outage,
        workers_before=workers_before,
        workers_after=server.worker_pids(),
        worker_timeouts=server.worker_timeouts(),
    )
