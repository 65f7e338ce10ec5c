"""The ledger against its own database (issue 6): each figure beside its baseline, in one run.

For each database and scale: a freshly migrated ledger is filled by benchmarks/synthetic.py, a
`manage.py runserver --noreload` process serves it, and each measurement first checks that the
API's answer equals its baseline's, then times both, alternating, `runs` times; the table gives
medians and the ratio API / baseline.
"""

import csv
import datetime
import decimal
import http.cookiejar
import json
import re
import shutil
import sqlite3
import statistics
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import psycopg

from benchmarks import baselines
from benchmarks.run import PYTHON, Database, Failure, Server, command, environment, manage

ADMIN = ("bench-admin", "bench-admin-password-6")
ALL_STATUSES = "status=announced&status=partly-delivered&status=delivered&status=withdrawn"
DONOR = "GB"
PAGE = 50
MIB = 1024 * 1024


@dataclass
class Figure:
    what: str
    database: str
    rows: int
    measured: str
    seconds: list[float] = field(default_factory=list)
    baselines: dict[str, list[float]] = field(default_factory=dict)
    extra: str = ""
    check: str = ""

    @property
    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None

    def baseline(self, name: str) -> float | None:
        times = self.baselines.get(name)
        return statistics.median(times) if times else None


class Mismatch(Failure):
    pass


class Bench:
    """One database at one scale."""

    def __init__(self, database: Database, rows: int, workdir: Path, runs: int, template):
        self.database, self.rows, self.workdir, self.runs = database, rows, workdir, runs
        self.template = template
        self.env = environment(database)
        self.figures: list[Figure] = []
        self.notes: list[str] = []

    # -- set-up --------------------------------------------------------------------------------

    def prepare(self) -> None:
        self.template.copy_to(self.database)
        started = time.perf_counter()
        done = command(
            [PYTHON, "-m", "benchmarks.synthetic", str(self.rows)], self.env, self.workdir
        )
        if done.returncode:
            raise Failure(f"benchmarks.synthetic failed:\n{done.stderr}")
        self.load_seconds = time.perf_counter() - started
        self.say(done.stdout.strip())
        username, password = ADMIN
        manage(
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model; "
            f"get_user_model().objects.create_superuser({username!r}, None, {password!r})",
            env=self.env,
            workdir=self.workdir,
        )

    def say(self, text: str) -> None:
        print(f"[{self.database.name} {self.rows:,}] {text}", flush=True)

    # -- the database, directly -------------------------------------------------------------

    def connect(self):
        """A new connection: for the dump, which runs as its own session."""
        if self.database.name == "sqlite":
            return sqlite3.connect(self.database.path)
        config = self.database.config
        return psycopg.connect(
            dbname=config["NAME"],
            host=config["HOST"] or None,
            port=config["PORT"] or None,
            user=config["USER"] or None,
            password=config["PASSWORD"] or None,
            autocommit=True,
        )

    @property
    def vendor(self) -> str:
        return "sqlite" if self.database.name == "sqlite" else "postgresql"

    def sql(self, text: str, params: dict) -> list[tuple]:
        """The rows of a hand-written query, on one connection kept open (as the server keeps
        its own), so that no baseline pays for connecting."""
        if self.vendor == "sqlite":
            text = re.sub(r"%\((\w+)\)s", r":\1", text).replace("%%", "%")
        if getattr(self, "session", None) is None:
            self.session = self.connect()
        return self.session.execute(text, params).fetchall()

    def rate_table(self) -> int:
        return self.sql("SELECT id FROM aid_ratetable WHERE name = 'ecb'", {})[0][0]

    # -- HTTP ------------------------------------------------------------------------------

    def get_json(self, path: str, opener=None) -> dict:
        with (opener or urllib.request.build_opener()).open(self.server.url + path) as response:
            return json.loads(response.read(), parse_float=Decimal)

    def get_body(self, path: str, opener=None) -> bytes:
        with (opener or urllib.request.build_opener()).open(self.server.url + path) as response:
            return response.read()

    # -- timing ----------------------------------------------------------------------------

    def timed(self, figure: Figure, api: Callable, baselines: dict[str, Callable], runs: int):
        for _ in range(runs):
            started = time.perf_counter()
            api()
            figure.seconds.append(time.perf_counter() - started)
            for name, baseline in baselines.items():
                started = time.perf_counter()
                baseline()
                figure.baselines.setdefault(name, []).append(time.perf_counter() - started)
        self.figures.append(figure)
        self.say(f"{figure.what}: {line(figure)}")

    def figure(self, what: str, measured: str) -> Figure:
        return Figure(what, self.database.name, self.rows, measured)

    # -- the measurements ------------------------------------------------------------------

    def run(self) -> None:
        self.prepare()
        with Server(self.env, self.workdir) as server:
            self.server = server
            self.rss_before = server.peak_rss()
            params = {"rate_table": self.rate_table(), "donor": DONOR}
            self.value_totals(params, donor=False)
            self.value_totals(params, donor=True)
            self.quantity_totals(params)
            self.lines_page(params)
            self.admin()
            self.export(params)  # last: its file feeds DuckDB, and its memory peak is its own
        if getattr(self, "session", None) is not None:
            self.session.close()
            self.session = None

    def value_totals(self, params: dict, donor: bool) -> None:
        path = "/api/v1/totals/?group_by=donor,category,period&period=year"
        if donor:
            path += f"&donor={DONOR}"
        what = "totals: value by donor × category × year" + (f", donor={DONOR}" if donor else "")
        query = baselines.value_totals(self.vendor, donor)
        api_rows = [
            (r["donor"], r["category"], r["period"], r["pledges"], r["lines"], cents(r["value"]),
             r["unvalued"], r["unconverted"])
            for r in self.get_json(path)["rows"]
        ]  # fmt: skip
        # Checked against SQL that converts every line itself: the stored value in EUR that
        # both the API and the timed SQL read must be what a fresh conversion gives.
        converting = baselines.value_totals(self.vendor, donor, stored=False)
        sql_rows = [(*row[:5], cents(row[5]), *row[6:]) for row in self.sql(converting, params)]
        figure = self.figure(what, "API (HTTP)")
        figure.check = compare(api_rows, sql_rows, value_at=5, tolerance=self.float_tolerance)
        self.timed(
            figure, lambda: self.get_body(path), {"SQL": lambda: self.sql(query, params)}, self.runs
        )
        self.pending_duckdb = [*getattr(self, "pending_duckdb", []), (figure, api_rows, donor)]

    @property
    def float_tolerance(self) -> Decimal:
        # SQLite adds converted values as floating-point numbers, in whatever order it reads them:
        # each addition may be off by a unit in the last place, so the bound grows with the sum.
        return Decimal("1e-15") if self.vendor == "sqlite" else Decimal(0)

    def quantity_totals(self, params: dict) -> None:
        path = (
            "/api/v1/totals/?measure=quantity&group_by=category,period&period=quarter"
            "&cumulative=true"
        )
        query = baselines.quantity_cumulative(self.vendor)
        api = {
            (r["category"], r["unit"], r["period"]): (
                r["pledges"], r["lines"], r["quantity"], r["unspecified"]
            )
            for r in self.get_json(path)["rows"]
        }  # fmt: skip
        sql = {tuple(row[:3]): tuple(int(x) if x is not None else None for x in row[3:])
               for row in self.sql(query, params)}  # fmt: skip
        problems = [key for key, value in sql.items() if api.get(key) != value]
        # The API also fills the quarters where a group pledged nothing with its running sums.
        filled = [key for key in api if key not in sql and api[key] != last_before(sql, key)]
        figure = self.figure(
            "totals: quantity by category × unit × quarter, cumulative", "API (HTTP)"
        )
        figure.check = (
            f"{len(sql)} rows equal, {len(api) - len(sql)} filled quarters carry the running sums"
            if not problems and not filled
            else f"MISMATCH: {len(problems)} rows differ ({problems[:1]}), {len(filled)} fills"
        )
        if problems or filled:
            self.notes.append(f"{figure.what}: {figure.check}")
        self.timed(
            figure, lambda: self.get_body(path), {"SQL": lambda: self.sql(query, params)}, self.runs
        )

    def lines_page(self, params: dict) -> None:
        after, before = "2023-01-01", "2023-12-31"
        path = f"/api/v1/lines/?donor={DONOR}&announced_after={after}&announced_before={before}"
        query = baselines.lines_page(self.vendor, PAGE)
        page = {**params, "after": after, "before": before}
        api = [
            (r["pledge"], r["line_no"], r["id"], r["source_urls"])
            for r in self.get_json(path)["results"]
        ]
        sql = [(row[1], row[2], row[0], (row[20] or "").split()) for row in self.sql(query, page)]
        figure = self.figure(f"lines list, first page, donor={DONOR} + a year", "API (HTTP)")
        figure.check = compare(api, sql)
        self.timed(
            figure, lambda: self.get_body(path), {"SQL": lambda: self.sql(query, page)}, self.runs
        )

    def admin(self) -> None:
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        login = self.server.url + "/admin/login/"
        page = opener.open(login).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        username, password = ADMIN
        body = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token, "username": username, "password": password,
             "next": "/admin/"}
        ).encode()  # fmt: skip
        request = urllib.request.Request(login, data=body, headers={"Referer": login})
        opener.open(request).read()
        donor_id = self.sql("SELECT id FROM aid_party WHERE code = %(donor)s", {"donor": DONOR})[0][
            0
        ]
        for what, path in (
            ("admin pledge list, first page", "/admin/aid/pledge/"),
            (
                f"admin pledge list, donor={DONOR} + status filtered",
                f"/admin/aid/pledge/?donor__id__exact={donor_id}&status__exact=announced",
            ),
        ):
            text = self.get_body(path, opener).decode()
            figure = self.figure(what, "admin (HTTP, logged in)")
            rows = text.count('name="_selected_action"')  # one checkbox a row
            figure.check = (
                f"{rows} rows shown" if "result_list" in text else "MISMATCH: not the list"
            )
            self.timed(figure, lambda path=path: self.get_body(path, opener), {}, self.runs)

    def export(self, params: dict) -> None:
        path = f"/api/v1/lines/?format=csv&{ALL_STATUSES}"
        target = self.workdir / f"export-{self.database.name}-{self.rows}.csv"
        dump = self.workdir / f"dump-{self.database.name}-{self.rows}.csv"

        def api():
            with (
                urllib.request.urlopen(self.server.url + path) as response,
                open(target, "wb") as out,
            ):
                shutil.copyfileobj(response, out, MIB)

        baselines_ = {}
        if self.vendor == "postgresql":
            query = baselines.export(self.vendor).replace(
                "%(rate_table)s", str(params["rate_table"])
            )

            def own_dump():
                with self.connect() as connection, open(dump, "wb") as out:
                    copy_sql = f"COPY ({query}) TO STDOUT WITH (FORMAT csv, HEADER)"
                    with connection.cursor().copy(copy_sql) as copy:
                        for block in copy:
                            out.write(block)

            baselines_["COPY TO STDOUT"] = own_dump
        elif shutil.which("sqlite3"):
            query = baselines.export(self.vendor).replace(
                "%(rate_table)s", str(params["rate_table"])
            )
            query = query.replace("%%", "%")

            def own_dump():
                with open(dump, "wb") as out:
                    subprocess.run(
                        ["sqlite3", "-csv", "-header", str(self.database.path), query],
                        stdout=out, check=True,
                    )  # fmt: skip

            baselines_["sqlite3 -csv"] = own_dump
        else:
            self.notes.append("SQLite export: no `sqlite3` shell on this machine, so no baseline")
        api()
        api_rows = count_rows(target)
        figure = self.figure("CSV export of every line", "API (HTTP, streamed to a file)")
        checks = [f"{api_rows:,} rows"]
        if baselines_:
            next(iter(baselines_.values()))()
            dumped = count_rows(dump)
            checks.append(
                "the dump has as many" if dumped == api_rows else f"MISMATCH: dump {dumped:,}"
            )
        figure.check = "; ".join(checks)
        self.timed(
            figure,
            api,
            baselines_,
            max(1, min(self.runs, 3 if self.rows >= 500_000 else self.runs)),
        )
        figure.extra = (
            f"server RSS {self.rss_before / MIB:,.0f} → "
            f"peak {self.server.peak_rss() / MIB:,.0f} MiB; "
            f"file {target.stat().st_size / MIB:,.0f} MiB"
        )
        self.duckdb(target)
        target.unlink(missing_ok=True)
        dump.unlink(missing_ok=True)

    def duckdb(self, csv_path: Path) -> None:
        try:
            import duckdb
        except ImportError:
            self.notes.append("DuckDB is not installed (requirements-dev.txt): no DuckDB baseline")
            return
        for figure, api_rows, donor in self.pending_duckdb:
            query = baselines.duckdb_value_totals(str(csv_path), DONOR if donor else None)

            def run(query=query):
                with duckdb.connect() as connection:
                    return connection.execute(query).fetchall()

            rows = [(*row[:5], cents(row[5]), *row[6:]) for row in run()]
            # The CSV holds each line's value_eur to the cent, so a group's sum may differ from
            # the API's (which rounds once, after adding) by half a cent a line.
            tolerance = Decimal("0.005") * max((row[4] for row in api_rows), default=1)
            check = compare(api_rows, rows, value_at=5, tolerance=tolerance)
            figure.check += f"; DuckDB: {check}"
            times = []
            for _ in range(self.runs):
                started = time.perf_counter()
                run()
                times.append(time.perf_counter() - started)
            figure.baselines["DuckDB over the CSV"] = times
            self.say(f"{figure.what}: {line(figure)}")


def cents(value) -> Decimal:
    if value is None:
        return Decimal("0.00")
    return Decimal(str(value) if isinstance(value, float) else value).quantize(
        Decimal("0.01"), rounding=decimal.ROUND_HALF_EVEN
    )


def compare(api: list, baseline: list, value_at: int | None = None, tolerance=Decimal(0)) -> str:
    """ "N rows equal" or what differs: keys and counts exactly, values within `tolerance`."""
    if len(api) != len(baseline):
        return f"MISMATCH: {len(api)} rows from the API, {len(baseline)} from the baseline"
    worst = Decimal(0)
    for index, (a, b) in enumerate(zip(api, baseline, strict=True)):
        if value_at is None:
            if tuple(a) != tuple(b):
                return f"MISMATCH at row {index}: {a} ≠ {b}"
            continue
        rest_a, rest_b = a[:value_at] + a[value_at + 1 :], b[:value_at] + b[value_at + 1 :]
        gap = abs(a[value_at] - b[value_at])
        # A relative tolerance (SQLite's floats): that many units of the sum per line added.
        allowed = (
            tolerance
            if tolerance == 0 or tolerance >= Decimal("0.001")
            else (Decimal("0.01") + tolerance * abs(a[value_at]) * max(a[4], 1))
        )
        if (
            tuple(rest_a) != tuple(int(x) if isinstance(x, int) else x for x in rest_b)
            or gap > allowed
        ):
            return f"MISMATCH at row {index}: {a} ≠ {b}"
        worst = max(worst, gap)
    exact = "" if value_at is None else (" exactly" if not worst else f" (values within {worst})")
    return f"{len(api)} rows equal{exact}"


def last_before(rows: dict, key: tuple):
    """The running sums a filled quarter carries: its group's last row before it."""
    earlier = [k for k in rows if k[:2] == key[:2] and period_key(k[2]) < period_key(key[2])]
    return rows[max(earlier, key=lambda k: period_key(k[2]))] if earlier else None


def period_key(label: str) -> tuple[int, int]:
    year, _, rest = label.partition("-")
    return int(year), int(rest.lstrip("Q") or 0)


def count_rows(path: Path) -> int:
    with open(path, encoding="utf-8", newline="") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def ms(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return f"{seconds * 1000:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def line(figure: Figure) -> str:
    parts = [ms(figure.median)]
    for name in figure.baselines:
        base = figure.baseline(name)
        parts.append(f"{name} {ms(base)} (×{figure.median / base:.2f})")
    return "; ".join(parts)


class Template:
    """A migrated, empty ledger, copied for each scale (migrating takes longer than copying)."""

    def __init__(self, database: Database, workdir: Path):
        self.database, self.workdir = database, workdir
        if database.name == "postgres":
            self.name = database.config["NAME"] + "_empty"
            self.url = re.sub(r"/[^/]*$", "/" + self.name, database.url)
            self.source = Database("postgres", workdir)
            self.source.url, self.source.config = self.url, {**database.config, "NAME": self.name}
        else:
            self.source = Database("sqlite", workdir)
            self.source.path = workdir / "empty.sqlite3"
            self.source.url = f"sqlite:///{self.source.path}"
        self.source.create()
        manage("migrate", "--noinput", "-v0", env=environment(self.source), workdir=workdir)

    def copy_to(self, database: Database) -> None:
        database.drop()
        if database.name == "sqlite":
            shutil.copyfile(self.source.path, database.path)
            return
        from psycopg import sql

        with database.admin() as connection:
            connection.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(database.config["NAME"]), sql.Identifier(self.name)
                )
            )

    def drop(self) -> None:
        self.source.drop()


def scale_database(name: str, rows: int, workdir: Path) -> Database:
    database = Database(name, workdir)
    if name == "sqlite":
        database.path = workdir / f"ledger-{rows}.sqlite3"
        database.url = f"sqlite:///{database.path}"
    else:
        database.config = {**database.config, "NAME": f"{database.config['NAME']}_{rows}"}
        database.url = re.sub(r"/[^/]*$", "/" + database.config["NAME"], database.url)
    return database


def today() -> str:
    return datetime.date.today().isoformat()
